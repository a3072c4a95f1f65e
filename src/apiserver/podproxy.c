/* podproxy.c - pods/log, pods/exec, pods/attach and pods/portforward: the
 * API server's side of `kubectl logs`, `exec`, `cp`, `attach` and
 * `port-forward`, as kube-apiserver does it: find the pod's node, and relay
 * the request to that node's agent (its kubelet endpoint, the Node's
 * daemonEndpoints port on its InternalIP), authenticating with the
 * cluster's admin client certificate (O=system:masters, which the agent
 * requires).  Logs are streamed back as they come (follow); the others are
 * an upgrade on both legs - WebSocket (kubectl >= 1.30) or SPDY/3.1 (older
 * kubectl, and port-forward) with the client's X-Stream-Protocol-Version
 * offers passed on and the agent's choice passed back - after which bytes
 * are copied both ways untouched, so the stream protocols are the agent's
 * business.
 *
 * api_podproxy_prepare runs inside api_handle (after routing and RBAC) and
 * only decides where to go; api_podproxy_respond runs in the HTTP front,
 * which owns the client's connection.
 */
#include "api-internal.h"
#include "handlers.h"
#include "podproxy.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include "../shared/curl-lazy.h"
#include "../shared/mhd-lazy.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#define AGENT_DEFAULT_PORT 10250
#define PROXY_HEAD_MAX (16 * 1024)
#define PROXY_CONNECT_TIMEOUT_S 10

struct ApiProxy {
	char *base;       /* https://IP:PORT */
	char *target;     /* /containerLogs/... or /exec/... with the query */
	char *cert, *key; /* the client certificate files */
	bool upgrade;     /* exec/attach/portforward: WebSocket or SPDY */
};

void api_proxy_free(ApiProxy *p)
{
	if (!p)
		return;
	free(p->base);
	free(p->target);
	free(p->cert);
	free(p->key);
	free(p);
}

/* ---- deciding where to go ---- */

static const json_t *pod_container_named(const json_t *pod, const char *name)
{
	static const char *const lists[] = { "spec.containers", "spec.initContainers", "spec.ephemeralContainers" };
	for (size_t l = 0; l < 3; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path(pod, lists[l]), i, c)
			if (!strcmp(json_str(c, "name") ?: "", name))
				return c;
	}
	return NULL;
}

static void names_of(const json_t *arr, StrBuf *out)
{
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
		sb_addf(out, "%s%s", i ? " " : "", json_str(c, "name") ?: "");
}

/* The container a request means: ?container=, the default-container
 * annotation, or the only one; NULL with resp filled otherwise. */
static const char *pick_container(const ApiRequest *req, const json_t *pod, ApiResponse *resp)
{
	const char *name = api_param(req, "container");
	if (!name || !*name)
		name = json_str(json_path(pod, "metadata.annotations"), "kubectl.kubernetes.io/default-container");
	json_t *ctrs = json_path(pod, "spec.containers");
	if ((!name || !*name) && json_array_size(ctrs) == 1)
		name = json_str(json_array_get(ctrs, 0), "name");
	if (!name || !*name) {
		_cleanup_(sb_releasep) StrBuf names = { 0 };
		names_of(ctrs, &names);
		json_t *inits = json_path(pod, "spec.initContainers");
		if (json_array_size(inits)) {
			sb_adds(&names, "] or one of the init containers: [");
			names_of(inits, &names);
		}
		api_respond_status(resp, 400, "BadRequest", "a container name must be specified for pod %s, choose one of: [%s]",
				   req->name, sb_str(&names));
		return NULL;
	}
	if (!pod_container_named(pod, name)) {
		api_respond_status(resp, 400, "BadRequest", "container %s is not valid for pod %s", name, req->name);
		return NULL;
	}
	return name;
}

