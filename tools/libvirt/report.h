/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Errors of the plugin, reported the way libvirt's own lock drivers do:
 * through libvirt's error API, so `virsh start` prints them. */
#ifndef LW_LIBVIRT_REPORT_H
#define LW_LIBVIRT_REPORT_H

/* Report one line with a libvirt error code (VIR_ERR_*). Inside libvirtd
 * this calls libvirt's virReportErrorHelper (found at run time: the plugin
 * links no libvirt); where that symbol is missing the line goes to stderr.
 * Returns -1, the failure value of every driver callback. */
int lw_report(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map a liblockwarden errno to the libvirt code a user should see. */
int lw_report_code_of(int err);

#endif
