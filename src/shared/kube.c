/* kube.c - the Kubernetes API client: kubeconfig loading, JSON requests with
 * Status errors as Error values, and a line-oriented watch stream reader.
 *
 * Connection reuse matters (a controller creating 500 pods must not pay 500
 * TLS handshakes), so idle curl easy handles are kept in a small pool guarded
 * by a mutex; each request borrows one.  Watches use their own handle, which
 * is cleaned up at the end of the stream.
 *
 * Every kept connection costs ~75 KB here (curl builds an OpenSSL context
 * per connection) and a thread, a TLS session and a memory pool in the API
 * server, so a pooled handle idle for KUBE_POOL_IDLE_MS is closed: a burst
 * (a controller creating 500 pods) leaves no standing connections behind.
 * Sockets are close-on-exec, so a client's connections never leak into the
 * processes a component starts (`berth up`'s agent and registry held its
 * DNS watches' sockets).
 */
#include "kube.h"
#include "json.h"
#include "yaml.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "curl-lazy.h" /* libcurl, loaded on first use */
#include <openssl/evp.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define KUBE_POOL 16
#define KUBE_POOL_IDLE_MS 30000

struct KubeClient {
	char *server;       /* https://host:port, no trailing slash */
	char *ca_pem;       /* CA bundle (PEM), or NULL: system roots */
	size_t ca_len;
	char *auth_header;  /* "Authorization: Bearer ..." or NULL */
	bool insecure;
	pthread_mutex_t lock;
	CURL *idle[KUBE_POOL];      /* a stack: idle[0] is the least recently used */
	int64_t idle_since[KUBE_POOL];
	size_t nidle;
	int64_t idle_ms;            /* KUBE_POOL_IDLE_MS; tests shorten it */
	const KubeTransport *fake;  /* kube_client_new_fake: no HTTP at all */
	void *fake_ud;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

const char *kube_client_server(const KubeClient *c) { return c->server; }

void kube_client_set_server(KubeClient *c, const char *url)
{
	free(c->server);
	c->server = xstrdup(url);
}

static char *b64_decode(const char *in, size_t *ret_len)
{
	size_t n = strlen(in);
	unsigned char *out = xmalloc(n / 4 * 3 + 4);
	int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	while (n > 0 && in[n - 1] == '=' && len > 0) { /* EVP_DecodeBlock counts padding as zeros */
		n--;
		len--;
	}
	out[len] = 0;
	*ret_len = (size_t)len;
	return (char *)out;
}

/* The named entry of a kubeconfig list (clusters/users/contexts), its inner object. */
static json_t *kc_named(const json_t *cfg, const char *list, const char *inner, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(cfg, list), i, e)
		if (!name || !strcmp(json_str(e, "name") ?: "", name))
			return json_object_get(e, inner);
	return NULL;
}

int kube_client_new(const char *text, KubeClient **ret, Error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	int r = yaml_parse_buf(text, strlen(text), &cfg, err);
	if (r < 0)
		return err_prefix(err, "kubeconfig");
	const char *cur = json_str(cfg, "current-context");
	json_t *ctx = kc_named(cfg, "contexts", "context", cur);
	json_t *cluster = kc_named(cfg, "clusters", "cluster", ctx ? json_str(ctx, "cluster") : NULL);
	json_t *user = kc_named(cfg, "users", "user", ctx ? json_str(ctx, "user") : NULL);
	const char *server = json_str(cluster, "server");
	if (!server)
		return err_set(err, EINVAL, "kubeconfig: no server for context '%s'", cur ?: "");
	KubeClient *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->idle_ms = KUBE_POOL_IDLE_MS;
	c->server = xstrndup(server, strlen(server) - (server[0] && server[strlen(server) - 1] == '/' ? 1 : 0));
	const char *cad = json_str(cluster, "certificate-authority-data"), *caf = json_str(cluster, "certificate-authority");
	if (cad)
		c->ca_pem = b64_decode(cad, &c->ca_len);
	else if (caf && fs_read_file(caf, 1 << 20, &c->ca_pem, &c->ca_len, err) < 0) {
		kube_client_free(c);
		return err_prefix(err, "kubeconfig");
	}
	c->insecure = json_bool(cluster, "insecure-skip-tls-verify", false);
	const char *tok = json_str(user, "token");
	if (tok)
		c->auth_header = xasprintf("Authorization: Bearer %s", tok);
	pthread_once(&curl_once, curl_init_once);
	*ret = c;
	return 0;
}

