/* client.c - HTTP to any registry with libcurl: scheme discovery, the auth
 * dance, response headers, bodies capped in memory or streamed to a sink.
 *
 * Auth: a request goes out with the current Authorization; on 401 the
 * WWW-Authenticate challenge says what to do.  Basic: send the credentials.
 * Bearer (Docker's token spec): GET realm?service=..&scope=.. (with Basic
 * credentials when we have some), keep the token, retry once.  One token per
 * client (per push or pull), for the scopes the operation declared.
 * Scheme: https always; plain http only for localhost/127.* registries or
 * with tls_verify=false, and only when https does not answer.  Certificates
 * as docker/podman: a certs dir (--cert-dir or certs.d/HOST:PORT) adds its
 * *.crt CAs to the system ones and may hold a client NAME.cert + NAME.key.
 */
#include "client.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include "../shared/curl-lazy.h" /* libcurl, loaded on first use */
#include <dirent.h>
#include <ctype.h>
#include <string.h>

struct RegClient {
	char *registry, *host;
	char *base;                 /* "https://host" */
	char *scope;
	bool tls_verify;
	RegCreds creds;
	pthread_mutex_t lock;
	char *authz;                /* "Bearer x" / "Basic x" */
	char *ca_blob;              /* PEM: system CAs + the registry's certs dir, or NULL */
	size_t ca_len;
	char *client_cert, *client_key;  /* from the certs dir (*.cert + *.key) */
};

#define TOKEN_MAX (1u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void reg_ref_release(RegRef *r)
{
	free(r->registry);
	free(r->host);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	free(r->full);
	memset(r, 0, sizeof(*r));
}

int reg_ref_parse(const char *ref, RegRef *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	_cleanup_free_ char *full = NULL;
	int r = img_ref_normalize(ref, &full, err);
	if (r < 0)
		return r;
	size_t dn = strcspn(full, "/");
	ret->registry = xstrndup(full, dn);
	const char *rest = full + dn + 1;
	const char *at = strchr(rest, '@');
	size_t name_end = at ? (size_t)(at - rest) : strlen(rest);
	const char *colon = memrchr(rest, ':', name_end);
	if (colon && !strchr(colon, '/')) {
		ret->repo = xstrndup(rest, (size_t)(colon - rest));
		ret->tag = xstrndup(colon + 1, name_end - (size_t)(colon + 1 - rest));
	} else {
		ret->repo = xstrndup(rest, name_end);
	}
	if (at)
		ret->digest = xstrdup(at + 1);
	ret->host = xstrdup(!strcmp(ret->registry, "docker.io") ? "registry-1.docker.io" : ret->registry);
	ret->full = TAKE_PTR(full);
	if (!reg_name_valid(ret->repo)) {
		reg_ref_release(ret);
		return err_set(err, EINVAL, "invalid repository name in '%s'", ref);
	}
	return 0;
}

int reg_ref_registry(const char *ref, char **ret, Error **err)
{
	if (!strchr(ref, '/') && (strchr(ref, '.') || strchr(ref, ':') || !strcmp(ref, "localhost"))) {
		*ret = xstrdup(ref); /* a bare registry host */
		return 0;
	}
	RegRef r;
	int e = reg_ref_parse(ref, &r, err);
	if (e < 0)
		return e;
	*ret = TAKE_PTR(r.registry);
	reg_ref_release(&r);
	return 0;
}

void rc_resp_release(RcResp *r)
{
	sb_release(&r->body);
	free(r->location);
	free(r->digest);
	free(r->content_type);
	free(r->www_auth);
	free(r->range);
	free(r->content_range);
	r->location = r->digest = r->content_type = r->www_auth = r->range = r->content_range = NULL;
}

void rc_free(RegClient *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->registry);
	free(c->host);
	free(c->base);
	free(c->scope);
	free(c->authz);
	free(c->ca_blob);
	free(c->client_cert);
	free(c->client_key);
	reg_creds_release(&c->creds);
	free(c);
}

