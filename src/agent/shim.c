/* shim.c - starting one instance of a pod's container and the tiny shim
 * that holds it (conmon's job for the kubelet).
 *
 * shim_start builds the spec, creates the container's cgroup
 * (kubepods/pod<uid>/<name>) and asks the agent's shim server for a shim.
 * The server is `berth shim` (shim.h, cli/cmd-shim.c): one process per
 * agent, posix_spawn'ed from /proc/self/exe so it inherits no agent memory,
 * that forks a shim per container.  A shim detaches (setsid), spawns the
 * container with rt_spawn, reports the pid (or the start error) over a
 * pipe, then copies the output into the CRI log
 * <poddir>/<name>/<restartCount>.log, reaps the container, writes
 * <poddir>/<name>/<n>.exit (exit code, signal, OOM kill, finish time),
 * removes the cgroup and exits.  For a container with stdin (and no tty)
 * it also serves <poddir>/<name>/attach.sock: what one client at a time
 * writes there goes to the container's stdin (stdinOnce: stdin is closed
 * when the first client leaves).  A container with tty: true gets a pty
 * from its own devpts; the shim keeps the master, logs what the terminal
 * shows as stdout and serves <poddir>/<name>/tty.sock (shim.h's protocol):
 * output to every client, input and window sizes from them, what came
 * before the first client kept for it (so `kubectl run -it` sees the first
 * prompt); stdinOnce hangs the terminal up when the first stdin session
 * ends, as containerd closes the console.  A shim's own memory is the few
 * pages it writes; the rest it shares with the server.
 *
 * The agent never waits on the shim to learn about the container: it checks
 * the pid (with its start time, so a reused pid is not mistaken) and reads
 * the .exit file - which works the same for a container started by an
 * earlier agent process.  state.json holds what an adopting agent needs.
 * The server sends the agent SIGCHLD when a shim exited, which wakes the
 * agent's tick as its own children do.
 */
#include "agent-internal.h"
#include "shim.h"
#include "../base/memtrim.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../runtime/crilog.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t pid_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')))
		return -1; /* gone, or a zombie */
	int field = 2;
	for (char *t = p + 1; *t; t++)
		if (*t == ' ' && ++field == 22)
			return atoll(t + 1);
	return -1;
}

bool pid_alive(pid_t pid, int64_t start)
{
	if (pid <= 0)
		return false;
	int64_t s = pid_start_time(pid);
	return s >= 0 && (start <= 0 || s == start);
}

void agent_reap_later(Agent *a, pid_t pid)
{
	a->zombies = xrealloc(a->zombies, (a->n_zombies + 1) * sizeof(pid_t));
	a->zombies[a->n_zombies++] = pid;
}

/* ---- state.json ---- */

