/* network-exec.c - running CNI plugins and the iptables tools for network.c.
 *
 * A CNI plugin is an executable that takes its verb and the container's
 * identity in CNI_* environment variables and the network configuration on
 * stdin, and answers with a JSON result, or with a JSON error and a non-zero
 * exit, on stdout.  We start it with posix_spawn (fork+exec semantics without
 * copying a big parent's page tables), with a fixed environment (plugins find
 * iptables through PATH and their IPAM plugin through CNI_PATH), default
 * signal handling, and its own process group so a Ctrl-C at the terminal does
 * not kill it half-way through writing rules.  stdin is a socketpair so a
 * plugin that exits early gives EPIPE, not SIGPIPE.  Output comes from outside
 * and is capped; the whole run has a deadline.
 */
#include "network-internal.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static const char *const tool_dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
static const char *const cni_dirs[] = { "/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin" };
#define NET_TOOL_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

void net_exec_out_release(NetExecOut *o)
{
	free(o->out);
	free(o->errout);
	o->out = o->errout = NULL;
	o->out_len = 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spawn_child(const char *const *argv, const char *const *envp, int fd_in, int fd_out,
		       int fd_err, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd_in, 0);
	posix_spawn_file_actions_adddup2(&fa, fd_out, 1);
	posix_spawn_file_actions_adddup2(&fa, fd_err, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					       POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	int r = posix_spawn(ret_pid, argv[0], &fa, &attr, (char *const *)argv, (char *const *)envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -r;
}

/* Read what is there from fd into sb (up to max; the rest is drained and
 * dropped when drop_excess, else an overflow).  Returns 1 at EOF, 0 for more,
 * -E2BIG on overflow, -errno. */
static int drain(int fd, StrBuf *sb, size_t max, bool drop_excess)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN ? 0 : errno == EINTR ? 0 : -errno;
		size_t keep = (size_t)n;
		if (sb->len + keep > max) {
			if (!drop_excess)
				return -E2BIG;
			keep = max - sb->len;
		}
		sb_add(sb, buf, keep);
	}
}

typedef struct ExecIo {
	int in, out, err;          /* parent ends, -1 when done */
	const char *data;
	size_t len, off;
	StrBuf sout, serr;
} ExecIo;

/* Push stdin, pull stdout/stderr until both close or the deadline passes. */
static int exec_pump(ExecIo *io, size_t out_max, int64_t deadline)
{
	while (io->out >= 0 || io->err >= 0) {
		struct pollfd p[3] = { { io->in, POLLOUT, 0 }, { io->out, POLLIN, 0 },
				       { io->err, POLLIN, 0 } };
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, 3, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (io->in >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = send(io->in, io->data + io->off, io->len - io->off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				io->off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || io->off == io->len) {
				close(io->in); /* EOF for the child (or it stopped reading) */
				io->in = -1;
			}
		}
		if (io->out >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
			int r = drain(io->out, &io->sout, out_max, false);
			if (r < 0)
				return r;
			if (r == 1) {
				close(io->out);
				io->out = -1;
			}
		}
		if (io->err >= 0 && (p[2].revents & (POLLIN | POLLERR | POLLHUP))) {
			int r = drain(io->err, &io->serr, NET_MAX_PLUGIN_STDERR, true);
			if (r != 0) {
				close(io->err);
				io->err = -1;
			}
		}
	}
	return 0;
}

static void exec_io_close(ExecIo *io)
{
	if (io->in >= 0)
		close(io->in);
	if (io->out >= 0)
		close(io->out);
	if (io->err >= 0)
		close(io->err);
	io->in = io->out = io->err = -1;
}

