#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Packaging, as a distribution would use it: `make install` into a DESTDIR
# puts every file where a package expects it; liblockwarden has its soname,
# its symlinks and exports lockwarden_* only; a program builds with
# `pkg-config --cflags --libs lockwarden` against the installed tree alone
# and runs. Then the build flags: a packager's CPPFLAGS/CFLAGS/LDFLAGS reach
# every compile and link, -Werror only when asked, and a build with
# dpkg-buildflags' hardening has RELRO, BIND_NOW, stack protector and
# fortify in the library and the CLI. TAP output. Needs a finished build.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
tmp=$(mktemp -d /tmp/lockwarden-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
check() { # check NAME STATUS [DETAIL]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1${3:+: $3}"; failed=1; fi
}
echo "1..12"

for tool in make gcc pkg-config readelf nm dpkg-buildflags; do
	command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (tools/install-deps)"; exit 1; }
done
[ -x build/lockwarden ] && [ -x build/lockwardend ] ||
	{ echo "Bail out! build/lockwarden or build/lockwardend missing: run make first"; exit 1; }

multiarch=$(gcc -print-multiarch)
dest=$tmp/dest
libdir=/usr/lib/$multiarch
version=$(sed -n 's/^#define LOCKWARDEN_VERSION "\(.*\)"/\1/p' userspace/common/version.h)

out=$(make --no-print-directory install DESTDIR="$dest" PREFIX=/usr 2>&1); status=$?
check make_install_into_a_destdir_succeeds $status "$(tail -n 5 <<<"$out")"

missing=""
for f in usr/bin/lockwarden usr/sbin/lockwardend "${libdir#/}/liblockwarden.so.$version" \
	usr/include/lockwarden/client.h "${libdir#/}/pkgconfig/lockwarden.pc" usr/share/man/man1/lockwarden.1 \
	usr/share/man/man8/lockwardend.8 usr/share/man/man5/lockwarden.conf.5 \
	usr/share/doc/lockwarden/LICENSE usr/share/doc/lockwarden/COPYING.LGPL-2.1 \
	usr/share/doc/lockwarden/COPYING.GPL-2 usr/lib/systemd/system/lockwardend.service; do
	[ -f "$dest/$f" ] && [ ! -L "$dest/$f" ] || missing="$missing $f"
done
check installed_files_are_where_a_package_expects_them "$([ -z "$missing" ]; echo $?)" \
	"missing or not a regular file:$missing"

lib=$dest$libdir
links="$(readlink "$lib/liblockwarden.so.0") $(readlink "$lib/liblockwarden.so")"
check library_symlinks_so_0_and_so_point_to_the_versioned_file \
	"$([ "$links" = "liblockwarden.so.$version liblockwarden.so.0" ]; echo $?)" \
	"expected 'liblockwarden.so.$version liblockwarden.so.0', got '$links'"

soname=$(readelf -d "$lib/liblockwarden.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
check library_soname_is_liblockwarden_so_0 "$([ "$soname" = liblockwarden.so.0 ]; echo $?)" \
	"got '$soname'"

symbols=$(nm -D --defined-only "$lib/liblockwarden.so.$version" | awk '{print $3}')
foreign=$(grep -v -e '^lockwarden_[a-z_]*@@LOCKWARDEN_0\.1$' -e '^LOCKWARDEN_0\.1$' <<<"$symbols" | tr '\n' ' ')
check library_exports_only_versioned_lockwarden_symbols \
	"$([ -z "$foreign" ] && grep -q '^lockwarden_acquire@@' <<<"$symbols"; echo $?)" \
	"unexpected exports: $foreign"

unit=$(cat "$dest/usr/lib/systemd/system/lockwardend.service" 2>/dev/null)
check unit_file_runs_the_installed_daemon "$(grep -q '^ExecStart=/usr/sbin/lockwardend' <<<"$unit"; echo $?)" \
	"ExecStart: $(grep ExecStart <<<"$unit")"

# A client program that sees nothing of the repository: only the installed tree.
mkdir -p "$tmp/app"
cat >"$tmp/app/app.c" <<'EOF'
#include <stdio.h>
#include <lockwarden/client.h>

int main(int argc, char **argv)
{
	struct lockwarden *lw;
	struct lockwarden_error err;

	if (argc != 2 || lockwarden_connect(argv[1], &lw, &err) == 0)
		return 2;
	printf("%d %s\n", err.code, err.message);
	return 0;
}
EOF
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs lockwarden 2>&1); status=$?
check pkg_config_names_the_installed_header_and_library \
	"$([ $status -eq 0 ] && grep -q -- "-I$dest/usr/include" <<<"$flags" &&
		grep -q -- "-L$lib -llockwarden" <<<"$flags"; echo $?)" "got: $flags"
