/* server.c - the registry's HTTP server: libmicrohttpd in thread-per-
 * connection mode (blob bodies are written to files as they arrive, blobs go
 * out with sendfile), authentication on every request, the token endpoint,
 * one log line per request (method, path, status, bytes, duration, user)
 * and /metrics in the Prometheus text format.
 *
 * Auth modes: none; basic (htpasswd users, anonymous requests get what the
 * ACL grants "*"); token (Docker's flow: 401 with WWW-Authenticate: Bearer
 * realm,service,scope; /token (token.c) issues ES256 JWTs whose `access`
 * claim is the requested scope intersected with the ACL; every request's
 * token is verified: signature, expiry, audience, scope).  With auth on,
 * /metrics needs an authenticated user too (Basic credentials in either
 * mode, so a Prometheus scraper's basic_auth works, or a user's token).
 */
#include "server-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Per-connection buffer pool: blob bodies arrive in chunks of about half of
 * it, so 1 MiB means few write(2)s per upload (the default 32 KiB meant
 * thousands).  Pages are touched only as a connection uses them. */
#define CONN_MEMORY (1u << 20)

const char *req_header(Req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

const char *req_arg(Req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct MHD_Response *resp_new_buf(const char *data, size_t n)
{
	return MHD_create_response_from_buffer(n, (void *)data, MHD_RESPMEM_MUST_COPY);
}

enum MHD_Result req_respond(Req *q, unsigned status, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
	q->status = status;
	q->responded = true;
	/* done with the upload before the client can hear back and send the next chunk */
	if (q->up) {
		rs_upload_release(q->srv->store, q->up);
		q->up = NULL;
	}
	enum MHD_Result r = MHD_queue_response(q->conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result req_json(Req *q, unsigned status, json_t *j, const char *content_type)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	size_t n = strlen(s);
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", content_type ? content_type : "application/json");
	q->bytes_out += n;
	return req_respond(q, status, resp);
}

enum MHD_Result req_error(Req *q, unsigned status, const char *code, const char *msg)
{
	json_t *j = json_pack("{s:[{s:s,s:s,s:n}]}", "errors", "code", code, "message", msg ? msg : code, "detail");
	return req_json(q, status, j, NULL);
}

/* ---- authentication ---- */

bool req_basic_creds(Req *q, char **ret_user, char **ret_pass)
{
	const char *h = req_header(q, "Authorization");
	if (!h || strncasecmp(h, "Basic ", 6))
		return false;
	const char *b = h + 6;
	size_t n = strlen(b);
	if (n > 4096)
		return false;
	_cleanup_free_ unsigned char *raw = NULL;
	size_t len;
	if (reg_b64_decode(b, n, &raw, &len) < 0 || memchr(raw, '\0', len))
		return false;
	char *colon = strchr((char *)raw, ':');
	if (!colon)
		return false;
	*colon = '\0';
	*ret_user = xstrdup((char *)raw);
	*ret_pass = xstrdup(colon + 1);
	return true;
}

static bool access_has(const json_t *claims, const char *type, const char *name, int actions)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(claims, "access"), i, e) {
		const char *t = json_str(e, "type"), *nm = json_str(e, "name");
		if (!t || !nm || strcmp(t, type) || strcmp(nm, name))
			continue;
		int got = 0;
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(e, "actions"), k, a) {
			const char *s = json_string_value(a);
			int v = s ? reg_actions_parse(s) : -1;
			if (v > 0)
				got |= v;
		}
		if ((got & actions) == actions)
			return true;
	}
	return false;
}

static const char *actions_text(int actions)
{
	if (actions & REG_DELETE)
		return "delete";
	return actions & REG_PUSH ? "pull,push" : "pull";
}

enum MHD_Result req_challenge(Req *q, const char *scope, bool insufficient)
{
	RegServer *s = q->srv;
	_cleanup_free_ char *hdr = NULL;
	if (s->mode == REG_AUTH_BASIC) {
		hdr = xstrdup("Basic realm=\"berth-registry\"");
	} else {
		const char *host = req_header(q, "Host");
		_cleanup_free_ char *realm = s->realm ? xstrdup(s->realm)
			: xasprintf("%s://%s/token", s->tls ? "https" : "http", host ? host : "127.0.0.1");
		hdr = xasprintf("Bearer realm=\"%s\",service=\"%s\"%s%s%s%s", realm, s->service,
				scope ? ",scope=\"" : "", scope ? scope : "", scope ? "\"" : "",
				insufficient ? ",error=\"insufficient_scope\"" : "");
	}
	json_t *j = json_pack("{s:[{s:s,s:s,s:n}]}", "errors", "code", "UNAUTHORIZED", "message",
			      "authentication required", "detail");
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "WWW-Authenticate", hdr);
	return req_respond(q, MHD_HTTP_UNAUTHORIZED, resp);
}

