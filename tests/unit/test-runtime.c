/* test-runtime.c - the low-level runtime for real (root required): a busybox
 * rootfs in a temp dir, rt_spawn with rt_spec_default(), and checks from
 * inside the container (pid 1, hostname, user, capabilities, no_new_privs,
 * seccomp, masked and read-only paths, /dev), exec errors, cgroup limits that
 * the kernel enforces (OOM kill counted, pids.max), rt_exec into a running
 * container, the overlay rootfs annotation, user resolution.  Everything it
 * creates (processes, cgroups, temp dirs) is removed; no mount may be left in
 * the host's mount namespace. */
#include "tap.h"
#include "../../src/runtime/runtime.h"
#include "../../src/runtime/spawn-internal.h"
#include "../../src/base/fs.h"
#include "../../src/shared/json.h"
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static char tmp[256];

static const char *const applets[] = {
	"sh", "cat", "grep", "ls", "id", "hostname", "mount", "touch", "echo", "sleep", "tail", "wc",
	"true", "pwd", "unshare", "seq", "head", "tr", "env", "cut",
};

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0) {
		fs_write_all(fd, content, strlen(content));
		close(fd);
	}
}

/* A minimal image: busybox and its applet links, passwd/group, a file that
 * is not executable. */
static void make_rootfs(const char *dir)
{
	static const char *const dirs[] = { "bin", "etc", "proc", "sys", "dev", "tmp", "home/alice" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = fs_join(dir, dirs[i]);
		fs_mkdir_p(p, 0755, NULL);
	}
	_cleanup_free_ char *bb = fs_join(dir, "bin/busybox");
	int in = open("/bin/busybox", O_RDONLY | O_CLOEXEC), out = open(bb, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	fs_copy_fd(in, out);
	close(in);
	close(out);
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
		_cleanup_free_ char *l = xasprintf("%s/bin/%s", dir, applets[i]);
		symlink("busybox", l);
	}
	_cleanup_free_ char *pw = fs_join(dir, "etc/passwd"), *gr = fs_join(dir, "etc/group");
	_cleanup_free_ char *nx = fs_join(dir, "bin/notexec");
	write_file(pw, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n", 0644);
	write_file(gr, "root:x:0:\nalice:x:1000:\nstaff:x:50:bob,alice\n", 0644);
	write_file(nx, "#!/bin/sh\necho no\n", 0644);
}

static json_t *make_spec(const char *rootfs, const char *script)
{
	json_t *spec = rt_spec_default();
	json_object_set_new(json_object_get(spec, "root"), "path", json_string(rootfs));
	json_object_set_new(spec, "hostname", json_string("berth-test"));
	json_t *proc = json_object_get(spec, "process");
	json_object_set_new(proc, "args", script ? json_pack("[s,s,s]", "/bin/sh", "-c", script) : json_array());
	return spec;
}

static void set_args(json_t *spec, json_t *args)
{
	json_object_set_new(json_object_get(spec, "process"), "args", args);
}

/* Read everything from fd until EOF (or until `until` shows up, if given). */
static char *read_all(int fd, const char *until, int timeout_ms)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	buf[0] = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, timeout_ms) > 0) {
		if (len + 1024 >= cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (until && strstr(buf, until))
			break;
	}
	return buf;
}

static int wait_exit(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* Spawn, collect stdout+stderr until exit; returns the rt_spawn result. */
static int run(const json_t *spec, Cgroup *cg, char **out, int *status, Error **err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	RtStdio io = { .in = -1, .out = pfd[1], .err = pfd[1], .console_fd = -1 };
	RtSpawned sp = { 0 };
	int r = rt_spawn(spec, cg, &io, NULL, &sp, err);
	close(pfd[1]);
	*out = r < 0 ? xstrdup("") : read_all(pfd[0], NULL, 20000);
	close(pfd[0]);
	if (r >= 0)
		*status = wait_exit(sp.pid);
	return r;
}

static uint64_t default_cap_mask(void)
{
	uint64_t m = 0;
	for (const char *const *c = rt_default_caps; *c; c++)
		m |= UINT64_C(1) << rt_cap_from_name(*c);
	return m;
}

static bool has_line(const char *out, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = out; (p = strstr(p, line)); p += n)
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return true;
	return false;
}

/* ------------------------------------------------------------------ tests */