/* https://IP:PORT of the node's agent, or NULL with resp filled. */
static char *node_agent_base(Api *api, const ApiRequest *req, const char *node_name, ApiResponse *resp)
{
	const ApiResource *nodes = api_resource_find(api, "", "v1", "nodes");
	_cleanup_json_ json_t *node = NULL;
	if (!nodes || api_load(api, nodes, NULL, node_name, &node, NULL) < 0) {
		api_respond_status(resp, 404, "NotFound", "nodes \"%s\" not found", node_name);
		return NULL;
	}
	const char *ip = NULL;
	size_t i;
	json_t *a;
	json_array_foreach(json_path(node, "status.addresses"), i, a)
		if (!strcmp(json_str(a, "type") ?: "", "InternalIP") && !ip)
			ip = json_str(a, "address");
	json_t *port = json_path(node, "status.daemonEndpoints.kubeletEndpoint.Port");
	int64_t p = json_is_integer(port) ? json_integer_value(port) : AGENT_DEFAULT_PORT;
	if (!ip || p <= 0 || p > 65535) {
		api_respond_status(resp, 503, "ServiceUnavailable", "node %s has no address to reach its agent (pod %s/%s)",
				   node_name, req->ns, req->name);
		return NULL;
	}
	return strchr(ip, ':') ? xasprintf("https://[%s]:%lld", ip, (long long)p)
			       : xasprintf("https://%s:%lld", ip, (long long)p);
}

static void query_add(StrBuf *q, const char *key, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);
	sb_addf(q, "%s%s=%s", q->len ? "&" : "", key, v ? v : "");
	curl_free(v);
}

/* The agent path for pods/log with the options kubectl may send. */
static char *log_target(const ApiRequest *req, const char *ctr, ApiResponse *resp)
{
	static const char *const ints[] = { "tailLines", "sinceSeconds", "limitBytes" };
	static const char *const bools[] = { "follow", "timestamps", "previous" };
	_cleanup_(sb_releasep) StrBuf q = { 0 };
	for (size_t i = 0; i < 3; i++) {
		const char *v = api_param(req, ints[i]);
		int64_t n;
		if (!v)
			continue;
		if (parse_int64(v, &n) < 0 || n < 0) {
			api_respond_status(resp, 400, "BadRequest", "%s: invalid value \"%s\": must be a non-negative integer",
					   ints[i], v);
			return NULL;
		}
		query_add(&q, ints[i], v);
	}
	for (size_t i = 0; i < 3; i++) {
		const char *v = api_param(req, bools[i]);
		if (v && (!strcmp(v, "true") || !strcmp(v, "1")))
			query_add(&q, bools[i], "true");
	}
	const char *since = api_param(req, "sinceTime");
	if (since)
		query_add(&q, "sinceTime", since);
	return xasprintf("/containerLogs/%s/%s/%s%s%s", req->ns, req->name, ctr, q.len ? "?" : "", sb_str(&q));
}

static char *exec_target(const ApiRequest *req, const char *ctr, ApiResponse *resp)
{
	_cleanup_(sb_releasep) StrBuf q = { 0 };
	size_t ncmd = 0;
	for (size_t i = 0; i < req->nparams; i++)
		if (!strcmp(req->params[i].key, "command")) {
			query_add(&q, "command", req->params[i].value);
			ncmd++;
		}
	if (!ncmd) {
		api_respond_status(resp, 400, "BadRequest", "you must specify at least one command for the container");
		return NULL;
	}
	static const char *const bools[] = { "stdin", "stdout", "stderr", "tty" };
	for (size_t i = 0; i < 4; i++) {
		const char *v = api_param(req, bools[i]);
		if (v && (!strcmp(v, "true") || !strcmp(v, "1")))
			query_add(&q, bools[i], "true");
	}
	return xasprintf("/exec/%s/%s/%s?%s", req->ns, req->name, ctr, sb_str(&q));
}