/* Establish q->user; false when credentials were presented and are wrong
 * or when a token is invalid (the caller challenges). *ret_claims for tokens. */
static bool identify(Req *q, json_t **ret_claims)
{
	RegServer *s = q->srv;
	*ret_claims = NULL;
	const char *h = req_header(q, "Authorization");
	if (!h)
		return true;
	if (s->mode == REG_AUTH_TOKEN && !strncasecmp(h, "Bearer ", 7)) {
		json_t *c = NULL;
		if (reg_jwt_verify(reg_auth_key(s->auth), h + 7, &c, NULL) < 0)
			return false;
		const char *aud = json_str(c, "aud"), *use = json_str(c, "use");
		if (!aud || strcmp(aud, s->service) || use) {
			json_decref(c);
			return false;
		}
		const char *sub = json_str(c, "sub");
		q->user = sub && *sub ? xstrdup(sub) : NULL;
		*ret_claims = c;
		return true;
	}
	_cleanup_free_ char *u = NULL, *p = NULL;
	if (s->mode == REG_AUTH_BASIC && req_basic_creds(q, &u, &p)) {
		if (!reg_auth_check_password(s->auth, u, p))
			return false;
		q->user = TAKE_PTR(u);
		return true;
	}
	return false;
}

bool req_may(Req *q, const char *repo, int actions)
{
	RegServer *s = q->srv;
	if (s->mode == REG_AUTH_NONE)
		return true;
	if (s->mode == REG_AUTH_TOKEN) {
		json_t *c = q->claims;
		return c && access_has(c, "repository", repo, actions);
	}
	return (reg_auth_allowed(s->auth, q->user, repo) & actions) == actions;
}

static int route_actions(Req *q)
{
	const char *m = q->method;
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		return REG_PULL;
	if (!strcmp(m, "DELETE") && q->p.route != RT_UPLOAD)
		return REG_DELETE;
	return REG_PUSH | REG_PULL;
}

/* /metrics with auth on: any authenticated user, by Basic credentials in
 * both modes (what a Prometheus scraper's basic_auth sends) or by a bearer
 * token issued to a user. */
static bool metrics_authorized(Req *q)
{
	RegServer *s = q->srv;
	_cleanup_free_ char *u = NULL, *p = NULL;
	if (req_basic_creds(q, &u, &p)) {
		if (!reg_auth_check_password(s->auth, u, p))
			return false;
		q->user = TAKE_PTR(u);
		return true;
	}
	return s->mode == REG_AUTH_TOKEN && identify(q, &q->claims) && q->user;
}

/* Check auth for the route; false after responding. */
static bool authorize(Req *q)
{
	RegServer *s = q->srv;
	if (s->mode == REG_AUTH_NONE || q->p.route == RT_TOKEN)
		return true;
	if (q->p.route == RT_METRICS) {
		if (metrics_authorized(q))
			return true;
		req_challenge(q, NULL, false);
		return false;
	}
	if (!identify(q, &q->claims)) {
		req_challenge(q, NULL, false);
		return false;
	}
	if (q->p.route == RT_BASE) {
		if (q->user || q->claims)
			return true;
		req_challenge(q, NULL, false);
		return false;
	}
	if (q->p.route == RT_CATALOG) {
		bool ok = s->mode == REG_AUTH_TOKEN ? q->claims && access_has(q->claims, "registry", "catalog", REG_PULL)
						    : q->user != NULL;
		if (!ok)
			req_challenge(q, "registry:catalog:*", q->claims != NULL);
		return ok;
	}
	if (q->p.route == RT_NONE)
		return true;
	int need = route_actions(q);
	if (req_may(q, q->p.name, need))
		return true;
	_cleanup_free_ char *scope = xasprintf("repository:%s:%s", q->p.name, actions_text(need));
	if (s->mode == REG_AUTH_BASIC && q->user) {
		req_error(q, MHD_HTTP_FORBIDDEN, "DENIED", "requested access to the resource is denied");
		return false;
	}
	req_challenge(q, scope, q->claims != NULL);
	return false;
}

