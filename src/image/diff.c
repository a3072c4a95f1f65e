/* diff.c - walking a directory tree into a tar: a container's upperdir into
 * an OCI layer (commit), a merged root into a plain tarball (export), and the
 * A/C/D listing of `berth diff`.
 *
 * Overlay keeps deletions as 0:0 char devices and replaced directories as
 * directories with trusted.overlay.opaque=y; an OCI layer says the same with
 * ".wh.NAME" and "DIR/.wh..wh..opq" entries.  The walk is sorted by name so
 * the same tree always gives the same tar bytes, never crosses into another
 * filesystem and never follows a symlink.  Hardlinked files become tar
 * hardlinks (libarchive's link resolver).  Device nodes other than whiteouts
 * are left out of layers: the unpacker would refuse them.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/strbuf.h"
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

typedef struct Walk {
	struct archive *w;
	bool as_layer;
	dev_t dev;
	struct archive_entry_linkresolver *lr;
	StrBuf path;   /* relative path of the directory being walked, "" or "a/b/" */
	int64_t clamp; /* >= 0: later mtimes are written as this */
} Walk;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dfd (without . and ..); NULL-terminated, caller frees. */
static char **list_dir(int dfd, Error **err)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		err_sys(err, errno, "read directory");
		return NULL;
	}
	rewinddir(d);
	size_t n = 0, cap = 16;
	char **v = xmalloc(cap * sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(char *));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	v[n] = NULL;
	qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool keep_xattr(const char *name)
{
	return !strncmp(name, "user.", 5) || !strcmp(name, "security.capability");
}

static void copy_xattrs(struct archive_entry *e, int fd)
{
	char names[4096];
	ssize_t n = flistxattr(fd, names, sizeof(names));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *xn = names + i;
		if (!keep_xattr(xn))
			continue;
		char val[4096];
		ssize_t vn = fgetxattr(fd, xn, val, sizeof(val));
		if (vn >= 0)
			archive_entry_xattr_add_entry(e, xn, val, (size_t)vn);
	}
}

static struct archive_entry *entry_from_stat(const char *rel, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, rel);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	archive_entry_set_dev(e, st->st_dev);
	archive_entry_set_ino64(e, (la_int64_t)st->st_ino);
	archive_entry_set_nlink(e, (unsigned)st->st_nlink);
	if (S_ISREG(st->st_mode))
		archive_entry_set_size(e, st->st_size);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		archive_entry_set_rdev(e, st->st_rdev);
	return e;
}

static int write_header(Walk *wk, struct archive_entry *e, Error **err)
{
	if (wk->clamp >= 0 && archive_entry_mtime(e) >= wk->clamp)
		archive_entry_set_mtime(e, wk->clamp, 0);
	if (archive_write_header(wk->w, e) < ARCHIVE_WARN)
		return err_set(err, EIO, "'%s': write tar header: %s", archive_entry_pathname(e),
			       archive_error_string(wk->w) ?: "error");
	return 0;
}

static int write_file_data(Walk *wk, int fd, int64_t size, const char *rel, Error **err)
{
	char buf[1 << 16];
	int64_t left = size;
	while (left > 0) {
		ssize_t r = read(fd, buf, (size_t)(left < (int64_t)sizeof(buf) ? left : (int64_t)sizeof(buf)));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(err, errno, "read '%s'", rel);
		if (r == 0) { /* the file shrank while we read it: pad */
			memset(buf, 0, sizeof(buf));
			r = left < (int64_t)sizeof(buf) ? (ssize_t)left : (ssize_t)sizeof(buf);
		}
		if (archive_write_data(wk->w, buf, (size_t)r) != r)
			return err_set(err, EIO, "'%s': write tar data: %s", rel,
				       archive_error_string(wk->w) ?: "error");
		left -= r;
	}
	return 0;
}

static int walk_dir(Walk *wk, int dfd, Error **err);

