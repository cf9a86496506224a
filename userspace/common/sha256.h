/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 in hex, through libgcrypt, which the daemon has loaded anyway
 * (libsystemd links it): OpenSSL's libcrypto cost the daemon 2 to 3 MiB of
 * resident mappings for the same digest. A header of its own, inline:
 * every .c file of common/ also goes into liblockwarden, which does not
 * link libgcrypt; only the daemon's parts that hash do. */
#ifndef LW_COMMON_SHA256_H
#define LW_COMMON_SHA256_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <gcrypt.h>

#define LW_SHA256_HEX_LEN 64

/* hex gets LW_SHA256_HEX_LEN digits and a NUL; -EIO if libgcrypt cannot
 * be set up. */
static inline int lw_sha256_hex(const void *data, size_t len, char hex[LW_SHA256_HEX_LEN + 1])
{
	unsigned char md[LW_SHA256_HEX_LEN / 2];

	/* libgcrypt must be initialised once before use, by whoever is first */
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		if (!gcry_check_version(NULL))
			return -EIO;
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	gcry_md_hash_buffer(GCRY_MD_SHA256, md, data, len);
	for (unsigned int i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

#endif /* LW_COMMON_SHA256_H */
