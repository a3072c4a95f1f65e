/* devices.c - the contents of a container's fresh /dev tmpfs.
 *
 * The default nodes every container gets (null zero full random urandom tty)
 * plus linux.devices from the spec are created with mknod; where mknod is not
 * allowed (a user namespace) the host's node is bind-mounted over an empty
 * file instead.  Then the usual symlinks (fd, stdin/out/err, ptmx) and, with
 * a terminal, the console bound to /dev/console.  Whether a node may be
 * *used* is the devices cgroup's business (cgroup-v1.c / cgroup-v2.c). */
#include "spawn-internal.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const struct {
	const char *name;
	unsigned major, minor;
} default_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} default_links[] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

/* Bind the host's node `host` over an empty file `name` in dirfd. */
static int bind_node(int dirfd, const char *name, const char *host, RtChildErr *e)
{
	int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EEXIST)
		return rt_cerr_sys(e, errno, "create /dev/%s", name);
	if (fd >= 0)
		close(fd);
	int t = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (t < 0)
		return rt_cerr_sys(e, errno, "open /dev/%s", name);
	char p[32];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", t);
	int r = mount(host, p, NULL, MS_BIND, NULL);
	int er = errno;
	close(t);
	return r < 0 ? rt_cerr_sys(e, er, "bind %s to /dev/%s", host, name) : 0;
}

static int make_node(int dirfd, const char *name, mode_t type, unsigned major, unsigned minor, mode_t mode,
		     uid_t uid, gid_t gid, const char *host, RtChildErr *e)
{
	if (mknodat(dirfd, name, type | mode, makedev(major, minor)) < 0) {
		if (errno == EEXIST)
			return 0; /* the spec listed it already */
		if (errno != EPERM || !host)
			return rt_cerr_sys(e, errno, "mknod '%s'", host ? host : name);
		return bind_node(dirfd, name, host, e);
	}
	if ((uid || gid) && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return rt_cerr_sys(e, errno, "chown '%s'", name);
	return 0;
}

static int spec_devices(const RtConfig *cfg, int rootfd, RtChildErr *e)
{
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const RtDevice *d = &cfg->devices[i];
		const char *slash = strrchr(d->path, '/');
		char dir[4096];
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - d->path), d->path);
		int dfd = rt_path_open_in_root(rootfd, dir, true, true, e);
		if (dfd < 0)
			return dfd;
		int r = make_node(dfd, slash + 1, d->type, d->major, d->minor, d->mode, d->uid, d->gid,
				  d->path, e);
		close(dfd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The console fd was opened in the caller's mount namespace, whose mounts
 * cannot be bind sources here: bind the same path in our copy instead. */
static int bind_console(int devfd, int console_fd, RtChildErr *e)
{
	char fdp[32], src[256];
	snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", console_fd);
	ssize_t n = readlink(fdp, src, sizeof(src) - 1);
	if (n <= 0 || src[0] != '/')
		return rt_cerr_sys(e, n < 0 ? errno : EINVAL, "find the path of the terminal");
	src[n] = 0;
	return bind_node(devfd, "console", src, e);
}

int rt_dev_populate(const RtConfig *cfg, int rootfd, int console_fd, RtChildErr *e)
{
	int r = spec_devices(cfg, rootfd, e);
	if (r < 0)
		return r;
	int devfd = rt_path_open_in_root(rootfd, "/dev", false, true, e);
	if (devfd < 0)
		return devfd;
	for (size_t i = 0; i < ARRAY_SIZE(default_nodes) && r == 0; i++) {
		char host[32];
		snprintf(host, sizeof(host), "/dev/%s", default_nodes[i].name);
		r = make_node(devfd, default_nodes[i].name, S_IFCHR, default_nodes[i].major, default_nodes[i].minor,
			      0666, 0, 0, host, e);
	}
	for (size_t i = 0; i < ARRAY_SIZE(default_links) && r == 0; i++)
		if (symlinkat(default_links[i].target, devfd, default_links[i].name) < 0 && errno != EEXIST)
			r = rt_cerr_sys(e, errno, "symlink /dev/%s", default_links[i].name);
	if (r == 0 && console_fd >= 0 && cfg->proc.terminal)
		r = bind_console(devfd, console_fd, e);
	close(devfd);
	return r;
}