static void test_names(void)
{
	is_int(rt_cap_from_name("NET_ADMIN"), 12, "cap name without prefix");
	is_int(rt_cap_from_name("CAP_NET_ADMIN"), 12, "cap name with prefix");
	is_int(rt_cap_from_name("cap_sys_admin"), 21, "cap name lower case");
	is_int(rt_cap_from_name("BOGUS"), -EINVAL, "unknown cap name");
	is_int(rt_cap_from_name("7"), -EINVAL, "numbers are not names");
	is_str(rt_cap_name(0), "CAP_CHOWN", "cap number -> name");
	ok(rt_cap_last() >= 37, "kernel cap_last_cap");
	int n = 0;
	for (const char *const *c = rt_default_caps; *c; c++)
		n += rt_cap_from_name(*c) >= 0;
	is_int(n, 14, "Docker's 14 default capabilities, all known");
}

static void test_spec_default(void)
{
	json_t *s = rt_spec_default();
	is_int(json_array_size(json_path(s, "linux.namespaces")), 6, "default spec: 6 namespaces");
	is_int(json_array_size(json_object_get(s, "mounts")), 7, "default spec: 7 mounts");
	ok(json_is_true(json_path(s, "process.noNewPrivileges")), "default spec: no_new_privs");
	is_str(json_str(json_path(s, "linux.seccomp"), "defaultAction"), "SCMP_ACT_ERRNO", "default spec: seccomp default EPERM");
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	json_t *nofile = json_array_get(json_path(s, "process.rlimits"), 0);
	ok(json_int(nofile, "hard", 0) == (json_int_t)rl.rlim_max || (rl.rlim_max > 1048576 && json_int(nofile, "hard", 0) == 1048576),
	   "default spec: RLIMIT_NOFILE at the current hard limit");
	ok(json_array_size(json_path(s, "linux.maskedPaths")) >= 10, "default spec: masked paths");
	json_decref(s);
}

static void test_resolve_user(const char *rootfs)
{
	uid_t uid;
	gid_t gid, *g = NULL;
	size_t ng;
	char *home = NULL;
	Error *e = NULL;
	is_int(rt_resolve_user(rootfs, "alice", &uid, &gid, &g, &ng, &home, NULL), 0, "user: by name");
	ok(uid == 1000 && gid == 1000 && ng == 1 && g[0] == 50, "user: alice = 1000:1000 + staff");
	is_str(home, "/home/alice", "user: home from passwd");
	free(g), free(home), g = NULL, home = NULL;
	rt_resolve_user(rootfs, "1000", &uid, &gid, &g, &ng, &home, NULL);
	ok(uid == 1000 && gid == 1000 && ng == 1, "user: a uid in passwd behaves like the name");
	free(g), free(home), g = NULL, home = NULL;
	is_int(rt_resolve_user(rootfs, "2000", &uid, &gid, &g, &ng, &home, NULL), 0, "user: unknown uid is allowed");
	ok(uid == 2000 && gid == 0 && ng == 0, "user: unknown uid gets gid 0");
	is_str(home, "/", "user: unknown uid gets home /");
	free(g), free(home), g = NULL, home = NULL;
	rt_resolve_user(rootfs, "alice:staff", &uid, &gid, &g, &ng, &home, NULL);
	ok(uid == 1000 && gid == 50 && ng == 0, "user: explicit group replaces gid, no supplementary");
	free(g), free(home), g = NULL, home = NULL;
	rt_resolve_user(rootfs, "0:5", &uid, &gid, &g, &ng, &home, NULL);
	ok(uid == 0 && gid == 5, "user: uid:gid numbers");
	free(g), free(home), g = NULL, home = NULL;
	is_int(rt_resolve_user(rootfs, "bob", &uid, &gid, &g, &ng, &home, &e), -ENOENT, "user: unknown name fails");
	is_str(e ? e->msg : NULL, "unable to find user bob: no matching entries in passwd file", "user: Docker's message");
	err_free(e), e = NULL;
	is_int(rt_resolve_user(rootfs, "alice:nogroup", &uid, &gid, &g, &ng, &home, &e), -ENOENT, "user: unknown group fails");
	ok(e && strstr(e->msg, "unable to find group nogroup"), "user: group message");
	err_free(e);
}

