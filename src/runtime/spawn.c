/* spawn.c - rt_spawn and rt_exec: one fork, a sync socket, and the ordering
 * between the parent (cgroup placement, id maps, the prestart hook) and the
 * container's first process (namespaces, rootfs, process setup, exec).
 *
 * Why fork + unshare rather than a raw clone(2) with namespace flags: glibc's
 * fork keeps libc consistent in the child (malloc locks, cached thread ids),
 * which matters when the caller has threads, at the same cost.  A new PID
 * namespace is the one thing unshare cannot give the caller itself, so the
 * forking thread enters it for children only (unshare / setns of
 * pid_for_children), forks, and returns to its own right after.
 *
 * Protocol on a SOCK_SEQPACKET pair (close-on-exec on both ends):
 *   child  -> READY   namespaces exist (parent may write id maps, run hooks)
 *   parent -> GO      cgroup placement and prestart hook done
 *   child  -> ERROR   {errno, message}: setup or exec failed, child exits
 *   child  -> PID     (user namespaces only) the pid of the real init, see below
 *   child  -> CONSOLE the pty master allocated in the container's devpts (SCM_RIGHTS)
 *   EOF               the child exec'ed its program: success
 * With a new user namespace the PID namespace must be owned by it (or proc
 * cannot be mounted), so the child creates both and clones the container's
 * init with CLONE_PARENT: init is still the caller's child, the intermediate
 * process reports init's pid and exits.
 * The cgroup namespace is unshared after GO, so its root is the container's
 * cgroup rather than the caller's. */
#include "spawn-internal.h"
#include "cgroup-internal.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "../base/fs.h"

enum { MSG_READY = 1, MSG_GO, MSG_ERROR, MSG_PID, MSG_CONSOLE };

typedef struct SyncMsg {
	int type;
	int code;
	char msg[1024];
} SyncMsg;

/* ---------------------------------------------------------- both sides */

static int sync_send(int fd, int type, const RtChildErr *e)
{
	SyncMsg m = { .type = type };
	size_t len = offsetof(SyncMsg, msg);
	if (e) {
		m.code = e->code ? e->code : EIO;
		snprintf(m.msg, sizeof(m.msg), "%s", e->code ? e->msg : "container setup failed");
		len += strlen(m.msg) + 1;
	}
	ssize_t n;
	do
		n = send(fd, &m, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* Returns the message type, 0 on EOF, -errno on failure.  A file descriptor
 * passed along (MSG_CONSOLE) lands in *ret_fd when given, else is closed. */
static int sync_recv_fd(int fd, SyncMsg *m, int *ret_fd)
{
	ssize_t n;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		int got;
		memcpy(&got, CMSG_DATA(cm), sizeof(got));
		if (ret_fd)
			*ret_fd = got;
		else
			close(got);
	}
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if ((size_t)n < offsetof(SyncMsg, msg))
		return -EPROTO;
	((char *)m)[n] = 0;
	if ((size_t)n == offsetof(SyncMsg, msg))
		m->msg[0] = 0;
	return m->type;
}

static int sync_recv(int fd, SyncMsg *m) { return sync_recv_fd(fd, m, NULL); }

/* Child: a pty from the container's devpts (we are past pivot_root); the
 * master goes to the parent, the slave is returned. */
static int console_in_container(int sync, RtChildErr *e)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return rt_cerr_sys(e, errno, "open the container's /dev/ptmx");
	char name[64];
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ptsname_r(master, name, sizeof(name)) != 0) {
		close(master);
		return rt_cerr_sys(e, errno, "unlock the container's pty");
	}
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		close(master);
		return rt_cerr_sys(e, errno, "open '%s'", name);
	}
	SyncMsg m = { .type = MSG_CONSOLE };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = offsetof(SyncMsg, msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sync, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int er = errno;
	close(master);
	if (n < 0) {
		close(slave);
		return rt_cerr_sys(e, er, "send the pty to the runtime");
	}
	return slave;
}

/* ------------------------------------------------------------ the child */

static void __attribute__((noreturn)) child_fail(int sync, const RtChildErr *e)
{
	sync_send(sync, MSG_ERROR, e);
	_exit(127);
}