int podctr_state_save(Pod *p, PodCtr *c)
{
	(void)p;
	_cleanup_free_ char *path = fs_join(c->dir, "state.json");
	json_t *process = c->process ? json_loads(c->process, 0, NULL) : NULL;
	_cleanup_json_ json_t *j = json_pack(
		"{s:i,s:i,s:i,s:I,s:i,s:s,s:s,s:i,s:i,s:s?,s:s?,s:s?,s:o?,s:O?,s:b}", "phase", (int)c->phase,
		"restartCount", c->restarts, "crashes", c->crashes, "pidStart", (json_int_t)c->pid_start, "pid",
		(int)c->pid, "startedAt", c->started_at, "finishedAt", c->finished_at, "exitCode", c->exit_code,
		"shim", (int)c->shim, "reason", c->reason, "imageID", c->image_id, "id", c->id, "process",
		process, "lastState", c->last_term, "started", c->started);
	return json_save_path_volatile(path, j, JSON_COMPACT, NULL);
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

int podctr_state_load(Pod *p, PodCtr *c)
{
	(void)p;
	_cleanup_free_ char *path = fs_join(c->dir, "state.json");
	_cleanup_json_ json_t *j = NULL;
	if (json_load_path(path, 1 << 20, &j, NULL) < 0)
		return -ENOENT;
	c->phase = (CtrPhase)json_int(j, "phase", CTR_WAITING);
	c->restarts = (int)json_int(j, "restartCount", 0);
	c->crashes = (int)json_int(j, "crashes", 0);
	c->pid = (pid_t)json_int(j, "pid", 0);
	c->pid_start = json_int(j, "pidStart", 0);
	c->shim = (pid_t)json_int(j, "shim", 0);
	c->exit_code = (int)json_int(j, "exitCode", 0);
	c->started = json_bool(j, "started", false);
	snprintf(c->started_at, sizeof(c->started_at), "%s", json_str(j, "startedAt") ? json_str(j, "startedAt") : "");
	snprintf(c->finished_at, sizeof(c->finished_at), "%s", json_str(j, "finishedAt") ? json_str(j, "finishedAt") : "");
	set_str(&c->reason, json_str(j, "reason"));
	set_str(&c->image_id, json_str(j, "imageID"));
	set_str(&c->id, json_str(j, "id"));
	free(c->process);
	json_t *process = json_object_get(j, "process");
	c->process = json_is_object(process) ? json_dumps(process, JSON_COMPACT) : NULL;
	json_decref(c->last_term);
	c->last_term = json_incref(json_object_get(j, "lastState"));
	return 0;
}

/* ---- the request: agent -> shim server ----
 *
 * One SOCK_SEQPACKET message: a ShimReqHdr, then five NUL-terminated
 * strings (cgroup mount root, cgroup path, CRI log, .exit file, attach
 * socket or ""), with two fds attached (SCM_RIGHTS): the report pipe's
 * write end and a memfd holding the OCI spec.  The shim answers on the
 * report pipe: int32 code (0 or -errno), int32 container pid, int32 shim
 * pid, then the error message, if any. */

#define SHIM_REQ_MAGIC 0x4d494853u /* "SHIM" */
#define SHIM_REQ_STRINGS 5
#define SHIM_REQ_MAX (SHIM_REQ_STRINGS * 4096 + 64)
enum { SHIM_ATTACH = 1, SHIM_STDIN_ONCE = 2, SHIM_TTY = 4, SHIM_TTY_STDIN = 8 };

typedef struct ShimReqHdr {
	uint32_t magic;
	uint32_t flags;
} ShimReqHdr;

/* ---- the shim: one container instance ---- */

static void shim_report(int fd, int32_t code, int32_t pid, const char *msg)
{
	int32_t self = (int32_t)getpid();
	fs_write_all(fd, &code, sizeof(code));
	fs_write_all(fd, &pid, sizeof(pid));
	fs_write_all(fd, &self, sizeof(self));
	if (msg)
		fs_write_all(fd, msg, strlen(msg));
	close(fd);
}

static bool shim_pump(CriLog *log, int fd, int stream)
{
	char buf[4096]; /* small: every page of stack a shim touches is its own */
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	crilog_feed(log, stream, buf, (size_t)n);
	return true;
}

/* stdin of a container with spec stdin:true: the pipe to it, the attach
 * socket and the one client that may write into it. */
typedef struct ShimStdin {
	int pipe;           /* write end of the container's stdin, -1 closed */
	int listen;         /* attach.sock, -1 none */
	int client;         /* the attached client, -1 none */
	bool once;          /* stdinOnce: close stdin when the first client leaves */
	const char *path;
	char buf[512];      /* read from the client, not yet in the pipe */
	size_t len, off;
} ShimStdin;

static void stdin_close_listen(ShimStdin *in)
{
	if (in->listen < 0)
		return;
	close(in->listen);
	in->listen = -1;
	unlink(in->path);
}

static void stdin_detach(ShimStdin *in)
{
	close(in->client);
	in->client = -1;
	in->len = in->off = 0;
	if (in->once) {
		if (in->pipe >= 0)
			close(in->pipe);
		in->pipe = -1;
		stdin_close_listen(in);
	}
}

static void stdin_events(ShimStdin *in, const struct pollfd *pl, const struct pollfd *pc, const struct pollfd *pp)
{
	if (pl->revents & POLLIN) {
		int fd = accept4(in->listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			in->client = fd;
	}
	if (pp->revents & (POLLERR | POLLHUP)) { /* the container closed its stdin */
		close(in->pipe);
		in->pipe = -1;
		in->len = in->off = 0;
	} else if (pp->revents & POLLOUT && in->len > in->off) {
		ssize_t n = write(in->pipe, in->buf + in->off, in->len - in->off);
		if (n > 0)
			in->off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			close(in->pipe);
			in->pipe = -1;
		}
		if (in->off == in->len || in->pipe < 0)
			in->len = in->off = 0;
	}
	if (pc->revents && in->client >= 0 && in->len == 0) {
		ssize_t n = read(in->client, in->buf, sizeof(in->buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			stdin_detach(in);
		else if (n > 0 && in->pipe >= 0)
			in->len = (size_t)n; /* with stdin closed, bytes are dropped */
	}
}

/* Drop the stack pages below the caller's frame: rt_spawn ran deep once,
 * the hold loop never goes as deep again (signals come by signalfd, no
 * handler ever runs on this stack).  Two pages below are left for what the
 * loop still calls. */
static void __attribute__((noinline)) stack_trim(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	char line[256];
	unsigned long lo = 0, hi = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			break;
	fclose(f);
	uintptr_t here = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)4095;
	if (lo && here > lo + 2 * 4096 && here <= hi)
		madvise((void *)lo, here - 2 * 4096 - lo, MADV_DONTNEED);
}

/* Hold the container until it exited and its output is drained. */
static int shim_hold(pid_t pid, int out, int err, int sigfd, CriLog *log, ShimStdin *in)
{
	int status = 0;
	bool exited = false, out_open = true, err_open = true, trimmed = false;
	for (;;) {
		if (exited && !out_open && !err_open)
			break;
		bool pending = in->len > in->off;
		struct pollfd fds[6] = { { .fd = sigfd, .events = POLLIN },
					 { .fd = out_open ? out : -1, .events = POLLIN },
					 { .fd = err_open ? err : -1, .events = POLLIN },
					 { .fd = in->client < 0 ? in->listen : -1, .events = POLLIN },
					 { .fd = in->client >= 0 && !pending ? in->client : -1, .events = POLLIN },
					 { .fd = in->pipe, .events = pending ? POLLOUT : 0 } };
		int r = poll(fds, 6, exited ? 2000 : trimmed ? -1 : 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && !exited) {
			mem_trim();
			stack_trim();
			malloc_trim(0); /* what reading /proc took */
			trimmed = true;
			continue;
		}
		if (r == 0)
			break;
		if (fds[1].revents)
			out_open = shim_pump(log, out, CRI_STDOUT);
		if (fds[2].revents)
			err_open = shim_pump(log, err, CRI_STDERR);
		stdin_events(in, &fds[3], &fds[4], &fds[5]);
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == pid) {
					status = st;
					exited = true;
				}
		}
	}
	return status;
}

