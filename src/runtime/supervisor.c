/* supervisor.c - starting a container and the per-container supervisor
 * (conmon's job).
 *
 * `ctr_start` forks the supervisor straight from the CLI process (no exec:
 * the fastest path, and nothing to install).  The supervisor detaches
 * (setsid), creates the cgroup, spawns the container through the low-level
 * runtime, attaches its network in the prestart hook, tells the CLI that the
 * program runs (or why it could not start) over a pipe, then holds the
 * container: it copies output into the CRI log (and to an attached CLI),
 * reaps, records the exit status and OOM kills, releases the network and
 * cgroup, honours the restart policy, and removes the container for --rm
 * before it tells an attached CLI the exit code.  The CLI can exit at any
 * time; `ps` reads state.json.
 */
#include "container-internal.h"
#include "crilog.h"
#include "../base/memtrim.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

typedef struct Supervisor {
	CtrStore *store;
	Container *ctr;
	json_t *spec;
	CgLimits limits;
	const CtrAttach *attach; /* NULL when detached */
	bool forward_out;        /* attached output still writable */
	NetPort *ports;
	size_t n_ports;
	json_t *net_result;      /* CNI result of the current run */
	char ip[64];
	Cgroup *cg;
} Supervisor;

/* ---- the start report from supervisor to CLI: int code, then message ---- */

static void report_start(int fd, int code, const char *msg)
{
	if (fd < 0)
		return;
	int32_t c = code;
	fs_write_all(fd, &c, sizeof(c));
	if (msg)
		fs_write_all(fd, msg, strlen(msg));
	close(fd);
}

static int read_start_report(int fd, Error **err)
{
	int32_t code = 0;
	ssize_t n = fs_read_full(fd, &code, sizeof(code));
	if (n != sizeof(code))
		return err_set(err, EIO, "container supervisor died before starting the container");
	char msg[4096];
	ssize_t m = fs_read_full(fd, msg, sizeof(msg) - 1);
	msg[m > 0 ? m : 0] = 0;
	if (code == 0)
		return 0;
	return err_set(err, -code, "%s", msg[0] ? msg : "start failed");
}

/* ---- prestart: network ---- */

static int prestart_network(pid_t pid, void *ud, Error **err)
{
	Supervisor *sv = ud;
	const char *mode = ctr_netmode(sv->ctr);
	char netns[64];
	snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)pid);
	if (!strcmp(mode, "host"))
		return 0;
	if (!strcmp(mode, "none"))
		return net_attach_loopback(netns, err);
	NetAttachment a = { 0 };
	int r = net_attach(sv->ctr->id, netns, sv->ports, sv->n_ports, &a, err);
	if (r < 0)
		return r;
	sv->net_result = json_incref(a.result);
	snprintf(sv->ip, sizeof(sv->ip), "%s", a.ip);
	json_t *ns = json_pack("{s:s,s:s,s:s}", "IPAddress", a.ip, "Gateway", a.gateway, "MacAddress", a.mac);
	json_t *ports = json_array(); /* as set up: picked host ports filled in */
	for (size_t i = 0; i < a.n_ports; i++) {
		_cleanup_free_ char *t = net_port_format(&a.ports[i]);
		json_array_append_new(ports, json_string(t));
	}
	json_object_set_new(ns, "Ports", ports);
	net_attachment_release(&a);
	/* persist at once: if anything later fails, rm still finds what to undo */
	ctr_state_update(sv->ctr, json_pack("{s:o,s:O}", "NetworkSettings", ns, "CniResult", sv->net_result), NULL);
	return ctr_init_layer_write(sv->ctr->dir, json_str(json_object_get(sv->ctr->config, "Config"), "Hostname"),
				    sv->ip, mode, err);
}

void ctr_release_resources(CtrStore *s, Container *c)
{
	(void)s;
	json_t *res = json_object_get(c->state, "CniResult");
	if (!strcmp(ctr_netmode(c), "bridge") && res && !json_is_null(res)) {
		size_t n = 0;
		_cleanup_free_ NetPort *ports = ctr_ports(c, &n);
		Error *e = NULL;
		if (net_detach(c->id, NULL, ports, n, res, &e) < 0)
			log_warn("container %s: network: %s", ctr_name(c), err_msg(e));
		err_free(e);
		ctr_state_update(c, json_pack("{s:n}", "CniResult"), NULL);
	}
	_cleanup_free_ char *path = ctr_cgroup_path(c);
	Cgroup *cg = NULL;
	if (cg_create("/sys/fs/cgroup", path, &cg, NULL) == 0) {
		cg_kill_all(cg, SIGKILL, NULL);
		cg_destroy(cg, NULL);
		cg_free(cg);
	}
}