/* The caller's blocked and ignored signals must not reach the container. */
static void reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL);
}

/* READY, then wait for GO; EOF means the parent gave up: exit quietly. */
static void child_handshake(int sync)
{
	SyncMsg m;
	if (sync_send(sync, MSG_READY, NULL) < 0 || sync_recv(sync, &m) != MSG_GO)
		_exit(1);
}

static const int join_order[] = { RT_NS_USER, RT_NS_IPC, RT_NS_UTS, RT_NS_NET, RT_NS_CGROUP, RT_NS_MNT };
static const char *const ns_names[RT_NS_N] = {
	[RT_NS_USER] = "user", [RT_NS_MNT] = "mnt", [RT_NS_PID] = "pid", [RT_NS_NET] = "net",
	[RT_NS_IPC] = "ipc", [RT_NS_UTS] = "uts", [RT_NS_CGROUP] = "cgroup",
};

static int join_namespaces(const int *fds, RtChildErr *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(join_order); i++) {
		int idx = join_order[i];
		if (fds[idx] >= 0 && setns(fds[idx], 0) < 0)
			return rt_cerr_sys(e, errno, "join the %s namespace", ns_names[idx]);
	}
	return 0;
}

/* User namespaces: create the PID namespace from inside the new user
 * namespace and clone init as a sibling (CLONE_PARENT).  Returns in init;
 * the intermediate reports init's pid and exits.  Raw clone: there is no libc
 * wrapper with fork semantics and CLONE_PARENT; init only runs this file's
 * straight-line setup code, which does not depend on libc's cached tid. */
static void fork_init_in_userns(int sync, RtChildErr *e)
{
	if (unshare(CLONE_NEWPID) < 0) {
		rt_cerr_sys(e, errno, "create the pid namespace");
		child_fail(sync, e);
	}
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		rt_cerr_sys(e, errno, "start the container's init");
		child_fail(sync, e);
	}
	if (pid == 0)
		return;
	SyncMsg m = { .type = MSG_PID, .code = (int)pid };
	send(sync, &m, offsetof(SyncMsg, msg), MSG_NOSIGNAL);
	_exit(0);
}

static int set_names(const RtConfig *cfg, RtChildErr *e)
{
	if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return rt_cerr_sys(e, errno, "set hostname '%s'", cfg->hostname);
	if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
		return rt_cerr_sys(e, errno, "set domainname '%s'", cfg->domainname);
	return 0;
}

static void __attribute__((noreturn)) spawn_child(RtConfig *cfg, const RtStdio *stdio, int sync)
{
	RtChildErr e = { 0 };
	reset_signals();
	if (join_namespaces(cfg->ns_fd, &e) < 0)
		child_fail(sync, &e);
	if (cfg->unshare_flags && unshare(cfg->unshare_flags) < 0) {
		rt_cerr_sys(&e, errno, "create namespaces");
		child_fail(sync, &e);
	}
	child_handshake(sync);
	/* a new user namespace: become its root now that the maps exist */
	if (cfg->unshare_flags & CLONE_NEWUSER) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			rt_cerr_sys(&e, errno, "become root in the user namespace");
			child_fail(sync, &e);
		}
		if (cfg->new_pid)
			fork_init_in_userns(sync, &e);
	}
	if (cfg->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0) {
		rt_cerr_sys(&e, errno, "create the cgroup namespace");
		child_fail(sync, &e);
	}
	setsid();
	umask(0);
	bool terminal = cfg->proc.terminal && stdio->console_fd >= 0;
	bool own_console = cfg->proc.terminal && stdio->console_fd == RT_CONSOLE_IN_CONTAINER;
	if (set_names(cfg, &e) < 0 || (!own_console && rt_process_stdio(stdio, terminal, &e) < 0) ||
	    rt_rootfs_setup(cfg, terminal ? stdio->console_fd : -1, &e) < 0)
		child_fail(sync, &e);
	if (own_console) {
		int slave = console_in_container(sync, &e);
		RtStdio io = { -1, -1, -1, slave };
		if (slave < 0 || rt_process_stdio(&io, true, &e) < 0)
			child_fail(sync, &e);
	}
	rt_process_exec(&cfg->proc, &e);
	child_fail(sync, &e);
}