static char *attach_target(const ApiRequest *req, const char *ctr)
{
	_cleanup_(sb_releasep) StrBuf q = { 0 };
	static const char *const bools[] = { "stdin", "stdout", "stderr", "tty" };
	for (size_t i = 0; i < 4; i++) {
		const char *v = api_param(req, bools[i]);
		if (v && (!strcmp(v, "true") || !strcmp(v, "1")))
			query_add(&q, bools[i], "true");
	}
	return xasprintf("/attach/%s/%s/%s%s%s", req->ns, req->name, ctr, q.len ? "?" : "", sb_str(&q));
}

void api_podproxy_prepare(Api *api, ApiRequest *req, const json_t *pod, ApiResponse *resp)
{
	bool log = !strcmp(req->sub, "log"), exec = !strcmp(req->sub, "exec"), attach = !strcmp(req->sub, "attach");
	bool pf = !strcmp(req->sub, "portforward");
	if (!log && !exec && !attach && !pf) {
		api_respond_status(resp, 400, "BadRequest", "pod %s/%s: %s is not supported by this server "
				   "(log, exec, attach and portforward are)", req->ns, req->name, req->sub);
		return;
	}
	const char *ctr = pf ? "" : pick_container(req, pod, resp);
	if (!ctr)
		return;
	const char *node = json_str(json_object_get(pod, "spec"), "nodeName");
	if (!node || !*node) {
		api_respond_status(resp, 400, "BadRequest", "pod %s does not have a host assigned", req->name);
		return;
	}
	_cleanup_free_ char *target = log ? log_target(req, ctr, resp) : exec ? exec_target(req, ctr, resp)
				      : attach ? attach_target(req, ctr) : xasprintf("/portForward/%s/%s", req->ns, req->name);
	if (!target)
		return;
	_cleanup_free_ char *base = node_agent_base(api, req, node, resp);
	if (!base)
		return;
	ApiProxy *p = xcalloc(1, sizeof(*p));
	p->base = TAKE_PTR(base);
	p->target = TAKE_PTR(target);
	p->cert = xasprintf("%s/tls/admin.crt", api->cfg.data_dir);
	p->key = xasprintf("%s/tls/admin.key", api->cfg.data_dir);
	p->upgrade = !log;
	resp->proxy = p;
	resp->status = 200;
}

/* ---- the relay ---- */

typedef struct AgentConn {
	CURL *h;
	curl_socket_t fd;
	StrBuf head;     /* the response head, then any body bytes read with it */
	size_t body_off; /* where the body starts in head */
	int status;
} AgentConn;

static void agent_conn_close(AgentConn *c)
{
	if (c->h)
		curl_easy_cleanup(c->h);
	c->h = NULL;
	sb_release(&c->head);
}

static bool wait_fd(curl_socket_t fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	return poll(&p, 1, ms) > 0;
}

static int agent_send_all(AgentConn *c, const char *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(c->h, buf + off, n - off, &sent);
		if (rc == CURLE_AGAIN) {
			if (!wait_fd(c->fd, POLLOUT, 30000))
				return -ETIMEDOUT;
			continue;
		}
		if (rc != CURLE_OK)
			return -EPIPE;
		off += sent;
	}
	return 0;
}

/* Read what is there (waiting up to ms for something): bytes read, 0 at
 * EOF, -EAGAIN when nothing came in time, -EIO on error. */
static ssize_t agent_recv(AgentConn *c, char *buf, size_t n, int ms)
{
	for (;;) {
		size_t got = 0;
		CURLcode rc = curl_easy_recv(c->h, buf, n, &got);
		if (rc == CURLE_OK)
			return (ssize_t)got;
		if (rc != CURLE_AGAIN)
			return -EIO;
		if (!wait_fd(c->fd, POLLIN, ms))
			return -EAGAIN;
	}
}

