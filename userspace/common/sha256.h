/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 in hex, through OpenSSL's EVP interface (the one not deprecated).
 * A header of its own, inline: every .c file of common/ also goes into
 * liblockwarden, which does not link libcrypto; only the daemon's parts that hash do. */
#ifndef LW_COMMON_SHA256_H
#define LW_COMMON_SHA256_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <openssl/evp.h>

#define LW_SHA256_HEX_LEN 64

/* hex gets LW_SHA256_HEX_LEN digits and a NUL; -EIO if OpenSSL fails. */
static inline int lw_sha256_hex(const void *data, size_t len, char hex[LW_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len * 2 != LW_SHA256_HEX_LEN)
		return -EIO;
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

#endif /* LW_COMMON_SHA256_H */