/* ---- curl callbacks ---- */

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	RcResp *r = ud;
	size_t n = size * nitems;
	if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a redirect or 100-continue): forget the last one's headers */
		rc_resp_release(r);
		sb_init(&r->body);
		r->content_length = -1;
		const char *sp = memchr(buf, ' ', n);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon || n > 16384)
		return n;
	size_t kn = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vn = n - kn - 1;
	while (vn && isspace((unsigned char)*v))
		v++, vn--;
	while (vn && isspace((unsigned char)v[vn - 1]))
		vn--;
	static const struct { const char *name; size_t off; } known[] = {
		{ "location", offsetof(RcResp, location) }, { "docker-content-digest", offsetof(RcResp, digest) },
		{ "content-type", offsetof(RcResp, content_type) }, { "www-authenticate", offsetof(RcResp, www_auth) },
		{ "range", offsetof(RcResp, range) }, { "content-range", offsetof(RcResp, content_range) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (strlen(known[i].name) == kn && !strncasecmp(buf, known[i].name, kn)) {
			char **slot = (char **)((char *)r + known[i].off);
			free(*slot);
			*slot = xstrndup(v, vn);
		}
	}
	if (kn == 14 && !strncasecmp(buf, "content-length", 14)) {
		_cleanup_free_ char *s = xstrndup(v, vn);
		int64_t cl;
		if (parse_int64(s, &cl) == 0)
			r->content_length = cl;
	}
	return n;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *ud)
{
	RcResp *r = ud;
	size_t n = size * nitems;
	if (r->sink && r->status / 100 == 2)
		return r->sink(buf, n, r->sink_ud) < 0 ? 0 : n;
	if (r->body.len + n > r->max_body) {
		r->truncated = true;
		return 0;
	}
	sb_add(&r->body, buf, n);
	return n;
}

typedef struct ReadState {
	const RcBody *b;
	uint64_t pos;
} ReadState;

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	ReadState *st = ud;
	uint64_t left = st->b->len - st->pos;
	size_t n = size * nitems;
	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (st->b->fd >= 0) {
		ssize_t got = pread(st->b->fd, buf, n, (off_t)(st->b->offset + st->pos));
		if (got < 0)
			return CURL_READFUNC_ABORT;
		n = (size_t)got;
	} else {
		memcpy(buf, st->b->buf + st->pos, n);
	}
	st->pos += n;
	return n;
}

static int on_status_peek(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)ud; (void)a; (void)b; (void)c; (void)d;
	return 0;
}

char *rc_url(RegClient *c, const char *location, const char *query)
{
	_cleanup_free_ char *abs = str_has_prefix(location, "http://") || str_has_prefix(location, "https://")
		? xstrdup(location) : xasprintf("%s%s", c->base, location);
	if (!query)
		return TAKE_PTR(abs);
	return xasprintf("%s%c%s", abs, strchr(abs, '?') ? '&' : '?', query);
}

/* One HTTP exchange, no auth logic. */
static int http_once(RegClient *c, const char *method, const char *url, const char *authz,
		     const char *const *headers, const RcBody *body, RcResp *resp, Error **err)
{
	CURL *h = curl_easy_init();
	if (!h)
		return err_set(err, ENOMEM, "curl_easy_init");
	struct curl_slist *hl = NULL;
	_cleanup_free_ char *ah = authz ? xasprintf("Authorization: %s", authz) : NULL;
	if (ah)
		hl = curl_slist_append(hl, ah);
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	ReadState rs = { .b = body, .pos = 0 };
	sb_release(&resp->body);
	sb_init(&resp->body);
	resp->content_length = -1;
	resp->truncated = false;
	if (!resp->max_body)
		resp->max_body = 1u << 20;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, !strcmp(method, "GET") ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "berth");
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_status_peek);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	if (c->ca_blob) {
		struct curl_blob blob = { .data = c->ca_blob, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->client_cert && c->client_key) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
	}
	if (!c->tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (body) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &rs);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body->len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	/* status is needed by the body callback before the body arrives */
	resp->status = 0;
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && resp->truncated))
		return err_set(err, cc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO, "%s %s: %s", method, url,
			       curl_easy_strerror(cc));
	if (resp->truncated)
		return err_set(err, EFBIG, "%s %s: response larger than %zu bytes", method, url, resp->max_body);
	return 0;
}