KubeClient *kube_client_new_fake(const KubeTransport *t, void *ud)
{
	KubeClient *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->idle_ms = KUBE_POOL_IDLE_MS;
	c->server = xstrdup("fake://");
	c->fake = t;
	c->fake_ud = ud;
	return c;
}

int kube_client_new_from_file(const char *path, KubeClient **ret, Error **err)
{
	_cleanup_free_ char *text = NULL;
	int r = fs_read_file(path, 1 << 20, &text, NULL, err);
	if (r < 0)
		return r;
	if ((r = kube_client_new(text, ret, err)) < 0)
		return err_prefix(err, "'%s'", path);
	return 0;
}

void kube_client_free(KubeClient *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->server);
	free(c->ca_pem);
	free(c->auth_header);
	free(c);
}

static int64_t kube_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under c->lock: move the handles idle for KUBE_POOL_IDLE_MS (the bottom
 * of the stack) to out[]; returns how many, for cleanup outside the lock. */
static size_t pool_expire(KubeClient *c, int64_t now, CURL **out)
{
	size_t n = 0;
	while (n < c->nidle && now - c->idle_since[n] >= c->idle_ms) {
		out[n] = c->idle[n];
		n++;
	}
	if (n) {
		memmove(c->idle, c->idle + n, (c->nidle - n) * sizeof(c->idle[0]));
		memmove(c->idle_since, c->idle_since + n, (c->nidle - n) * sizeof(c->idle_since[0]));
		c->nidle -= n;
	}
	return n;
}

static void handles_cleanup(CURL **hs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		curl_easy_cleanup(hs[i]);
}

static CURL *handle_get(KubeClient *c)
{
	CURL *h = NULL, *expired[KUBE_POOL];
	pthread_mutex_lock(&c->lock);
	size_t nexp = pool_expire(c, kube_now_ms(), expired);
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	handles_cleanup(expired, nexp);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	if (!h)
		abort();
	return h;
}