static void test_isolation(const char *rootfs)
{
	json_t *spec = make_spec(rootfs,
		"echo pid=$$; hostname; echo uid=$(id -u);"
		"grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status;"
		"echo kcore=$(cat /proc/kcore | wc -c);"
		"touch /sys/x 2>/dev/null && echo sys=rw || echo sys=ro;"
		"echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo procsys=rw || echo procsys=ro;"
		"unshare -U true 2>/dev/null && echo userns=yes || echo userns=no;"
		"ls /dev | tr '\\n' ' '; echo; ls /sys/fs/cgroup | tr '\\n' ' '; echo; mount");
	char *out = NULL;
	int st = -1;
	Error *e = NULL;
	int r = run(spec, NULL, &out, &st, &e);
	is_int(r, 0, "spawn with the default spec");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "container exits 0");
	ok(has_line(out, "pid=1"), "pid 1 in its own pid namespace");
	ok(has_line(out, "berth-test"), "own hostname");
	ok(has_line(out, "uid=0"), "root by default");
	char want[64];
	snprintf(want, sizeof(want), "CapBnd:\t%016llx", (unsigned long long)default_cap_mask());
	ok(has_line(out, want), "bounding set = Docker's default 14 caps");
	snprintf(want, sizeof(want), "CapEff:\t%016llx", (unsigned long long)default_cap_mask());
	ok(has_line(out, want), "effective set = default caps");
	ok(has_line(out, "NoNewPrivs:\t1"), "no_new_privs set");
	ok(has_line(out, "Seccomp:\t2"), "seccomp filter mode");
	ok(has_line(out, "kcore=0"), "/proc/kcore masked");
	ok(has_line(out, "sys=ro"), "/sys is read-only");
	ok(has_line(out, "procsys=ro"), "/proc/sys is read-only");
	ok(has_line(out, "userns=no"), "seccomp refuses unshare (no CAP_SYS_ADMIN)");
	ok(strstr(out, "null ") && strstr(out, "urandom ") && strstr(out, "pts ") && strstr(out, "ptmx ") &&
	   strstr(out, "shm ") && strstr(out, "mqueue ") && strstr(out, "fd ") ? 1 : 0, "/dev populated");
	ok(strstr(out, "memory") || strstr(out, "cgroup.controllers") ? 1 : 0, "/sys/fs/cgroup shows the cgroup hierarchies");
	ok(strstr(out, "on / type") != NULL, "mount table shows the new root");
	if (!ok(!strstr(out, tmp), "the host path of the rootfs is not visible inside"))
		tap_diag("%s", out);
	free(out);

	/* a user from the spec: uid/gid, no capabilities left */
	json_object_set_new(json_path(spec, "process"), "user", json_pack("{s:i,s:i,s:[i]}", "uid", 1000, "gid", 1000, "additionalGids", 50));
	set_args(spec, json_pack("[s,s,s]", "/bin/sh", "-c", "id -u; id -G; grep CapEff /proc/self/status"));
	r = run(spec, NULL, &out, &st, NULL);
	ok(r == 0 && has_line(out, "1000"), "process.user.uid applied");
	ok(has_line(out, "1000 50"), "gid and additionalGids applied");
	ok(has_line(out, "CapEff:\t0000000000000000"), "non-root user has no effective caps");
	free(out);
	json_decref(spec);
}

/* The spec's own mounts: a read-only bind of a host dir, a single-file bind,
 * a tmpfs with size/mode, a destination behind a symlink that points out of
 * the rootfs (must stay inside), and a read-only root. */
