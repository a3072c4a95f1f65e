/* http.c - the HTTPS front of the API server (libmicrohttpd with GnuTLS),
 * and apiserver_run().
 *
 * One thread per connection: a request is read whole (capped at
 * BERTH_MAX_API_BODY, larger bodies get 413), authenticated, handed to
 * api_handle() and answered; a watch answers with a chunked stream whose
 * reader blocks in the store's watch on the connection's own thread and
 * notices a client that hung up.  Nothing here knows about resources.
 * apiserver_local_request (local.h) answers in-process callers with the
 * same handler while the server runs.
 */
#include "api-internal.h"
#include "handlers.h"
#include "local.h"
#include "local-kube.h"
#include "podproxy.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/memtrim.h"
#include <malloc.h>
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <arpa/inet.h>
#include "../shared/mhd-lazy.h" /* libmicrohttpd, loaded on first use */
#include "../shared/gnutls-lazy.h" /* GnuTLS, the same */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

void apiserver_stop(void)
{
	stop_requested = 1;
}

typedef struct Conn {
	StrBuf body;
	bool too_big;
	Api *api;
} Conn;

/* A running watch belongs to its response, not to the connection:
 * libmicrohttpd may complete (and free) the connection before it destroys
 * the response, so the stream is freed by the response's own callback. */
typedef struct WatchStream {
	ApiWatch *watch;
	struct MHD_Connection *mc;
	char *pending;
	size_t pending_len, pending_off;
} WatchStream;

static void conn_free(Conn *c)
{
	if (!c)
		return;
	sb_release(&c->body);
	free(c);
}

typedef struct ParamCollect {
	ApiRequest *req;
} ParamCollect;

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	ApiRequest *req = cls;
	if (req->nparams >= BERTH_MAX_API_PARAMS)
		return MHD_NO;
	req->params = xrealloc(req->params, (req->nparams + 1) * sizeof(ApiParam));
	req->params[req->nparams].key = xstrdup(key);
	req->params[req->nparams].value = xstrdup(value ? value : "");
	req->nparams++;
	return MHD_YES;
}

static bool client_gone(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	struct pollfd p = { .fd = ci->connect_fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	WatchStream *c = cls;
	while (!c->pending) {
		if (stop_requested || client_gone(c->mc))
			return MHD_CONTENT_READER_END_OF_STREAM;
		int r = api_watch_next(c->watch, &c->pending, &c->pending_len, 1000);
		if (r < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		c->pending_off = 0;
	}
	size_t n = c->pending_len - c->pending_off;
	if (n > max)
		n = max;
	memcpy(buf, c->pending + c->pending_off, n);
	c->pending_off += n;
	if (c->pending_off == c->pending_len) {
		free(c->pending);
		c->pending = NULL;
	}
	return (ssize_t)n;
}

static void watch_done(void *cls)
{
	WatchStream *ws = cls;
	api_watch_free(ws->watch);
	free(ws->pending);
	free(ws);
}

static enum MHD_Result send_response(struct MHD_Connection *mc, ApiResponse *resp)
{
	struct MHD_Response *r;
	if (resp->proxy)
		return api_podproxy_respond(mc, resp->proxy);
	if (resp->watch) {
		WatchStream *ws = xcalloc(1, sizeof(*ws));
		ws->watch = TAKE_PTR(resp->watch);
		ws->mc = mc;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, watch_reader, ws, watch_done);
	} else {
		r = MHD_create_response_from_buffer(resp->len, resp->body ? resp->body : (char *)"", MHD_RESPMEM_MUST_COPY);
	}
	MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type : "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	if (resp->warning)
		MHD_add_response_header(r, "Warning", resp->warning);
	enum MHD_Result ret = MHD_queue_response(mc, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A client certificate the CA signed: CN is the user, each O a group (as
 * kube-apiserver's x509 authenticator).  -EACCES when there is none. */
static int auth_client_cert(struct MHD_Connection *mc, ApiUser *ret)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return -EACCES;
	gnutls_session_t s = (gnutls_session_t)ci->tls_session;
	unsigned int status = 0, n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	if (!peers || n == 0 || gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return -EACCES;
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -EACCES;
	int r = -EACCES;
	char buf[256];
	size_t len = sizeof(buf);
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) >= 0 && len > 0) {
		memset(ret, 0, sizeof(*ret));
		ret->name = xstrndup(buf, len);
		for (unsigned i = 0; i < 16; i++) {
			len = sizeof(buf);
			if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, i, 0, buf, &len) < 0)
				break;
			api_user_add_group(ret, buf, strnlen(buf, len));
		}
		api_user_add_group(ret, "system:authenticated", strlen("system:authenticated"));
		r = 0;
	}
	gnutls_x509_crt_deinit(crt);
	return r;
}

