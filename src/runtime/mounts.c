/* mounts.c - the container's filesystem view, built in its new mount
 * namespace: root propagation, the overlay (or bind) root, the spec's mounts,
 * pivot_root, sysctls, masked and read-only paths, a read-only root.
 *
 * Every mount destination is resolved inside the rootfs with openat2
 * (RESOLVE_IN_ROOT) and mounted on /proc/self/fd/N, so a symlink in an image
 * (/proc -> /) can never redirect a mount onto the host.  After a mount the
 * destination is resolved again for remounts (ro binds, propagation): the old
 * fd still names the directory under the new mount. */
#include "spawn-internal.h"
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static void fd_path(char buf[32], int fd)
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

static int open_in_root(int rootfd, const char *path, bool create, bool dir, int depth, RtChildErr *e);

/* prefix exists as a symlink whose target is missing: create the target
 * (resolved inside the root, as the kernel would resolve the link) */
static int create_link_target(int rootfd, int parent, const char *prefix, const char *name, int depth,
			      RtChildErr *e)
{
	char target[PATH_MAX], full[PATH_MAX];
	ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
	if (n <= 0)
		return rt_cerr_sys(e, n < 0 ? errno : EINVAL, "create '/%s' in the rootfs", prefix);
	target[n] = 0;
	const char *slash = strrchr(prefix, '/');
	int dirlen = target[0] == '/' || !slash ? 0 : (int)(slash - prefix);
	int len = snprintf(full, sizeof(full), "%.*s/%s", dirlen, prefix, target);
	if (len < 0 || (size_t)len >= sizeof(full))
		return rt_cerr(e, ENAMETOOLONG, "symlink target of '/%s' is too long", prefix);
	int fd = open_in_root(rootfd, full, true, true, depth + 1, e);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int open_in_root(int rootfd, const char *path, bool create, bool dir, int depth, RtChildErr *e)
{
	while (*path == '/')
		path++;
	if (depth > 8)
		return rt_cerr(e, ELOOP, "too many symlinks creating '/%s' in the rootfs", path);
	if (!*path)
		return openat2_in_root(rootfd, ".", O_PATH);
	int fd = openat2_in_root(rootfd, path, O_PATH);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd >= 0 ? fd : rt_cerr_sys(e, errno, "open '/%s' in the rootfs", path);
	/* create missing components one by one, each resolved from the root */
	char prefix[PATH_MAX];
	int parent = openat2_in_root(rootfd, ".", O_PATH);
	for (const char *p = path; *p && parent >= 0;) {
		size_t len = strcspn(p, "/");
		bool last = p[len + strspn(p + len, "/")] == 0;
		size_t plen = (size_t)(p - path) + len;
		if (plen >= sizeof(prefix) || len > NAME_MAX) {
			close(parent);
			return rt_cerr(e, ENAMETOOLONG, "path '/%s' is too long", path);
		}
		memcpy(prefix, path, plen);
		prefix[plen] = 0;
		char name[NAME_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		int next = openat2_in_root(rootfd, prefix, O_PATH);
		if (next < 0 && errno == ENOENT) {
			int r = (last && !dir) ? mknodat(parent, name, S_IFREG | 0644, 0) : mkdirat(parent, name, 0755);
			if (r < 0 && errno == EEXIST)
				r = create_link_target(rootfd, parent, prefix, name, depth, e);
			else if (r < 0)
				r = rt_cerr_sys(e, errno, "create '/%s' in the rootfs", prefix);
			if (r < 0) {
				close(parent);
				return r;
			}
			next = openat2_in_root(rootfd, prefix, O_PATH);
		}
		close(parent);
		if (next < 0)
			return rt_cerr_sys(e, errno, "open '/%s' in the rootfs", prefix);
		parent = next;
		p += len;
		p += strspn(p, "/");
	}
	return parent;
}

int rt_path_open_in_root(int rootfd, const char *path, bool create, bool dir, RtChildErr *e)
{
	return open_in_root(rootfd, path, create, dir, 0, e);
}

/* ------------------------------------------------------------ one mount */

/* Flags a remount must keep or the kernel refuses it (locked in a user
 * namespace) - harmless to keep elsewhere too. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	return f;
}

/* Re-resolve dest (now a mount point) and remount / set propagation. */
static int mount_finish(int rootfd, const RtMount *m, bool remount, RtChildErr *e)
{
	if (!remount && !m->propagation)
		return 0;
	int fd = rt_path_open_in_root(rootfd, m->dest, false, false, e);
	if (fd < 0)
		return fd;
	char p[32];
	fd_path(p, fd);
	int r = 0;
	if (remount) {
		unsigned long fl = MS_REMOUNT | MS_BIND | (m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | locked_flags(p);
		if (mount(NULL, p, NULL, fl, NULL) < 0)
			r = rt_cerr_sys(e, errno, "remount '%s' with its options", m->dest);
	}
	if (r == 0 && m->propagation && mount(NULL, p, NULL, m->propagation, NULL) < 0)
		r = rt_cerr_sys(e, errno, "set the propagation of '%s'", m->dest);
	close(fd);
	return r;
}

static int mount_bind(int rootfd, const RtMount *m, const char *src, RtChildErr *e)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return rt_cerr_sys(e, errno, "bind mount '%s' on '%s': source", src, m->dest);
	int fd = rt_path_open_in_root(rootfd, m->dest, true, S_ISDIR(st.st_mode), e);
	if (fd < 0)
		return fd;
	char p[32];
	fd_path(p, fd);
	int r = mount(src, p, NULL, MS_BIND | (m->flags & MS_REC), NULL);
	int er = errno;
	close(fd);
	if (r < 0)
		return rt_cerr_sys(e, er, "bind mount '%s' on '%s'", src, m->dest);
	bool remount = (m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0;
	return mount_finish(rootfd, m, remount, e);
}

/* v1: a read-only tmpfs with one cgroup mount per hierarchy (and symlinks
 * for co-mounted controllers); v2: one cgroup2 mount.  Inside the container's
 * cgroup namespace both show the container's own cgroup as the root. */
static int mount_cgroup(const RtConfig *cfg, int rootfd, const RtMount *m, RtChildErr *e)
{
	unsigned long fl = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
	int fd = rt_path_open_in_root(rootfd, m->dest, true, true, e);
	if (fd < 0)
		return fd;
	char p[32];
	fd_path(p, fd);
	if (cfg->cgroup2) {
		int r = mount("cgroup2", p, "cgroup2", fl, NULL);
		int er = errno;
		close(fd);
		return r < 0 ? rt_cerr_sys(e, er, "mount cgroup2 on '%s'", m->dest) : 0;
	}
	int r = mount("tmpfs", p, "tmpfs", fl & ~MS_RDONLY, "mode=755");
	int er = errno;
	close(fd);
	if (r < 0)
		return rt_cerr_sys(e, er, "mount tmpfs on '%s'", m->dest);
	int top = rt_path_open_in_root(rootfd, m->dest, false, true, e);
	if (top < 0)
		return top;
	char tp[32];
	fd_path(tp, top);
	for (size_t i = 0; i < cfg->n_cgmounts && r == 0; i++) {
		const RtCgroupMount *c = &cfg->cgmounts[i];
		if (mkdirat(top, c->dir, 0755) < 0 && errno != EEXIST) {
			r = rt_cerr_sys(e, errno, "create '%s/%s'", m->dest, c->dir);
			break;
		}
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", tp, c->dir);
		if (mount("cgroup", sub, "cgroup", fl, c->opts) < 0) {
			r = rt_cerr_sys(e, errno, "mount cgroup '%s' on '%s/%s'", c->opts, m->dest, c->dir);
			break;
		}
		if (!strchr(c->dir, ','))
			continue;
		/* "cpu,cpuacct": also reachable as cpu and cpuacct */
		char names[256];
		snprintf(names, sizeof(names), "%s", c->dir);
		char *save = NULL;
		for (char *n = strtok_r(names, ",", &save); n && r == 0; n = strtok_r(NULL, ",", &save))
			if (symlinkat(c->dir, top, n) < 0 && errno != EEXIST)
				r = rt_cerr_sys(e, errno, "symlink '%s/%s'", m->dest, n);
	}
	if (r == 0 && (fl & MS_RDONLY) && mount(NULL, tp, NULL, MS_REMOUNT | fl, "mode=755") < 0)
		r = rt_cerr_sys(e, errno, "remount '%s' read-only", m->dest);
	close(top);
	return r;
}

static int mount_one(const RtConfig *cfg, int rootfd, const RtMount *m, RtChildErr *e)
{
	if (m->flags & MS_BIND)
		return mount_bind(rootfd, m, m->source, e);
	if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"))
		return mount_cgroup(cfg, rootfd, m, e);
	int fd = rt_path_open_in_root(rootfd, m->dest, true, true, e);
	if (fd < 0)
		return fd;
	char p[32];
	fd_path(p, fd);
	int r = mount(m->source ? m->source : m->type, p, m->type, m->flags & ~MS_REMOUNT, m->data);
	int er = errno;
	close(fd);
	if (r < 0 && er == EPERM && (!strcmp(m->type, "sysfs") || !strcmp(m->type, "mqueue"))) {
		/* no network/ipc namespace of our own: show the host's, as runc does */
		RtMount b = *m;
		b.flags |= MS_BIND | MS_REC;
		return mount_bind(rootfd, &b, m->dest, e);
	}
	if (r < 0)
		return rt_cerr_sys(e, er, "mount %s on '%s'", m->type, m->dest);
	return mount_finish(rootfd, m, false, e);
}

/* --------------------------------------------------------------- pivot */

static bool root_is_initramfs(void)
{
	struct statfs sf;
	return statfs("/", &sf) == 0 && (sf.f_type == RAMFS_MAGIC || sf.f_type == TMPFS_MAGIC);
}

/* pivot_root(".", ".") stacks the old root on top of the new one; detaching
 * "." then leaves only the container's root.  On an initramfs root (no
 * pivot_root possible) move the rootfs over / and chroot instead. */
static int pivot(const char *rootfs, RtChildErr *e)
{
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return rt_cerr_sys(e, errno, "open /");
	if (chdir(rootfs) < 0) {
		close(oldroot);
		return rt_cerr_sys(e, errno, "chdir to the rootfs '%s'", rootfs);
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		int er = errno;
		close(oldroot);
		if (er != EINVAL || !root_is_initramfs())
			return rt_cerr_sys(e, er, "pivot_root to '%s'", rootfs);
		if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return rt_cerr_sys(e, errno, "move the rootfs '%s' to / (initramfs)", rootfs);
		return chdir("/") < 0 ? rt_cerr_sys(e, errno, "chdir /") : 0;
	}
	int r = fchdir(oldroot);
	close(oldroot);
	if (r < 0)
		return rt_cerr_sys(e, errno, "fchdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return rt_cerr_sys(e, errno, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return rt_cerr_sys(e, errno, "detach the old root");
	return chdir("/") < 0 ? rt_cerr_sys(e, errno, "chdir /") : 0;
}

/* ------------------------------------------------ after pivot_root */

static int write_sysctls(char **kv, RtChildErr *e)
{
	for (size_t i = 0; kv && kv[i]; i += 2) {
		int fd = open(kv[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return rt_cerr_sys(e, errno, "sysctl '%s'", kv[i] + 10);
		ssize_t n = write(fd, kv[i + 1], strlen(kv[i + 1]));
		int er = errno;
		close(fd);
		if (n < 0)
			return rt_cerr_sys(e, er, "sysctl '%s' = '%s'", kv[i] + 10, kv[i + 1]);
	}
	return 0;
}

/* Files get /dev/null bound over them, directories an empty read-only tmpfs. */
static int mask_paths(char **paths, RtChildErr *e)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		struct stat st;
		if (stat(paths[i], &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return rt_cerr_sys(e, errno, "mask '%s'", paths[i]);
		}
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", paths[i], "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", paths[i], NULL, MS_BIND, NULL);
		if (r < 0)
			return rt_cerr_sys(e, errno, "mask '%s'", paths[i]);
	}
	return 0;
}

static int readonly_paths(char **paths, RtChildErr *e)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		if (mount(paths[i], paths[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return rt_cerr_sys(e, errno, "bind '%s' read-only", paths[i]);
		}
		unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(paths[i]);
		if (mount(NULL, paths[i], NULL, fl, NULL) < 0)
			return rt_cerr_sys(e, errno, "remount '%s' read-only", paths[i]);
	}
	return 0;
}

/* ------------------------------------------------------------ the order */

static int setup_root(const RtConfig *cfg, RtChildErr *e)
{
	unsigned long prop = cfg->root_propagation ? cfg->root_propagation : MS_SLAVE | MS_REC;
	/* first: nothing done in here may propagate back to the host */
	unsigned long first = MS_REC | (prop & MS_PRIVATE ? MS_PRIVATE : MS_SLAVE);
	if (mount(NULL, "/", NULL, first, NULL) < 0)
		return rt_cerr_sys(e, errno, "make / a %s mount", first & MS_PRIVATE ? "private" : "slave");
	if (cfg->overlay_data) {
		if (chdir(cfg->overlay_dir) < 0)
			return rt_cerr_sys(e, errno, "chdir to the overlay directory '%s'", cfg->overlay_dir);
		if (mount("overlay", cfg->rootfs, "overlay", 0, cfg->overlay_data) < 0)
			return rt_cerr_sys(e, errno, "mount the overlay rootfs on '%s'", cfg->rootfs);
	} else if (mount(cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return rt_cerr_sys(e, errno, "bind the rootfs '%s'", cfg->rootfs);
	}
	if ((prop & (MS_SHARED | MS_UNBINDABLE)) && mount(NULL, cfg->rootfs, NULL, prop, NULL) < 0)
		return rt_cerr_sys(e, errno, "set the rootfs propagation");
	return 0;
}

static bool dev_is_tmpfs(const RtConfig *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (!strcmp(cfg->mounts[i].dest, "/dev"))
			return cfg->mounts[i].type && !strcmp(cfg->mounts[i].type, "tmpfs");
	return false;
}

static int remount_root_ro(RtChildErr *e)
{
	unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/");
	return mount(NULL, "/", NULL, fl, NULL) < 0 ? rt_cerr_sys(e, errno, "remount / read-only") : 0;
}

int rt_rootfs_setup(const RtConfig *cfg, int console_fd, RtChildErr *e)
{
	int r = setup_root(cfg, e);
	if (r < 0)
		return r;
	int rootfd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return rt_cerr_sys(e, errno, "open the rootfs '%s'", cfg->rootfs);
	for (size_t i = 0; i < cfg->n_mounts && r == 0; i++)
		r = mount_one(cfg, rootfd, &cfg->mounts[i], e);
	if (r == 0 && dev_is_tmpfs(cfg))
		r = rt_dev_populate(cfg, rootfd, console_fd, e);
	close(rootfd);
	if (r < 0 || (r = pivot(cfg->rootfs, e)) < 0)
		return r;
	if ((r = write_sysctls(cfg->sysctl, e)) < 0 || (r = mask_paths(cfg->masked, e)) < 0 ||
	    (r = readonly_paths(cfg->readonly, e)) < 0)
		return r;
	return cfg->root_readonly ? remount_root_ro(e) : 0;
}