static int agent_connect(const ApiProxy *p, const char *request, AgentConn *c, Error **err)
{
	c->h = curl_easy_init();
	if (!c->h)
		return err_set(err, ENOMEM, "curl");
	curl_easy_setopt(c->h, CURLOPT_URL, p->base);
	curl_easy_setopt(c->h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c->h, CURLOPT_SSLCERT, p->cert);
	curl_easy_setopt(c->h, CURLOPT_SSLKEY, p->key);
	/* agents serve self-signed certificates (kube-apiserver does not verify
	 * kubelets either unless told a CA); the agent authenticates us */
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT, (long)PROXY_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK)
		return err_set(err, EHOSTUNREACH, "cannot reach the node agent at %s: %s", p->base, curl_easy_strerror(rc));
	curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &c->fd);
	if (agent_send_all(c, request, strlen(request)) < 0)
		return err_set(err, EPIPE, "node agent at %s: connection lost", p->base);
	char buf[4096];
	while (!strstr(sb_str(&c->head), "\r\n\r\n")) {
		if (c->head.len > PROXY_HEAD_MAX)
			return err_set(err, EPROTO, "node agent at %s: response head too large", p->base);
		ssize_t n = agent_recv(c, buf, sizeof(buf), 30000);
		if (n <= 0)
			return err_set(err, EPROTO, "node agent at %s: no answer", p->base);
		sb_add(&c->head, buf, (size_t)n);
	}
	c->body_off = (size_t)(strstr(c->head.buf, "\r\n\r\n") - c->head.buf) + 4;
	if (sscanf(c->head.buf, "HTTP/1.%*d %d", &c->status) != 1)
		return err_set(err, EPROTO, "node agent at %s: not an HTTP answer", p->base);
	return 0;
}

/* A header of the agent's response head (value copied into buf). */
static const char *head_value(const AgentConn *c, const char *name, char *buf, size_t n)
{
	size_t nl = strlen(name);
	for (const char *l = strstr(c->head.buf, "\r\n"); l && l < c->head.buf + c->body_off; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, name, nl) || h[nl] != ':')
			continue;
		h += nl + 1;
		while (*h == ' ')
			h++;
		size_t len = strcspn(h, "\r\n");
		snprintf(buf, n, "%.*s", (int)len, h);
		return buf;
	}
	return NULL;
}

static enum MHD_Result respond_status(struct MHD_Connection *mc, int code, const char *message)
{
	const char *reason = code == 404 ? "NotFound" : code == 400 ? "BadRequest" : code == 403 ? "Forbidden"
			     : "InternalError";
	_cleanup_json_ json_t *st = api_status(code, reason, message, NULL);
	_cleanup_free_ char *text = json_dumps(st, JSON_COMPACT);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(mc, (unsigned)code, r);
	MHD_destroy_response(r);
	return ret;
}

/* An agent error: its body (text) becomes the Status message. */
static enum MHD_Result relay_error(struct MHD_Connection *mc, AgentConn *c)
{
	_cleanup_(sb_releasep) StrBuf body = { 0 };
	sb_add(&body, c->head.buf + c->body_off, c->head.len - c->body_off);
	char buf[4096];
	/* the agent keeps the connection open: read Content-Length bytes, or
	 * what comes within a few seconds */
	const char *cl = head_value(c, "Content-Length", buf, sizeof(buf));
	int64_t want = 64 * 1024;
	if (cl && (parse_int64(cl, &want) < 0 || want < 0 || want > 64 * 1024))
		want = 64 * 1024;
	ssize_t n;
	while ((int64_t)body.len < want && (n = agent_recv(c, buf, sizeof(buf), 5000)) > 0)
		sb_add(&body, buf, (size_t)n);
	while (body.len && (body.buf[body.len - 1] == '\n' || body.buf[body.len - 1] == '\r'))
		body.buf[--body.len] = 0;
	int code = c->status >= 400 && c->status < 600 ? c->status : 502;
	return respond_status(mc, code, sb_str(&body));
}

/* ---- logs: the body streamed as it comes ---- */

typedef struct LogRelay {
	AgentConn c;
	size_t pending_off;  /* unsent body bytes that came with the head */
	struct MHD_Connection *mc;
} LogRelay;