/* A bearer token when one is sent, else a client certificate. */
static int authenticate(Api *api, struct MHD_Connection *mc, const char *authz, ApiUser *ret)
{
	if (authz && *authz)
		return api_auth_request(api, authz, ret);
	return auth_client_cert(mc, ret);
}

static bool public_path(const char *url)
{
	return !strcmp(url, "/healthz") || !strcmp(url, "/livez") || !strcmp(url, "/readyz") ||
	       !strcmp(url, "/version");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	Api *api = cls;
	Conn *c = *con_cls;
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		sb_init(&c->body);
		c->api = api;
		*con_cls = c;
		__atomic_add_fetch(&api->n_requests, 1, __ATOMIC_RELAXED);
		return MHD_YES;
	}
	if (*upload_size) {
		if (c->body.len + *upload_size > BERTH_MAX_API_BODY)
			c->too_big = true;
		else
			sb_add(&c->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	ApiRequest req = { .method = method };
	ApiResponse resp = { 0 };
	req.path = xstrdup(url);
	MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_param, &req);
	req.accept = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Accept");
	req.content_type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
	req.user_agent = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "User-Agent");
	req.body = c->body.buf;
	req.body_len = c->body.len;
	ApiUser user = { 0 };
	const char *authz = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
	if (c->too_big) {
		api_respond_status(&resp, 413, "RequestEntityTooLarge", "Request entity too large: limit is %u",
				   BERTH_MAX_API_BODY);
	} else if (authenticate(api, mc, authz, &user) < 0 && !public_path(url)) {
		api_respond_status(&resp, 401, "Unauthorized", "Unauthorized");
	} else {
		req.user = user.name;
		req.groups = user.groups;
		req.authorize = true;
		api_handle(api, &req, &resp);
	}
	api_user_release(&user);
	log_debug("%s %s -> %d", method, url, resp.status);
	enum MHD_Result ret = send_response(mc, &resp);
	api_response_release(&resp);
	api_request_release(&req);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)mc;
	(void)toe;
	conn_free(*con_cls);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (log_get_level() < LOG_DEBUG_)
		return;
	vfprintf(stderr, fmt, ap);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, Error **err)
{
	const char *colon = strrchr(listen, ':');
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	int64_t port;
	if (!colon || parse_int64(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return err_set(err, EINVAL, "--listen '%s': expected HOST:PORT", listen);
	_cleanup_free_ char *host = xstrndup(listen, (size_t)(colon - listen));
	if (!*host || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return err_set(err, EINVAL, "--listen '%s': '%s' is not an IPv4 address", listen, host);
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* Each connection's memory pool (headers, read buffer, a watch's chunk
 * buffer) is mapped per connection and stays resident while it lives: a
 * watch fills its chunk buffer over time.  32 KiB (MHD's default) holds any
 * kubectl request's headers; 64 KiB cost ~1 MB more with 20 watches open. */
#define BERTH_API_CONN_POOL (32 * 1024)

static struct MHD_Daemon *start_daemon(Api *api, struct sockaddr_in *sa, const char *cert, const char *key,
				       const char *ca)
{
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
					MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, api, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
				MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_TRUST, ca,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)BERTH_API_CONN_POOL, MHD_OPTION_END);
}

/* ---- in-process requests (local.h) ---- */

/* The running server for apiserver_local_request: callers count themselves
 * in local_inflight before reading local_api, and apiserver_run clears
 * local_api and then waits for local_inflight to drain before tearing the
 * server down (sequentially consistent: a caller that saw the server is
 * counted before the teardown looks). */
static Api *local_api;
static int local_inflight;

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* [s, s+n) percent-decoded ('+' is a space in a query); caller frees. */
static char *pct_decode(const char *s, size_t n, bool query)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else
			*o++ = query && s[i] == '+' ? ' ' : s[i];
	}
	*o = 0;
	return out;
}