static void test_mounts(const char *rootfs)
{
	_cleanup_free_ char *data = fs_join(tmp, "data"), *hello = fs_join(tmp, "data/hello");
	_cleanup_free_ char *hostfile = fs_join(tmp, "hostsfile"), *outside = fs_join(tmp, "outside");
	_cleanup_free_ char *link = fs_join(rootfs, "escape"), *inside = xasprintf("%s%s/sub", rootfs, outside);
	_cleanup_free_ char *escaped = fs_join(outside, "sub");
	fs_mkdir_p(data, 0755, NULL);
	fs_mkdir_p(outside, 0755, NULL);
	write_file(hello, "hello from the host\n", 0644);
	write_file(hostfile, "10.0.0.1 berth-host\n", 0644);
	symlink(outside, link); /* absolute host path: inside the container it means rootfs + path */
	json_t *spec = make_spec(rootfs,
		"cat /mnt/data/hello; touch /mnt/data/x 2>/dev/null && echo bind=rw || echo bind=ro;"
		"cat /etc/hosts; grep ' /scratch ' /proc/mounts; ls -ld /scratch | cut -c1-10;"
		"touch /newfile 2>/dev/null && echo root=rw || echo root=ro; touch /scratch/ok && echo scratch=rw");
	json_t *mounts = json_object_get(spec, "mounts");
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", "/mnt/data", "type", "bind",
						"source", data, "options", "rbind", "ro", "nosuid", "rprivate"));
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", "/etc/hosts", "type", "bind",
						"source", hostfile, "options", "bind", "ro"));
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", "/scratch", "type", "tmpfs",
						"source", "tmpfs", "options", "nodev", "size=1m", "mode=1777"));
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s]}", "destination", "/escape/sub", "type", "tmpfs",
						"source", "tmpfs", "options", "size=64k"));
	json_object_set_new(json_object_get(spec, "root"), "readonly", json_true());
	char *out = NULL;
	int st;
	Error *e = NULL;
	int r = run(spec, NULL, &out, &st, &e);
	is_int(r, 0, "spawn with extra mounts and a read-only root");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	ok(has_line(out, "hello from the host"), "bind mount of a host directory");
	ok(has_line(out, "bind=ro"), "ro bind mount is read-only");
	ok(has_line(out, "10.0.0.1 berth-host"), "bind mount of a single file");
	if (!ok(strstr(out, "size=1024k") && strstr(out, "nodev") ? 1 : 0, "tmpfs with size and nodev"))
		tap_diag("%s", out);
	ok(has_line(out, "drwxrwxrwt"), "tmpfs mode applied");
	ok(has_line(out, "root=ro"), "root.readonly");
	ok(has_line(out, "scratch=rw"), "mounts on a read-only root stay writable");
	ok(!fs_exists(escaped), "a symlink out of the rootfs cannot redirect a mount to the host");
	ok(fs_exists(inside), "... the mount point was created inside the rootfs instead");
	unlink(link);
	free(out);
	json_decref(spec);
}

/* A user namespace: root inside is uid 100000 outside; the pid namespace is
 * owned by the user namespace (proc mounts); mknod is refused there, so the
 * default devices are bind mounts of the host's nodes. */
static void test_userns(const char *rootfs)
{
	json_t *spec = make_spec(rootfs, "echo pid=$$; echo uid=$(id -u); cat /proc/self/uid_map | tr -s ' '; "
					 "echo x > /dev/null && echo devnull-ok");
	json_t *lx = json_object_get(spec, "linux");
	json_array_append_new(json_object_get(lx, "namespaces"), json_pack("{s:s}", "type", "user"));
	json_object_set_new(lx, "uidMappings", json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", 100000, "size", 65536));
	json_object_set_new(lx, "gidMappings", json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", 100000, "size", 65536));
	char *out = NULL;
	int st = -1;
	Error *e = NULL;
	int r = run(spec, NULL, &out, &st, &e);
	is_int(r, 0, "spawn in a new user namespace");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "userns container is the caller's child and exits 0");
	ok(has_line(out, "pid=1"), "userns: pid 1");
	ok(has_line(out, "uid=0"), "userns: root inside");
	ok(has_line(out, " 0 100000 65536"), "userns: uid map written by the parent");
	ok(has_line(out, "devnull-ok"), "userns: /dev/null bound from the host");
	free(out);
	json_decref(spec);
}

typedef struct HookSeen {
	pid_t pid;
	bool own_netns;
	bool fail;
} HookSeen;

static int prestart(pid_t pid, void *ud, Error **err)
{
	HookSeen *h = ud;
	struct stat a, b;
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	h->pid = pid;
	h->own_netns = stat(p, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_ino != b.st_ino;
	return h->fail ? err_set(err, EIO, "cni: no bridge") : 0;
}

static void test_hooks(const char *rootfs)
{
	json_t *spec = make_spec(rootfs, NULL);
	set_args(spec, json_pack("[s]", "true"));
	HookSeen h = { 0 };
	RtSpawnHooks hooks = { prestart, &h };
	RtStdio none = { -1, -1, -1, -1 };
	RtSpawned sp = { 0 };
	is_int(rt_spawn(spec, NULL, &none, &hooks, &sp, NULL), 0, "spawn with a prestart hook");
	ok(h.pid == sp.pid, "hook called with the container's pid");
	ok(h.own_netns, "hook sees the container's new network namespace");
	wait_exit(sp.pid);
	h = (HookSeen){ .fail = true };
	Error *e = NULL;
	is_int(rt_spawn(spec, NULL, &none, &hooks, &sp, &e), -EIO, "a failing hook fails the spawn");
	is_str(e ? e->msg : NULL, "prestart hook: cni: no bridge", "hook error with context");
	err_free(e);
	ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "the aborted container was reaped");
	json_decref(spec);
}

/* The compiled default profile is cached; a hit must give the same program,
 * and a profile berth has never seen compiles. */
static void test_seccomp_cache(void)
{
	json_t *p = rt_seccomp_default();
	char marker[64];
	snprintf(marker, sizeof(marker), "berth-test-%d-%ld", (int)getpid(), (long)time(NULL));
	json_array_append_new(json_object_get(p, "syscalls"), json_pack("{s:[s],s:s}", "names", marker, "action", "SCMP_ACT_ALLOW"));
	RtSeccomp a, b;
	Error *e = NULL;
	is_int(rt_seccomp_compile(p, &a, &e), 0, "seccomp: a new profile compiles (unknown names skipped)");
	is_int(rt_seccomp_compile(p, &b, &e), 0, "seccomp: compiled again (cache hit)");
	ok(a.set && b.set && a.prog.len == b.prog.len && a.prog.len > 100 &&
	   !memcmp(a.prog.filter, b.prog.filter, a.prog.len * sizeof(*a.prog.filter)), "seccomp: cached program is identical");
	rt_seccomp_release(&a);
	rt_seccomp_release(&b);
	/* remove this test's cache entry again */
	DIR *d = opendir("/run/berth/seccomp");
	struct dirent *de;
	time_t newest = 0;
	char newest_name[256] = "";
	while (d && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, 0) == 0 && st.st_mtime >= newest) {
			newest = st.st_mtime;
			snprintf(newest_name, sizeof(newest_name), "%s", de->d_name);
		}
	}
	ok(*newest_name != 0, "seccomp: compiled program stored in the cache dir");
	if (d && *newest_name)
		unlinkat(dirfd(d), newest_name, 0);
	if (d)
		closedir(d);
	json_object_set_new(p, "defaultAction", json_string("SCMP_ACT_BOGUS"));
	is_int(rt_seccomp_compile(p, &a, &e), -EINVAL, "seccomp: bad action refused");
	ok(e && strstr(e->msg, "SCMP_ACT_BOGUS"), "seccomp: error names the action");
	err_free(e);
	json_decref(p);
}

