/* kubeletapi.c - the node agent's HTTPS endpoint (the kubelet's port 10250)
 * through which the API server serves `kubectl logs` and `kubectl exec`.
 *
 *   GET /healthz                                   "ok"
 *   GET /containerLogs/NS/POD/CTR?follow&tailLines&sinceSeconds&sinceTime&
 *       timestamps&previous&limitBytes             the CRI log as plain text
 *   GET /exec/NS/POD/CTR?command=..&stdin&stdout&stderr&tty
 *       (Upgrade: websocket, v5/v4.channel.k8s.io)  a process in the container
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
 * (the next byte) - kubectl uses it to close stdin.
 */
#include "kubeletapi.h"
#include "agent-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../runtime/crilog.h"
#include "../shared/json.h"
#include "../shared/websocket.h"
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
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct KubeletApi {
	char *root;          /* the agent's state root: <root>/pods/... */
	struct MHD_Daemon *d;
	char *cert, *key, *ca;
};

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

static enum MHD_Result reply(struct MHD_Connection *mc, unsigned code, const char *ctype, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(mc, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *mc, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct MHD_Connection *mc, unsigned code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return reply(mc, code, "text/plain; charset=utf-8", msg ? msg : "error");
}

static const char *arg(struct MHD_Connection *mc, const char *key)
{
	return MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, key);
}

static bool arg_true(struct MHD_Connection *mc, const char *key)
{
	const char *v = arg(mc, key);
	return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

/* ---- finding a pod's files ---- */

/* The newest <root>/pods/<ns>_<pod>_<uid> directory that has CTR (caller
 * frees), or NULL. */
static char *pod_ctr_dir(const KubeletApi *k, const char *ns, const char *pod, const char *ctr)
{
	_cleanup_free_ char *pods = fs_join(k->root, "pods");
	_cleanup_free_ char *prefix = xasprintf("%s_%s_", ns, pod);
	DIR *d = opendir(pods);
	if (!d)
		return NULL;
	char *best = NULL;
	struct timespec best_t = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || strchr(e->d_name + strlen(prefix), '_'))
			continue;
		_cleanup_free_ char *dir = xasprintf("%s/%s/%s", pods, e->d_name, ctr);
		struct stat st;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!best || st.st_mtim.tv_sec > best_t.tv_sec ||
		    (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
			free(best);
			best = TAKE_PTR(dir);
			best_t = st.st_mtim;
		}
	}
	closedir(d);
	return best;
}

/* The instance numbers of a container directory's logs: the highest in
 * *cur, the one before in *prev (-1 when none). */
static void log_instances(const char *ctrdir, int *cur, int *prev)
{
	*cur = *prev = -1;
	DIR *d = opendir(ctrdir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long n = strtol(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".log") || n < 0 || n > 1000000)
			continue;
		if (n > *cur) {
			*prev = *cur;
			*cur = (int)n;
		} else if (n > *prev)
			*prev = (int)n;
	}
	closedir(d);
}

/* ---- logs ---- */

typedef struct LogStream {
	int fd;
	char *exit_path;        /* the instance's .exit file: follow ends when it exists */
	bool follow, timestamps;
	int64_t since_ns;       /* entries older than this are skipped (0: none) */
	int64_t limit;          /* bytes still allowed (-1: no limit) */
	StrBuf in, out;         /* raw lines not yet complete; rendered text not yet sent */
	size_t out_off;
	struct MHD_Connection *mc;
} LogStream;

/* RFC 3339 with nanoseconds -> ns since the epoch (0 if unparsable). */
static int64_t rfc3339_ns(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	int64_t ns = (int64_t)timegm(&tm) * 1000000000;
	if (*p == '.') {
		int64_t frac = 0, scale = 100000000;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
		ns += frac;
	}
	return ns;
}

/* Render complete CRI lines of buf[0..n) into out per the options; returns
 * the bytes consumed (a trailing partial line stays). */
static size_t log_render(LogStream *s, char *buf, size_t n, StrBuf *out)
{
	size_t off = 0;
	while (off < n) {
		char *nl = memchr(buf + off, '\n', n - off);
		if (!nl)
			break;
		size_t l = (size_t)(nl - (buf + off));
		CriEntry e;
		if (crilog_parse_line(buf + off, l, &e) == 0 && (!s->since_ns || rfc3339_ns(e.time) >= s->since_ns)) {
			size_t before = out->len;
			if (s->timestamps)
				sb_addf(out, "%s ", e.time);
			sb_add(out, e.text, e.len);
			if (!e.partial)
				sb_addc(out, '\n');
			if (s->limit >= 0) {
				size_t added = out->len - before;
				if ((int64_t)added > s->limit) {
					out->len = before + (size_t)s->limit;
					out->buf[out->len] = 0;
					added = (size_t)s->limit;
				}
				s->limit -= (int64_t)added;
			}
		}
		off += l + 1;
	}
	return off;
}

