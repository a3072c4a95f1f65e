/* digest.h - sha256 digests (OpenSSL EVP) as OCI writes them: "sha256:<hex>". */
#ifndef BERTH_SHARED_DIGEST_H
#define BERTH_SHARED_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include "../base/err.h"

typedef struct Sha256 Sha256;
Sha256 *sha256_new(void);
void sha256_update(Sha256 *h, const void *data, size_t n);
/* Writes "sha256:" + 64 hex + NUL (72 bytes) and frees h. */
void sha256_final(Sha256 *h, char out[72]);
void sha256_free(Sha256 *h);
void sha256_buf(const void *data, size_t n, char out[72]);
/* Hash a file's bytes. */
int sha256_file(const char *path, char out[72], Error **err);
/* "sha256:" followed by exactly 64 lowercase hex. */
bool digest_valid(const char *d);

#endif
