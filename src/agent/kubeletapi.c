/* kubeletapi.c - the node agent's HTTPS endpoint (the kubelet's port 10250)
 * through which the API server serves `kubectl logs`, `exec`, `cp`, `attach`
 * and `port-forward`.
 *
 *   GET /healthz                                   "ok"
 *   GET /containerLogs/NS/POD/CTR?follow&tailLines&sinceSeconds&sinceTime&
 *       timestamps&previous&limitBytes             the CRI log as plain text
 *   GET /exec/NS/POD/CTR?command=..&stdin&stdout&stderr&tty
 *       (Upgrade: websocket, v5/v4.channel.k8s.io,
 *        or Upgrade: SPDY/3.1, v4/v3/v2.channel.k8s.io)  a process in the container
 *   GET /attach/NS/POD/CTR?stdin&stdout&stderr&tty     the same streams joined to
 *       the running container: its CRI log followed from now on, and stdin
 *       through the shim's <ctr>/attach.sock (containers with stdin: true);
 *       a tty container's terminal through the shim's <ctr>/tty.sock
 *       (output, input, resize; the first client also gets what the
 *       terminal showed before it came)
 *   GET /portForward/NS/POD (Upgrade: SPDY/3.1, portforward.k8s.io, or a
 *       WebSocket carrying it: SPDY/3.1+portforward.k8s.io)
 *       TCP connections into the pod's network namespace (portforward.c)
 *
 * Only clients holding a certificate of the cluster CA with organisation
 * system:masters (the API server's kubelet client) are served.  Everything is
 * read from the agent's state on disk (the pod directory's CRI logs, the
 * container's state.json with its pid and OCI process), so this runs on
 * libmicrohttpd's threads without touching the agent's loop.
 *
 * Exec streams: each WebSocket binary message starts with a channel byte:
 * 0 stdin, 1 stdout, 2 stderr, 3 the final status (a metav1.Status),
 * 4 terminal resize ({"Width":W,"Height":H}); v5 adds 255 = close channel
 * (the next byte) - kubectl uses it to close stdin.  Over SPDY (spdy_pump)
 * the client opens one stream per channel, named by its "streamtype" header
 * (error, stdin, stdout, stderr, resize); stdin ends with FIN; the status
 * goes on the error stream (v4: the same metav1.Status; v2/v3: the message
 * text of a failure) and every stream ends with FIN.  A malformed frame ends
 * that connection (logged), never the agent.
 */
#include "kubeletapi.h"
#include "kubeletapi-internal.h"
#include "agent-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../runtime/crilog.h"
#include "../shared/json.h"
#include "../shared/spdy.h"
#include "../shared/websocket.h"
#include "portforward.h"
#include "shim.h"
#include "../shared/x509.h"
#include "../shared/mhd-lazy.h"
#include "../shared/gnutls-lazy.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>


/* ---- who may ask ---- */

static bool peer_is_master(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	gnutls_session_t s = (gnutls_session_t)ci->tls_session;
	unsigned n = 0, status = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	if (!peers || n == 0 || gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return false;
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0)
		return false;
	bool ok = false;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) >= 0)
		for (unsigned i = 0; !ok && i < 8; i++) {
			char buf[256];
			size_t len = sizeof(buf);
			if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, i, 0, buf, &len) < 0)
				break;
			ok = !strcmp(buf, "system:masters");
		}
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/* ---- answers ---- */