/* ---- a container with tty: true ---- */

size_t shim_tty_resize_msg(uint8_t buf[5], unsigned rows, unsigned cols)
{
	uint16_t r = (uint16_t)rows, c = (uint16_t)cols;
	buf[0] = SHIM_TTY_RESIZE;
	memcpy(buf + 1, &r, 2);
	memcpy(buf + 3, &c, 2);
	return 5;
}

int shim_tty_parse(const uint8_t *msg, size_t n, const uint8_t **data, size_t *len, unsigned *rows, unsigned *cols)
{
	if (n == 0 || n > SHIM_TTY_MSG_MAX)
		return -EBADMSG;
	switch (msg[0]) {
	case SHIM_TTY_STDIN_SESSION:
		return n == 1 ? SHIM_TTY_STDIN_SESSION : -EBADMSG;
	case SHIM_TTY_INPUT:
		*data = msg + 1;
		*len = n - 1;
		return SHIM_TTY_INPUT;
	case SHIM_TTY_RESIZE: {
		uint16_t r, c;
		if (n != 5)
			return -EBADMSG;
		memcpy(&r, msg + 1, 2);
		memcpy(&c, msg + 3, 2);
		*rows = r;
		*cols = c;
		return SHIM_TTY_RESIZE;
	}
	default:
		return -EBADMSG;
	}
}

#define TTY_CLIENTS 8

/* The pty master, the clients of tty.sock and what the terminal showed
 * before the first of them came. */
typedef struct ShimTty {
	int master;               /* -1 once closed (EIO: every slave closed; or hung up) */
	int listen;               /* tty.sock, -1 none */
	int clients[TTY_CLIENTS]; /* -1 free */
	bool stdin_session[TTY_CLIENTS];
	bool open_stdin, once, attached;
	const char *path;
	char *early;              /* output before the first client (SHIM_TTY_EARLY), NULL once given */
	size_t early_len;
	char in[SHIM_TTY_MSG_MAX];/* input read from a client, not yet in the master */
	size_t in_len, in_off;
} ShimTty;

static void tty_close_listen(ShimTty *t)
{
	if (t->listen < 0)
		return;
	close(t->listen);
	t->listen = -1;
	unlink(t->path);
}

static void tty_hangup(ShimTty *t)
{
	if (t->master >= 0)
		close(t->master);
	t->master = -1;
	t->in_len = t->in_off = 0;
}

static void tty_client_gone(ShimTty *t, int i)
{
	close(t->clients[i]);
	t->clients[i] = -1;
	if (t->stdin_session[i] && t->once) {
		tty_hangup(t); /* stdinOnce: the session with stdin ended */
		tty_close_listen(t);
	}
	t->stdin_session[i] = false;
}