/* ---- stdio plumbing ---- */

typedef struct Stdio {
	RtStdio rt;        /* the container's ends */
	bool in_borrowed;  /* rt.in is the attached CLI's fd: not ours to close */
	int out_r, err_r;  /* our ends of the output pipes; with a tty out_r is the pty master */
	int in_w;          /* kept open for -i without an attached CLI (stdin never hits EOF) */
	bool tty;
} Stdio;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Close the container's ends after spawn (the container holds its own copies). */
static void stdio_close_child_ends(Stdio *io)
{
	if (!io->in_borrowed)
		close_fd(&io->rt.in);
	close_fd(&io->rt.out);
	close_fd(&io->rt.err);
	if (io->rt.console_fd >= 0)
		close_fd(&io->rt.console_fd);
}

static void stdio_close_all(Stdio *io)
{
	stdio_close_child_ends(io);
	close_fd(&io->out_r);
	close_fd(&io->err_r);
	close_fd(&io->in_w);
}

static int stdio_setup(Supervisor *sv, Stdio *io, Error **err)
{
	const json_t *cfg = json_object_get(sv->ctr->config, "Config");
	*io = (Stdio){ .rt = { -1, -1, -1, -1 }, .out_r = -1, .err_r = -1, .in_w = -1 };
	io->tty = json_bool(cfg, "Tty", false);
	bool open_stdin = json_bool(cfg, "OpenStdin", false);
	if (io->tty) {
		/* the pty comes from the container's own devpts; its master arrives
		 * with RtSpawned (run_once) */
		io->rt.console_fd = RT_CONSOLE_IN_CONTAINER;
		return 0;
	}
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return err_sys(err, errno, "pipe");
	}
	io->out_r = po[0];
	io->rt.out = po[1];
	io->err_r = pe[0];
	io->rt.err = pe[1];
	if (open_stdin && sv->attach && sv->attach->in >= 0) {
		io->rt.in = sv->attach->in;
		io->in_borrowed = true;
	} else if (open_stdin) {
		int pi[2];
		if (pipe2(pi, O_CLOEXEC) == 0) {
			io->rt.in = pi[0];
			io->in_w = pi[1];
		}
	}
	return 0;
}


/* ---- output pump ---- */

static void forward(Supervisor *sv, int stream, const char *buf, size_t n)
{
	if (!sv->attach || !sv->forward_out)
		return;
	int fd = stream == CRI_STDERR ? sv->attach->err : sv->attach->out;
	if (fd >= 0 && fs_write_all(fd, buf, n) < 0)
		sv->forward_out = false; /* the CLI went away: keep logging */
}

/* Read what is available on fd; returns false at EOF/error. */
static bool pump(Supervisor *sv, CriLog *log, int fd, int stream)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	crilog_feed(log, stream, buf, (size_t)n);
	forward(sv, stream, buf, (size_t)n);
	return true;
}

/* Copy attached terminal input into the pty master. */
static bool pump_input(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return fs_write_all(to, buf, (size_t)n) == 0;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Run the event loop until the container's first process exited and its
 * output is drained; returns the wait status. */
static int hold(Supervisor *sv, Stdio *io, CriLog *log, pid_t pid, int sigfd)
{
	int status = 0;
	bool exited = false, out_open = io->out_r >= 0, err_open = io->err_r >= 0;
	bool in_open = io->tty && sv->attach && sv->attach->in >= 0;
	int drain_ms = -1;
	bool trimmed = false;
	for (;;) {
		struct pollfd fds[4] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = out_open ? io->out_r : -1, .events = POLLIN },
			{ .fd = err_open ? io->err_r : -1, .events = POLLIN },
			{ .fd = in_open ? sv->attach->in : -1, .events = POLLIN },
		};
		if (exited && !out_open && !err_open)
			break;
		int r = poll(fds, 4, exited ? drain_ms : trimmed ? -1 : 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && !exited) {
			/* running for a second: a long-lived container; shed what the
			 * CLI left us (short ones never pay for this) */
			/* the supervisor is a fork of the CLI: give back the heap and the
			 * clean library pages it inherited and will not use (base/memtrim.c) */
			mem_trim();
			trimmed = true;
			continue;
		}
		if (r == 0)
			break; /* drained long enough after exit: something else holds the pipes */
		if (fds[1].revents)
			out_open = pump(sv, log, io->out_r, CRI_STDOUT);
		if (fds[2].revents)
			err_open = pump(sv, log, io->err_r, CRI_STDERR);
		if (fds[3].revents && !pump_input(sv->attach->in, io->out_r))
			in_open = false;
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (!exited)
					kill(pid, (int)si.ssi_signo); /* forward TERM/INT/HUP/QUIT/USR* */
			}
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == pid) {
					status = st;
					exited = true;
					/* with a pty the slave closes with the last process; pipes
					 * close when every process of the pid namespace died */
					drain_ms = 2000;
				}
		}
	}
	return status;
}

