/* tarsafe.c - tar extraction that is safe against hostile archives, and the
 * pipe that feeds it.
 *
 * Threat model: a layer or archive crafted to write outside the target
 * directory, to plant device nodes, or to leave a half-written layer behind.
 * Defences, in order:
 *   - every member path is cleaned first: "..", absolute paths and overlong
 *     names are rejected, so no path can name anything above the root;
 *   - parent directories are opened with openat2(RESOLVE_BENEATH |
 *     RESOLVE_NO_SYMLINKS) (or a component-by-component O_NOFOLLOW walk), so
 *     a symlink planted by an earlier member is never followed: `a -> /etc`
 *     followed by `a/passwd` is an error, not a write to /etc/passwd;
 *   - the last component is created with *at() calls that do not follow
 *     symlinks (O_NOFOLLOW | O_EXCL, AT_SYMLINK_NOFOLLOW), replacing what is
 *     there the way tar does;
 *   - hardlink targets are cleaned and resolved the same way, so they point
 *     inside the root;
 *   - device nodes are refused except the 0:0 char device that is an overlay
 *     whiteout; xattrs are filtered (no trusted.overlay.* except opaque);
 *   - truncated data is an error; the caller unpacks into a temp dir and
 *     renames it into place only on success.
 *
 * The pipe: an outer libarchive reader in "raw" mode decompresses the input
 * (gzip, bzip2, xz, zstd or none); its bytes are hashed (the diff_id), counted,
 * optionally re-compressed into a gzip blob, and fed to the inner tar reader.
 * One pass over the input gives the unpacked tree, the diff_id and the blob.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#define OVL_OPAQUE "trusted.overlay.opaque"

/* ---- paths ---- */

int tar_path_clean(const char *path, char **ret, Error **err)
{
	if (!path)
		return err_set(err, EINVAL, "archive member without a (UTF-8) name");
	size_t n = strlen(path);
	if (n > BERTH_MAX_TAR_ENTRY_NAME)
		return err_set(err, ENAMETOOLONG, "'%.64s...': name longer than %d bytes", path,
				BERTH_MAX_TAR_ENTRY_NAME);
	if (path[0] == '/')
		return err_set(err, EINVAL, "'%s': absolute path in archive", path);
	StrBuf sb = STRBUF_INIT;
	sb_grow(&sb, n);
	sb.buf[0] = 0;
	const char *p = path;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t cn = (size_t)(e - p);
		if (cn == 2 && p[0] == '.' && p[1] == '.') {
			sb_release(&sb);
			return err_set(err, EINVAL, "'%s': path escapes the archive root (\"..\")", path);
		}
		if (cn > 0 && !(cn == 1 && p[0] == '.')) {
			if (sb.len)
				sb_addc(&sb, '/');
			sb_add(&sb, p, cn);
		}
		p = *e ? e + 1 : e;
	}
	*ret = sb_detach(&sb);
	return 0;
}

static int walk_dir(int rootfd, const char *rel, bool create, Error **err)
{
	int cur = dup(rootfd);
	if (cur < 0)
		return err_sys(err, errno, "dup");
	_cleanup_free_ char *copy = xstrdup(rel);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int fd = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(cur);
				return err_sys(err, e, "mkdir '%s'", rel);
			}
			fd = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int e = errno;
			close(cur);
			if (e == ELOOP || e == ENOTDIR)
				return err_set(err, ELOOP, "component '%s' is a symlink or not a directory: "
						"writing through it is not allowed", c);
			return err_sys(err, e, "open '%s'", rel);
		}
		close(cur);
		cur = fd;
	}
	return cur;
}

int tar_open_dir(int rootfd, const char *rel, bool create, Error **err)
{
	if (!*rel)
		rel = ".";
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno == ENOENT && !create)
		return err_sys(err, ENOENT, "'%s'", rel);
	/* ENOSYS (old kernel), ENOENT (create parents), ELOOP/ENOTDIR (report which) */
	return walk_dir(rootfd, rel, create, err);
}

int tar_open_in_root(int rootfd, const char *rel, int flags, Error **err)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", rel);
	return fd;
}

int tar_remove_at(int dirfd, const char *name)
{
	return fs_rm_rf_at(dirfd, name);
}

/* ---- extraction ---- */

typedef struct DirTime {
	char *path;
	struct timespec ts[2];
} DirTime;