static void tty_send(ShimTty *t, int i, const void *buf, size_t n)
{
	if (send(t->clients[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EINTR)
		tty_client_gone(t, i); /* a client too slow to keep up misses output, as on a serial line */
}

static void tty_accept(ShimTty *t)
{
	int fd = accept4(t->listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int i = 0;
	while (i < TTY_CLIENTS && t->clients[i] >= 0)
		i++;
	if (i == TTY_CLIENTS) {
		close(fd);
		return;
	}
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	t->clients[i] = fd;
	char hello[2] = { SHIM_TTY_HELLO, t->open_stdin && t->master >= 0 ? SHIM_TTY_HELLO_STDIN : 0 };
	tty_send(t, i, hello, sizeof(hello));
	for (size_t off = 0; t->early && off < t->early_len && t->clients[i] >= 0; off += SHIM_TTY_MSG_MAX) {
		size_t n = t->early_len - off < SHIM_TTY_MSG_MAX ? t->early_len - off : SHIM_TTY_MSG_MAX;
		tty_send(t, i, t->early + off, n);
	}
	free(t->early);
	t->early = NULL;
	t->attached = true;
}

/* Output of the terminal: to the log, every client, or kept for the first. */
static void tty_output(ShimTty *t, CriLog *log)
{
	char buf[SHIM_TTY_MSG_MAX];
	ssize_t n = read(t->master, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* EIO: the container's side is closed */
		tty_hangup(t);
		return;
	}
	crilog_feed(log, CRI_STDOUT, buf, (size_t)n);
	for (int i = 0; i < TTY_CLIENTS; i++)
		if (t->clients[i] >= 0)
			tty_send(t, i, buf, (size_t)n);
	if (t->attached)
		return;
	if (!t->early)
		t->early = xmalloc(SHIM_TTY_EARLY);
	if (t->early_len + (size_t)n > SHIM_TTY_EARLY) { /* keep the newest */
		size_t drop = t->early_len + (size_t)n - SHIM_TTY_EARLY;
		memmove(t->early, t->early + drop, t->early_len - drop);
		t->early_len -= drop;
	}
	memcpy(t->early + t->early_len, buf, (size_t)n);
	t->early_len += (size_t)n;
}

static void tty_client_message(ShimTty *t, int i)
{
	uint8_t msg[SHIM_TTY_MSG_MAX];
	ssize_t n = recv(t->clients[i], msg, sizeof(msg), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tty_client_gone(t, i);
		return;
	}
	const uint8_t *data = NULL;
	size_t len = 0;
	unsigned rows = 0, cols = 0;
	switch (shim_tty_parse(msg, (size_t)n, &data, &len, &rows, &cols)) {
	case SHIM_TTY_STDIN_SESSION:
		t->stdin_session[i] = t->open_stdin;
		break;
	case SHIM_TTY_INPUT:
		if (t->open_stdin && t->master >= 0) { /* else dropped, as stdin is closed */
			memcpy(t->in, data, len);
			t->in_len = len;
			t->in_off = 0;
		}
		break;
	case SHIM_TTY_RESIZE:
		if (t->master >= 0 && rows > 0 && cols > 0) {
			struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
			ioctl(t->master, TIOCSWINSZ, &ws);
		}
		break;
	default:
		tty_client_gone(t, i); /* not our protocol */
	}
}

static void tty_input(ShimTty *t)
{
	ssize_t n = write(t->master, t->in + t->in_off, t->in_len - t->in_off);
	if (n > 0)
		t->in_off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		t->in_off = t->in_len;
	if (t->in_off == t->in_len)
		t->in_len = t->in_off = 0;
}

/* Hold a tty container until it exited and the terminal is drained. */
static int shim_hold_tty(pid_t pid, int sigfd, CriLog *log, ShimTty *t)
{
	int status = 0;
	bool exited = false, trimmed = false;
	while (!exited || t->master >= 0) {
		bool pending = t->in_len > t->in_off;
		struct pollfd fds[3 + TTY_CLIENTS] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = t->master, .events = POLLIN | (pending ? POLLOUT : 0) },
			{ .fd = t->listen, .events = POLLIN },
		};
		for (int i = 0; i < TTY_CLIENTS; i++)
			fds[3 + i] = (struct pollfd){ .fd = t->clients[i], .events = pending ? 0 : POLLIN };
		int r = poll(fds, 3 + TTY_CLIENTS, exited ? 2000 : trimmed ? -1 : 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && !exited) {
			mem_trim();
			stack_trim();
			malloc_trim(0);
			trimmed = true;
			continue;
		}
		if (r == 0)
			break; /* exited, and something else still holds the terminal open */
		if (fds[1].revents & POLLOUT && t->master >= 0)
			tty_input(t);
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR) && t->master >= 0)
			tty_output(t, log);
		if (fds[2].revents & POLLIN)
			tty_accept(t);
		for (int i = 0; i < TTY_CLIENTS; i++)
			if (fds[3 + i].revents && t->clients[i] == fds[3 + i].fd)
				tty_client_message(t, i);
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == pid) {
					status = st;
					exited = true;
				}
		}
	}
	return status;
}

static void tty_end(ShimTty *t)
{
	tty_hangup(t);
	tty_close_listen(t);
	for (int i = 0; i < TTY_CLIENTS; i++)
		if (t->clients[i] >= 0)
			close(t->clients[i]);
	free(t->early);
}

