/* digest.c - see digest.h.
 *
 * OpenSSL's SHA-256 through its low-level SHA256_* functions rather than
 * EVP: the first EVP digest in a process loads the provider machinery
 * (0.5-0.9 ms here), which would dominate one-shot commands such as
 * `berth run` (the seccomp cache key is a digest).  Same implementation
 * (SHA-NI/AVX code paths), no per-process setup.  The functions are marked
 * deprecated in OpenSSL 3; they remain supported there. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "digest.h"
#include "../base/cleanup.h"
#include <fcntl.h>
#include <openssl/sha.h>
#include <string.h>

struct Sha256 { SHA256_CTX ctx; };

Sha256 *sha256_new(void)
{
	Sha256 *h = xcalloc(1, sizeof(*h));
	if (SHA256_Init(&h->ctx) != 1)
		abort();
	return h;
}

void sha256_update(Sha256 *h, const void *data, size_t n) { SHA256_Update(&h->ctx, data, n); }

void sha256_free(Sha256 *h)
{
	free(h);
}

void sha256_final(Sha256 *h, char out[72])
{
	unsigned char md[32];
	SHA256_Final(md, &h->ctx);
	static const char hex[] = "0123456789abcdef";
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = 0;
	sha256_free(h);
}

void sha256_buf(const void *data, size_t n, char out[72])
{
	Sha256 *h = sha256_new();
	sha256_update(h, data, n);
	sha256_final(h, out);
}

int sha256_file(const char *path, char out[72], Error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	Sha256 *h = sha256_new();
	char buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			sha256_free(h);
			return err_sys(err, e, "read '%s'", path);
		}
		if (r == 0)
			break;
		sha256_update(h, buf, (size_t)r);
	}
	sha256_final(h, out);
	return 0;
}

bool digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}