typedef struct Unpack {
	int rootfd;
	TarMode mode;
	TarResult *res;
	char *cache_path;     /* last parent directory opened */
	int cache_fd;
	DirTime *dirs;        /* directory times, applied at the end */
	size_t n_dirs, cap_dirs;
} Unpack;

static void unpack_release(Unpack *u)
{
	free(u->cache_path);
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
}

/* A borrowed fd for the parent directory `rel`; valid until the next call. */
static int unpack_parent(Unpack *u, const char *rel, Error **err)
{
	if (u->cache_path && !strcmp(u->cache_path, rel))
		return u->cache_fd;
	int fd = tar_open_dir(u->rootfd, rel, true, err);
	if (fd < 0)
		return fd;
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	free(u->cache_path);
	u->cache_path = xstrdup(rel);
	u->cache_fd = fd;
	return fd;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static bool xattr_allowed(const char *name, const void *value, size_t size)
{
	if (!strncmp(name, "user.", 5) || !strcmp(name, "security.capability") ||
	    !strcmp(name, "system.posix_acl_access") || !strcmp(name, "system.posix_acl_default"))
		return true;
	return !strcmp(name, OVL_OPAQUE) && size == 1 && *(const char *)value == 'y';
}

static int apply_xattrs(int fd, struct archive_entry *e, const char *name, Error **err)
{
	const char *xn;
	const void *xv;
	size_t xs;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
		if (xs > BERTH_MAX_XATTR_VALUE)
			return err_set(err, EFBIG, "'%s': xattr %s larger than %u bytes", name, xn,
				       BERTH_MAX_XATTR_VALUE);
		if (!xattr_allowed(xn, xv, xs))
			continue;
		if (fsetxattr(fd, xn, xv, xs, 0) < 0 && errno != ENOTSUP)
			return err_sys(err, errno, "'%s': set xattr %s", name, xn);
	}
	return 0;
}

/* owner, mode, xattrs (layers only) of an open file or directory */
static int apply_meta(Unpack *u, int fd, struct archive_entry *e, const char *name, Error **err)
{
	mode_t mode = archive_entry_perm(e);
	if (u->mode == TAR_LAYER) {
		if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
			return err_sys(err, errno, "'%s': chown", name);
		int r = apply_xattrs(fd, e, name, err);
		if (r < 0)
			return r;
	} else {
		mode = (mode & 0755) | 0600; /* archive members: ours, readable */
	}
	if (fchmod(fd, mode & 07777) < 0)
		return err_sys(err, errno, "'%s': chmod", name);
	return 0;
}

static int write_data(Unpack *u, struct archive *a, int fd, struct archive_entry *e, const char *name,
		      Error **err)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (size) {
			ssize_t w = pwrite(fd, p, size, off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return err_sys(err, errno, "'%s': write", name);
			p += w;
			off += w;
			size -= (size_t)w;
		}
	}
	if (r != ARCHIVE_EOF)
		return err_set(err, EIO, "'%s': read data: %s", name, archive_error_string(a) ?: "error");
	la_int64_t total = archive_entry_size(e);
	if (ftruncate(fd, total) < 0) /* sparse files end in a hole */
		return err_sys(err, errno, "'%s': truncate", name);
	u->res->content_size += (uint64_t)total;
	return 0;
}

/* Make room for a new `base` in pfd: tar semantics, the later member wins;
 * an existing directory stays when the new member is a directory too. */
static int replace_existing(int pfd, const char *base, bool new_is_dir, const char *name, Error **err)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "'%s': stat", name);
	if (S_ISDIR(st.st_mode) && new_is_dir)
		return 1;
	int r = tar_remove_at(pfd, base);
	if (r < 0)
		return err_sys(err, r, "'%s': remove existing", name);
	return 0;
}

static void remember_dir_time(Unpack *u, const char *rel, struct archive_entry *e)
{
	if (u->n_dirs == u->cap_dirs) {
		u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
		u->dirs = xrealloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
	}
	DirTime *d = &u->dirs[u->n_dirs++];
	d->path = xstrdup(rel);
	entry_times(e, d->ts);
}