/* ---- one run of the container ---- */

static bool restart_policy_set(const Supervisor *sv)
{
	const json_t *rp = json_object_get(json_object_get(sv->ctr->config, "HostConfig"), "RestartPolicy");
	const char *name = json_str(rp, "Name");
	return name && *name && strcmp(name, "no");
}

static int run_once(Supervisor *sv, int *ready_fd, int sigfd, int *ret_status, Error **err)
{
	Stdio io;
	int r = stdio_setup(sv, &io, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *cgpath = ctr_cgroup_path(sv->ctr);
	r = cg_create("/sys/fs/cgroup", cgpath, &sv->cg, err);
	if (r >= 0)
		r = cg_apply(sv->cg, &sv->limits, err);
	RtSpawnHooks hooks = { .prestart = prestart_network, .userdata = sv };
	RtSpawned sp = { .console_master = -1 };
	if (r >= 0)
		r = rt_spawn(sv->spec, sv->cg, &io.rt, &hooks, &sp, err);
	stdio_close_child_ends(&io);
	if (r >= 0 && io.tty) {
		io.out_r = sp.console_master;
		struct winsize ws = { .ws_row = 24, .ws_col = 80 };
		if (sv->attach && sv->attach->out >= 0)
			ioctl(sv->attach->out, TIOCGWINSZ, &ws);
		ioctl(io.out_r, TIOCSWINSZ, &ws);
	}
	if (r < 0) {
		stdio_close_all(&io);
		return r;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char started[48];
	format_rfc3339nano(started, sizeof(started), now.tv_sec, now.tv_nsec);
	json_t *running = json_pack("{s:s,s:b,s:i,s:s,s:b,s:s}", "Status", "running", "Running", 1, "Pid",
			       (json_int_t)sp.pid, "StartedAt", started, "OOMKilled", 0, "Error", "");
	if (*ready_fd >= 0) {
		/* first run: who supervises, and a fresh start clears an old stop */
		json_object_set_new(running, "SupervisorPid", json_integer(getpid()));
		json_object_set_new(running, "SupervisorStart", json_integer(proc_start_time(getpid())));
		json_object_set_new(running, "StopRequested", json_false());
	}
	ctr_state_update(sv->ctr, running, NULL);
	report_start(*ready_fd, 0, NULL);
	*ready_fd = -1;
	if (!restart_policy_set(sv)) {
		/* no second run: the spec (most of it the seccomp profile) is done */
		json_decref(sv->spec);
		sv->spec = NULL;
	}

	_cleanup_free_ char *logpath = fs_join(sv->ctr->dir, "ctr.log");
	CriLog log;
	crilog_open(&log, logpath, NULL);
	int status = hold(sv, &io, &log, sp.pid, sigfd);
	crilog_close(&log);
	stdio_close_all(&io);

	CgStats st = { 0 };
	cg_stats(sv->cg, &st, NULL);
	bool oom = st.oom_kills > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	clock_gettime(CLOCK_REALTIME, &now);
	char finished[48];
	format_rfc3339nano(finished, sizeof(finished), now.tv_sec, now.tv_nsec);
	int code = exit_code_of(status);
	ctr_state_update(sv->ctr, json_pack("{s:s,s:b,s:i,s:i,s:b,s:s}", "Status", "exited", "Running", 0,
					    "Pid", 0, "ExitCode", code, "OOMKilled", oom, "FinishedAt",
					    finished), NULL);
	*ret_status = code;
	return 0;
}

/* After a run: the network and this run's cgroup (the one we hold: no
 * re-creation as ctr_release_resources must do for a dead supervisor). */
static void release_run(Supervisor *sv)
{
	if (sv->net_result) {
		size_t n = 0;
		_cleanup_free_ NetPort *ports = ctr_ports(sv->ctr, &n);
		Error *e = NULL;
		if (net_detach(sv->ctr->id, NULL, ports, n, sv->net_result, &e) < 0)
			log_warn("container %s: network: %s", ctr_name(sv->ctr), err_msg(e));
		err_free(e);
		ctr_state_update(sv->ctr, json_pack("{s:n}", "CniResult"), NULL);
	}
	if (sv->cg) {
		cg_kill_all(sv->cg, SIGKILL, NULL);
		cg_destroy(sv->cg, NULL);
		cg_free(sv->cg);
		sv->cg = NULL;
	}
}

static bool should_restart(Supervisor *sv, int code, int restarts)
{
	ctr_refresh(sv->store, sv->ctr, NULL);
	if (json_bool(sv->ctr->state, "StopRequested", false) || ctr_status(sv->ctr) == CTR_REMOVING)
		return false;
	const json_t *rp = json_object_get(json_object_get(sv->ctr->config, "HostConfig"), "RestartPolicy");
	const char *name = json_str(rp, "Name");
	if (!name || !strcmp(name, "no") || !*name)
		return false;
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped"))
		return true;
	if (!strcmp(name, "on-failure")) {
		json_int_t max = json_int(rp, "MaximumRetryCount", 0);
		return code != 0 && (max == 0 || restarts < max);
	}
	return false;
}

static int setup_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void detach_from_cli(const CtrAttach *attach)
{
	setsid();
	if (chdir("/") < 0)
		return;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return;
	/* never keep the CLI's stdio open unless attached: `$(berth run -d)` would hang */
	for (int fd = 0; fd < 3; fd++) {
		bool keep = attach && (fd == attach->in || fd == attach->out || fd == attach->err);
		if (!keep)
			dup3(null, fd, 0);
	}
	close(null);
}

static void supervise(Supervisor *sv, int ready_fd)
{
	int sigfd = setup_signals();
	int restarts = (int)json_int(sv->ctr->state, "RestartCount", 0), code = 0;
	int delay_ms = 100;
	for (;;) {
		Error *e = NULL;
		int status = 0;
		int r = run_once(sv, &ready_fd, sigfd, &status, &e);
		if (r < 0) {
			/* could not start: report it, leave the container "created" with
			 * Docker's exit code for the reason */
			code = r == -ENOENT ? 127 : r == -EACCES ? 126 : 125;
			ctr_state_update(sv->ctr, json_pack("{s:s,s:i,s:s}", "Status", "created", "ExitCode", code,
							    "Error", err_msg(e)), NULL);
			release_run(sv);
			if (ready_fd >= 0) {
				report_start(ready_fd, r, err_msg(e));
				err_free(e);
				cg_free(sv->cg);
				_exit(1);
			}
			err_free(e);
			break;
		}
		code = status;
		ctr_refresh(sv->store, sv->ctr, NULL);
		release_run(sv);
		if (sv->net_result) {
			json_decref(sv->net_result);
			sv->net_result = NULL;
		}
		if (!should_restart(sv, code, restarts))
			break;
		restarts++;
		ctr_state_update(sv->ctr, json_pack("{s:i,s:s}", "RestartCount", restarts, "Status", "restarting"), NULL);
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		delay_ms = delay_ms * 2 > 60000 ? 60000 : delay_ms * 2;
	}
	if (json_bool(json_object_get(sv->ctr->config, "HostConfig"), "AutoRemove", false))
		fs_rm_rf(sv->ctr->dir, NULL);
	if (sv->attach && sv->attach->exit_fd >= 0) {
		int32_t c = code;
		fs_write_all(sv->attach->exit_fd, &c, sizeof(c));
	}
	_exit(0);
}

int ctr_start(CtrStore *s, Container *c, const CtrAttach *attach, Error **err)
{
	ctr_refresh(s, c, NULL);
	CtrStatus st = ctr_status(c);
	if (st == CTR_RUNNING)
		return err_set(err, EBUSY, "container %s is already running", ctr_name(c));
	if (st == CTR_REMOVING)
		return err_set(err, EBUSY, "container %s is being removed", ctr_name(c));
	Supervisor sv = { .store = s, .ctr = c, .attach = attach, .forward_out = attach != NULL };
	int r = ctr_build_spec(s, c, &sv.spec, &sv.limits, err);
	if (r < 0)
		return r;
	sv.ports = ctr_ports(c, &sv.n_ports);
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		json_decref(sv.spec);
		free(sv.ports);
		return err_sys(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(ready[0]);
		close(ready[1]);
		json_decref(sv.spec);
		free(sv.ports);
		return err_sys(err, e, "fork supervisor");
	}
	if (pid == 0) {
		close(ready[0]);
		detach_from_cli(attach);
		supervise(&sv, ready[1]);
	}
	close(ready[1]);
	json_decref(sv.spec);
	free(sv.ports);
	r = read_start_report(ready[0], err);
	close(ready[0]);
	if (r < 0) {
		waitpid(pid, NULL, 0);
		return err_prefix(err, "start container %s", ctr_name(c));
	}
	ctr_refresh(s, c, NULL);
	return 0;
}