/* key="value" from a challenge; caller frees. */
static char *challenge_param(const char *h, const char *key)
{
	size_t kn = strlen(key);
	for (const char *p = h; (p = strcasestr(p, key)); p++) {
		if ((p != h && p[-1] != ' ' && p[-1] != ',') || p[kn] != '=')
			continue;
		const char *v = p + kn + 1;
		if (*v == '"') {
			const char *e = strchr(v + 1, '"');
			return e ? xstrndup(v + 1, (size_t)(e - v - 1)) : NULL;
		}
		return xstrndup(v, strcspn(v, ", "));
	}
	return NULL;
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(e);
	curl_free(e);
	return r;
}

static char *basic_value(const RegCreds *cr)
{
	_cleanup_free_ char *pair = xasprintf("%s:%s", cr->user, cr->password);
	_cleanup_free_ char *b = reg_b64(pair, strlen(pair));
	return xasprintf("Basic %s", b);
}

static int fetch_token(RegClient *c, const char *www, Error **err)
{
	_cleanup_free_ char *realm = challenge_param(www, "realm"), *service = challenge_param(www, "service");
	_cleanup_free_ char *cscope = challenge_param(www, "scope");
	if (!realm || !(str_has_prefix(realm, "http://") || str_has_prefix(realm, "https://")))
		return err_set(err, EPROTO, "%s: bad bearer challenge", c->registry);
	StrBuf q = STRBUF_INIT;
	sb_adds(&q, realm);
	char sep = strchr(realm, '?') ? '&' : '?';
	if (service) {
		_cleanup_free_ char *e = url_escape(service);
		sb_addf(&q, "%cservice=%s", sep, e);
		sep = '&';
	}
	_cleanup_free_ char *scopes = xstrdup(c->scope && *c->scope ? c->scope : cscope ? cscope : "");
	char *save = NULL;
	for (char *t = strtok_r(scopes, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *e = url_escape(t);
		sb_addf(&q, "%cscope=%s", sep, e);
		sep = '&';
	}
	if (c->creds.user) {
		_cleanup_free_ char *e = url_escape(c->creds.user);
		sb_addf(&q, "%caccount=%s", sep, e);
	}
	_cleanup_free_ char *url = sb_detach(&q);
	_cleanup_free_ char *basic = c->creds.user ? basic_value(&c->creds) : NULL;
	RcResp r = { .max_body = TOKEN_MAX };
	int e = http_once(c, "GET", url, basic, NULL, NULL, &r, err);
	if (e == 0 && r.status == 401)
		e = err_set(err, EACCES, "%s: unauthorized: incorrect username or password", c->registry);
	else if (e == 0 && r.status != 200)
		e = err_set(err, EACCES, "%s: token endpoint answered %ld", c->registry, r.status);
	_cleanup_json_ json_t *j = NULL;
	if (e == 0)
		e = json_parse_buf(r.body.buf, r.body.len, "token response", &j, err);
	const char *tok = e == 0 ? json_str(j, "token") : NULL;
	if (e == 0 && !tok)
		tok = json_str(j, "access_token");
	if (e == 0 && !tok)
		e = err_set(err, EPROTO, "%s: token response without a token", c->registry);
	if (e == 0) {
		pthread_mutex_lock(&c->lock);
		free(c->authz);
		c->authz = xasprintf("Bearer %s", tok);
		pthread_mutex_unlock(&c->lock);
	}
	rc_resp_release(&r);
	return e;
}

/* React to a 401: returns 1 when the request should be retried. */
static int answer_challenge(RegClient *c, const char *used, RcResp *resp, Error **err)
{
	const char *www = resp->www_auth;
	if (!www)
		return 0;
	if (!strncasecmp(www, "Bearer", 6)) {
		int r = fetch_token(c, www, err);
		return r < 0 ? r : 1;
	}
	if (!strncasecmp(www, "Basic", 5) && c->creds.user) {
		_cleanup_free_ char *b = basic_value(&c->creds);
		if (used && !strcmp(used, b))
			return 0;
		pthread_mutex_lock(&c->lock);
		free(c->authz);
		c->authz = TAKE_PTR(b);
		pthread_mutex_unlock(&c->lock);
		return 1;
	}
	return 0;
}

int rc_do(RegClient *c, const char *method, const char *path_or_url, const char *const *headers,
	  const RcBody *body, RcResp *resp, Error **err)
{
	_cleanup_free_ char *url = rc_url(c, path_or_url, NULL);
	for (int attempt = 0;; attempt++) {
		pthread_mutex_lock(&c->lock);
		_cleanup_free_ char *authz = c->authz ? xstrdup(c->authz) : NULL;
		pthread_mutex_unlock(&c->lock);
		int r = http_once(c, method, url, authz, headers, body, resp, err);
		if (r < 0 || resp->status != 401 || attempt > 0)
			return r;
		r = answer_challenge(c, authz, resp, err);
		if (r <= 0)
			return r;
	}
}

int rc_fail(const RcResp *r, const char *what, Error **err)
{
	_cleanup_json_ json_t *j = r->body.len ? json_loadb(r->body.buf, r->body.len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_str(e0, "code"), *msg = json_str(e0, "message");
	int errc = r->status == 401 ? EACCES : r->status == 403 ? EPERM : r->status == 404 ? ENOENT : EIO;
	if (r->status == 401 && !code)
		return err_set(err, errc, "%s: unauthorized: authentication required", what);
	if (code)
		return err_set(err, errc, "%s: %s: %s", what, code, msg ? msg : "");
	return err_set(err, errc, "%s: unexpected status %ld", what, r->status);
}

static bool host_is_local(const char *host)
{
	return str_has_prefix(host, "localhost") || str_has_prefix(host, "127.") || str_has_prefix(host, "[::1]");
}

/* GET /v2/ over https, then (when allowed) http; keeps the base that answered.
 * A loopback registry is asked over http first: it answers at once when it
 * speaks http, and otherwise the failed attempt costs less than loading the
 * CA store for an https attempt that would fail. */
static int rc_probe(RegClient *c, Error **err)
{
	bool loopback = host_is_local(c->host) && !c->ca_blob;
	const char *schemes[] = { loopback ? "http" : "https", loopback ? "https" : "http" };
	bool http_ok = !c->tls_verify || host_is_local(c->host);
	int r = 0;
	for (size_t i = 0; i < (http_ok ? 2u : 1u); i++) {
		free(c->base);
		c->base = xasprintf("%s://%s", schemes[i], c->host);
		RcResp resp = { .max_body = 1u << 16 };
		Error *e = NULL;
		r = rc_do(c, "GET", "/v2/", NULL, NULL, &resp, &e);
		if (r == 0 && resp.status == 401 && c->creds.user)
			r = err_set(&e, EACCES, "%s: unauthorized: incorrect username or password", c->registry);
		else if (r == 0 && resp.status != 200 && resp.status != 401)
			r = rc_fail(&resp, c->registry, &e);
		rc_resp_release(&resp);
		if (r == 0 || r == -EACCES || i + 1 == (http_ok ? 2u : 1u)) {
			if (r < 0) {
				err_set(err, -r, "%s", err_msg(e));
			}
			err_free(e);
			return r;
		}
		err_free(e);
	}
	return r;
}

/* The registry's certificate directory, as docker and podman find it:
 * --cert-dir, else $BERTH_CERTS_D/HOST[:PORT], else /etc/containers/certs.d/
 * and /etc/docker/certs.d/HOST[:PORT].  NULL when there is none. */
static char *certs_dir_find(const RegClientOpts *o, const char *host)
{
	if (o->cert_dir)
		return xstrdup(o->cert_dir);
	const char *env = getenv("BERTH_CERTS_D");
	const char *roots[] = { env && *env ? env : NULL, "/etc/containers/certs.d", "/etc/docker/certs.d" };
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		if (!roots[i] || strchr(host, '/') || !strcmp(host, "..") || !strcmp(host, "."))
			continue;
		char *d = xasprintf("%s/%s", roots[i], host);
		if (fs_is_dir(d))
			return d;
		free(d);
		if (env && *env && i == 0)
			return NULL; /* an explicit root replaces the system ones */
	}
	return NULL;
}

static void ca_add_file(StrBuf *sb, const char *path)
{
	_cleanup_free_ char *pem = NULL;
	size_t n;
	if (fs_read_file(path, 4u << 20, &pem, &n, NULL) < 0)
		return;
	sb_add(sb, pem, n);
	sb_adds(sb, "\n");
}

/* CAs: *.crt of the certs dir on top of the system bundle; client
 * certificate: NAME.cert with NAME.key. */
static int certs_load(RegClient *c, const char *dir, Error **err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return err_sys(err, errno, "certificate directory '%s'", dir);
	StrBuf sb = STRBUF_INIT;
	ca_add_file(&sb, "/etc/ssl/certs/ca-certificates.crt");
	bool any_ca = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *p = fs_join(dir, de->d_name);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".crt")) {
			ca_add_file(&sb, p);
			any_ca = true;
		} else if (n > 5 && !strcmp(de->d_name + n - 5, ".cert") && !c->client_cert) {
			_cleanup_free_ char *key = xasprintf("%s/%.*s.key", dir, (int)(n - 5), de->d_name);
			if (fs_exists(key)) {
				c->client_cert = TAKE_PTR(p);
				c->client_key = TAKE_PTR(key);
			}
		}
	}
	if (any_ca) {
		c->ca_len = sb.len;
		c->ca_blob = sb_detach(&sb);
	} else {
		sb_release(&sb);
	}
	return 0;
}