static void test_user_annotation(const char *rootfs)
{
	json_t *spec = make_spec(rootfs, "id -u; id -G; echo home=$HOME; pwd; ulimit -n");
	json_object_set_new(json_object_get(spec, "annotations"), "org.berth.user", json_string("alice"));
	json_object_set_new(json_object_get(spec, "process"), "cwd", json_string("/work/deep/dir"));
	json_t *rl = json_array_get(json_path(spec, "process.rlimits"), 0);
	json_object_set_new(rl, "hard", json_integer(999999999));
	json_object_set_new(rl, "soft", json_integer(999999999));
	char *out = NULL;
	int st;
	Error *e = NULL;
	int r = run(spec, NULL, &out, &st, &e);
	is_int(r, 0, "spawn with org.berth.user");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	ok(has_line(out, "1000"), "annotation user resolved in the container's passwd");
	ok(has_line(out, "1000 50"), "supplementary group from the container's /etc/group");
	ok(has_line(out, "home=/home/alice"), "HOME set from passwd");
	ok(has_line(out, "/work/deep/dir"), "missing cwd created");
	struct rlimit cur;
	getrlimit(RLIMIT_NOFILE, &cur);
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)cur.rlim_max);
	ok(has_line(out, want), "rlimit above the hard limit clamped to it");
	free(out);
	json_object_set_new(json_object_get(spec, "annotations"), "org.berth.user", json_string("nobody"));
	e = NULL;
	is_int(run(spec, NULL, &out, &st, &e), -ENOENT, "unknown annotation user fails the spawn");
	ok(e && strstr(e->msg, "unable to find user nobody"), "with Docker's message");
	err_free(e);
	free(out);
	json_decref(spec);
}

