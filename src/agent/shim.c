/* shim.c - starting one instance of a pod's container and the tiny shim
 * that holds it (conmon's job for the kubelet).
 *
 * shim_start builds the spec, creates the container's cgroup
 * (kubepods/pod<uid>/<name>) and forks the shim, which detaches (setsid),
 * spawns the container with rt_spawn, reports the pid (or the start error)
 * over a pipe, then copies the output into the CRI log
 * <poddir>/<name>/<restartCount>.log, reaps the container, writes
 * <poddir>/<name>/<n>.exit (exit code, signal, OOM kill, finish time),
 * removes the cgroup and exits.  The agent never waits on the shim to learn
 * about the container: it checks the pid (with its start time, so a reused
 * pid is not mistaken) and reads the .exit file - which works the same for
 * a container started by an earlier agent process.  state.json holds what
 * an adopting agent needs.
 */
#include "agent-internal.h"
#include "../base/memtrim.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../runtime/crilog.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
	_cleanup_json_ json_t *j = json_pack(
		"{s:i,s:i,s:i,s:I,s:i,s:s,s:s,s:i,s:i,s:s?,s:s?,s:s?,s:O?,s:O?,s:b}", "phase", (int)c->phase,
		"restartCount", c->restarts, "crashes", c->crashes, "pidStart", (json_int_t)c->pid_start, "pid",
		(int)c->pid, "startedAt", c->started_at, "finishedAt", c->finished_at, "exitCode", c->exit_code,
		"shim", (int)c->shim, "reason", c->reason, "imageID", c->image_id, "id", c->id, "process",
		c->process, "lastState", c->last_term, "started", c->started);
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
	json_decref(c->process);
	c->process = json_incref(json_object_get(j, "process"));
	json_decref(c->last_term);
	c->last_term = json_incref(json_object_get(j, "lastState"));
	return 0;
}

/* ---- the shim ---- */

static void shim_report(int fd, int32_t code, int32_t pid, const char *msg)
{
	fs_write_all(fd, &code, sizeof(code));
	fs_write_all(fd, &pid, sizeof(pid));
	if (msg)
		fs_write_all(fd, msg, strlen(msg));
	close(fd);
}

static bool shim_pump(CriLog *log, int fd, int stream)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	crilog_feed(log, stream, buf, (size_t)n);
	return true;
}

/* Hold the container until it exited and its output is drained. */
static int shim_hold(pid_t pid, int out, int err, int sigfd, CriLog *log)
{
	int status = 0;
	bool exited = false, out_open = true, err_open = true, trimmed = false;
	for (;;) {
		if (exited && !out_open && !err_open)
			break;
		struct pollfd fds[3] = { { .fd = sigfd, .events = POLLIN },
					 { .fd = out_open ? out : -1, .events = POLLIN },
					 { .fd = err_open ? err : -1, .events = POLLIN } };
		int r = poll(fds, 3, exited ? 2000 : trimmed ? -1 : 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && !exited) {
			mem_trim();
			trimmed = true;
			continue;
		}
		if (r == 0)
			break;
		if (fds[1].revents)
			out_open = shim_pump(log, out, CRI_STDOUT);
		if (fds[2].revents)
			err_open = shim_pump(log, err, CRI_STDERR);
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

typedef struct ShimArgs {
	json_t *spec;
	Cgroup *cg;
	char *log_path, *exit_path;
	int report_fd;
} ShimArgs;

static void shim_detach(int keep)
{
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup3(null, fd, 0);
	if (null >= 0)
		close(null);
	/* everything else the agent had open is close-on-exec or not ours */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != keep)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void shim_main(ShimArgs *s)
{
	shim_detach(s->report_fd);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN); /* the agent signals the container, never the shim */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		shim_report(s->report_fd, -EMFILE, 0, "pipe");
		_exit(1);
	}
	RtStdio io = { .in = -1, .out = po[1], .err = pe[1], .console_fd = -1 };
	RtSpawned sp = { .console_master = -1 };
	Error *e = NULL;
	int r = rt_spawn(s->spec, s->cg, &io, NULL, &sp, &e);
	close(po[1]);
	close(pe[1]);
	if (r < 0) {
		shim_report(s->report_fd, r, 0, err_msg(e));
		cg_destroy(s->cg, NULL);
		_exit(1);
	}
	json_decref(s->spec);
	shim_report(s->report_fd, 0, sp.pid, NULL);
	CriLog log;
	if (crilog_open(&log, s->log_path, NULL) < 0)
		log.fd = -1;
	int status = shim_hold(sp.pid, po[0], pe[0], sigfd, &log);
	crilog_close(&log);
	CgStats st = { 0 };
	cg_stats(s->cg, &st, NULL);
	bool sig = WIFSIGNALED(status);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : sig ? 128 + WTERMSIG(status) : 255;
	char fin[48];
	agent_now_rfc3339(fin);
	bool oom = st.oom_kills > 0 && sig && WTERMSIG(status) == SIGKILL;
	_cleanup_json_ json_t *j = json_pack("{s:i,s:i,s:b,s:s}", "exitCode", code, "signal",
					     sig ? WTERMSIG(status) : 0, "oomKilled", oom, "finishedAt", fin);
	json_save_path_volatile(s->exit_path, j, JSON_COMPACT, NULL);
	cg_kill_all(s->cg, SIGKILL, NULL);
	cg_destroy(s->cg, NULL);
	_exit(0);
}

static int read_report(int fd, pid_t *ret_pid, Error **err)
{
	int32_t code = 0, pid = 0;
	if (fs_read_full(fd, &code, sizeof(code)) != sizeof(code) || fs_read_full(fd, &pid, sizeof(pid)) != sizeof(pid))
		return err_set(err, EIO, "container shim died before starting the container");
	char msg[4096];
	ssize_t m = fs_read_full(fd, msg, sizeof(msg) - 1);
	msg[m > 0 ? m : 0] = 0;
	if (code < 0)
		return err_set(err, -code, "%s", msg[0] ? msg : "start failed");
	*ret_pid = pid;
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
	json_decref(c->process);
	c->process = json_deep_copy(json_object_get(spec, "process"));
	json_object_del(c->process, "args");
	Cgroup *cg = NULL;
	if ((r = open_cgroup(a, p, c, &lim, &cg, err)) < 0) {
		json_decref(spec);
		return r;
	}
	ShimArgs s = { .spec = spec, .cg = cg, .log_path = xasprintf("%s/%d.log", c->dir, n),
		       .exit_path = xasprintf("%s/%d.exit", c->dir, n) };
	unlink(s.exit_path);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = err_sys(err, errno, "pipe");
		goto out;
	}
	pid_t shim = fork();
	if (shim < 0) {
		r = err_sys(err, errno, "fork shim");
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (shim == 0) {
		close(pfd[0]);
		s.report_fd = pfd[1];
		shim_main(&s);
	}
	close(pfd[1]);
	agent_reap_later(a, shim);
	pid_t pid = 0;
	r = read_report(pfd[0], &pid, err);
	close(pfd[0]);
	if (r >= 0) {
		c->shim = shim;
		c->pid = pid;
		c->pid_start = pid_start_time(pid);
		c->started_mono = agent_now_ms();
		agent_now_rfc3339(c->started_at);
		c->finished_at[0] = 0;
	}
out:
	json_decref(spec);
	cg_free(cg);
	free(s.log_path);
	free(s.exit_path);
	return r;
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