static void __attribute__((noreturn)) exec_child(RtProcess *p, const int *ns_fds, const RtStdio *stdio, int sync)
{
	RtChildErr e = { 0 };
	reset_signals();
	if (join_namespaces(ns_fds, &e) < 0)
		child_fail(sync, &e);
	child_handshake(sync);
	setsid();
	if (p->terminal && stdio->console_fd == RT_CONSOLE_IN_CONTAINER) {
		/* we are in the container's mount namespace: its /dev/ptmx */
		int slave = console_in_container(sync, &e);
		RtStdio io = { stdio->in, stdio->out, stdio->err, slave };
		if (slave < 0 || rt_process_stdio(&io, true, &e) < 0)
			child_fail(sync, &e);
	} else if (rt_process_stdio(stdio, p->terminal && stdio->console_fd >= 0, &e) < 0) {
		child_fail(sync, &e);
	}
	rt_process_exec(p, &e);
	child_fail(sync, &e);
}

/* ----------------------------------------------------------- the parent */

/* fork() with the child in a new PID namespace (new_pid) or in the one
 * join_fd names; the calling thread's own namespace is restored at once. */
static pid_t fork_in_pidns(bool new_pid, int join_fd, Error **err)
{
	if (!new_pid && join_fd < 0) {
		pid_t pid = fork();
		return pid < 0 ? err_sys(err, errno, "fork") : pid;
	}
	_cleanup_close_ int self = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys(err, errno, "open /proc/thread-self/ns/pid");
	if ((join_fd >= 0 ? setns(join_fd, CLONE_NEWPID) : unshare(CLONE_NEWPID)) < 0)
		return err_sys(err, errno, "%s the pid namespace", join_fd >= 0 ? "join" : "create");
	pid_t pid = fork();
	if (pid == 0)
		return 0;
	int fork_errno = errno;
	if (setns(self, CLONE_NEWPID) < 0) {
		int er = errno;
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return err_sys(err, er, "return to the caller's pid namespace");
	}
	return pid < 0 ? err_sys(err, fork_errno, "fork") : pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int write_map(pid_t pid, const char *file, const char *map, Error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	int r = fs_write_all(fd, map, strlen(map));
	return r < 0 ? err_sys(err, r, "write '%s'", path) : 0;
}

/* What the parent does between fork and the child's exec. */
typedef struct ParentSteps {
	Cgroup *cg;
	pid_t join_cgroups_of;          /* exec without a Cgroup: copy the target's */
	const char *uid_map, *gid_map;
	const RtSpawnHooks *hooks;
} ParentSteps;

static int child_error(pid_t pid, const SyncMsg *m, Error **err)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return err_set(err, m->code > 0 ? m->code : EIO, "%s", m->msg[0] ? m->msg : "container setup failed");
}

static int parent_run(pid_t *ret_pid, int *ret_console, int sync, const ParentSteps *s, Error **err)
{
	pid_t pid = *ret_pid;
	int r = 0;
	if (s->cg)
		r = cg_add_pid(s->cg, pid, err);
	else if (s->join_cgroups_of > 0)
		r = cg_join_like(s->join_cgroups_of, pid, err);
	if (r < 0) {
		reap(pid);
		return r;
	}
	SyncMsg m;
	int t = sync_recv(sync, &m);
	if (t == MSG_ERROR)
		return child_error(pid, &m, err);
	if (t != MSG_READY) {
		reap(pid);
		return err_set(err, t < 0 ? -t : EPIPE, "the container process died during setup");
	}
	if (s->uid_map && ((r = write_map(pid, "uid_map", s->uid_map, err)) < 0 ||
			   (r = write_map(pid, "gid_map", s->gid_map, err)) < 0)) {
		reap(pid);
		return r;
	}
	if (s->hooks && s->hooks->prestart && (r = s->hooks->prestart(pid, s->hooks->userdata, err)) < 0) {
		reap(pid);
		return err_prefix(err, "prestart hook");
	}
	if ((r = sync_send(sync, MSG_GO, NULL)) < 0) {
		reap(pid);
		return err_sys(err, r, "start the container process");
	}
	t = sync_recv_fd(sync, &m, ret_console);
	if (t == MSG_PID && m.code > 0) { /* user namespace: init replaces the intermediate */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		*ret_pid = pid = m.code;
		t = sync_recv_fd(sync, &m, ret_console);
	}
	if (t == MSG_CONSOLE)
		t = sync_recv(sync, &m);
	if (t == 0)
		return 0; /* EOF: exec'ed */
	if (t == MSG_ERROR)
		return child_error(pid, &m, err);
	reap(pid);
	return err_set(err, EPROTO, "unexpected message %d from the container process", t);
}