static int walk_one(Walk *wk, int dfd, const char *name, Error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat '%s%s'", wk->path.buf, name);
	_cleanup_free_ char *rel = xasprintf("%s%s", wk->path.buf, name);
	if (wk->as_layer && is_whiteout(&st)) {
		_cleanup_free_ char *wh = xasprintf("%s.wh.%s", wk->path.buf, name);
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, wh);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0);
		archive_entry_set_size(e, 0);
		archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		int r = write_header(wk, e, err);
		archive_entry_free(e);
		return r;
	}
	if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && wk->as_layer)
		return 0;
	if (S_ISSOCK(st.st_mode))
		return 0;
	struct archive_entry *e = entry_from_stat(rel, &st);
	int r = 0;
	_cleanup_close_ int fd = -1;
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0) {
			archive_entry_free(e);
			return err_sys(err, errno, "open '%s'", rel);
		}
		copy_xattrs(e, fd);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			archive_entry_free(e);
			return err_sys(err, errno, "readlink '%s'", rel);
		}
		target[n] = 0;
		archive_entry_set_symlink(e, target);
	}
	if (S_ISREG(st.st_mode)) {
		struct archive_entry *spare = NULL;
		archive_entry_linkify(wk->lr, &e, &spare);
		archive_entry_free(spare);
		if (!e)
			return 0;
	}
	r = write_header(wk, e, err);
	bool hardlink = archive_entry_hardlink(e) != NULL;
	archive_entry_free(e);
	if (r < 0)
		return r;
	if (S_ISREG(st.st_mode) && !hardlink)
		return write_file_data(wk, fd, st.st_size, rel, err);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (wk->as_layer) {
		char v[2];
		if (fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y') {
			_cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", rel);
			struct archive_entry *o = archive_entry_new();
			archive_entry_set_pathname(o, opq);
			archive_entry_set_filetype(o, AE_IFREG);
			archive_entry_set_perm(o, 0);
			archive_entry_set_size(o, 0);
			archive_entry_set_mtime(o, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
			r = write_header(wk, o, err);
			archive_entry_free(o);
			if (r < 0)
				return r;
		}
	}
	if (st.st_dev != wk->dev)
		return 0; /* a mount point: its own contents are not ours */
	size_t saved = wk->path.len;
	sb_addf(&wk->path, "%s/", name);
	r = walk_dir(wk, fd, err);
	wk->path.len = saved;
	wk->path.buf[saved] = 0;
	return r;
}