static void local_params(ApiRequest *req, const char *q)
{
	while (*q && req->nparams < BERTH_MAX_API_PARAMS) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t kl = eq ? (size_t)(eq - q) : n;
		req->params = xrealloc(req->params, (req->nparams + 1) * sizeof(ApiParam));
		req->params[req->nparams].key = pct_decode(q, kl, true);
		req->params[req->nparams].value = eq ? pct_decode(eq + 1, n - kl - 1, true) : xstrdup("");
		req->nparams++;
		q += n;
		if (*q == '&')
			q++;
	}
}

int apiserver_local_request(const char *method, const char *path, const char *content_type, const char *body,
			    size_t len, int *ret_status, char **ret_body, size_t *ret_len)
{
	__atomic_add_fetch(&local_inflight, 1, __ATOMIC_SEQ_CST);
	Api *api = __atomic_load_n(&local_api, __ATOMIC_SEQ_CST);
	if (!api) {
		__atomic_sub_fetch(&local_inflight, 1, __ATOMIC_SEQ_CST);
		return -ENOTCONN;
	}
	const char *q = strchr(path, '?');
	ApiRequest req = { .method = method, .content_type = content_type ? content_type : "application/json",
			   .body = body, .body_len = len };
	req.path = pct_decode(path, q ? (size_t)(q - path) : strlen(path), false);
	if (q)
		local_params(&req, q + 1);
	ApiResponse resp = { 0 };
	__atomic_add_fetch(&api->n_requests, 1, __ATOMIC_RELAXED);
	api_handle(api, &req, &resp);
	int r = 0;
	if (resp.watch || resp.proxy) {
		r = -ENOTSUP;
	} else {
		*ret_status = resp.status;
		*ret_len = resp.len;
		*ret_body = TAKE_PTR(resp.body);
	}
	api_response_release(&resp);
	api_request_release(&req);
	__atomic_sub_fetch(&local_inflight, 1, __ATOMIC_SEQ_CST);
	return r;
}

/* A watch for in-process callers (local-kube.h): the same stream an HTTP
 * watch sends, line by line to fn, on the caller's thread; ends when the
 * stream does, fn returns non-zero, *stop is set or the server stops. */
int apiserver_local_watch(const char *path, int (*fn)(const char *line, size_t len, void *ud), void *ud,
			  volatile int *stop, int *ret_status, char **ret_body, size_t *ret_len)
{
	__atomic_add_fetch(&local_inflight, 1, __ATOMIC_SEQ_CST);
	Api *api = __atomic_load_n(&local_api, __ATOMIC_SEQ_CST);
	if (!api) {
		__atomic_sub_fetch(&local_inflight, 1, __ATOMIC_SEQ_CST);
		return -ENOTCONN;
	}
	const char *q = strchr(path, '?');
	ApiRequest req = { .method = "GET", .content_type = "application/json" };
	req.path = pct_decode(path, q ? (size_t)(q - path) : strlen(path), false);
	if (q)
		local_params(&req, q + 1);
	ApiResponse resp = { 0 };
	__atomic_add_fetch(&api->n_requests, 1, __ATOMIC_RELAXED);
	api_handle(api, &req, &resp);
	*ret_status = resp.status;
	*ret_body = NULL;
	*ret_len = 0;
	int r = 0;
	if (resp.proxy) {
		r = -ENOTSUP;
	} else if (!resp.watch) {
		*ret_len = resp.len;
		*ret_body = TAKE_PTR(resp.body);
	} else {
		*ret_status = resp.status ? resp.status : 200;
		while (!stop_requested && !(stop && *stop)) {
			char *line = NULL;
			size_t len = 0;
			int n = api_watch_next(resp.watch, &line, &len, 1000);
			if (n < 0)
				break;
			int done = line ? fn(line, len, ud) : 0;
			free(line);
			if (done)
				break;
		}
	}
	api_response_release(&resp);
	api_request_release(&req);
	__atomic_sub_fetch(&local_inflight, 1, __ATOMIC_SEQ_CST);
	return r;
}