int net_exec(const char *const *argv, const char *const *envp, const char *in, size_t in_len,
	     size_t out_max, int timeout_ms, NetExecOut *ret, Error **err)
{
	int sin[2], pout[2], perr[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sin) < 0)
		return err_sys(err, errno, "run '%s': socketpair", argv[0]);
	if (pipe2(pout, O_CLOEXEC) < 0) {
		int e = errno;
		close(sin[0]), close(sin[1]);
		return err_sys(err, e, "run '%s': pipe", argv[0]);
	}
	if (pipe2(perr, O_CLOEXEC) < 0) {
		int e = errno;
		close(sin[0]), close(sin[1]), close(pout[0]), close(pout[1]);
		return err_sys(err, e, "run '%s': pipe", argv[0]);
	}
	pid_t pid;
	int r = spawn_child(argv, envp, sin[1], pout[1], perr[1], &pid);
	close(sin[1]), close(pout[1]), close(perr[1]);
	ExecIo io = { sin[0], pout[0], perr[0], in, in_len, 0, STRBUF_INIT, STRBUF_INIT };
	if (r < 0) {
		exec_io_close(&io);
		return err_sys(err, -r, "run '%s'", argv[0]);
	}
	fcntl(io.out, F_SETFL, O_NONBLOCK);
	fcntl(io.err, F_SETFL, O_NONBLOCK);
	if (in_len == 0) {
		close(io.in);
		io.in = -1;
	}
	r = exec_pump(&io, out_max, now_ms() + timeout_ms);
	exec_io_close(&io);
	if (r < 0)
		kill(pid, SIGKILL);
	int status = 0, w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0 && r >= 0) /* e.g. ECHILD when SIGCHLD is ignored: no exit status to trust */
		r = -errno;
	if (r < 0) {
		sb_release(&io.sout);
		sb_release(&io.serr);
		if (r == -ETIMEDOUT)
			return err_set(err, ETIMEDOUT, "run '%s': no answer after %d ms, killed",
				       argv[0], timeout_ms);
		if (r == -E2BIG)
			return err_set(err, E2BIG, "run '%s': output larger than %zu bytes", argv[0],
				       out_max);
		return err_sys(err, -r, "run '%s': %s", argv[0], w < 0 ? "wait" : "read output");
	}
	ret->out_len = io.sout.len;
	ret->out = io.sout.buf ? sb_detach(&io.sout) : xstrdup("");
	ret->errout = io.serr.buf ? sb_detach(&io.serr) : xstrdup("");
	ret->status = status;
	return 0;
}

static bool is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int net_tool_find(const char *name, char *buf, size_t size, Error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(tool_dirs); i++) {
		snprintf(buf, size, "%s/%s", tool_dirs[i], name);
		if (is_exec_file(buf))
			return 0;
	}
	return err_set(err, ENOENT, "'%s' not found in /usr/sbin:/usr/bin:/sbin:/bin", name);
}