static void test_exec_errors(const char *rootfs)
{
	json_t *spec = make_spec(rootfs, NULL);
	char *out = NULL;
	int st;
	Error *e = NULL;
	set_args(spec, json_pack("[s]", "/nope"));
	is_int(run(spec, NULL, &out, &st, &e), -ENOENT, "missing program: -ENOENT");
	is_str(e ? e->msg : NULL, "exec '/nope': No such file or directory", "missing program: clear message");
	err_free(e), e = NULL, free(out);
	set_args(spec, json_pack("[s]", "nope"));
	is_int(run(spec, NULL, &out, &st, &e), -ENOENT, "missing program in PATH: -ENOENT");
	ok(e && strstr(e->msg, "'nope'") && strstr(e->msg, "not found"), "PATH search message names the program");
	err_free(e), e = NULL, free(out);
	set_args(spec, json_pack("[s]", "/bin/notexec"));
	is_int(run(spec, NULL, &out, &st, &e), -EACCES, "not executable: -EACCES");
	is_str(e ? e->msg : NULL, "exec '/bin/notexec': Permission denied", "not executable: clear message");
	err_free(e), e = NULL, free(out);
	set_args(spec, json_pack("[s]", "true"));
	is_int(run(spec, NULL, &out, &st, NULL), 0, "bare name found through PATH");
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "true exits 0");
	free(out);
	json_object_set_new(json_object_get(spec, "root"), "path", json_string("/nonexistent-root"));
	is_int(run(spec, NULL, &out, &st, &e), -ENOENT, "missing rootfs fails");
	ok(e && strstr(e->msg, "/nonexistent-root"), "error names the rootfs");
	err_free(e), free(out);
	json_decref(spec);
}

static Cgroup *make_cgroup(const char *name, const CgLimits *lim)
{
	_cleanup_free_ char *path = xasprintf("berth-test-%d-%s", (int)getpid(), name);
	Cgroup *cg = NULL;
	Error *e = NULL;
	if (cg_create("/sys/fs/cgroup", path, &cg, &e) < 0 || cg_apply(cg, lim, &e) < 0) {
		tap_diag("cgroup %s: %s", path, err_msg(e));
		err_free(e);
		if (cg)
			cg_destroy(cg, NULL), cg_free(cg);
		return NULL;
	}
	return cg;
}

static void drop_cgroup(Cgroup *cg, const char *what)
{
	Error *e = NULL;
	int r = cg_destroy(cg, &e);
	if (!ok(r == 0, "%s: cgroup removed", what))
		tap_diag("%s", err_msg(e));
	err_free(e);
	cg_free(cg);
}

static void test_oom(const char *rootfs)
{
	CgLimits lim = { .memory_bytes = 16 << 20 };
	Cgroup *cg = make_cgroup("oom", &lim);
	ok(cg != NULL, "memory-limited cgroup created (%s)", cg ? cg_memory_path(cg) : "-");
	if (!cg)
		return;
	json_t *spec = make_spec(rootfs, NULL);
	set_args(spec, json_pack("[s,s]", "tail", "/dev/zero"));
	char *out = NULL;
	int st = 0;
	is_int(run(spec, cg, &out, &st, NULL), 0, "memory hog started in the cgroup");
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "memory hog killed by the OOM killer");
	CgStats s;
	is_int(cg_stats(cg, &s, NULL), 0, "stats after OOM");
	ok(s.oom_kills >= 1, "OOM kill counted (%lld)", (long long)s.oom_kills);
	is_int(s.memory_limit, 16 << 20, "memory limit reported");
	free(out);
	json_decref(spec);
	drop_cgroup(cg, "oom");
}

static void test_pids(const char *rootfs)
{
	CgLimits lim = { .pids_limit = 6 };
	Cgroup *cg = make_cgroup("pids", &lim);
	ok(cg != NULL, "pids-limited cgroup created");
	if (!cg)
		return;
	json_t *spec = make_spec(rootfs, "(for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done); echo started; exec sleep 30");
	int pfd[2];
	pipe2(pfd, O_CLOEXEC);
	RtStdio io = { .in = -1, .out = pfd[1], .err = pfd[1], .console_fd = -1 };
	RtSpawned sp = { 0 };
	is_int(rt_spawn(spec, cg, &io, NULL, &sp, NULL), 0, "fork bomb-ish container started");
	close(pfd[1]);
	char *out = read_all(pfd[0], "started", 10000);
	if (!ok(strstr(out, "fork") != NULL, "forks beyond pids.max fail inside"))
		tap_diag("%s", out);
	CgStats s;
	cg_stats(cg, &s, NULL);
	/* busybox's subshell gives up at its first failed fork and exits */
	ok(s.pids_current >= 5 && s.pids_current <= 6, "pids.current stops at the limit (%lld)", (long long)s.pids_current);
	pid_t *pids = NULL;
	size_t n = 0;
	cg_pids(cg, &pids, &n, NULL);
	is_int(n, s.pids_current, "cg_pids lists every process");
	free(pids);
	is_int(cg_kill_all(cg, SIGKILL, NULL), 0, "kill everything in the cgroup");
	int st = wait_exit(sp.pid);
	ok(WIFSIGNALED(st), "container init killed");
	free(out);
	close(pfd[0]);
	json_decref(spec);
	drop_cgroup(cg, "pids");
}