/* A unix socket bound at `path`; paths longer than sun_path go through
 * /proc/self/fd/<dir>/<name> (pod directories can be long). */
static int listen_at(const char *path, int type, Error **err)
{
	_cleanup_close_ int sock = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return err_sys(err, errno, "attach socket");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int dir = -1;
	if (strlen(path) < sizeof(sa.sun_path)) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	} else {
		_cleanup_free_ char *d = xstrdup(path);
		char *slash = strrchr(d, '/');
		if (!slash)
			return err_set(err, ENAMETOOLONG, "attach socket '%s': name too long", path);
		*slash = 0;
		dir = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return err_sys(err, errno, "attach socket '%s'", path);
		if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir, slash + 1) >=
		    sizeof(sa.sun_path))
			return err_set(err, ENAMETOOLONG, "attach socket '%s': name too long", path);
	}
	unlink(path);
	if (bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(sock, 4) < 0)
		return err_sys(err, errno, "attach socket '%s'", path);
	return TAKE_FD(sock);
}

static json_t *read_spec(int fd, Error **err)
{
	json_error_t je;
	lseek(fd, 0, SEEK_SET);
	json_t *spec = json_loadfd(fd, 0, &je);
	if (!spec)
		err_set(err, EINVAL, "container spec: %s", je.text);
	return spec;
}

static void write_exit(const char *path, int status, const CgStats *st)
{
	bool sig = WIFSIGNALED(status);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : sig ? 128 + WTERMSIG(status) : 255;
	char fin[48], text[160];
	agent_now_rfc3339(fin);
	bool oom = st->oom_kills > 0 && sig && WTERMSIG(status) == SIGKILL;
	snprintf(text, sizeof(text), "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}", code,
		 sig ? WTERMSIG(status) : 0, oom ? "true" : "false", fin);
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && fs_write_all(fd, text, strlen(text)) >= 0)
		rename(tmp, path);
}

/* In the child the server forked: hold one container, then exit. */
static _Noreturn void shim_child(const ShimRequest *rq)
{
	setsid();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	Error *e = NULL;
	Cgroup *cg = NULL;
	json_t *spec = NULL;
	/* what is kept (the cgroup) is allocated before the spec, so the spec's
	 * pages are at the top of the heap and malloc_trim gives them back */
	int r = cg_create(rq->cgroup_root, rq->cgroup, &cg, &e);
	if (r >= 0 && !(spec = read_spec(rq->spec_fd, &e)))
		r = -EINVAL;
	close(rq->spec_fd);
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, pi[2] = { -1, -1 };
	bool with_stdin = rq->attach_path != NULL && !rq->tty;
	ShimStdin in = { .pipe = -1, .listen = -1, .client = -1, .once = rq->stdin_once, .path = rq->attach_path };
	ShimTty tty = { .master = -1, .listen = -1, .open_stdin = rq->tty_stdin, .once = rq->stdin_once,
			.path = rq->attach_path };
	for (int i = 0; i < TTY_CLIENTS; i++)
		tty.clients[i] = -1;
	if (r >= 0 && !rq->tty && (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 ||
				   (with_stdin && pipe2(pi, O_CLOEXEC) < 0)))
		r = err_sys(&e, errno, "pipe");
	if (r >= 0 && with_stdin && (in.listen = r = listen_at(rq->attach_path, SOCK_STREAM, &e)) >= 0)
		fcntl(pi[1], F_SETFL, O_NONBLOCK);
	if (r >= 0 && rq->tty)
		tty.listen = r = listen_at(rq->attach_path, SOCK_SEQPACKET, &e);
	RtSpawned sp = { .console_master = -1 };
	if (r >= 0) {
		RtStdio io = { .in = pi[0], .out = po[1], .err = pe[1],
			       .console_fd = rq->tty ? RT_CONSOLE_IN_CONTAINER : -1 };
		r = rt_spawn(spec, cg, &io, NULL, &sp, &e);
	}
	json_decref(spec);
	int ends[] = { po[1], pe[1], pi[0] };
	for (size_t i = 0; i < 3; i++)
		if (ends[i] >= 0)
			close(ends[i]);
	if (r >= 0 && rq->tty && sp.console_master < 0)
		r = err_set(&e, EINVAL, "container spec: a tty needs process.terminal");
	if (r < 0) { /* undo first: the agent may retry as soon as it hears */
		stdin_close_listen(&in);
		tty_close_listen(&tty);
		if (sp.pid > 0)
			kill(sp.pid, SIGKILL);
		if (cg)
			cg_destroy(cg, NULL);
		shim_report(rq->report_fd, r, 0, err_msg(e));
		_exit(1);
	}
	in.pipe = pi[1];
	if (rq->tty) {
		struct winsize ws = { .ws_row = 24, .ws_col = 80 }; /* until a client says otherwise */
		tty.master = sp.console_master;
		ioctl(tty.master, TIOCSWINSZ, &ws);
		fcntl(tty.master, F_SETFL, O_NONBLOCK);
	}
	shim_report(rq->report_fd, 0, sp.pid, NULL);
	malloc_trim(0);
	CriLog log;
	if (crilog_open(&log, rq->log_path, NULL) < 0)
		log.fd = -1;
	int status = rq->tty ? shim_hold_tty(sp.pid, sigfd, &log, &tty) : shim_hold(sp.pid, po[0], pe[0], sigfd, &log, &in);
	crilog_close(&log);
	stdin_close_listen(&in);
	tty_close_listen(&tty); /* no new clients; those attached see the end after the exit file */
	CgStats st = { 0 };
	cg_stats(cg, &st, NULL);
	write_exit(rq->exit_path, status, &st);
	tty_end(&tty);
	cg_kill_all(cg, SIGKILL, NULL);
	cg_destroy(cg, NULL);
	_exit(0);
}