enum MHD_Result kl_reply(struct MHD_Connection *mc, unsigned code, const char *ctype, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(mc, code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result kl_reply_error(struct MHD_Connection *mc, unsigned code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return kl_reply(mc, code, "text/plain; charset=utf-8", msg ? msg : "error");
}

const char *kl_arg(struct MHD_Connection *mc, const char *key)
{
	return MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, key);
}

bool kl_arg_true(struct MHD_Connection *mc, const char *key)
{
	const char *v = kl_arg(mc, key);
	return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

/* ---- exec ---- */

typedef struct ExecSession {
	pid_t pid;
	int in, out, err;      /* pipes to the process (-1 when not asked), or the pty master in `out` */
	bool tty, v5;
	bool ttysock;            /* attach to a tty container: `out` is its shim's tty.sock, input
				  * and sizes go there as messages (shim.h) */
	bool want_out, want_err; /* SPDY: the client opens these streams (else output is dropped) */
	int peer;                /* the client's TCP socket (MHD's): watched for hang-ups */
} ExecSession;

/* MHD does not pass a TLS peer's hang-up on to an upgraded connection's
 * socket: the pumps watch the TCP socket itself (without reading it). */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int ws_send(int sock, int channel, const void *data, size_t len)
{
	uint8_t hdr[10];
	size_t h = ws_frame_header(hdr, WS_BINARY, len + 1);
	uint8_t ch = (uint8_t)channel;
	struct iovec iov[3] = { { hdr, h }, { &ch, 1 }, { (void *)data, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
	size_t want = h + 1 + len;
	ssize_t n = sendmsg(sock, &m, MSG_NOSIGNAL);
	if (n == (ssize_t)want)
		return 0;
	/* a short write on a blocking socket: finish it piecewise */
	size_t done = n > 0 ? (size_t)n : 0;
	uint8_t *all = xmalloc(want);
	memcpy(all, hdr, h);
	all[h] = ch;
	memcpy(all + h + 1, data, len);
	while (done < want) {
		ssize_t w = send(sock, all + done, want - done, MSG_NOSIGNAL);
		if (w <= 0) {
			free(all);
			return -EPIPE;
		}
		done += (size_t)w;
	}
	free(all);
	return 0;
}

/* A PONG for a PING (kubectl >= 1.30 pings and times out without them). */
static void ws_send_pong(int sock, const uint8_t *data, size_t len)
{
	uint8_t frame[2 + 125];
	if (len > 125)
		return;
	size_t h = ws_frame_header(frame, WS_PONG, len);
	memcpy(frame + h, data, len);
	(void)!send(sock, frame, h + len, MSG_NOSIGNAL);
}

static void ws_send_close(int sock)
{
	uint8_t frame[4] = { 0x88, 2, 0x03, 0xe8 };  /* 1000 normal closure */
	(void)!send(sock, frame, sizeof(frame), MSG_NOSIGNAL);
}

static int exit_code_of(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

/* The final status as the kubelet writes it (v4/v5 channel protocols):
 * metav1.Status JSON, the exit code as an ExitCode cause.  Caller frees. */
static char *exec_status_json(int wstatus)
{
	_cleanup_json_ json_t *st = NULL;
	int code = exit_code_of(wstatus);
	if (code == 0)
		st = json_pack("{s:s, s:{}, s:s}", "kind", "Status", "metadata", "status", "Success");
	else {
		_cleanup_free_ char *msg = xasprintf("command terminated with non-zero exit code: exit status %d", code);
		_cleanup_free_ char *cs = xasprintf("%d", code);
		st = json_pack("{s:s, s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "kind", "Status", "metadata",
			       "status", "Failure", "message", msg, "reason", "NonZeroExitCode", "details", "causes",
			       "reason", "ExitCode", "message", cs);
	}
	return json_dumps(st, JSON_COMPACT);
}

/* The final status on channel 3. */
static void exec_send_status(int sock, int wstatus)
{
	_cleanup_free_ char *text = exec_status_json(wstatus);
	ws_send(sock, 3, text, strlen(text));
}

static void exec_resize(ExecSession *e, const uint8_t *p, size_t n)
{
	if (!e->tty || e->out < 0)
		return;
	_cleanup_json_ json_t *j = NULL;
	if (json_parse_buf((const char *)p, n, "resize", &j, NULL) < 0)
		return;
	struct winsize ws = { .ws_col = (unsigned short)json_int(j, "Width", 80),
			      .ws_row = (unsigned short)json_int(j, "Height", 24) };
	if (e->ttysock) {
		uint8_t msg[5];
		send(e->out, msg, shim_tty_resize_msg(msg, ws.ws_row, ws.ws_col), MSG_NOSIGNAL);
		return;
	}
	ioctl(e->out, TIOCSWINSZ, &ws);
}

/* Input for the process: the pty master, its stdin pipe, or messages to
 * the shim of a tty container (blocking: the shim reads at the pace the
 * terminal takes input). */
static void session_stdin(ExecSession *e, const uint8_t *p, size_t n)
{
	if (e->ttysock) {
		uint8_t msg[SHIM_TTY_MSG_MAX];
		for (size_t off = 0; e->out >= 0 && off < n;) {
			size_t k = n - off < sizeof(msg) - 1 ? n - off : sizeof(msg) - 1;
			msg[0] = SHIM_TTY_INPUT;
			memcpy(msg + 1, p + off, k);
			ssize_t w = send(e->out, msg, k + 1, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				break;
			off += k;
		}
		return;
	}
	int fd = e->tty ? e->out : e->in;
	for (size_t off = 0; fd >= 0 && off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* The client left: end the process (exec), or the attach session (the
 * follower, and the shim's tty socket: shut down, so the shim sees the
 * client go and the pump reads its end). */
static void session_end(ExecSession *e)
{
	kill(e->pid, SIGKILL);
	if (e->ttysock && e->out >= 0)
		shutdown(e->out, SHUT_RDWR);
}

/* One client message: route its channel. */
static void exec_client_message(ExecSession *e, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	int ch = p[0];
	if (ch == 0)
		session_stdin(e, p + 1, n - 1);
	else if (ch == 4)
		exec_resize(e, p + 1, n - 1);
	else if (ch == 255 && e->v5 && n >= 2 && p[1] == 0 && e->in >= 0) {
		close(e->in);  /* stdin closed by the client */
		e->in = -1;
	}
}

/* Copy between the WebSocket (sock, plaintext from MHD) and the process
 * until it exits and its output is drained. */
static void exec_pump(ExecSession *e, int sock)
{
	StrBuf rx = { 0 };
	bool sock_open = true;
	int status = 0;
	bool exited = false;
	for (;;) {
		struct pollfd p[3] = { { .fd = sock_open ? sock : -1, .events = POLLIN },
				       { .fd = e->out, .events = POLLIN },
				       { .fd = e->tty ? -1 : e->err, .events = POLLIN } };
		if (e->out < 0 && (e->tty || e->err < 0)) {
			if (!exited && waitpid(e->pid, &status, 0) == e->pid)
				exited = true;
			break;
		}
		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			break;
		if (sock_open && peer_gone(e->peer)) {
			sock_open = false;
			session_end(e);
		}
		for (int i = 1; i < 3; i++) {
			if (!p[i].revents)
				continue;
			char buf[32768];
			ssize_t r = read(p[i].fd, buf, sizeof(buf));
			if (r > 0) {
				if (ws_send(sock, i, buf, (size_t)r) < 0)
					sock_open = false;
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			close(p[i].fd);  /* EOF (or EIO on a pty whose process left) */
			if (i == 1)
				e->out = -1;
			else
				e->err = -1;
		}
		if (sock_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			char buf[32768];
			ssize_t r = recv(sock, buf, sizeof(buf), 0);
			if (r <= 0) {
				sock_open = false;  /* the client left: end the process */
				session_end(e);
				continue;
			}
			sb_add(&rx, buf, (size_t)r);
			size_t off = 0;
			for (;;) {
				WsFrame f;
				int used = ws_frame_decode((uint8_t *)rx.buf + off, rx.len - off, true, &f);
				if (used <= 0) {
					if (used < 0) {
						sock_open = false;
						session_end(e);
					}
					break;
				}
				off += (size_t)used;
				if (f.opcode == WS_CLOSE) {
					sock_open = false;
					session_end(e);
					break;
				}
				if (f.opcode == WS_PING)
					ws_send_pong(sock, f.payload, f.len);
				else if (f.opcode == WS_BINARY || f.opcode == WS_TEXT || f.opcode == WS_CONT)
					exec_client_message(e, f.payload, f.len);
			}
			memmove(rx.buf, rx.buf + off, rx.len - off);
			rx.len -= off;
		}
	}
	if (!exited)
		waitpid(e->pid, &status, 0);
	if (sock_open) {
		exec_send_status(sock, status);
		ws_send_close(sock);
	}
	sb_release(&rx);
}

/* ---- exec and attach over SPDY/3.1 ---- */

typedef struct SpdyPump {
	ExecSession *e;
	int sock, version;     /* version: 2, 3 or 4 (vN.channel.k8s.io) */
	bool sock_open;
	SpdyZ *zin, *zout;
	uint32_t id_err, id_in, id_out, id_errout, id_resize;
	StrBuf rx, tx, resize;
} SpdyPump;

static int sock_write_all(int sock, const char *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = send(sock, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		off += (size_t)w;
	}
	return 0;
}

/* Send what tx holds. */
static void spdy_flush(SpdyPump *s)
{
	if (s->tx.len && s->sock_open && sock_write_all(s->sock, s->tx.buf, s->tx.len) < 0)
		s->sock_open = false;
	sb_reset(&s->tx);
}

static void spdy_close_stdin(SpdyPump *s)
{
	if (s->e->in >= 0) {
		close(s->e->in);
		s->e->in = -1;
	}
}

/* Resize messages are JSON objects one after another (a newline after each). */
static void spdy_resize(SpdyPump *s, const uint8_t *p, size_t n)
{
	sb_add(&s->resize, p, n);
	char *nl;
	while ((nl = memchr(s->resize.buf, '\n', s->resize.len))) {
		size_t l = (size_t)(nl - s->resize.buf) + 1;
		exec_resize(s->e, (const uint8_t *)s->resize.buf, l);
		memmove(s->resize.buf, s->resize.buf + l, s->resize.len - l);
		s->resize.len -= l;
	}
	if (s->resize.len > 4096)
		sb_reset(&s->resize);
}

static void spdy_stdin(SpdyPump *s, const SpdyFrame *f)
{
	session_stdin(s->e, f->payload, f->len);
	if ((f->flags & SPDY_FLAG_FIN) && !s->e->tty)
		spdy_close_stdin(s);
}

/* A new stream from the client: note its channel and accept it. */
static int spdy_new_stream(SpdyPump *s, const SpdyFrame *f)
{
	SpdyHeaders h = { 0 };
	int r = spdy_headers_decode(s->zin, f->payload, f->len, &h);
	if (r < 0)
		return r;
	const char *t = spdy_header(&h, "streamtype");
	uint32_t *slot = !t ? NULL : !strcmp(t, "error") ? &s->id_err : !strcmp(t, "stdin") ? &s->id_in
		       : !strcmp(t, "stdout") ? &s->id_out : !strcmp(t, "stderr") ? &s->id_errout
		       : !strcmp(t, "resize") ? &s->id_resize : NULL;
	spdy_headers_clear(&h);
	if (!slot || *slot) {
		spdy_put_rst_stream(&s->tx, f->stream, SPDY_PROTOCOL_ERROR);
		return 0;
	}
	*slot = f->stream;
	spdy_put_syn_reply(&s->tx, s->zout, f->stream, 0, NULL);
	if (slot == &s->id_in && (f->flags & SPDY_FLAG_FIN))
		spdy_close_stdin(s);
	return 0;
}

/* One frame from the client; < 0 ends the connection. */
static int spdy_exec_frame(SpdyPump *s, const SpdyFrame *f)
{
	SpdyHeaders h = { 0 };
	int r = 0;
	switch (f->type) {
	case SPDY_SYN_STREAM:
		return spdy_new_stream(s, f);
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:  /* decoded only to keep the zlib stream in step */
		r = spdy_headers_decode(s->zin, f->payload, f->len, &h);
		spdy_headers_clear(&h);
		return r;
	case SPDY_DATA:
		if (f->stream && f->stream == s->id_in)
			spdy_stdin(s, f);
		else if (f->stream && f->stream == s->id_resize)
			spdy_resize(s, f->payload, f->len);
		return 0;
	case SPDY_RST_STREAM:
		if (f->stream && f->stream == s->id_in)
			spdy_close_stdin(s);
		return 0;
	case SPDY_PING:
		spdy_put_ping(&s->tx, f->value);
		return 0;
	case SPDY_GOAWAY:
		return -ECONNRESET;
	default:
		return 0;  /* SETTINGS, WINDOW_UPDATE, unknown: nothing to do */
	}
}

/* Read from the client and handle every whole frame; false when the
 * connection is over (closed, or a protocol error: logged). */
static bool spdy_read(SpdyPump *s, const char *what)
{
	char buf[32768];
	ssize_t n = recv(s->sock, buf, sizeof(buf), 0);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	sb_add(&s->rx, buf, (size_t)n);
	size_t off = 0;
	int r = 0;
	while (r >= 0) {
		SpdyFrame f;
		int used = spdy_frame_decode((uint8_t *)s->rx.buf + off, s->rx.len - off, &f);
		if (used == 0)
			break;
		if (used < 0 || (r = spdy_exec_frame(s, &f)) < 0) {
			if (used < 0 || r != -ECONNRESET)
				log_warn("%s: bad SPDY frame from the client (%s): closing the connection", what,
					 strerror(-(used < 0 ? used : r)));
			r = -1;
			break;
		}
		off += (size_t)used;
	}
	if (off) {
		memmove(s->rx.buf, s->rx.buf + off, s->rx.len - off);
		s->rx.len -= off;
	}
	spdy_flush(s);
	return r >= 0;
}

/* Output of fd i (1 stdout, 2 stderr) to its stream. */
static void spdy_output(SpdyPump *s, int i)
{
	int *fd = i == 1 ? &s->e->out : &s->e->err;
	uint32_t id = i == 1 ? s->id_out : s->id_errout;
	char buf[32768];
	ssize_t r = read(*fd, buf, sizeof(buf));
	if (r < 0 && errno == EINTR)
		return;
	if (r > 0) {
		if (id) {
			spdy_put_data(&s->tx, id, 0, buf, (size_t)r);
			spdy_flush(s);
		}
		return;
	}
	close(*fd);  /* EOF (or EIO on a pty whose process left) */
	*fd = -1;
}

/* The end: every stream closed, the status on the error stream. */
static void spdy_finish(SpdyPump *s, int status)
{
	if (s->id_out)
		spdy_put_data(&s->tx, s->id_out, SPDY_FLAG_FIN, NULL, 0);
	if (s->id_errout)
		spdy_put_data(&s->tx, s->id_errout, SPDY_FLAG_FIN, NULL, 0);
	if (s->id_err) {
		_cleanup_free_ char *text = NULL;
		if (s->version >= 4)
			text = exec_status_json(status);
		else if (exit_code_of(status))
			text = xasprintf("command terminated with non-zero exit code: exit status %d", exit_code_of(status));
		spdy_put_data(&s->tx, s->id_err, SPDY_FLAG_FIN, text, text ? strlen(text) : 0);
	}
	spdy_flush(s);
}

/* Copy between the SPDY connection and the process until it exits and its
 * output is drained; then wait (a while) for the client to hang up, so
 * nothing it has yet to read is lost to a reset. */
static void spdy_pump(ExecSession *e, int sock, int version)
{
	SpdyPump s = { .e = e, .sock = sock, .version = version, .sock_open = true, .zin = spdy_z_new(false),
		       .zout = spdy_z_new(true) };
	int status = 0;
	for (;;) {
		/* a tty attach holds what the terminal showed before: kept until
		 * the client's stdout stream exists */
		bool out_ready = e->out >= 0 && (s.id_out || !e->want_out || (e->tty && !e->ttysock));
		bool err_ready = !e->tty && e->err >= 0 && (s.id_errout || !e->want_err);
		if (e->out < 0 && (e->tty || e->err < 0))
			break;
		struct pollfd p[3] = { { .fd = s.sock_open ? sock : -1, .events = POLLIN },
				       { .fd = out_ready ? e->out : -1, .events = POLLIN },
				       { .fd = err_ready ? e->err : -1, .events = POLLIN } };
		if (!s.sock_open && !out_ready && !err_ready)
			break;
		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			break;
		for (int i = 1; i < 3; i++)
			if (p[i].revents)
				spdy_output(&s, i);
		if (s.sock_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !spdy_read(&s, "exec"))
			s.sock_open = false;
		if (peer_gone(e->peer))
			s.sock_open = false;
		if (!s.sock_open)
			session_end(e);  /* the client left: end the process */
	}
	waitpid(e->pid, &status, 0);
	if (s.sock_open) {
		spdy_finish(&s, status);
		for (int waited = 0; s.sock_open && waited < 10; waited++) {
			struct pollfd p = { .fd = sock, .events = POLLIN };
			if ((poll(&p, 1, 1000) > 0 && !spdy_read(&s, "exec")) || peer_gone(e->peer))
				break;
		}
	}
	spdy_z_free(s.zin);
	spdy_z_free(s.zout);
	sb_release(&s.rx);
	sb_release(&s.tx);
	sb_release(&s.resize);
}

/* ---- attach: the running container's streams ---- */

/* In a forked child of this threaded process: close every fd but keep[]
 * (ascending), so no other session's socket or pipe is held open here. */
static void close_other_fds(const int *keep, size_t n)
{
	unsigned lo = 0;
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

/* Exit (a forked child) with the exit code of the container's .exit file. */
static void __attribute__((noreturn)) exit_with_container(const char *exit_path)
{
	char text[256] = "";
	int fd = open(exit_path, O_RDONLY | O_CLOEXEC), code = 0;
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = 0;
		const char *c = strstr(text, "\"exitCode\":");
		if (c)
			code = atoi(c + strlen("\"exitCode\":"));
	}
	_exit(code & 255);
}

/* In a forked child: copy the CRI log's new entries to out/err until the
 * container's .exit file appears and the log is drained; exit with the
 * container's exit code.  Only plain system calls (the agent is threaded). */
static void __attribute__((noreturn)) attach_follow(int logfd, const char *exit_path, int out, int err)
{
	static char buf[65536];
	size_t have = 0;
	for (bool last = false;;) {
		ssize_t r = read(logfd, buf + have, sizeof(buf) - have);
		if (r > 0) {
			have += (size_t)r;
			size_t off = 0;
			char *nl;
			while ((nl = memchr(buf + off, '\n', have - off))) {
				size_t l = (size_t)(nl - (buf + off));
				CriEntry en;
				if (crilog_parse_line(buf + off, l, &en) == 0) {
					int fd = en.stream == CRI_STDERR ? err : out;
					char *text = (char *)en.text;
					size_t tl = en.len;
					if (!en.partial)
						text[tl++] = '\n';  /* where the timestamp's room was: inside the line */
					for (size_t w = 0; w < tl;) {
						ssize_t k = write(fd, text + w, tl - w);
						if (k <= 0)
							_exit(0);  /* the client left */
						w += (size_t)k;
					}
				}
				off += l + 1;
			}
			memmove(buf, buf + off, have - off);
			have -= off;
			if (have == sizeof(buf))
				have = 0;  /* a line longer than the buffer: the shim splits them, so junk */
			continue;
		}
		if (last)
			break;
		if (access(exit_path, F_OK) == 0) {
			last = true;  /* one more pass for what was written before the exit */
			continue;
		}
		usleep(100 * 1000);
	}
	exit_with_container(exit_path);
}

/* In a forked child, for a tty container's attach: wait for the container's
 * .exit file (or its shim's end without one) and exit with its code. */
static void __attribute__((noreturn)) attach_wait_exit(const char *exit_path, pid_t shim)
{
	while (access(exit_path, F_OK) != 0) {
		if (shim <= 0 || kill(shim, 0) < 0)
			_exit(access(exit_path, F_OK) == 0 ? 0 : 255);
		usleep(100 * 1000);
	}
	exit_with_container(exit_path);
}

/* Attach to a tty container through its shim's tty.sock: 1 attached, 0
 * no such socket (not a tty container), or -errno. */
static int attach_tty(const char *ctrdir, const char *ctr, bool in, const char *exit_path, ExecSession *e,
		      Error **err)
{
	_cleanup_close_ int dir = open(ctrdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/tty.sock", dir);
	_cleanup_close_ int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 0;
	uint8_t hello[2] = { 0 };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	if (poll(&p, 1, 10000) <= 0 || recv(sock, hello, sizeof(hello), 0) != 2 || hello[0] != SHIM_TTY_HELLO)
		return err_set(err, EIO, "container %s: its shim did not answer on tty.sock", ctr);
	if (in && !(hello[1] & SHIM_TTY_HELLO_STDIN))
		return err_set(err, EINVAL, "container %s does not take stdin (its spec needs stdin: true, and "
				"stdinOnce takes it once)", ctr);
	uint8_t session = SHIM_TTY_STDIN_SESSION;
	if (in && send(sock, &session, 1, MSG_NOSIGNAL) != 1)
		return err_sys(err, errno, "container %s: tty.sock", ctr);
	_cleanup_free_ char *state = fs_join(ctrdir, "state.json");
	_cleanup_json_ json_t *st = NULL;
	pid_t shim = json_load_path(state, 1 << 20, &st, NULL) >= 0 ? (pid_t)json_int(st, "shim", 0) : 0;
	pid_t pid = fork();
	if (pid == 0) {
		close_other_fds(NULL, 0);
		attach_wait_exit(exit_path, shim);
	}
	if (pid < 0)
		return err_sys(err, errno, "fork");
	*e = (ExecSession){ .pid = pid, .in = -1, .out = TAKE_FD(sock), .err = -1, .tty = true, .ttysock = true };
	return 1;
}

/* Join the running container of ctrdir: a tty container through its
 * shim's tty.sock (the terminal's output, input and size); else output
 * from its log, stdin through the shim's attach socket. */
static int attach_start(const char *ctrdir, const char *ctr, bool in, ExecSession *e, Error **err)
{
	int cur, prev;
	kl_log_instances(ctrdir, &cur, &prev);
	_cleanup_free_ char *exit_path = xasprintf("%s/%d.exit", ctrdir, cur);
	_cleanup_free_ char *log_path = xasprintf("%s/%d.log", ctrdir, cur);
	if (cur < 0 || access(exit_path, F_OK) == 0)
		return err_set(err, ESRCH, "container not running");
	int r = attach_tty(ctrdir, ctr, in, exit_path, e, err);
	if (r != 0)
		return r < 0 ? r : 0;
	_cleanup_close_ int logfd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (logfd < 0)
		return err_sys(err, errno, "log of container %s", ctr);
	lseek(logfd, 0, SEEK_END);
	_cleanup_close_ int sock = -1;
	if (in) {
		/* through the directory's fd: pod paths can be longer than sun_path */
		_cleanup_close_ int dir = open(ctrdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dir);
		sock = dir < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return err_set(err, EINVAL, "container %s does not take stdin (its spec needs stdin: true)", ctr);
	}
	int pout[2], perr[2];
	if (pipe2(pout, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	if (pipe2(perr, O_CLOEXEC) < 0) {
		close(pout[0]);
		close(pout[1]);
		return err_sys(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		int keep[3] = { logfd, pout[1], perr[1] };
		for (int i = 0; i < 2; i++) /* ascending */
			for (int j = 0; j < 2 - i; j++)
				if (keep[j] > keep[j + 1]) {
					int x = keep[j];
					keep[j] = keep[j + 1];
					keep[j + 1] = x;
				}
		close_other_fds(keep, 3);
		attach_follow(logfd, exit_path, pout[1], perr[1]);
	}
	close(pout[1]);
	close(perr[1]);
	if (pid < 0) {
		close(pout[0]);
		close(perr[0]);
		return err_sys(err, errno, "fork");
	}
	*e = (ExecSession){ .pid = pid, .in = TAKE_FD(sock), .out = pout[0], .err = perr[0] };
	return 0;
}

typedef struct ExecUpgrade {
	ExecSession e;     /* exec/attach: the process (e.pid 0 for port-forward) */
	int spdy;          /* 0: WebSocket; else SPDY with vN.channel.k8s.io */
	int netns;         /* port-forward: the pod's network namespace, else -1 */
	char *what;        /* port-forward: NS/POD, for the log */
	bool pf_ws;        /* port-forward: SPDY tunnelled in WebSocket */
} ExecUpgrade;

static void exec_upgrade_free(ExecUpgrade *u)
{
	int fds[] = { u->e.in, u->e.out, u->e.err, u->netns };
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(u->what);
	free(u);
}

static void *exec_thread(void *arg)
{
	void **a = arg;
	ExecUpgrade *u = a[0];
	int sock = (int)(intptr_t)a[1];
	struct MHD_UpgradeResponseHandle *urh = a[2];
	free(a);
	/* MHD hands over a non-blocking socket (for TLS, its end of a socket
	 * pair with a small buffer): the pumps want whole writes */
	int fl = fcntl(sock, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
	if (u->netns >= 0)
		portforward_serve(sock, u->netns, u->what, u->e.peer, u->pf_ws);
	else if (u->spdy)
		spdy_pump(&u->e, sock, u->spdy);
	else
		exec_pump(&u->e, sock);
	exec_upgrade_free(u);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *mc, void *req_cls, const char *extra, size_t extra_in,
			MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)req_cls;
	(void)extra;
	(void)extra_in;  /* kubectl sends nothing before it sees 101 */
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	((ExecUpgrade *)cls)->e.peer = ci ? ci->connect_fd : -1;
	void **a = xmalloc(3 * sizeof(void *));
	a[0] = cls;
	a[1] = (void *)(intptr_t)sock;
	a[2] = urh;
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, exec_thread, a) != 0) {
		ExecUpgrade *u = cls;
		if (u->e.pid > 0) {
			kill(u->e.pid, SIGKILL);
			waitpid(u->e.pid, NULL, 0);
		}
		free(a);
		exec_upgrade_free(u);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	}
	pthread_attr_destroy(&at);
}

/* The X-Stream-Protocol-Version values a SPDY client offers (one header
 * line each, or a comma-separated list). */
typedef struct Offers {
	bool channel[5];   /* [N]: vN.channel.k8s.io ([1]: channel.k8s.io) */
	bool portforward;  /* portforward.k8s.io */
} Offers;

static enum MHD_Result collect_offers(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	Offers *o = cls;
	if (!key || strcasecmp(key, "X-Stream-Protocol-Version") || !value)
		return MHD_YES;
	for (const char *p = value; *p;) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == strlen("portforward.k8s.io") && !strncmp(p, "portforward.k8s.io", n))
			o->portforward = true;
		else if (n == strlen("channel.k8s.io") && !strncmp(p, "channel.k8s.io", n))
			o->channel[1] = true;
		else if (n == strlen("v4.channel.k8s.io") && p[0] == 'v' && p[1] >= '2' && p[1] <= '4' &&
			 !strncmp(p + 2, ".channel.k8s.io", n - 2))
			o->channel[p[1] - '0'] = true;
		p += n;
	}
	return MHD_YES;
}

static bool upgrade_is_spdy(struct MHD_Connection *mc)
{
	const char *up = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Upgrade");
	return up && !strcasecmp(up, "SPDY/3.1");
}

/* Queue the 101 that hands the connection to exec_thread (u owned by it). */
static enum MHD_Result upgrade_reply(struct MHD_Connection *mc, ExecUpgrade *u, const char *ws_key, const char *proto)
{
	struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, u);
	MHD_add_response_header(r, "Connection", "Upgrade");
	if (ws_key) {
		char accept[29];
		ws_accept_key(ws_key, accept);
		MHD_add_response_header(r, "Upgrade", "websocket");
		MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
		MHD_add_response_header(r, "Sec-WebSocket-Protocol", proto);
	} else {
		MHD_add_response_header(r, "Upgrade", "SPDY/3.1");
		MHD_add_response_header(r, "X-Stream-Protocol-Version", proto);
	}
	enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
}

/* The commands of ?command=a&command=b (MHD keeps repeated keys). */
typedef struct Argv {
	char **v;
	size_t n;
} Argv;

static enum MHD_Result collect_command(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	Argv *a = cls;
	if (strcmp(key, "command") || a->n >= 256)
		return MHD_YES;
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(char *));
	a->v[a->n++] = xstrdup(value ? value : "");
	a->v[a->n] = NULL;
	return MHD_YES;
}

/* Start argv in the container described by ctrdir/state.json. */
static int exec_start(const char *ctrdir, char **argv, bool in, bool tty, ExecSession *e, Error **err)
{
	_cleanup_free_ char *path = fs_join(ctrdir, "state.json");
	_cleanup_json_ json_t *st = NULL;
	if (json_load_path(path, 1 << 20, &st, NULL) < 0)
		return err_set(err, ENOENT, "container not found");
	pid_t pid = (pid_t)json_int(st, "pid", 0);
	json_t *process = json_object_get(st, "process");
	if (pid <= 0 || !process || !pid_alive(pid, json_int(st, "pidStart", 0)))
		return err_set(err, ESRCH, "container not running");
	_cleanup_json_ json_t *proc = json_deep_copy(process);
	json_object_set_new(proc, "user", agent_proc_user(pid));  /* as the container's process runs */
	json_object_set_new(proc, "args", json_strv(argv));
	json_object_set_new(proc, "terminal", json_boolean(tty));
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	if ((in && !tty && pipe2(pin, O_CLOEXEC) < 0) || (!tty && (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)))
		return err_sys(err, errno, "pipe");
	RtStdio io = { .in = pin[0], .out = pout[1], .err = perr[1], .console_fd = tty ? RT_CONSOLE_IN_CONTAINER : -1 };
	RtSpawned sp = { .console_master = -1 };
	int r = rt_exec(pid, proc, json_path(proc, "seccomp"), NULL, &io, &sp, err);
	int ends[] = { pin[0], pout[1], perr[1] };
	for (size_t i = 0; i < 3; i++)
		if (ends[i] >= 0)
			close(ends[i]);
	if (r < 0) {
		int mine[] = { pin[1], pout[0], perr[0], sp.console_master };
		for (size_t i = 0; i < 4; i++)
			if (mine[i] >= 0)
				close(mine[i]);
		return r;
	}
	*e = (ExecSession){ .pid = sp.pid, .in = tty ? -1 : pin[1], .out = tty ? sp.console_master : pout[0],
			    .err = tty ? -1 : perr[0], .tty = tty };
	return 0;
}

/* exec (attach false) or attach: the upgrade asked for, the process or the
 * container joined, then 101. */
static enum MHD_Result serve_stream(KubeletApi *k, struct MHD_Connection *mc, const char *ns, const char *pod,
				    const char *ctr, bool attach)
{
	const char *what = attach ? "attach" : "exec";
	const char *upgrade = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Upgrade");
	const char *key = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *protos = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Protocol");
	const char *proto = NULL;
	int spdy = 0;
	if (upgrade_is_spdy(mc)) {
		Offers o = { 0 };
		MHD_get_connection_values(mc, MHD_HEADER_KIND, collect_offers, &o);
		spdy = o.channel[4] ? 4 : o.channel[3] ? 3 : o.channel[2] ? 2 : 0;
		static const char *const names[] = { NULL, NULL, "v2.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io" };
		if (!spdy)
			return kl_reply_error(mc, 403, "%s: no supported stream protocol offered (want v4.channel.k8s.io, v3 or v2)",
					   what);
		proto = names[spdy];
		key = NULL;
	} else {
		if (!upgrade || strcasecmp(upgrade, "websocket") || !key)
			return kl_reply_error(mc, 400, "%s needs an upgrade to WebSocket or SPDY/3.1", what);
		proto = protos && strstr(protos, "v5.channel.k8s.io") ? "v5.channel.k8s.io"
			: protos && strstr(protos, "v4.channel.k8s.io") ? "v4.channel.k8s.io" : NULL;
		if (!proto)
			return kl_reply_error(mc, 400, "no supported %s sub-protocol offered (want v5.channel.k8s.io or "
					   "v4.channel.k8s.io)", what);
	}
	Argv av = { 0 };
	if (!attach)
		MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_command, &av);
	_cleanup_strv_ char **argv = av.v;
	if (!attach && (!argv || !argv[0]))
		return kl_reply_error(mc, 400, "you must specify at least one command for the container");
	_cleanup_free_ char *dir = kl_pod_ctr_dir(k, ns, pod, ctr);
	if (!dir)
		return kl_reply_error(mc, 404, "container \"%s\" in pod \"%s\" not found", ctr, pod);
	ExecUpgrade *u = xcalloc(1, sizeof(*u));
	u->netns = -1;
	_cleanup_err_ Error *e = NULL;
	bool tty = kl_arg_true(mc, "tty");
	int r = attach ? attach_start(dir, ctr, kl_arg_true(mc, "stdin"), &u->e, &e)
		       : exec_start(dir, argv, kl_arg_true(mc, "stdin"), tty, &u->e, &e);
	if (r < 0) {
		free(u);
		return kl_reply_error(mc, e && (e->code == ESRCH || e->code == EINVAL) ? 400 : 500,
				   "container \"%s\" in pod \"%s\": %s", ctr, pod, err_msg(e));
	}
	u->spdy = spdy;
	u->e.v5 = !strcmp(proto, "v5.channel.k8s.io");
	u->e.want_out = kl_arg_true(mc, "stdout");
	u->e.want_err = kl_arg_true(mc, "stderr") && !tty;
	return upgrade_reply(mc, u, key, proto);
}

/* An fd of the network namespace of a running container of the pod (all
 * of a pod's containers share it), or -1. */
static int pod_netns_fd(const KubeletApi *k, const char *ns, const char *pod)
{
	_cleanup_free_ char *pods = fs_join(k->root, "pods");
	_cleanup_free_ char *prefix = xasprintf("%s_%s_", ns, pod);
	_cleanup_closedir_ DIR *d = opendir(pods);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || strchr(e->d_name + strlen(prefix), '_'))
			continue;
		_cleanup_free_ char *pdir = fs_join(pods, e->d_name);
		_cleanup_closedir_ DIR *cd = opendir(pdir);
		struct dirent *c;
		while (cd && (c = readdir(cd))) {
			if (c->d_name[0] == '.')
				continue;
			_cleanup_free_ char *path = xasprintf("%s/%s/state.json", pdir, c->d_name);
			_cleanup_json_ json_t *st = NULL;
			if (json_load_path(path, 1 << 20, &st, NULL) < 0)
				continue;
			pid_t pid = (pid_t)json_int(st, "pid", 0);
			if (pid <= 0 || !pid_alive(pid, json_int(st, "pidStart", 0)))
				continue;
			char nspath[64];
			snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)pid);
			int fd = open(nspath, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
	}
	return -1;
}

#define PF_TUNNEL_PROTO "SPDY/3.1+portforward.k8s.io"

static enum MHD_Result serve_portforward(KubeletApi *k, struct MHD_Connection *mc, const char *ns, const char *pod)
{
	const char *upgrade = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Upgrade");
	const char *key = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *protos = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Protocol");
	bool ws = upgrade && !strcasecmp(upgrade, "websocket") && key && protos && strstr(protos, PF_TUNNEL_PROTO);
	if (!ws && !upgrade_is_spdy(mc))
		return kl_reply_error(mc, 400, "port forwarding needs an upgrade to SPDY/3.1 (portforward.k8s.io), or a "
				   "WebSocket tunnel of it (" PF_TUNNEL_PROTO ")");
	Offers o = { 0 };
	MHD_get_connection_values(mc, MHD_HEADER_KIND, collect_offers, &o);
	if (!ws && !o.portforward)
		return kl_reply_error(mc, 403, "port forwarding: protocol portforward.k8s.io not offered");
	int fd = pod_netns_fd(k, ns, pod);
	if (fd < 0)
		return kl_reply_error(mc, 404, "pod \"%s\" has no running container to forward to", pod);
	ExecUpgrade *u = xcalloc(1, sizeof(*u));
	u->e = (ExecSession){ .in = -1, .out = -1, .err = -1 };
	u->netns = fd;
	u->what = xasprintf("%s/%s", ns, pod);
	u->pf_ws = ws;
	return ws ? upgrade_reply(mc, u, key, PF_TUNNEL_PROTO) : upgrade_reply(mc, u, NULL, "portforward.k8s.io");
}

/* ---- routing ---- */

static bool split_path(const char *url, const char *prefix, char parts[3][256])
{
	size_t pl = strlen(prefix);
	if (strncmp(url, prefix, pl))
		return false;
	const char *p = url + pl;
	for (int i = 0; i < 3; i++) {
		size_t n = strcspn(p, "/");
		if (n == 0 || n >= 256)
			return false;
		memcpy(parts[i], p, n);
		parts[i][n] = 0;
		p += n;
		if (i < 2) {
			if (*p != '/')
				return false;
			p++;
		}
	}
	return *p == 0;
}

/* PREFIX/NS/POD */
static bool split_pod_path(const char *url, const char *prefix, char parts[3][256])
{
	_cleanup_free_ char *padded = xasprintf("%s/-", url);
	return split_path(padded, prefix, parts);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	KubeletApi *k = cls;
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;  /* no request bodies here */
		return MHD_YES;
	}
	if (!peer_is_master(mc))
		return kl_reply_error(mc, 403, "forbidden: this endpoint serves the cluster's API server only");
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		return kl_reply_error(mc, 405, "method not allowed");
	if (!strcmp(url, "/healthz"))
		return kl_reply(mc, 200, "text/plain", "ok");
	char parts[3][256];
	if (split_path(url, "/containerLogs/", parts))
		return kl_serve_logs(k, mc, parts[0], parts[1], parts[2]);
	if (split_path(url, "/exec/", parts))
		return serve_stream(k, mc, parts[0], parts[1], parts[2], false);
	if (split_path(url, "/attach/", parts))
		return serve_stream(k, mc, parts[0], parts[1], parts[2], true);
	if (split_pod_path(url, "/portForward/", parts))
		return serve_portforward(k, mc, parts[0], parts[1]);
	return kl_reply_error(mc, 404, "404 page not found");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	log_debug("kubelet api: %s", buf);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, Error **err)
{
	const char *colon = strrchr(listen, ':');
	int64_t port;
	if (!colon || parse_int64(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return err_set(err, EINVAL, "kubelet api: invalid address '%s' (want IP:PORT)", listen);
	_cleanup_free_ char *host = xstrndup(listen, (size_t)(colon - listen));
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (!*host)
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return err_set(err, EINVAL, "kubelet api: invalid IPv4 address '%s'", host);
	return 0;
}

int kubelet_api_start(const char *root, const char *listen, const char *ca_pem, KubeletApi **ret, Error **err)
{
	struct sockaddr_in sa;
	int r = parse_listen(listen, &sa, err);
	if (r < 0)
		return r;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = x509_key_new();
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	_cleanup_free_ char *san = xasprintf("IP:%s,IP:127.0.0.1,DNS:localhost", ip);
	_cleanup_(X509_freep) X509 *cert = x509_cert_new(key, "berth-agent", NULL, NULL, NULL, false, "serverAuth", san);
	KubeletApi *k = xcalloc(1, sizeof(*k));
	k->root = xstrdup(root);
	k->cert = x509_cert_pem(cert);
	k->key = x509_key_pem(key);
	k->ca = xstrdup(ca_pem);
	k->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
					MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, k, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_HTTPS_MEM_KEY, k->key, MHD_OPTION_HTTPS_MEM_CERT, k->cert,
				MHD_OPTION_HTTPS_MEM_TRUST, k->ca, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_END);
	if (!k->d) {
		kubelet_api_stop(k);
		return err_set(err, EADDRINUSE, "kubelet api: cannot listen on %s", listen);
	}
	*ret = k;
	return 0;
}

int kubelet_api_port(const KubeletApi *k)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(k->d, MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : -1;
}

void kubelet_api_stop(KubeletApi *k)
{
	if (!k)
		return;
	if (k->d)
		MHD_stop_daemon(k->d);
	free(k->root);
	free(k->cert);
	free(k->key);
	free(k->ca);
	free(k);
}