static int unpack_whiteout(int pfd, const char *dir, const char *base, const char *name,
			   Error **err)
{
	if (!strcmp(base, ".wh..wh..opq")) {
		int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, errno, "'%s': open", dir);
		int r = fsetxattr(fd, OVL_OPAQUE, "y", 1, 0);
		int e = errno;
		close(fd);
		if (r < 0)
			return err_sys(err, e, "'%s': mark opaque (xattr %s)", name, OVL_OPAQUE);
		return 0;
	}
	if (!strncmp(base, ".wh..wh.", 8))
		return 0; /* aufs bookkeeping (.wh..wh.plnk etc.): nothing to do */
	const char *victim = base + 4;
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
		return err_set(err, EINVAL, "'%s': invalid whiteout", name);
	int r = replace_existing(pfd, victim, false, name, err);
	if (r < 0)
		return r;
	if (mknodat(pfd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return err_sys(err, errno, "'%s': create whiteout", name);
	return 0;
}

static int unpack_hardlink(Unpack *u, int pfd, const char *base, const char *name, const char *target,
			   Error **err)
{
	_cleanup_free_ char *t = NULL;
	int r = tar_path_clean(target, &t, err);
	if (r < 0)
		return err_prefix(err, "hardlink '%s'", name);
	if (!*t)
		return err_set(err, EINVAL, "hardlink '%s' -> '%s': target is the root", name, target);
	char *slash = strrchr(t, '/');
	const char *tbase = slash ? slash + 1 : t;
	if (slash)
		*slash = 0;
	_cleanup_close_ int tfd = tar_open_dir(u->rootfd, slash ? t : "", false, err);
	if (tfd < 0)
		return err_prefix(err, "hardlink '%s' -> '%s'", name, target);
	struct stat st;
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "hardlink '%s' -> '%s': target not in the archive", name, target);
	if (S_ISDIR(st.st_mode))
		return err_set(err, EINVAL, "hardlink '%s' -> '%s': target is a directory", name, target);
	struct stat cur;
	if (fstatat(pfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
	    cur.st_dev == st.st_dev)
		return 0;
	r = replace_existing(pfd, base, false, name, err);
	if (r < 0)
		return r;
	if (linkat(tfd, tbase, pfd, base, 0) < 0)
		return err_sys(err, errno, "hardlink '%s' -> '%s'", name, target);
	return 0;
}

static int unpack_file(Unpack *u, struct archive *a, int pfd, const char *base, const char *name,
		       struct archive_entry *e, Error **err)
{
	int r = replace_existing(pfd, base, false, name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, errno, "'%s': create", name);
	r = write_data(u, a, fd, e, name, err);
	if (r < 0)
		return r;
	r = apply_meta(u, fd, e, name, err);
	if (r < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	futimens(fd, ts);
	return 0;
}

static int unpack_dir(Unpack *u, int pfd, const char *rel, const char *base, const char *name,
		      struct archive_entry *e, Error **err)
{
	int fd;
	if (!*rel) {
		fd = dup(u->rootfd);
	} else {
		int r = replace_existing(pfd, base, true, name, err);
		if (r < 0)
			return r;
		if (r == 0 && mkdirat(pfd, base, 0700) < 0)
			return err_sys(err, errno, "'%s': mkdir", name);
		fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return err_sys(err, errno, "'%s': open", name);
	int r = apply_meta(u, fd, e, name, err);
	close(fd);
	if (r < 0)
		return r;
	remember_dir_time(u, rel, e);
	return 0;
}

static int unpack_special(Unpack *u, int pfd, const char *base, const char *name, struct archive_entry *e,
			  Error **err)
{
	mode_t type = archive_entry_filetype(e);
	dev_t rdev = archive_entry_rdev(e);
	if (type == AE_IFSOCK)
		return 0; /* sockets are not content */
	if (u->mode != TAR_LAYER)
		return err_set(err, EINVAL, "'%s': special files are not allowed in an image archive", name);
	if (type == AE_IFBLK || (type == AE_IFCHR && rdev != makedev(0, 0)))
		return err_set(err, EPERM, "'%s': %s device %u:%u is not allowed in an image layer "
			       "(only whiteouts, char 0:0)", name, type == AE_IFBLK ? "block" : "char",
			       major(rdev), minor(rdev));
	int r = replace_existing(pfd, base, false, name, err);
	if (r < 0)
		return r;
	if (mknodat(pfd, base, (type == AE_IFIFO ? S_IFIFO : S_IFCHR) | (archive_entry_perm(e) & 0777),
		    type == AE_IFIFO ? 0 : makedev(0, 0)) < 0)
		return err_sys(err, errno, "'%s': mknod", name);
	if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "'%s': chown", name);
	struct timespec ts[2];
	entry_times(e, ts);
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int unpack_symlink(Unpack *u, int pfd, const char *base, const char *name, struct archive_entry *e,
			  Error **err)
{
	const char *target = archive_entry_symlink(e);
	if (!target || !*target || strlen(target) > BERTH_MAX_TAR_ENTRY_NAME)
		return err_set(err, EINVAL, "'%s': invalid symlink target", name);
	int r = replace_existing(pfd, base, false, name, err);
	if (r < 0)
		return r;
	if (symlinkat(target, pfd, base) < 0)
		return err_sys(err, errno, "'%s': symlink", name);
	if (u->mode == TAR_LAYER &&
	    fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "'%s': chown", name);
	struct timespec ts[2];
	entry_times(e, ts);
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int unpack_entry(Unpack *u, struct archive *a, struct archive_entry *e, Error **err)
{
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *rel = NULL;
	int r = tar_path_clean(name, &rel, err);
	if (r < 0)
		return r;
	u->res->entries++;
	char *slash = strrchr(rel, '/');
	_cleanup_free_ char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
	const char *base = slash ? slash + 1 : rel;
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	if (!*rel) {
		if (hardlink || type != AE_IFDIR)
			return err_set(err, EINVAL, "'%s': the root must be a directory", name);
		return u->mode == TAR_LAYER ? unpack_dir(u, -1, "", "", name, e, err) : 0;
	}
	int pfd = unpack_parent(u, dir, err);
	if (pfd < 0)
		return err_prefix(err, "'%s'", name);
	if (u->mode == TAR_LAYER && !strncmp(base, ".wh.", 4))
		return unpack_whiteout(pfd, dir, base, name, err);
	if (hardlink)
		return unpack_hardlink(u, pfd, base, name, hardlink, err);
	switch (type) {
	case AE_IFREG:
		return unpack_file(u, a, pfd, base, name, e, err);
	case AE_IFDIR:
		return unpack_dir(u, pfd, rel, base, name, e, err);
	case AE_IFLNK:
		return unpack_symlink(u, pfd, base, name, e, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		return unpack_special(u, pfd, base, name, e, err);
	default:
		return err_set(err, EINVAL, "'%s': unknown member type 0%o", name, (unsigned)type);
	}
}

static void apply_dir_times(Unpack *u)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		int fd = tar_open_dir(u->rootfd, u->dirs[i].path, false, NULL);
		if (fd < 0)
			continue;
		futimens(fd, u->dirs[i].ts);
		close(fd);
	}
}

/* ---- the pipe ---- */

typedef struct Pipe {
	struct archive *outer;
	Sha256 *hash;
	struct archive *gz;  /* gzip writer into the blob, or NULL */
	uint64_t n;
	bool eof;
	char buf[1 << 16];
} Pipe;

static la_ssize_t pipe_read(struct archive *a, void *ud, const void **out)
{
	Pipe *p = ud;
	if (p->eof)
		return 0;
	la_ssize_t r = archive_read_data(p->outer, p->buf, sizeof(p->buf));
	if (r < 0) {
		archive_set_error(a, EIO, "decompress: %s", archive_error_string(p->outer) ?: "error");
		return -1;
	}
	if (r == 0) {
		p->eof = true;
		return 0;
	}
	sha256_update(p->hash, p->buf, (size_t)r);
	if (p->gz && archive_write_data(p->gz, p->buf, (size_t)r) != r) {
		archive_set_error(a, EIO, "compress: %s", archive_error_string(p->gz) ?: "error");
		return -1;
	}
	p->n += (uint64_t)r;
	*out = p->buf;
	return r;
}

static la_ssize_t input_read(struct archive *a, void *ud, const void **out)
{
	const TarInput *in = ud;
	ssize_t n = in->read(in->ud, out);
	if (n < 0) {
		archive_set_error(a, EIO, "input stream broken off");
		return -1;
	}
	return (la_ssize_t)n;
}

static struct archive *decompressor_open(const TarInput *in, bool *ret_empty, Error **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	archive_read_support_format_empty(a);
	struct archive_entry *e;
	int r = in->fd >= 0 ? archive_read_open_fd(a, in->fd, 1 << 16)
			    : archive_read_open(a, (void *)in, NULL, input_read, NULL);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF) {
		err_set(err, EINVAL, "read: %s", archive_error_string(a) ?: "unreadable input");
		archive_read_free(a);
		return NULL;
	}
	*ret_empty = r == ARCHIVE_EOF;
	return a;
}

struct archive *tar_decompressor_open(int fd, bool *ret_empty, Error **err)
{
	TarInput in = { .fd = fd };
	return decompressor_open(&in, ret_empty, err);
}

static la_ssize_t gz_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	Error *e = NULL;
	if (blob_writer_write(ud, buf, n, &e) < 0) {
		archive_set_error(a, EIO, "%s", err_msg(e));
		err_free(e);
		return -1;
	}
	return (la_ssize_t)n;
}

/* A gzip writer (raw format: the bytes as they are) into a blob. */
struct archive *tar_gzip_writer_open(BlobWriter *w, Error **err)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_filter_option(a, "gzip", "timestamp", NULL); /* reproducible: no mtime */
	archive_write_set_format_raw(a);
	archive_write_set_bytes_per_block(a, 0);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "layer.tar");
	if (archive_write_open(a, w, NULL, gz_write_cb, NULL) != ARCHIVE_OK ||
	    archive_write_header(a, e) != ARCHIVE_OK) {
		err_set(err, EIO, "gzip: %s", archive_error_string(a) ?: "cannot start");
		archive_entry_free(e);
		archive_write_free(a);
		return NULL;
	}
	archive_entry_free(e);
	return a;
}