static enum MHD_Result handle_metrics(Req *q)
{
	RegServer *s = q->srv;
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "# HELP berth_registry_http_requests_total HTTP requests served, by status class.\n"
		     "# TYPE berth_registry_http_requests_total counter\n");
	const char *cls[] = { "2xx", "3xx", "4xx", "5xx" };
	uint64_t *vals[] = { &s->n_2xx, &s->n_3xx, &s->n_4xx, &s->n_5xx };
	for (size_t i = 0; i < 4; i++)
		sb_addf(&sb, "berth_registry_http_requests_total{code=\"%s\"} %llu\n", cls[i],
			(unsigned long long)__atomic_load_n(vals[i], __ATOMIC_RELAXED));
	sb_addf(&sb, "# HELP berth_registry_bytes_received_total Request body bytes received.\n"
		     "# TYPE berth_registry_bytes_received_total counter\n"
		     "berth_registry_bytes_received_total %llu\n"
		     "# HELP berth_registry_bytes_sent_total Response body bytes sent.\n"
		     "# TYPE berth_registry_bytes_sent_total counter\n"
		     "berth_registry_bytes_sent_total %llu\n"
		     "# HELP berth_registry_blobs_uploaded_total Blob uploads completed.\n"
		     "# TYPE berth_registry_blobs_uploaded_total counter\n"
		     "berth_registry_blobs_uploaded_total %llu\n"
		     "# HELP berth_registry_manifests_pushed_total Manifests stored.\n"
		     "# TYPE berth_registry_manifests_pushed_total counter\n"
		     "berth_registry_manifests_pushed_total %llu\n",
		(unsigned long long)__atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&s->blobs_uploaded, __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&s->manifests_pushed, __ATOMIC_RELAXED));
	size_t len = sb.len;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, sb_detach(&sb), MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	return req_respond(q, MHD_HTTP_OK, resp);
}

/* ---- libmicrohttpd callbacks ---- */

static void req_free(Req *q)
{
	if (q->up)
		rs_upload_release(q->srv->store, q->up);
	reg_path_release(&q->p);
	json_decref(q->claims);
	sb_release(&q->buf);
	err_free(q->werr);
	free(q->digest);
	free(q->path);
	free(q->user);
	free(q);
}

static enum MHD_Result route_first(Req *q)
{
	const char *code = NULL;
	reg_path_parse(q->path, &q->p, &code);
	if (!authorize(q))
		return MHD_YES;
	if (q->p.route == RT_NONE) {
		if (code)
			return req_error(q, !strcmp(code, "BLOB_UPLOAD_UNKNOWN") ? MHD_HTTP_NOT_FOUND
										: MHD_HTTP_BAD_REQUEST, code, "invalid name or reference");
		return req_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such endpoint");
	}
	if (q->p.route == RT_TOKEN)
		return token_begin(q);
	if (q->p.route == RT_METRICS)
		return handle_metrics(q);
	return handle_begin(q);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	Req *q = *con_cls;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->srv = cls;
		q->conn = conn;
		q->method = method;
		q->path = xstrdup(url);
		clock_gettime(CLOCK_MONOTONIC, &q->start);
		sb_init(&q->buf);
		*con_cls = q;
		__atomic_add_fetch(&q->srv->n_started, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&q->srv->in_flight, 1, __ATOMIC_RELAXED);
		return route_first(q);
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		q->bytes_in += n;
		if (q->responded || q->werr)
			return MHD_YES;
		if (q->body == BODY_UPLOAD) {
			rs_upload_write(q->up, upload_data, n, &q->werr);
		} else if (q->body == BODY_BUFFER) {
			if (q->buf.len + n > (q->body_max ? q->body_max : BERTH_MAX_MANIFEST))
				q->too_big = true;
			else
				sb_add(&q->buf, upload_data, n);
		}
		return MHD_YES;
	}
	if (q->responded)
		return MHD_YES;
	if (q->p.route == RT_TOKEN)
		return token_end(q);
	return handle_end(q);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	RegServer *s = cls;
	Req *q = *con_cls;
	if (!q)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - q->start.tv_sec) * 1e3 + (double)(now.tv_nsec - q->start.tv_nsec) / 1e6;
	unsigned st = q->status;
	uint64_t *cls_ctr = st >= 500 || !st ? &s->n_5xx : st >= 400 ? &s->n_4xx : st >= 300 ? &s->n_3xx : &s->n_2xx;
	__atomic_add_fetch(cls_ctr, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->n_requests, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->bytes_in, q->bytes_in, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->bytes_out, q->bytes_out, __ATOMIC_RELAXED);
	log_info("%s %s %u in=%llu out=%llu %.1fms user=%s%s", q->method, q->path, st,
		 (unsigned long long)q->bytes_in, (unsigned long long)q->bytes_out, ms, q->user ? q->user : "-",
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	req_free(q);
	*con_cls = NULL;
	__atomic_sub_fetch(&s->in_flight, 1, __ATOMIC_RELAXED);
}