/* Offset where the last `tail` complete lines of the file start. */
static off_t tail_offset(int fd, int64_t tail)
{
	struct stat st;
	if (tail < 0 || fstat(fd, &st) < 0)
		return 0;
	off_t end = st.st_size, pos = end;
	int64_t lines = 0;
	char buf[8192];
	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)chunk;
		if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
			return 0;
		for (size_t i = chunk; i-- > 0;) {
			if (buf[i] != '\n' || pos + (off_t)i == end - 1)
				continue;
			if (++lines == tail)
				return pos + (off_t)i + 1;
		}
	}
	return 0;
}

static bool client_hung_up(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	struct pollfd p = { .fd = ci->connect_fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Read what the file has now into s->out; true at the end of the stream. */
static bool log_pump(LogStream *s)
{
	char buf[65536];
	for (;;) {
		ssize_t r = read(s->fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		sb_add(&s->in, buf, (size_t)r);
		size_t used = log_render(s, s->in.buf, s->in.len, &s->out);
		memmove(s->in.buf, s->in.buf + used, s->in.len - used);
		s->in.len -= used;
		if (s->out.len - s->out_off >= sizeof(buf))
			return false;
	}
	if (s->limit == 0)
		return true;
	if (!s->follow)
		return true;
	return access(s->exit_path, F_OK) == 0 && s->out.len == s->out_off;
}

static ssize_t log_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	LogStream *s = cls;
	for (int waited = 0;; waited++) {
		bool end = false;
		if (s->out.len == s->out_off)
			end = log_pump(s);
		if (s->out.len > s->out_off) {
			size_t n = s->out.len - s->out_off;
			if (n > max)
				n = max;
			memcpy(buf, s->out.buf + s->out_off, n);
			s->out_off += n;
			if (s->out_off == s->out.len)
				s->out_off = s->out.len = 0;
			return (ssize_t)n;
		}
		if (end)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (client_hung_up(s->mc))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		usleep(100 * 1000);  /* following: wait for the container to write */
		if (waited > 50)
			return 0;
	}
}

static void log_stream_free(void *cls)
{
	LogStream *s = cls;
	if (s->fd >= 0)
		close(s->fd);
	free(s->exit_path);
	sb_release(&s->in);
	sb_release(&s->out);
	free(s);
}

static enum MHD_Result serve_logs(KubeletApi *k, struct MHD_Connection *mc, const char *ns, const char *pod,
				  const char *ctr)
{
	_cleanup_free_ char *dir = pod_ctr_dir(k, ns, pod, ctr);
	if (!dir)
		return reply_error(mc, 404, "container \"%s\" in pod \"%s\" is not available", ctr, pod);
	int cur, prev;
	log_instances(dir, &cur, &prev);
	bool previous = arg_true(mc, "previous");
	int inst = previous ? prev : cur;
	if (inst < 0)
		return previous ? reply_error(mc, 400, "previous terminated container \"%s\" in pod \"%s\" not found",
					      ctr, pod)
				: reply_error(mc, 400, "container \"%s\" in pod \"%s\" is waiting to start", ctr, pod);
	_cleanup_free_ char *path = xasprintf("%s/%d.log", dir, inst);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return reply_error(mc, 404, "container \"%s\" in pod \"%s\": no log", ctr, pod);
	LogStream *s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->mc = mc;
	s->exit_path = xasprintf("%s/%d.exit", dir, inst);
	s->follow = arg_true(mc, "follow") && !previous;
	s->timestamps = arg_true(mc, "timestamps");
	s->limit = -1;
	int64_t v;
	const char *a;
	if ((a = arg(mc, "limitBytes")) && parse_int64(a, &v) == 0 && v > 0)
		s->limit = v;
	if ((a = arg(mc, "sinceSeconds")) && parse_int64(a, &v) == 0 && v > 0)
		s->since_ns = ((int64_t)time(NULL) - v) * 1000000000;
	if ((a = arg(mc, "sinceTime")))
		s->since_ns = rfc3339_ns(a);
	if ((a = arg(mc, "tailLines")) && parse_int64(a, &v) == 0 && v >= 0)
		lseek(fd, tail_offset(fd, v), SEEK_SET);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, log_reader, s,
								   log_stream_free);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result ret = MHD_queue_response(mc, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- exec ---- */

typedef struct ExecSession {
	pid_t pid;
	int in, out, err;      /* pipes to the process (-1 when not asked), or the pty master in `out` */
	bool tty, v5;
} ExecSession;

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

static void ws_send_close(int sock)
{
	uint8_t frame[4] = { 0x88, 2, 0x03, 0xe8 };  /* 1000 normal closure */
	(void)!send(sock, frame, sizeof(frame), MSG_NOSIGNAL);
}

/* The final status on channel 3, as the kubelet writes it. */
static void exec_send_status(int sock, int wstatus)
{
	_cleanup_json_ json_t *st = NULL;
	int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
	if (code == 0)
		st = json_pack("{s:s, s:{}, s:s}", "kind", "Status", "metadata", "status", "Success");
	else {
		_cleanup_free_ char *msg = xasprintf("command terminated with non-zero exit code: exit status %d", code);
		_cleanup_free_ char *cs = xasprintf("%d", code);
		st = json_pack("{s:s, s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "kind", "Status", "metadata",
			       "status", "Failure", "message", msg, "reason", "NonZeroExitCode", "details", "causes",
			       "reason", "ExitCode", "message", cs);
	}
	_cleanup_free_ char *text = json_dumps(st, JSON_COMPACT);
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
	ioctl(e->out, TIOCSWINSZ, &ws);
}

/* One client message: route its channel. */
static void exec_client_message(ExecSession *e, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	int ch = p[0];
	if (ch == 0) {
		int fd = e->tty ? e->out : e->in;
		for (size_t off = 1; fd >= 0 && off < n;) {
			ssize_t w = write(fd, p + off, n - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	} else if (ch == 4)
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
				kill(e->pid, SIGKILL);
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
						kill(e->pid, SIGKILL);
					}
					break;
				}
				off += (size_t)used;
				if (f.opcode == WS_CLOSE) {
					sock_open = false;
					kill(e->pid, SIGKILL);
					break;
				}
				if (f.opcode == WS_BINARY || f.opcode == WS_TEXT || f.opcode == WS_CONT)
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

typedef struct ExecUpgrade {
	ExecSession e;
} ExecUpgrade;

static void *exec_thread(void *arg)
{
	void **a = arg;
	ExecUpgrade *u = a[0];
	int sock = (int)(intptr_t)a[1];
	struct MHD_UpgradeResponseHandle *urh = a[2];
	free(a);
	exec_pump(&u->e, sock);
	if (u->e.in >= 0)
		close(u->e.in);
	if (u->e.out >= 0)
		close(u->e.out);
	if (u->e.err >= 0)
		close(u->e.err);
	free(u);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *mc, void *req_cls, const char *extra, size_t extra_in,
			MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)mc;
	(void)req_cls;
	(void)extra;
	(void)extra_in;  /* kubectl sends nothing before it sees 101 */
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
		kill(u->e.pid, SIGKILL);
		waitpid(u->e.pid, NULL, 0);
		free(a);
		free(u);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	}
	pthread_attr_destroy(&at);
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

static enum MHD_Result serve_exec(KubeletApi *k, struct MHD_Connection *mc, const char *ns, const char *pod,
				  const char *ctr)
{
	const char *upgrade = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Upgrade");
	const char *key = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *protos = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Protocol");
	if (!upgrade || strcasecmp(upgrade, "websocket") || !key)
		return reply_error(mc, 400, "exec needs a WebSocket upgrade (SPDY is not supported: use kubectl >= 1.30)");
	const char *proto = protos && strstr(protos, "v5.channel.k8s.io") ? "v5.channel.k8s.io"
			    : protos && strstr(protos, "v4.channel.k8s.io") ? "v4.channel.k8s.io" : NULL;
	if (!proto)
		return reply_error(mc, 400, "no supported exec sub-protocol offered (want v5.channel.k8s.io or v4.channel.k8s.io)");
	Argv av = { 0 };
	MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_command, &av);
	_cleanup_strv_ char **argv = av.v;
	if (!argv || !argv[0])
		return reply_error(mc, 400, "you must specify at least one command for the container");
	_cleanup_free_ char *dir = pod_ctr_dir(k, ns, pod, ctr);
	if (!dir)
		return reply_error(mc, 404, "container \"%s\" in pod \"%s\" not found", ctr, pod);
	ExecUpgrade *u = xcalloc(1, sizeof(*u));
	_cleanup_err_ Error *e = NULL;
	if (exec_start(dir, argv, arg_true(mc, "stdin"), arg_true(mc, "tty"), &u->e, &e) < 0) {
		free(u);
		return reply_error(mc, e && e->code == ESRCH ? 400 : 500, "container \"%s\" in pod \"%s\": %s", ctr, pod,
				   err_msg(e));
	}
	u->e.v5 = !strcmp(proto, "v5.channel.k8s.io");
	char accept[29];
	ws_accept_key(key, accept);
	struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, u);
	MHD_add_response_header(r, "Upgrade", "websocket");
	MHD_add_response_header(r, "Connection", "Upgrade");
	MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
	MHD_add_response_header(r, "Sec-WebSocket-Protocol", proto);
	enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
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
		return reply_error(mc, 403, "forbidden: this endpoint serves the cluster's API server only");
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		return reply_error(mc, 405, "method not allowed");
	if (!strcmp(url, "/healthz"))
		return reply(mc, 200, "text/plain", "ok");
	char parts[3][256];
	if (split_path(url, "/containerLogs/", parts))
		return serve_logs(k, mc, parts[0], parts[1], parts[2]);
	if (split_path(url, "/exec/", parts))
		return serve_exec(k, mc, parts[0], parts[1], parts[2]);
	return reply_error(mc, 404, "404 page not found");
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