static void test_exec(const char *rootfs)
{
	CgLimits lim = { .pids_limit = 100 };
	Cgroup *cg = make_cgroup("exec", &lim);
	json_t *spec = make_spec(rootfs, NULL);
	set_args(spec, json_pack("[s,s]", "sleep", "60"));
	RtSpawned sp = { 0 };
	Error *e = NULL;
	RtStdio none = { -1, -1, -1, -1 };
	int r = rt_spawn(spec, cg, &none, NULL, &sp, &e);
	is_int(r, 0, "long-running container started");
	if (r < 0) {
		tap_diag("%s", err_msg(e));
		err_free(e);
		json_decref(spec);
		if (cg)
			drop_cgroup(cg, "exec");
		return;
	}
	json_t *process = json_pack("{s:[s,s,s],s:[s],s:s,s:o,s:b}",
		"args", "/bin/sh", "-c", "echo pid=$$; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo;"
		"cat /proc/self/cgroup > /tmp/a; cat /proc/1/cgroup > /tmp/b; grep -c . /tmp/a; "
		"while read l; do grep -qxF \"$l\" /tmp/b || echo cgroup-differs; done < /tmp/a;"
		"grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
		"env", "PATH=/bin", "cwd", "/",
		"capabilities", json_deep_copy(json_path(spec, "process.capabilities")),
		"noNewPrivileges", 1);
	int pfd[2];
	pipe2(pfd, O_CLOEXEC);
	RtStdio io = { .in = -1, .out = pfd[1], .err = pfd[1], .console_fd = -1 };
	pid_t epid = -1;
	RtSpawned ex = { .console_master = -1 };
	r = rt_exec(sp.pid, process, json_path(spec, "linux.seccomp"), NULL, &io, &ex, &e);
	epid = ex.pid;
	close(pfd[1]);
	is_int(r, 0, "rt_exec into the running container");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e), e = NULL;
	char *out = read_all(pfd[0], NULL, 10000);
	close(pfd[0]);
	int st = epid > 0 ? wait_exit(epid) : -1;
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd process exits 0");
	ok(strstr(out, "pid=") && !has_line(out, "pid=1") && atoi(strstr(out, "pid=") + 4) < 100,
	   "exec'd process has a small pid in the container's pid namespace");
	ok(has_line(out, "berth-test"), "exec sees the container's hostname");
	ok(strstr(out, "sleep 60") != NULL, "exec sees the container's pid 1");
	ok(!strstr(out, "cgroup-differs"), "exec joined the container's cgroups");
	ok(has_line(out, "NoNewPrivs:\t1") && has_line(out, "Seccomp:\t2"), "exec'd process: nnp + seccomp");
	free(out);
	json_object_set_new(process, "args", json_pack("[s]", "/nope"));
	is_int(rt_exec(sp.pid, process, NULL, cg, &none, &ex, &e), -ENOENT, "exec of a missing program: -ENOENT");
	ok(e && strstr(e->msg, "exec '/nope'"), "exec error message");
	err_free(e);
	json_decref(process);
	kill(sp.pid, SIGKILL);
	wait_exit(sp.pid);
	json_decref(spec);
	if (cg)
		drop_cgroup(cg, "exec");
}

static void test_terminal(const char *rootfs)
{
	int master = -1, slave = -1;
	if (!ok(openpty(&master, &slave, NULL, NULL, NULL) == 0, "openpty"))
		return;
	json_t *spec = make_spec(rootfs, "[ -t 0 ] && [ -t 1 ] && echo isatty; ls /dev/console && echo console-ok");
	json_object_set_new(json_object_get(spec, "process"), "terminal", json_true());
	RtStdio io = { .in = -1, .out = -1, .err = -1, .console_fd = slave };
	RtSpawned sp = { 0 };
	Error *e = NULL;
	int r = rt_spawn(spec, NULL, &io, NULL, &sp, &e);
	close(slave);
	is_int(r, 0, "spawn with a terminal");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	char *out = r == 0 ? read_all(master, "console-ok", 10000) : xstrdup("");
	ok(strstr(out, "isatty") != NULL, "stdin/stdout are the terminal");
	ok(strstr(out, "console-ok") != NULL, "/dev/console exists");
	if (r == 0)
		wait_exit(sp.pid);
	close(master);
	free(out);
	json_decref(spec);
}