# shellcheck disable=SC2086
out=$(cd "$tmp/app" && gcc -o app app.c $flags 2>&1); status=$?
check client_program_builds_with_pkg_config_flags $status "$out"
out=$(LD_LIBRARY_PATH=$lib "$tmp/app/app" "$tmp/no.sock" 2>&1); status=$?
needed=$(readelf -d "$tmp/app/app" 2>/dev/null | sed -n 's/.*Shared library: \[\(liblockwarden[^]]*\)\]/\1/p')
check client_program_runs_against_the_installed_library \
	"$([ $status -eq 0 ] && [ "$needed" = liblockwarden.so.0 ] &&
		grep -q "^-2 cannot connect to lockwardend at $tmp/no.sock" <<<"$out"; echo $?)" \
	"status $status, NEEDED '$needed', output: $out"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# Every command make would run for a packager's build (printed, not run).
plan=$(make --no-print-directory -n -B V=1 BUILD="$tmp/plan" WERROR=0 all test-bins \
	CPPFLAGS=-DLW_PACKAGER_CPPFLAGS CFLAGS="-O1 -DLW_PACKAGER_CFLAGS" \
	LDFLAGS="-Wl,-z,now -Wl,--defsym=lw_packager_ldflags=0" 2>&1)
compiles=$(grep -E '^(cc|gcc) .* -c ' <<<"$plan")
links=$(grep -E '^(cc|gcc) ' <<<"$plan" | grep -v -e ' -c ')
bad_compiles=$(grep -v -e '-DLW_PACKAGER_CPPFLAGS' <<<"$compiles" | head -n 1)
bad_compiles=${bad_compiles:-$(grep -v -e '-O1 -DLW_PACKAGER_CFLAGS' <<<"$compiles" | head -n 1)}
bad_compiles=${bad_compiles:-$(grep -e ' -O2 ' -e '-Werror ' <<<"$compiles" | head -n 1)}
bad_links=$(grep -v -e '--defsym=lw_packager_ldflags=0' <<<"$links" | head -n 1)
check packager_flags_reach_every_compile_and_link \
	"$([ "$(wc -l <<<"$compiles")" -gt 40 ] && [ "$(wc -l <<<"$links")" -gt 10 ] &&
		[ -z "$bad_compiles$bad_links" ]; echo $?)" \
	"$(wc -l <<<"$compiles") compiles, $(wc -l <<<"$links") links; first without the flags (or with -O2/-Werror): ${bad_compiles:0:300}${bad_links:0:300}"

plan=$(make --no-print-directory -n -B V=1 BUILD="$tmp/plan" WERROR=1 "$tmp/plan/lockwarden" 2>&1)
without=$(grep -E '^(cc|gcc) .* -c ' <<<"$plan" | grep -v -e ' -Werror ' | head -n 1)
check werror_is_on_when_asked_for "$([ -z "$without" ] && grep -q -- ' -Werror ' <<<"$plan"; echo $?)" \
	"a compile without -Werror: ${without:0:300}"

# A real build with Debian's hardening flags, into its own folder. The BPF
# skeletons are copied from the build (they take no packager flags).
mkdir -p "$tmp/hard"
cp -a build/bpf "$tmp/hard/"
out=$(eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)" &&
	make --no-print-directory BUILD="$tmp/hard" "$tmp/hard/lockwarden" \
		"$tmp/hard/liblockwarden.so.$version" 2>&1); status=$?
bad=""
for f in "$tmp/hard/lockwarden" "$tmp/hard/liblockwarden.so.$version"; do
	[ -f "$f" ] || { bad="$bad $(basename "$f"): not built;"; continue; }
	# captured first: grep -q closing a pipe early would fail it (pipefail)
	headers=$(readelf -lW "$f") dynamic=$(readelf -dW "$f") imports=$(nm -D "$f")
	grep -q GNU_RELRO <<<"$headers" || bad="$bad $(basename "$f"): no RELRO;"
	grep -qE 'BIND_NOW|FLAGS_1.*NOW' <<<"$dynamic" || bad="$bad $(basename "$f"): no BIND_NOW;"
	grep -q ' U __stack_chk_fail' <<<"$imports" || bad="$bad $(basename "$f"): no stack protector;"
	grep -qE ' U __[a-z]+_chk(@|$)' <<<"$imports" || bad="$bad $(basename "$f"): no fortified calls;"
done
check dpkg_buildflags_hardening_reaches_the_cli_and_the_library \
	"$([ $status -eq 0 ] && [ -z "$bad" ]; echo $?)" "status $status;$bad $(tail -n 3 <<<"$out")"

exit $failed