/* ---- the shim server (`berth shim`) ---- */

static int recv_request(int sock, char *buf, size_t size, ShimRequest *rq)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n == 0 ? -EPIPE : -errno;
	buf[n] = 0;
	int fds[2] = { -1, -1 };
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				if (i < 2 && fds[i] < 0)
					fds[i] = fd;
				else
					close(fd);
			}
		}
	ShimReqHdr h;
	const char *s[SHIM_REQ_STRINGS];
	const char *p = buf + sizeof(h), *end = buf + n;
	bool ok = (size_t)n > sizeof(h) && fds[0] >= 0 && fds[1] >= 0;
	if (ok)
		memcpy(&h, buf, sizeof(h));
	ok = ok && h.magic == SHIM_REQ_MAGIC && (!(h.flags & SHIM_TTY) || (h.flags & SHIM_ATTACH));
	for (int i = 0; ok && i < SHIM_REQ_STRINGS; i++) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		ok = z != NULL;
		s[i] = p;
		p = z ? z + 1 : end;
	}
	if (!ok) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -EBADMSG;
	}
	*rq = (ShimRequest){ .cgroup_root = s[0], .cgroup = s[1], .log_path = s[2], .exit_path = s[3],
			     .attach_path = (h.flags & SHIM_ATTACH) ? s[4] : NULL,
			     .stdin_once = (h.flags & SHIM_STDIN_ONCE) != 0, .tty = (h.flags & SHIM_TTY) != 0,
			     .tty_stdin = (h.flags & SHIM_TTY_STDIN) != 0, .report_fd = fds[0], .spec_fd = fds[1] };
	return 0;
}

static void server_detach(void)
{
	if (chdir("/") < 0)
		return;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup3(null, fd, 0);
	if (null > 2)
		close(null);
}

static void server_fork(int sock, int sigfd, const ShimRequest *rq)
{
	pid_t pid = fork();
	if (pid == 0) {
		close(sock);
		close(sigfd);
		shim_child(rq);
	}
	if (pid < 0) {
		char msg[64];
		snprintf(msg, sizeof(msg), "fork shim: %s", strerror(errno));
		int32_t code = -errno, zero = 0;
		fs_write_all(rq->report_fd, &code, sizeof(code));
		fs_write_all(rq->report_fd, &zero, sizeof(zero));
		fs_write_all(rq->report_fd, &zero, sizeof(zero));
		fs_write_all(rq->report_fd, msg, strlen(msg));
	}
	close(rq->report_fd);
	close(rq->spec_fd);
}