/* ---- start / stop ---- */

static int parse_addr(const char *addr, struct sockaddr_in *sin, Error **err)
{
	const char *colon = strrchr(addr, ':');
	if (!colon)
		return err_set(err, EINVAL, "address '%s': want HOST:PORT", addr);
	_cleanup_free_ char *host = xstrndup(addr, (size_t)(colon - addr));
	int64_t port;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (parse_int64(colon + 1, &port) < 0 || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, *host ? (strcmp(host, "localhost") ? host : "127.0.0.1") : "0.0.0.0",
		      &sin->sin_addr) != 1)
		return err_set(err, EINVAL, "address '%s': want IPv4:PORT", addr);
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

void reg_server_stop(RegServer *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	rs_free(s->store);
	reg_auth_free(s->auth);
	free(s->realm);
	free(s->service);
	free(s->cert_pem);
	free(s->key_pem);
	free(s);
}

uint16_t reg_server_port(const RegServer *s) { return s->port; }

static int server_setup(RegServer *s, const RegServerOpts *o, Error **err)
{
	int r = rs_open(o->root, &s->store, err);
	if (r < 0)
		return r;
	if (o->auth != REG_AUTH_NONE) {
		if (!o->users_file)
			return err_set(err, EINVAL, "--auth %s needs --users FILE",
				       o->auth == REG_AUTH_BASIC ? "basic" : "token");
		r = reg_auth_open(o->root, o->users_file, o->acl_file, &s->auth, err);
		if (r < 0)
			return r;
	}
	if (!!o->tls_cert != !!o->tls_key)
		return err_set(err, EINVAL, "--tls-cert and --tls-key go together");
	if (o->tls_cert) {
		size_t n;
		if ((r = fs_read_file(o->tls_cert, 1u << 20, &s->cert_pem, &n, err)) < 0 ||
		    (r = fs_read_file(o->tls_key, 1u << 20, &s->key_pem, &n, err)) < 0)
			return r;
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return err_set(err, ENOTSUP, "libmicrohttpd was built without TLS");
		s->tls = true;
	}
	return 0;
}

int reg_server_start(const RegServerOpts *o, RegServer **ret, Error **err)
{
	struct sockaddr_in sin;
	int r = parse_addr(o->addr ? o->addr : "127.0.0.1:5000", &sin, err);
	if (r < 0)
		return r;
	RegServer *s = xcalloc(1, sizeof(*s));
	s->mode = o->auth;
	s->realm = o->realm ? xstrdup(o->realm) : NULL;
	s->service = xstrdup(o->service ? o->service : "berth-registry");
	s->token_ttl = o->token_ttl > 0 ? o->token_ttl : 300;
	r = server_setup(s, o, err);
	if (r < 0) {
		reg_server_stop(s);
		return r;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			 MHD_USE_ERROR_LOG | (s->tls ? MHD_USE_TLS : 0);
	s->daemon = s->tls
		? MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sin,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
				   (unsigned)300, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				   MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
				   s->key_pem, MHD_OPTION_END)
		: MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sin,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
				   (unsigned)300, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				   MHD_OPTION_END);
	if (!s->daemon) {
		reg_server_stop(s);
		return err_set(err, EADDRINUSE, "cannot listen on %s", o->addr ? o->addr : "127.0.0.1:5000");
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : ntohs(sin.sin_port);
	*ret = s;
	return 0;
}