int rt_spawn(const json_t *spec, Cgroup *cg, const RtStdio *stdio, const RtSpawnHooks *hooks,
	     RtSpawned *ret, Error **err)
{
	RtConfig cfg;
	int r = rt_config_parse(spec, &cfg, err);
	if (r < 0) {
		rt_config_release(&cfg);
		return r;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rt_config_release(&cfg);
		return err_sys(err, errno, "socketpair");
	}
	RtStdio none = { -1, -1, -1, -1 };
	int console = -1;
	bool userns = cfg.unshare_flags & CLONE_NEWUSER;
	pid_t pid = fork_in_pidns(cfg.new_pid && !userns, cfg.ns_fd[RT_NS_PID], err);
	if (pid == 0) {
		close(sv[0]);
		spawn_child(&cfg, stdio ? stdio : &none, sv[1]);
	}
	close(sv[1]);
	if (pid > 0) {
		ParentSteps steps = { .cg = cg, .uid_map = cfg.uid_map, .gid_map = cfg.gid_map, .hooks = hooks };
		r = parent_run(&pid, &console, sv[0], &steps, err);
	} else {
		r = pid;
	}
	close(sv[0]);
	rt_config_release(&cfg);
	if (r < 0) {
		if (console >= 0)
			close(console);
		return r;
	}
	if (ret) {
		ret->pid = pid;
		ret->console_master = console;
	} else if (console >= 0) {
		close(console);
	}
	return 0;
}

/* Open the target's namespaces that differ from ours (joining one's own user
 * namespace is an error, the others would be wasted syscalls). */
static int open_target_ns(pid_t target, int *fds, Error **err)
{
	static const int kinds[] = { RT_NS_USER, RT_NS_MNT, RT_NS_PID, RT_NS_NET, RT_NS_IPC, RT_NS_UTS, RT_NS_CGROUP };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		int k = kinds[i];
		char path[64], self[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)target, ns_names[k]);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_names[k]);
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT && k != RT_NS_MNT && k != RT_NS_PID)
				continue; /* kernel without that namespace type */
			return err_sys(err, errno, "open '%s'", path);
		}
		if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			close(fd);
			continue;
		}
		fds[k] = fd;
	}
	return 0;
}

int rt_exec(pid_t target_pid, const json_t *process, const json_t *seccomp, Cgroup *cg,
	    const RtStdio *stdio, RtSpawned *ret, Error **err)
{
	int console = -1;
	RtProcess p;
	int fds[RT_NS_N];
	for (int i = 0; i < RT_NS_N; i++)
		fds[i] = -1;
	int r = rt_process_parse(process, NULL, seccomp, &p, err);
	if (r >= 0)
		r = open_target_ns(target_pid, fds, err);
	int sv[2] = { -1, -1 };
	if (r >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		r = err_sys(err, errno, "socketpair");
	pid_t pid = -1;
	if (r >= 0) {
		RtStdio none = { -1, -1, -1, -1 };
		pid = fork_in_pidns(false, fds[RT_NS_PID], err);
		if (pid == 0) {
			close(sv[0]);
			exec_child(&p, fds, stdio ? stdio : &none, sv[1]);
		}
		close(sv[1]);
		ParentSteps steps = { .cg = cg, .join_cgroups_of = cg ? 0 : target_pid };
		r = pid > 0 ? parent_run(&pid, &console, sv[0], &steps, err) : pid;
		close(sv[0]);
	}
	for (int i = 0; i < RT_NS_N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	rt_process_release(&p);
	if (r < 0) {
		if (console >= 0)
			close(console);
		return r;
	}
	ret->pid = pid;
	ret->console_master = console;
	return 0;
}