int tar_gzip_writer_close(struct archive *a, Error **err)
{
	int r = archive_write_close(a);
	if (r != ARCHIVE_OK)
		err_set(err, EIO, "gzip: %s", archive_error_string(a) ?: "close failed");
	archive_write_free(a);
	return r == ARCHIVE_OK ? 0 : -EIO;
}

static int unpack_all(Unpack *u, struct archive *inner, Pipe *p, Error **err)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(inner, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		r = unpack_entry(u, inner, e, err);
		if (r < 0)
			return r;
	}
	if (r != ARCHIVE_EOF)
		return err_set(err, EINVAL, "read tar: %s", archive_error_string(inner) ?: "unreadable");
	/* hash what the tar reader did not need (end blocks, padding) */
	const void *ignored;
	la_ssize_t n;
	while ((n = pipe_read(inner, p, &ignored)) > 0)
		;
	if (n < 0)
		return err_set(err, EIO, "read tar: %s", archive_error_string(inner) ?: "error");
	apply_dir_times(u);
	return 0;
}

int tar_unpack_stream(int in_fd, int rootfd, TarMode mode, BlobWriter *gzw, TarResult *ret, Error **err)
{
	TarInput in = { .fd = in_fd };
	return tar_unpack_input(&in, rootfd, mode, gzw, ret, err);
}