/* Trim trailing whitespace in place; returns s. */
static char *rstrip(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

static char *status_text(int status)
{
	if (WIFSIGNALED(status))
		return xasprintf("killed by signal %d", WTERMSIG(status));
	return xasprintf("exit status %d", WEXITSTATUS(status));
}

int net_tool_run(const char *name, const char *const *args, const char *in, size_t in_len,
		 size_t out_max, char **ret_out, Error **err)
{
	char path[256];
	int r = net_tool_find(name, path, sizeof(path), err);
	if (r < 0)
		return r;
	const char *argv[16] = { path };
	size_t n = 1;
	for (; args && args[n - 1] && n < ARRAY_SIZE(argv) - 1; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	const char *envp[] = { NET_TOOL_PATH, "LC_ALL=C", NULL };
	NetExecOut o = { 0 };
	r = net_exec(argv, envp, in, in_len, out_max, NET_PLUGIN_TIMEOUT_MS, &o, err);
	if (r < 0)
		return r;
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
		_cleanup_free_ char *st = status_text(o.status);
		r = err_set(err, EIO, "%s: %s%s%s", name, st, *o.errout ? ": " : "",
			    rstrip(o.errout));
		net_exec_out_release(&o);
		return r;
	}
	if (ret_out)
		*ret_out = TAKE_PTR(o.out);
	net_exec_out_release(&o);
	return 0;
}

char *net_cni_path(void)
{
	const char *env = getenv("BERTH_CNI_PATH");
	if (env && *env)
		return xstrdup(env);
	StrBuf sb = STRBUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(cni_dirs); i++) {
		struct stat st;
		if (stat(cni_dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			sb_addf(&sb, "%s%s", sb.len ? ":" : "", cni_dirs[i]);
	}
	return sb.buf ? sb_detach(&sb) : xstrdup(cni_dirs[0]);
}

static int cni_plugin_find(const char *cni_path, const char *type, char *buf, size_t size,
			   Error **err)
{
	if (!*type || strchr(type, '/') || type[0] == '.')
		return err_set(err, EINVAL, "invalid CNI plugin type '%s'", type);
	const char *p = cni_path;
	while (*p) {
		size_t n = strcspn(p, ":");
		snprintf(buf, size, "%.*s/%s", (int)n, p, type);
		if (n && is_exec_file(buf))
			return 0;
		p += n;
		p += *p == ':';
	}
	return err_set(err, ENOENT,
		       "CNI plugin '%s' not found in '%s' (install containernetworking-plugins)",
		       type, cni_path);
}

/* CNI error codes (spec "Error" section) as errno values. */
static int cni_code_errno(json_int_t code)
{
	switch (code) {
	case 1: return ENOTSUP;   /* incompatible CNI version */
	case 3: return ENOENT;    /* container unknown or does not exist */
	case 2: case 4: case 6: case 7: return EINVAL; /* bad field/env/decode/config */
	case 11: return EAGAIN;   /* try again later */
	default: return EIO;
	}
}

/* A failed plugin run as one Error, from its JSON error if it printed one. */
static int cni_error(const char *type, const char *command, NetExecOut *o, Error **err)
{
	json_t *e = NULL;
	if (o->out_len && json_parse_buf(o->out, o->out_len, "cni error", &e, NULL) == 0 &&
	    json_is_object(e) && json_str(e, "msg")) {
		const char *details = json_str(e, "details");
		json_int_t code = json_int(e, "code", 0);
		int r = err_set(err, cni_code_errno(code), "plugin '%s' %s: %s%s%s (CNI code %lld)",
				type, command, json_str(e, "msg"), details && *details ? ": " : "",
				details && *details ? details : "", (long long)code);
		json_decref(e);
		return r;
	}
	json_decref(e);
	_cleanup_free_ char *st = status_text(o->status);
	const char *text = *rstrip(o->errout) ? o->errout : rstrip(o->out);
	return err_set(err, EIO, "plugin '%s' %s: %s%s%s", type, command, st, *text ? ": " : "",
		       text);
}

int net_cni_exec(const char *command, const char *id, const char *netns, const char *ifname,
		 const json_t *conf, json_t **ret, Error **err)
{
	const char *type = json_str(conf, "type");
	if (!type)
		return err_set(err, EINVAL, "CNI plugin config without 'type'");
	_cleanup_free_ char *cni_path = net_cni_path();
	char path[512];
	int r = cni_plugin_find(cni_path, type, path, sizeof(path), err);
	if (r < 0)
		return r;
	_cleanup_free_ char *e_cmd = xasprintf("CNI_COMMAND=%s", command);
	_cleanup_free_ char *e_id = xasprintf("CNI_CONTAINERID=%s", id);
	_cleanup_free_ char *e_ns = xasprintf("CNI_NETNS=%s", netns ? netns : "");
	_cleanup_free_ char *e_if = xasprintf("CNI_IFNAME=%s", ifname);
	_cleanup_free_ char *e_path = xasprintf("CNI_PATH=%s", cni_path);
	const char *envp[] = { e_cmd, e_id, e_ns, e_if, e_path, NET_TOOL_PATH, "LC_ALL=C", NULL };
	const char *argv[] = { path, NULL };
	_cleanup_free_ char *in = json_dumps(conf, JSON_COMPACT);
	if (!in)
		return err_set(err, ENOMEM, "plugin '%s' %s: encode config", type, command);
	NetExecOut o = { 0 };
	r = net_exec(argv, envp, in, strlen(in), NET_MAX_PLUGIN_OUTPUT, NET_PLUGIN_TIMEOUT_MS, &o,
		     err);
	if (r < 0)
		return err_prefix(err, "plugin '%s' %s", type, command);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
		r = cni_error(type, command, &o, err);
		net_exec_out_release(&o);
		return r;
	}
	json_t *res = NULL;
	if (ret && *rstrip(o.out)) {
		_cleanup_free_ char *what = xasprintf("plugin '%s' %s result", type, command);
		r = json_parse_buf(o.out, strlen(o.out), what, &res, err);
		if (r >= 0 && !json_is_object(res)) {
			json_decref(res);
			res = NULL;
			r = err_set(err, EINVAL, "%s: not a JSON object", what);
		}
	}
	net_exec_out_release(&o);
	if (r < 0)
		return r;
	if (ret)
		*ret = res;
	return 0;
}