int shim_server_run(int sock)
{
	pid_t agent = getppid();
	prctl(PR_SET_NAME, "berth"); /* exec'ed as /proc/self/exe: "exe" otherwise */
	server_detach();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN); /* the agent signals containers, never their shims */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		return -errno;
	static char buf[SHIM_REQ_MAX]; /* .bss: the shims read their request from here */
	bool trimmed = false;
	for (;;) {
		struct pollfd fds[2] = { { .fd = sock, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
		int r = poll(fds, 2, trimmed ? -1 : 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			mem_trim(); /* before the shims are forked: they start from a trimmed server */
			trimmed = true;
			continue;
		}
		if (fds[1].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			bool reaped = false;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				reaped = true;
			/* a shim exits right after its container: wake the agent's tick */
			if (reaped && getppid() == agent)
				kill(agent, SIGCHLD);
		}
		if (fds[0].revents) {
			ShimRequest rq = { .report_fd = -1, .spec_fd = -1 };
			r = recv_request(sock, buf, sizeof(buf), &rq);
			if (r == -EPIPE || (r < 0 && r != -EBADMSG && r != -EINTR && r != -EAGAIN))
				break; /* the agent is gone */
			if (r >= 0)
				server_fork(sock, sigfd, &rq);
		}
	}
	close(sigfd);
	return 0;
}

/* ---- the agent's side: its shim server ---- */

static struct {
	int fd;    /* our end of the socket, -1 none */
	pid_t pid;
} server = { -1, 0 };

static int server_spawn(Agent *a, Error **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(err, errno, "shim server socket");
	/* above the fds posix_spawn writes, so dup2 never lands on itself */
	int theirs = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
	close(sv[1]);
	if (theirs < 0) {
		close(sv[0]);
		return err_sys(err, errno, "shim server socket");
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, theirs, SHIM_SERVER_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, SHIM_SERVER_FD + 1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
	posix_spawnattr_setsigmask(&attr, &none);
	char *argv[] = { "berth", "shim", NULL };
	pid_t pid;
	int r = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(theirs);
	if (r != 0) {
		close(sv[0]);
		return err_sys(err, r, "start the shim server (berth shim)");
	}
	agent_reap_later(a, pid);
	server.fd = sv[0];
	server.pid = pid;
	return 0;
}

int shim_send_request(int sock, const ShimRequest *rq)
{
	if (rq->tty && !rq->attach_path)
		return -EINVAL;
	ShimReqHdr h = { .magic = SHIM_REQ_MAGIC,
			 .flags = (rq->attach_path ? SHIM_ATTACH : 0) | (rq->stdin_once ? SHIM_STDIN_ONCE : 0) |
				  (rq->tty ? SHIM_TTY : 0) | (rq->tty_stdin ? SHIM_TTY_STDIN : 0) };
	const char *strs[SHIM_REQ_STRINGS] = { rq->cgroup_root, rq->cgroup, rq->log_path, rq->exit_path,
					       rq->attach_path ? rq->attach_path : "" };
	_cleanup_sb_ StrBuf msg;
	sb_init(&msg);
	sb_add(&msg, &h, sizeof(h));
	for (int i = 0; i < SHIM_REQ_STRINGS; i++)
		sb_add(&msg, strs[i], strlen(strs[i]) + 1);
	if (msg.len > SHIM_REQ_MAX - 1)
		return -ENAMETOOLONG;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = msg.buf, .iov_len = msg.len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = { rq->report_fd, rq->spec_fd };
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ssize_t n;
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* Ask the shim server (started on first use, again if it died) for a shim. */
static int request_shim(Agent *a, const ShimRequest *rq, Error **err)
{
	for (int attempt = 0;; attempt++) {
		if (server.fd < 0) {
			int r = server_spawn(a, err);
			if (r < 0)
				return r;
		}
		int r = shim_send_request(server.fd, rq);
		if (r >= 0)
			return 0;
		close(server.fd);
		server.fd = -1;
		if (attempt > 0 || (r != -EPIPE && r != -ECONNRESET && r != -ENOTCONN))
			return err_sys(err, -r, "container shim request (%s)", rq->log_path);
	}
}

int shim_read_report(int fd, pid_t *ret_pid, pid_t *ret_shim, Error **err)
{
	int32_t code = 0, pid = 0, shim = 0;
	if (fs_read_full(fd, &code, sizeof(code)) != sizeof(code) || fs_read_full(fd, &pid, sizeof(pid)) != sizeof(pid) ||
	    fs_read_full(fd, &shim, sizeof(shim)) != sizeof(shim))
		return err_set(err, EIO, "container shim died before starting the container");
	char msg[4096];
	ssize_t m = fs_read_full(fd, msg, sizeof(msg) - 1);
	msg[m > 0 ? m : 0] = 0;
	*ret_pid = pid;
	*ret_shim = shim;
	if (code < 0)
		return err_set(err, -code, "%s", msg[0] ? msg : "start failed");
	return 0;
}

/* Remove instance directories other than the current one. */
static void prune_instances(PodCtr *c, int keep)
{
	_cleanup_closedir_ DIR *d = opendir(c->dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		int64_t n;
		if (parse_int64(de->d_name, &n) < 0 || n == keep)
			continue;
		_cleanup_free_ char *p = fs_join(c->dir, de->d_name);
		fs_rm_rf(p, NULL);
	}
}

static int open_cgroup(Agent *a, Pod *p, PodCtr *c, const CgLimits *lim, Cgroup **ret, Error **err)
{
	_cleanup_free_ char *path = pod_cgroup_path(p, c->name);
	Cgroup *cg = NULL;
	int r = cg_create(a->cgroup_root, path, &cg, err);
	if (r < 0)
		return r;
	cg_kill_all(cg, SIGKILL, NULL); /* a previous instance's leftovers */
	r = cg_apply(cg, lim, err);
	if (r < 0) {
		cg_free(cg);
		return r;
	}
	*ret = cg;
	return 0;
}

/* The OCI process kept for exec and probes, args removed, as compact text:
 * a tree of it (capability lists and all) was ~7 KB per container, the
 * text ~0.9 KB; it is parsed again only for an exec or a state.json write. */
static char *process_text(const json_t *process)
{
	if (!json_is_object(process))
		return NULL;
	_cleanup_json_ json_t *copy = json_copy((json_t *)process); /* shallow: only "args" goes */
	json_object_del(copy, "args");
	return json_dumps(copy, JSON_COMPACT);
}

int shim_start(Agent *a, Pod *p, PodCtr *c, Error **err)
{
	int n = c->restarts;
	free(c->id);
	c->id = xasprintf("%s-%s-%d", p->uid, c->name, n);
	_cleanup_free_ char *inst = xasprintf("%s/%d", c->dir, n);
	prune_instances(c, n);
	fs_rm_rf(inst, NULL);
	json_t *spec = NULL;
	CgLimits lim;
	char *image_id = NULL;
	int r = fs_mkdir_p(c->dir, 0755, err);
	if (r >= 0)
		r = ctrspec_build(a, p, c, inst, &spec, &lim, &image_id, err);
	if (r < 0)
		return r;
	free(c->image_id);
	c->image_id = image_id;
	free(c->process);
	c->process = process_text(json_object_get(spec, "process"));
	Cgroup *cg = NULL;
	if ((r = open_cgroup(a, p, c, &lim, &cg, err)) < 0) {
		json_decref(spec);
		return r;
	}
	cg_free(cg); /* the shim opens it again by path */
	_cleanup_free_ char *cg_path = pod_cgroup_path(p, c->name);
	_cleanup_free_ char *log_path = xasprintf("%s/%d.log", c->dir, n);
	_cleanup_free_ char *exit_path = xasprintf("%s/%d.exit", c->dir, n);
	bool tty = json_bool(ctr_spec(p, c), "tty", false);
	_cleanup_free_ char *attach_path = fs_join(c->dir, "attach.sock");
	_cleanup_free_ char *tty_path = fs_join(c->dir, "tty.sock");
	unlink(exit_path);
	unlink(attach_path);
	unlink(tty_path);
	bool stdin_on = json_bool(ctr_spec(p, c), "stdin", false);
	bool in = stdin_on && !tty;
	_cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	_cleanup_close_ int spec_fd = memfd_create("berth-spec", MFD_CLOEXEC);
	if (spec_fd < 0 || fs_write_all(spec_fd, text, strlen(text)) < 0)
		return err_sys(err, errno, "container %s: spec", c->name);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	_cleanup_close_ int report = pfd[0];
	ShimRequest rq = { .cgroup_root = a->cgroup_root, .cgroup = cg_path, .log_path = log_path,
			   .exit_path = exit_path, .attach_path = tty ? tty_path : in ? attach_path : NULL,
			   .stdin_once = stdin_on && json_bool(ctr_spec(p, c), "stdinOnce", false), .tty = tty,
			   .tty_stdin = tty && stdin_on, .report_fd = pfd[1], .spec_fd = spec_fd };
	r = request_shim(a, &rq, err);
	close(pfd[1]); /* the shim has its own copy now: EOF if it dies */
	if (r < 0)
		return r;
	pid_t pid = 0, shim = 0;
	r = shim_read_report(report, &pid, &shim, err);
	if (r < 0)
		return r;
	c->shim = shim;
	c->pid = pid;
	c->pid_start = pid_start_time(pid);
	c->started_mono = agent_now_ms();
	agent_now_rfc3339(c->started_at);
	c->finished_at[0] = 0;
	return 0;
}

int shim_poll(Agent *a, Pod *p, PodCtr *c)
{
	(void)a;
	(void)p;
	if (c->phase != CTR_RUN || pid_alive(c->pid, c->pid_start))
		return 0;
	_cleanup_free_ char *path = xasprintf("%s/%d.exit", c->dir, c->restarts);
	_cleanup_json_ json_t *j = NULL;
	if (json_load_path(path, 1 << 16, &j, NULL) < 0) {
		if (pid_alive(c->shim, 0))
			return 0; /* the shim is still writing it */
		/* the shim is gone without a word (killed, or the node rebooted) */
		c->exit_code = 255;
		c->signal = 0;
		agent_now_rfc3339(c->finished_at);
		status_ctr_terminated(c, "Error");
		return 1;
	}
	c->exit_code = (int)json_int(j, "exitCode", 255);
	c->signal = (int)json_int(j, "signal", 0);
	snprintf(c->finished_at, sizeof(c->finished_at), "%s", json_str(j, "finishedAt") ? json_str(j, "finishedAt") : "");
	status_ctr_terminated(c, json_bool(j, "oomKilled", false) ? "OOMKilled" : c->exit_code == 0 ? "Completed" : "Error");
	return 1;
}