static void local_close(void)
{
	__atomic_store_n(&local_api, NULL, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&local_inflight, __ATOMIC_SEQ_CST) > 0) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* After a second with no new request, give back freed heap and clean
 * library pages (base/memtrim.c); once per quiet period. */
static void idle_trim(Api *api, uint64_t *seen, bool *trimmed)
{
	uint64_t n = __atomic_load_n(&api->n_requests, __ATOMIC_RELAXED);
	if (n != *seen) {
		*seen = n;
		*trimmed = false;
	} else if (!*trimmed) {
		mem_trim();
		*trimmed = true;
	}
}

int apiserver_run(const ApiServerConfig *cfg, Error **err)
{
	struct sockaddr_in sa;
	int r = parse_listen(cfg->listen, &sa, err);
	if (r < 0)
		return r;
	if ((r = fs_mkdir_p(cfg->data_dir, 0700, err)) < 0)
		return r;
	_cleanup_free_ char *url = xasprintf("https://%s", cfg->listen);
	if ((r = apiserver_certs_ensure(cfg->data_dir, url, err)) < 0)
		return r;
	_cleanup_free_ char *cert = NULL, *key = NULL, *ca = NULL;
	_cleanup_free_ char *cp = xasprintf("%s/tls/serving.crt", cfg->data_dir), *kp = xasprintf("%s/tls/serving.key", cfg->data_dir);
	_cleanup_free_ char *cap = xasprintf("%s/tls/ca.crt", cfg->data_dir);
	if ((r = fs_read_file(cp, 1 << 20, &cert, NULL, err)) < 0 || (r = fs_read_file(kp, 1 << 20, &key, NULL, err)) < 0 ||
	    (r = fs_read_file(cap, 1 << 20, &ca, NULL, err)) < 0)
		return r;
	_cleanup_free_ char *dbspec = cfg->datastore ? xstrdup(cfg->datastore) : xasprintf("sqlite:%s/state.db", cfg->data_dir);
	/* A fixed mmap threshold: large response bodies (lists, Tables) are
	 * mapped and unmapped on free.  With glibc's dynamic threshold the first
	 * freed one raises it, later ones land at the top of a thread arena, and
	 * malloc_trim never shrinks a thread arena's top: ~2 MB stayed resident. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	Api api = { .cfg = *cfg, .started = (int64_t)time(NULL) };
	pthread_mutex_init(&api.lock, NULL);
	if ((r = store_open(dbspec, &api.store, err)) < 0)
		return r;
	if ((r = api_auth_init(&api, err)) < 0)
		goto out;
	int64_t ring = 0; /* BERTH_WATCH_CACHE_EVENTS: the ring's size (tests shrink it) */
	if (getenv("BERTH_WATCH_CACHE_EVENTS"))
		parse_int64(getenv("BERTH_WATCH_CACHE_EVENTS"), &ring);
	if ((r = api_cache_start(api.store, ring > 0 ? (size_t)ring : 0, &api.cache, err)) < 0)
		goto out;
	api_crd_refresh(&api);
	api_bootstrap(&api);
	struct MHD_Daemon *d = start_daemon(&api, &sa, cert, key, ca);
	if (!d) {
		r = err_set(err, EADDRINUSE, "listen on %s: cannot start the HTTPS server (address in use?)", cfg->listen);
		goto out;
	}
	log_info("berth API server listening on https://%s", cfg->listen);
	__atomic_store_n(&local_api, &api, __ATOMIC_SEQ_CST);
	uint64_t seen = 0;
	bool trimmed = false;
	for (unsigned tick = 0; !stop_requested; tick++) {
		struct timespec ts = { 0, 200 * 1000000L };
		nanosleep(&ts, NULL);
		if (tick % 5 == 0) {
			api_sweep(&api);
			idle_trim(&api, &seen, &trimmed);
		}
	}
	local_close();
	MHD_stop_daemon(d);
	r = 0;
out:
	if (api.store) {
		uint64_t commits, writes;
		if (store_commit_stats(api.store, &commits, &writes) == 0)
			log_info("store: %llu writes in %llu commits", (unsigned long long)writes,
				 (unsigned long long)commits);
	}
	api_cache_stop(api.cache);
	api_auth_release(&api);
	api_crd_release(&api);
	store_free(api.store);
	free(api.ip_used);
	pthread_mutex_destroy(&api.lock);
	return r;
}
