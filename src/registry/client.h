/* client.h - the HTTP client the push and pull code share (client.c). */
#ifndef BERTH_REG_CLIENT_H
#define BERTH_REG_CLIENT_H

#include "reg-internal.h"
#include "../base/strbuf.h"

typedef struct RegClient RegClient;

/* A parsed image reference: registry as named, the host to talk to,
 * repository, tag or digest, and the normalised full name. */
typedef struct RegRef {
	char *registry, *host, *repo, *tag, *digest, *full;
} RegRef;
int reg_ref_parse(const char *ref, RegRef *ret, Error **err);
void reg_ref_release(RegRef *r);

/* scope: space-separated token scopes the operation needs. */
int rc_new(const char *registry, const char *host, const char *scope, const RegClientOpts *o, RegClient **ret,
	   Error **err);
void rc_free(RegClient *c);

typedef struct RcBody {
	const char *buf;   /* memory body, or */
	int fd;            /* a file body from offset (fd >= 0) */
	uint64_t offset, len;
} RcBody;

typedef struct RcResp {
	long status;
	StrBuf body;            /* capped at max_body unless sink is set */
	size_t max_body;
	bool truncated;
	/* a sink for large bodies: returns < 0 to abort */
	int (*sink)(const void *buf, size_t n, void *ud);
	void *sink_ud;
	char *location, *digest, *content_type, *www_auth, *range, *content_range;
	int64_t content_length;
} RcResp;
void rc_resp_release(RcResp *r);

/* A request to path ("/v2/...") or an absolute URL, with the auth dance
 * (one retry after a 401).  headers: NULL-terminated "Name: value" list. */
int rc_do(RegClient *c, const char *method, const char *path_or_url, const char *const *headers,
	  const RcBody *body, RcResp *resp, Error **err);
/* Absolute URL for a Location header value plus extra query; caller frees. */
char *rc_url(RegClient *c, const char *location, const char *query);
/* Turn a registry error response into an Error. */
int rc_fail(const RcResp *r, const char *what, Error **err);

/* Run fn(i, ud) for i in [0, n) on up to `threads` threads; returns the
 * first error (by index order). */
int rc_parallel(size_t n, int threads, int (*fn)(size_t i, void *ud, Error **err), void *ud, Error **err);
/* Short id for progress lines: 12 hex of a digest. */
void rc_short_id(const char *digest, char out[13]);

#endif