int rc_new(const char *registry, const char *host, const char *scope, const RegClientOpts *o, RegClient **ret,
	   Error **err)
{
	pthread_once(&curl_once, curl_init);
	RegClient *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->registry = xstrdup(registry);
	c->host = xstrdup(host);
	c->scope = xstrdup(scope ? scope : "");
	c->tls_verify = o->tls_verify;
	_cleanup_free_ char *cdir = certs_dir_find(o, host);
	int r = cdir ? certs_load(c, cdir, err) : 0;
	if (r < 0) {
		rc_free(c);
		return r;
	}
	if (o->user) {
		c->creds.user = xstrdup(o->user);
		c->creds.password = xstrdup(o->password ? o->password : "");
	} else {
		r = reg_creds_get(registry, &c->creds, err);
	}
	if (r == 0)
		r = rc_probe(c, err);
	if (r < 0) {
		rc_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int reg_login_check(const char *registry, const RegClientOpts *o, Error **err)
{
	RegClient *c;
	const char *host = !strcmp(registry, "docker.io") ? "registry-1.docker.io" : registry;
	int r = rc_new(registry, host, "", o, &c, err);
	if (r < 0)
		return err_prefix(err, "login to %s", registry);
	rc_free(c);
	return 0;
}

void rc_short_id(const char *digest, char out[13])
{
	const char *h = strchr(digest, ':');
	snprintf(out, 13, "%s", h ? h + 1 : digest);
}

typedef struct Pool {
	size_t n, next;
	int (*fn)(size_t, void *, Error **);
	void *ud;
	pthread_mutex_t lock;
	int *rc;
	Error **errs;
} Pool;

static void *pool_worker(void *arg)
{
	Pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		p->rc[i] = p->fn(i, p->ud, &p->errs[i]);
	}
}

int rc_parallel(size_t n, int threads, int (*fn)(size_t i, void *ud, Error **err), void *ud, Error **err)
{
	if (n == 0)
		return 0;
	Pool p = { .n = n, .fn = fn, .ud = ud, .rc = xcalloc(n, sizeof(int)), .errs = xcalloc(n, sizeof(Error *)) };
	pthread_mutex_init(&p.lock, NULL);
	size_t nt = threads < 1 ? 1 : (size_t)threads;
	if (nt > n)
		nt = n;
	pthread_t *tids = xcalloc(nt, sizeof(pthread_t));
	size_t started = 0;
	for (size_t i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, pool_worker, &p) == 0)
			started++;
	if (started == 0)
		pool_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (p.rc[i] < 0 && r == 0) {
			r = p.rc[i];
			if (err && !*err) {
				*err = p.errs[i];
				p.errs[i] = NULL;
			}
		}
		err_free(p.errs[i]);
	}
	pthread_mutex_destroy(&p.lock);
	free(tids);
	free(p.rc);
	free(p.errs);
	return r;
}
