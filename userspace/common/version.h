/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One version for every lockwarden program (daemon Status, CLI --version). */
#ifndef LOCKWARDEN_VERSION_H
#define LOCKWARDEN_VERSION_H

#define LOCKWARDEN_VERSION "0.1.0"

#endif