static void handle_put(KubeClient *c, CURL *h)
{
	CURL *expired[KUBE_POOL];
	int64_t now = kube_now_ms();
	pthread_mutex_lock(&c->lock);
	size_t nexp = pool_expire(c, now, expired);
	if (c->nidle < KUBE_POOL) {
		c->idle_since[c->nidle] = now;
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	handles_cleanup(expired, nexp);
	if (h)
		curl_easy_cleanup(h);
}

size_t kube_client_idle_handles(KubeClient *c, int64_t idle_ms)
{
	CURL *expired[KUBE_POOL];
	pthread_mutex_lock(&c->lock);
	if (idle_ms > 0)
		c->idle_ms = idle_ms;
	size_t nexp = pool_expire(c, kube_now_ms(), expired);
	size_t n = c->nidle;
	pthread_mutex_unlock(&c->lock);
	handles_cleanup(expired, nexp);
	return n;
}

typedef struct Body {
	StrBuf sb;
	bool too_big;
} Body;

static size_t body_write(char *p, size_t size, size_t n, void *ud)
{
	Body *b = ud;
	if (b->sb.len + size * n > BERTH_MAX_KUBE_BODY) {
		b->too_big = true;
		return 0;
	}
	sb_add(&b->sb, p, size * n);
	return size * n;
}

static int sockopt_cloexec(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	(void)ud;
	(void)purpose;
	fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	return CURL_SOCKOPT_OK;
}

static void handle_setup(KubeClient *c, CURL *h, const char *method, const char *path)
{
	_cleanup_free_ char *url = xasprintf("%s%s", c->server, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cloexec);
	if (c->ca_pem) {
		struct curl_blob blob = { .data = c->ca_pem, .len = c->ca_len, .flags = CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

int kube_status_errno(int status, const char *reason)
{
	switch (status) {
	case 400: case 422: return -EINVAL;
	case 401: case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409: return reason && !strcmp(reason, "AlreadyExists") ? -EEXIST : -EBUSY;
	case 410: return -ESTALE;
	case 429: case 503: return -EAGAIN;
	default: return -EIO;
	}
}

static int status_error(int status, const char *method, const char *path, json_t *body, Error **err)
{
	const char *msg = json_str(body, "message"), *reason = json_str(body, "reason");
	int r = kube_status_errno(status, reason);
	return err_set(err, -r, "%s %s: %d %s", method, path, status, msg ?: reason ?: "error");
}

/* kube_request over a KubeTransport: the same status handling, no HTTP. */
/* A response's body j (owned) as the caller wants it: a Status error for
 * a status outside 2xx, else *ret (or dropped). */
static int response_finish(int status, const char *method, const char *path, json_t *j, json_t **ret,
			   Error **err)
{
	if (status < 200 || status >= 300) {
		int r = status_error(status, method, path, j, err);
		json_decref(j);
		return r;
	}
	if (ret)
		*ret = j;
	else
		json_decref(j);
	return 0;
}

static int fake_request(KubeClient *c, const char *method, const char *path, const json_t *body,
			const char *content_type, json_t **ret, int *ret_status, Error **err)
{
	json_t *j = NULL;
	int status = c->fake->request(c->fake_ud, method, path, body, content_type, &j);
	if (ret_status)
		*ret_status = status;
	return response_finish(status, method, path, j, ret, err);
}

int kube_request(KubeClient *c, const char *method, const char *path, const json_t *body,
		 const char *content_type, json_t **ret, int *ret_status, Error **err)
{
	if (c->fake)
		return fake_request(c, method, path, body, content_type, ret, ret_status, err);
	CURL *h = handle_get(c);
	handle_setup(c, h, method, path);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	_cleanup_free_ char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (data) {
		_cleanup_free_ char *ct = xasprintf("Content-Type: %s", content_type ?: "application/json");
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	Body b = { 0 };
	sb_init(&b.sb);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	int r = 0;
	if (ret_status)
		*ret_status = (int)status;
	if (cc != CURLE_OK) {
		r = err_set(err, b.too_big ? E2BIG : EIO, "%s %s: %s", method, path,
			    b.too_big ? "response too large" : curl_easy_strerror(cc));
		curl_easy_cleanup(h);
		sb_release(&b.sb);
		return r;
	}
	handle_put(c, h);
	json_t *j = NULL;
	if (b.sb.len)
		j = json_loadb(b.sb.buf, b.sb.len, 0, NULL);
	sb_release(&b.sb);
	return response_finish((int)status, method, path, j, ret, err);
}

int kube_get(KubeClient *c, const char *path, json_t **ret, Error **err)
{
	return kube_request(c, "GET", path, NULL, NULL, ret, NULL, err);
}

int kube_post(KubeClient *c, const char *path, const json_t *body, json_t **ret, Error **err)
{
	return kube_request(c, "POST", path, body, NULL, ret, NULL, err);
}

int kube_put(KubeClient *c, const char *path, const json_t *body, json_t **ret, Error **err)
{
	return kube_request(c, "PUT", path, body, NULL, ret, NULL, err);
}

int kube_patch(KubeClient *c, const char *path, const json_t *patch, json_t **ret, Error **err)
{
	return kube_request(c, "PATCH", path, patch, "application/merge-patch+json", ret, NULL, err);
}

int kube_delete(KubeClient *c, const char *path, Error **err)
{
	return kube_request(c, "DELETE", path, NULL, NULL, NULL, NULL, err);
}

/* ---- watch streams ---- */

typedef struct WatchState {
	StrBuf line;
	KubeWatchFn fn;
	void *ud;
	volatile int *stop;
	int stopped_by_fn;
	bool too_big;
	int status;
	CURL *h;
} WatchState;

static size_t watch_write(char *p, size_t size, size_t n, void *ud)
{
	WatchState *w = ud;
	size_t len = size * n;
	if (!w->status) {
		long st = 0;
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &st);
		w->status = (int)st;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n') {
			sb_addc(&w->line, p[i]);
			if (w->line.len > BERTH_MAX_KUBE_BODY) {
				w->too_big = true;
				return 0;
			}
			continue;
		}
		if (w->status >= 200 && w->status < 300 && w->line.len) {
			_cleanup_json_ json_t *ev = json_loadb(w->line.buf, w->line.len, 0, NULL);
			if (ev && w->fn(ev, w->ud)) {
				w->stopped_by_fn = 1;
				return 0;
			}
		}
		if (w->status >= 200 && w->status < 300)
			sb_reset(&w->line);
		else
			sb_addc(&w->line, '\n');
	}
	return len;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
	(void)a, (void)b, (void)c2, (void)d;
	WatchState *w = ud;
	return w->stop && *w->stop ? 1 : 0;
}

int kube_watch(KubeClient *c, const char *path, KubeWatchFn fn, void *ud, volatile int *stop, Error **err)
{
	if (c->fake) {
		_cleanup_json_ json_t *j = NULL;
		int status = c->fake->watch(c->fake_ud, path, fn, ud, stop, &j);
		return status < 200 || status >= 300 ? status_error(status, "watch", path, j, err) : 0;
	}
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	handle_setup(c, h, "GET", path);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	WatchState w = { .fn = fn, .ud = ud, .stop = stop, .h = h };
	sb_init(&w.line);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	int r = 0;
	if (status && (status < 200 || status >= 300)) {
		_cleanup_json_ json_t *j = w.line.len ? json_loadb(w.line.buf, w.line.len, 0, NULL) : NULL;
		r = status_error((int)status, "watch", path, j, err);
	} else if (cc != CURLE_OK && !w.stopped_by_fn && !(stop && *stop))
		r = err_set(err, w.too_big ? E2BIG : EIO, "watch %s: %s", path, curl_easy_strerror(cc));
	sb_release(&w.line);
	return r;
}

/* ---- in-process clients of `berth server` ---- */

static char *loopback_url(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	const char *port = colon ? colon + 1 : "6443";
	_cleanup_free_ char *host = colon ? xstrndup(listen, (size_t)(colon - listen)) : xstrdup(listen);
	if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "[::]") || !strcmp(host, "::"))
		return xasprintf("https://127.0.0.1:%s", port);
	return xasprintf("https://%s:%s", host, port);
}

static void nap_50ms(void)
{
	nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
}

static const KubeTransport *local_transport;
static void *local_transport_ud;

void kube_set_local_transport(const KubeTransport *t, void *ud)
{
	local_transport_ud = ud;
	__atomic_store_n(&local_transport, t, __ATOMIC_RELEASE);
}

KubeClient *kube_client_wait_local(const char *data_dir, const char *listen, volatile int *stop)
{
	_cleanup_free_ char *kcpath = fs_join(data_dir, "kubeconfig.yaml");
	_cleanup_free_ char *url = loopback_url(listen);
	KubeClient *kc = NULL;
	while (!*stop && !kc) {
		if (fs_exists(kcpath) && kube_client_new_from_file(kcpath, &kc, NULL) == 0)
			break;
		nap_50ms();
	}
	if (!kc)
		return NULL;
	kube_client_set_server(kc, url);
	const KubeTransport *t = __atomic_load_n(&local_transport, __ATOMIC_ACQUIRE);
	if (t) { /* in-process: no TLS connection at all (kube_set_local_transport) */
		kc->fake = t;
		kc->fake_ud = local_transport_ud;
	}
	while (!*stop && kube_get(kc, "/readyz", NULL, NULL) < 0)
		nap_50ms();
	if (*stop) {
		kube_client_free(kc);
		return NULL;
	}
	return kc;
}