static ssize_t log_relay_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	LogRelay *l = cls;
	if (l->pending_off < l->c.head.len) {
		size_t n = l->c.head.len - l->pending_off;
		if (n > max)
			n = max;
		memcpy(buf, l->c.head.buf + l->pending_off, n);
		l->pending_off += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t n = agent_recv(&l->c, buf, max, 1000);
		if (n > 0)
			return n;
		if (n == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (n != -EAGAIN)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(l->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct pollfd p = { .fd = ci ? ci->connect_fd : -1, .events = POLLRDHUP };
		if (ci && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return MHD_CONTENT_READER_END_WITH_ERROR;  /* kubectl went away */
	}
}

static void log_relay_free(void *cls)
{
	LogRelay *l = cls;
	agent_conn_close(&l->c);
	free(l);
}

/* ---- exec, attach, portforward: the upgraded connections joined ---- */

typedef struct Tunnel {
	AgentConn c;
	MHD_socket sock;
	int peer;  /* the client's TCP socket: MHD does not pass a TLS peer's
		    * hang-up on to sock, so it is watched (never read) here */
	struct MHD_UpgradeResponseHandle *urh;
} Tunnel;

static bool sock_send_all(MHD_socket s, const char *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(s, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}

/* The agent has finished its side (its status and close frames are relayed):
 * half-close ours and wait until the client has read everything and hung
 * up (MHD forwards what is still queued in its TLS socket pair, and a
 * close right away could cut the last frames off), at most linger_ms. */
static void tunnel_linger(Tunnel *t, int linger_ms)
{
	char buf[4096];
	shutdown(t->sock, SHUT_WR);
	for (int waited = 0; waited < linger_ms; waited += 100) {
		struct pollfd p = { .fd = t->sock, .events = POLLIN | POLLRDHUP };
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return;
		if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
			return;
		if ((p.revents & POLLIN) && recv(t->sock, buf, sizeof(buf), MSG_DONTWAIT) == 0)
			return;
	}
}

static void *tunnel_main(void *arg)
{
	Tunnel *t = arg;
	char buf[32768];
	bool agent_done = false;
	for (;;) {
		struct pollfd p[3] = { { .fd = t->sock, .events = POLLIN }, { .fd = t->c.fd, .events = POLLIN },
				       { .fd = t->peer, .events = POLLRDHUP } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		bool done = p[2].revents & (POLLRDHUP | POLLHUP | POLLERR);
		if (p[1].revents) {  /* agent -> client, draining what TLS buffered */
			ssize_t n;
			while ((n = agent_recv(&t->c, buf, sizeof(buf), 0)) > 0)
				if (!sock_send_all(t->sock, buf, (size_t)n)) {
					done = true;
					break;
				}
			if (n == 0 || n == -EIO)
				done = agent_done = true;
		}
		if (!done && p[0].revents) {  /* client -> agent */
			ssize_t n = recv(t->sock, buf, sizeof(buf), 0);
			if (n <= 0 || agent_send_all(&t->c, buf, (size_t)n) < 0)
				done = true;
		}
		if (done)
			break;
	}
	agent_conn_close(&t->c);
	if (agent_done)
		tunnel_linger(t, 5000);
	MHD_upgrade_action(t->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(t);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *mc, void *req_cls, const char *extra, size_t extra_in,
			MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)req_cls;
	Tunnel *t = cls;
	t->sock = sock;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	t->peer = ci ? ci->connect_fd : -1;
	t->urh = urh;
	/* MHD hands over a non-blocking socket (for TLS, its end of a socket
	 * pair with a small buffer): sock_send_all wants whole writes */
	int fl = fcntl(sock, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
	/* bytes the client sent right after its request, and the agent's first
	 * frames that arrived with its 101 */
	bool ok = (!extra_in || agent_send_all(&t->c, extra, extra_in) == 0) &&
		  sock_send_all(sock, t->c.head.buf + t->c.body_off, t->c.head.len - t->c.body_off);
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (!ok || pthread_create(&th, &at, tunnel_main, t) != 0) {
		agent_conn_close(&t->c);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(t);
	}
	pthread_attr_destroy(&at);
}

/* Every X-Stream-Protocol-Version line of the client's request, passed on. */
static enum MHD_Result pass_versions(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (key && value && !strcasecmp(key, "X-Stream-Protocol-Version") && !strpbrk(value, "\r\n"))
		sb_addf(cls, "X-Stream-Protocol-Version: %s\r\n", value);
	return MHD_YES;
}

static char *upgrade_request(struct MHD_Connection *mc, const ApiProxy *p, bool spdy)
{
	static const char *const pass[] = { "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol" };
	_cleanup_(sb_releasep) StrBuf r = { 0 };
	sb_addf(&r, "%s %s HTTP/1.1\r\nHost: %s\r\nUpgrade: %s\r\nConnection: Upgrade\r\n", spdy ? "POST" : "GET",
		p->target, p->base + strlen("https://"), spdy ? "SPDY/3.1" : "websocket");
	if (spdy) {
		sb_adds(&r, "Content-Length: 0\r\n");
		MHD_get_connection_values(mc, MHD_HEADER_KIND, pass_versions, &r);
	} else
		for (size_t i = 0; i < 3; i++) {
			const char *v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, pass[i]);
			if (v && !strpbrk(v, "\r\n"))
				sb_addf(&r, "%s: %s\r\n", pass[i], v);
		}
	sb_adds(&r, "\r\n");
	return sb_detach(&r);
}

enum MHD_Result api_podproxy_respond(struct MHD_Connection *mc, ApiProxy *p)
{
	const char *up = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Upgrade");
	bool spdy = up && !strcasecmp(up, "SPDY/3.1");
	if (p->upgrade && !spdy && (!up || strcasecmp(up, "websocket")))
		return respond_status(mc, 400, "this request needs an upgrade to WebSocket or SPDY/3.1");
	_cleanup_free_ char *request = p->upgrade ? upgrade_request(mc, p, spdy)
				     : xasprintf("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", p->target,
						 p->base + strlen("https://"));
	AgentConn c = { 0 };
	_cleanup_err_ Error *err = NULL;
	if (agent_connect(p, request, &c, &err) < 0) {
		agent_conn_close(&c);
		log_warn("pod proxy %s%s: %s", p->base, p->target, err_msg(err));
		return respond_status(mc, 502, err_msg(err));
	}
	if (p->upgrade && c.status == 101) {
		char accept[64], proto[64];
		Tunnel *t = xcalloc(1, sizeof(*t));
		t->c = c;
		struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, t);
		MHD_add_response_header(r, "Upgrade", spdy ? "SPDY/3.1" : "websocket");
		MHD_add_response_header(r, "Connection", "Upgrade");
		if (head_value(&t->c, "Sec-WebSocket-Accept", accept, sizeof(accept)))
			MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
		if (head_value(&t->c, "Sec-WebSocket-Protocol", proto, sizeof(proto)))
			MHD_add_response_header(r, "Sec-WebSocket-Protocol", proto);
		if (head_value(&t->c, "X-Stream-Protocol-Version", proto, sizeof(proto)))
			MHD_add_response_header(r, "X-Stream-Protocol-Version", proto);
		enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (c.status != 200) {
		enum MHD_Result ret = relay_error(mc, &c);
		agent_conn_close(&c);
		return ret;
	}
	LogRelay *l = xcalloc(1, sizeof(*l));
	l->c = c;
	l->pending_off = c.body_off;
	l->mc = mc;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, log_relay_read, l,
								   log_relay_free);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result ret = MHD_queue_response(mc, 200, r);
	MHD_destroy_response(r);
	return ret;
}