static void test_overlay(void)
{
	_cleanup_free_ char *ov = fs_join(tmp, "ov");
	_cleanup_free_ char *l1 = fs_join(ov, "l1"), *l2 = fs_join(ov, "l2"), *up = fs_join(ov, "upper");
	_cleanup_free_ char *wk = fs_join(ov, "work"), *merged = fs_join(ov, "merged");
	fs_mkdir_p(l1, 0755, NULL);
	fs_mkdir_p(up, 0755, NULL);
	fs_mkdir_p(wk, 0755, NULL);
	fs_mkdir_p(merged, 0755, NULL);
	make_rootfs(l2);
	_cleanup_free_ char *f1 = fs_join(l1, "fromlower1");
	write_file(f1, "layer1\n", 0644);
	json_t *spec = make_spec(merged, "cat /fromlower1; echo hi > /newfile; cat /newfile; ls /bin/busybox");
	json_t *ann = json_object_get(spec, "annotations");
	json_object_set_new(ann, "org.berth.rootfs.overlay", json_string("lowerdir=l1:l2,upperdir=upper,workdir=work"));
	json_object_set_new(ann, "org.berth.rootfs.overlay.dir", json_string(ov));
	char *out = NULL;
	int st;
	Error *e = NULL;
	int r = run(spec, NULL, &out, &st, &e);
	is_int(r, 0, "overlay rootfs container ran");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	ok(has_line(out, "layer1"), "file from the first lower dir visible");
	ok(has_line(out, "/bin/busybox"), "busybox from the second lower dir visible");
	ok(has_line(out, "hi"), "write inside the container works");
	_cleanup_free_ char *in_upper = fs_join(up, "newfile"), *in_merged = fs_join(merged, "newfile");
	ok(fs_exists(in_upper), "the write landed in upperdir");
	ok(!fs_exists(in_merged), "the overlay is not mounted in the host namespace");
	free(out);
	json_decref(spec);
}

static void test_speed(const char *rootfs)
{
	json_t *spec = make_spec(rootfs, NULL);
	set_args(spec, json_pack("[s]", "/bin/true"));
	struct timespec a, b;
	int n = 20, fails = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		RtSpawned sp;
		RtStdio none = { -1, -1, -1, -1 };
		if (rt_spawn(spec, NULL, &none, NULL, &sp, NULL) < 0)
			fails++;
		else
			wait_exit(sp.pid);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ms = ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) / n;
	tap_diag("spawn+wait of /bin/true with the default spec: %.2f ms average", ms);
	is_int(fails, 0, "20 spawns in a row");
	ok(ms < 50, "spawn+exit under 50 ms (%.2f ms)", ms);
	json_decref(spec);
}

static bool host_mounts_mention(const char *path)
{
	_cleanup_free_ char *mi = NULL;
	if (fs_read_file("/proc/self/mountinfo", 1 << 22, &mi, NULL, NULL) < 0)
		return true;
	return strstr(mi, path) != NULL;
}

int main(void)
{
	if (geteuid() != 0) {
		ok(0, "test-runtime needs root");
		return tap_done();
	}
	snprintf(tmp, sizeof(tmp), "/tmp/berth-test-runtime-%d", (int)getpid());
	_cleanup_free_ char *rootfs = fs_join(tmp, "rootfs");
	make_rootfs(rootfs);
	test_names();
	test_spec_default();
	test_resolve_user(rootfs);
	test_isolation(rootfs);
	test_mounts(rootfs);
	test_userns(rootfs);
	test_hooks(rootfs);
	test_seccomp_cache();
	test_user_annotation(rootfs);
	test_exec_errors(rootfs);
	test_terminal(rootfs);
	test_oom(rootfs);
	test_pids(rootfs);
	test_exec(rootfs);
	test_overlay();
	test_speed(rootfs);
	ok(!host_mounts_mention(tmp), "no mount left in the host mount namespace");
	is_int(fs_rm_rf(tmp, NULL), 0, "temp tree removed");
	return tap_done();
}
