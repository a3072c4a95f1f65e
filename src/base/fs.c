/* fs.c - see fs.h.  rm -rf is written with openat/unlinkat so it cannot be
 * tricked by symlinks and does not descend into other mounts. */
#include "fs.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode, Error **err)
{
	/* fast path: the parent usually exists */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return err_sys(err, errno, "mkdir '%s'", path);
	_cleanup_free_ char *p = xstrdup(path);
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return err_sys(err, errno, "mkdir '%s'", p);
		p[i] = c;
	}
	return 0;
}

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len, Error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "stat '%s'", path);
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
		return err_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max)
				return err_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(err, errno, "read '%s'", path);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int fs_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t fs_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable,
			 Error **err)
{
	/* a unique temp name: threads of one process may replace the same file */
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "create '%s'", tmp);
	if (fchmod(fd, mode) < 0) {
		int e = errno;
		unlink(tmp);
		return err_sys(err, e, "chmod '%s'", tmp);
	}
	int r = fs_write_all(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return err_sys(err, -r, "write '%s'", tmp);
	}
	if (rename(tmp, path) < 0) {
		r = errno;
		unlink(tmp);
		return err_sys(err, r, "rename '%s'", path);
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, Error **err)
{
	return write_replace(path, data, len, mode, true, err);
}

int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode, Error **err)
{
	return write_replace(path, data, len, mode, false, err);
}

static int rm_rf_at(int dirfd, dev_t dev)
{
	_cleanup_closedir_ DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -errno;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) {
				ret = -EBUSY; /* a mount point: never descend */
				continue;
			}
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				ret = -errno;
				continue;
			}
			int r = rm_rf_at(sub, dev);
			if (r < 0)
				ret = r;
			if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && ret == 0)
				ret = -errno;
		} else if (unlinkat(dirfd, de->d_name, 0) < 0 && ret == 0) {
			ret = -errno;
		}
	}
	return ret;
}

int fs_rm_rf_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int r = rm_rf_at(fd, st.st_dev);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && r == 0)
		r = -errno;
	return r;
}

int fs_rm_rf(const char *path, Error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_sys(err, errno, "stat '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return err_sys(err, errno, "remove '%s'", path);
		return 0;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	int r = rm_rf_at(fd, st.st_dev);
	if (r < 0)
		return err_sys(err, -r, "remove contents of '%s'", path);
	if (rmdir(path) < 0 && errno != ENOENT)
		return err_sys(err, errno, "remove '%s'", path);
	return 0;
}

bool fs_exists(const char *path) { return access(path, F_OK) == 0; }

bool fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (*b == '/')
		b++;
	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

int fs_copy_fd(int in, int out)
{
	char buf[65536];
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		int w = fs_write_all(out, buf, (size_t)r);
		if (w < 0)
			return w;
	}
}