int tar_unpack_input(const TarInput *in, int rootfd, TarMode mode, BlobWriter *gzw, TarResult *ret, Error **err)
{
	*ret = (TarResult){ 0 };
	Pipe *p = xcalloc(1, sizeof(*p));
	p->outer = decompressor_open(in, &p->eof, err);
	if (!p->outer) {
		free(p);
		return -EINVAL;
	}
	p->hash = sha256_new();
	int r = 0;
	if (gzw) {
		p->gz = tar_gzip_writer_open(gzw, err);
		if (!p->gz)
			r = -EIO;
	}
	struct archive *inner = archive_read_new();
	archive_read_support_format_tar(inner);
	archive_read_support_format_empty(inner);
	Unpack u = { .rootfd = rootfd, .mode = mode, .res = ret, .cache_fd = -1 };
	if (r == 0 && archive_read_open(inner, p, NULL, pipe_read, NULL) != ARCHIVE_OK)
		r = err_set(err, EINVAL, "read tar: %s", archive_error_string(inner) ?: "not a tar archive");
	if (r == 0)
		r = unpack_all(&u, inner, p, err);
	unpack_release(&u);
	archive_read_free(inner);
	archive_read_free(p->outer);
	if (p->gz) {
		if (r == 0)
			r = tar_gzip_writer_close(p->gz, err);
		else
			archive_write_free(p->gz);
	}
	ret->tar_size = p->n;
	sha256_final(p->hash, ret->diff_id);
	free(p);
	return r;
}
