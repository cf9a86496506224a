#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The short fuzz pass of `make check`: each libFuzzer target (protocol
# decoder, config parser, state-file loader) is built, replays every
# committed regression input, then fuzzes for FUZZ_SECONDS (default 15).
# `make fuzz` runs the long pass. TAP output.
exec "$(dirname "$0")/../fuzz/run" --seconds "${FUZZ_SECONDS:-15}"