static int walk_dir(Walk *wk, int dfd, Error **err)
{
	_cleanup_strv_ char **names = list_dir(dfd, err);
	if (!names)
		return -EIO;
	for (char **n = names; *n; n++) {
		int r = walk_one(wk, dfd, *n, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int diff_write_tree(struct archive *w, const char *dir, bool as_layer, Error **err)
{
	return diff_write_tree_clamped(w, dir, as_layer, -1, err);
}

int diff_write_tree_clamped(struct archive *w, const char *dir, bool as_layer, int64_t clamp, Error **err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", dir);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "stat '%s'", dir);
	Walk wk = { .w = w, .as_layer = as_layer, .dev = st.st_dev, .clamp = clamp };
	sb_init(&wk.path);
	sb_adds(&wk.path, "");
	wk.lr = archive_entry_linkresolver_new();
	archive_entry_linkresolver_set_strategy(wk.lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	int r = walk_dir(&wk, fd, err);
	archive_entry_linkresolver_free(wk.lr);
	sb_release(&wk.path);
	return r;
}

/* ---- a layer tar writer: tar bytes -> sha256 (diff_id) + gzip blob ---- */

struct LayerTarWriter {
	BlobWriter bw;
	struct archive *gz;
	struct archive *w;
	Sha256 *hash;
	uint64_t n;
	LayerCompressor *comp;  /* instead of gz (layer_tar_writer_open_ex) */
};

static la_ssize_t ltw_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	LayerTarWriter *lw = ud;
	sha256_update(lw->hash, buf, n);
	lw->n += n;
	if (lw->comp) {
		Error *e = NULL;
		if (compressor_write(lw->comp, buf, n, &e) < 0) {
			archive_set_error(a, EIO, "compress: %s", err_msg(e));
			err_free(e);
			return -1;
		}
		return (la_ssize_t)n;
	}
	if (archive_write_data(lw->gz, buf, n) != (la_ssize_t)n) {
		archive_set_error(a, EIO, "compress: %s", archive_error_string(lw->gz) ?: "error");
		return -1;
	}
	return (la_ssize_t)n;
}

void layer_tar_writer_abort(LayerTarWriter *lw)
{
	if (!lw)
		return;
	if (lw->w)
		archive_write_free(lw->w);
	if (lw->gz)
		archive_write_free(lw->gz);
	compressor_abort(lw->comp);
	sha256_free(lw->hash);
	blob_writer_abort(&lw->bw);
	free(lw);
}

static int ltw_open(ImgStore *s, int comp, LayerTarWriter **ret, struct archive **ret_w, Error **err)
{
	LayerTarWriter *lw = xcalloc(1, sizeof(*lw));
	int r = blob_writer_open(s, &lw->bw, err);
	if (r < 0) {
		free(lw);
		return r;
	}
	lw->hash = sha256_new();
	if (comp >= 0)
		lw->comp = compressor_open(&lw->bw, comp == 1, err);
	else
		lw->gz = tar_gzip_writer_open(&lw->bw, err);
	if (!lw->gz && !lw->comp) {
		layer_tar_writer_abort(lw);
		return -EIO;
	}
	lw->w = archive_write_new();
	archive_write_set_format_pax_restricted(lw->w);
	archive_write_add_filter_none(lw->w);
	archive_write_set_bytes_in_last_block(lw->w, 1);
	if (archive_write_open(lw->w, lw, NULL, ltw_write, NULL) != ARCHIVE_OK) {
		err_set(err, EIO, "tar: %s", archive_error_string(lw->w) ?: "cannot start");
		layer_tar_writer_abort(lw);
		return -EIO;
	}
	*ret = lw;
	*ret_w = lw->w;
	return 0;
}

int layer_tar_writer_open(ImgStore *s, LayerTarWriter **ret, struct archive **ret_w, Error **err)
{
	return ltw_open(s, -1, ret, ret_w, err);
}

int layer_tar_writer_open_ex(ImgStore *s, bool zstd, LayerTarWriter **ret, struct archive **ret_w, Error **err)
{
	return ltw_open(s, zstd ? 1 : 0, ret, ret_w, err);
}

int layer_tar_writer_close(ImgStore *s, LayerTarWriter *lw, char diff_id[72], char blob[72],
			   int64_t *blob_size, int64_t *tar_size, Error **err)
{
	if (archive_write_close(lw->w) != ARCHIVE_OK) {
		err_set(err, EIO, "tar: %s", archive_error_string(lw->w) ?: "close failed");
		layer_tar_writer_abort(lw);
		return -EIO;
	}
	archive_write_free(lw->w);
	lw->w = NULL;
	struct archive *gz = lw->gz;
	LayerCompressor *comp = lw->comp;
	lw->gz = NULL;
	lw->comp = NULL;
	int r = comp ? compressor_close(comp, err) : tar_gzip_writer_close(gz, err);
	if (r < 0) {
		layer_tar_writer_abort(lw);
		return r;
	}
	sha256_final(lw->hash, diff_id);
	lw->hash = NULL;
	*tar_size = (int64_t)lw->n;
	r = blob_writer_commit(s, &lw->bw, NULL, err);
	if (r == 0) {
		memcpy(blob, lw->bw.digest, 72);
		*blob_size = (int64_t)lw->bw.size;
	}
	free(lw);
	return r;
}

/* ---- berth diff ---- */

typedef struct DiffWalk {
	int *fds;
	size_t n;
	void (*cb)(char kind, const char *path, void *ud);
	void *ud;
	StrBuf path;  /* "/a/b/" */
} DiffWalk;

static int diff_dir(DiffWalk *dw, int dfd, Error **err)
{
	_cleanup_strv_ char **names = list_dir(dfd, err);
	if (!names)
		return -EIO;
	for (char **n = names; *n; n++) {
		struct stat st;
		if (fstatat(dfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		_cleanup_free_ char *path = xasprintf("%s%s", dw->path.buf, *n);
		if (is_whiteout(&st)) {
			dw->cb('D', path, dw->ud);
			continue;
		}
		dw->cb(layer_path_in_image(dw->fds, dw->n, path) ? 'C' : 'A', path, dw->ud);
		if (!S_ISDIR(st.st_mode))
			continue;
		_cleanup_close_ int fd = openat(dfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, errno, "open '%s'", path);
		size_t saved = dw->path.len;
		sb_addf(&dw->path, "%s/", *n);
		int r = diff_dir(dw, fd, err);
		dw->path.len = saved;
		dw->path.buf[saved] = 0;
		if (r < 0)
			return r;
	}
	return 0;
}

int img_diff(ImgStore *s, const ImgInfo *img, const char *upperdir,
	     void (*cb)(char kind, const char *path, void *ud), void *ud, Error **err)
{
	_cleanup_close_ int fd = open(upperdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", upperdir);
	DiffWalk dw = { .cb = cb, .ud = ud };
	if (img)
		dw.fds = layer_open_diffs(s, img, &dw.n);
	sb_init(&dw.path);
	sb_adds(&dw.path, "/");
	int r = diff_dir(&dw, fd, err);
	sb_release(&dw.path);
	if (img)
		layer_close_diffs(dw.fds, dw.n);
	return r;
}

/* ---- berth export ---- */

static la_ssize_t fd_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	int r = fs_write_all(*(int *)ud, buf, n);
	if (r < 0) {
		archive_set_error(a, -r, "write: %s", strerror(-r));
		return -1;
	}
	return (la_ssize_t)n;
}

int img_export_dir(const char *dir, int fd, Error **err)
{
	struct archive *w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	archive_write_add_filter_none(w);
	int out = fd;
	if (archive_write_open(w, &out, NULL, fd_write_cb, NULL) != ARCHIVE_OK) {
		err_set(err, EIO, "export: %s", archive_error_string(w) ?: "cannot start");
		archive_write_free(w);
		return -EIO;
	}
	int r = diff_write_tree(w, dir, false, err);
	if (archive_write_close(w) != ARCHIVE_OK && r == 0)
		r = err_set(err, EIO, "export: %s", archive_error_string(w) ?: "write failed");
	archive_write_free(w);
	return r < 0 ? err_prefix(err, "export '%s'", dir) : 0;
}
