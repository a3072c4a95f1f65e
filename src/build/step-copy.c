/* step-copy.c - COPY and ADD.
 *
 * Sources come from the context directory or, with --from, from another
 * stage's (or image's) filesystem.  Context sources are resolved with
 * openat2(RESOLVE_BENEATH): a path or symlink that leads outside the context
 * is an error, and .dockerignore'd paths do not exist.  The destination is
 * written through an overlay of the step's parent image (its upper dir is
 * the new layer), mounted in a private mount namespace of a forked child,
 * so existing directories, symlinks in the image and --chown names resolve
 * exactly as in the image, inside its root (RESOLVE_IN_ROOT).  Docker's
 * rules: a source directory's contents are copied, not the directory; a
 * file goes to DEST/name when DEST ends in '/' or is an existing directory,
 * else to DEST; owners become 0:0 or --chown; modes and mtimes are kept
 * (--chmod overrides the mode); ADD extracts local tar archives.
 */
#include "build-internal.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../runtime/runtime.h"
#include "../shared/digest.h"
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int openat2_flags(int dfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve };
	if (flags & O_CREAT)
		how.mode = 0644;
	for (;;) {
		long r = syscall(SYS_openat2, dfd, *path ? path : ".", &how, sizeof(how));
		if (r >= 0 || errno != EAGAIN)
			return r < 0 ? -errno : (int)r;
	}
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Clean a source path: relative to the root, no "..", "" for the root. */
static int source_clean(const char *in, char **ret, Error **err)
{
	int depth = 0;
	for (const char *p = in; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (n && !(n == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			return err_set(err, EINVAL, "source '%s' is outside the build context", in);
		p += n + (p[n] == '/');
	}
	_cleanup_free_ char *abs = build_path_join_clean("/", in);
	*ret = xstrdup(abs + 1);
	return 0;
}

/* ---- resolving sources (glob expansion) against a root ---- */

typedef struct Resolver {
	int rootfd;
	uint64_t resolve;            /* RESOLVE_BENEATH (context) or RESOLVE_IN_ROOT (image) */
	const BuildIgnore *ignore;   /* context only */
	char **found;                /* relative paths */
	size_t n;
} Resolver;

static void found_add(Resolver *rv, const char *rel)
{
	rv->found = xrealloc(rv->found, (rv->n + 2) * sizeof(char *));
	rv->found[rv->n++] = xstrdup(rel);
	rv->found[rv->n] = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Match the pattern components `pat` below directory `prefix`. */
static int glob_expand(Resolver *rv, const char *prefix, char **pat, int depth)
{
	if (!*pat) {
		found_add(rv, prefix);
		return 0;
	}
	if (depth > 64)
		return 0;
	int fd = openat2_flags(rv->rootfd, prefix, O_RDONLY | O_DIRECTORY, rv->resolve);
	if (fd < 0)
		return fd == -EXDEV || fd == -ELOOP ? fd : 0;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!build_glob_match(*pat, de->d_name))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *rel = *prefix ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
		if (r == 0 && !build_ignore_match(rv->ignore, rel))
			r = glob_expand(rv, rel, pat + 1, depth + 1);
		free(names[i]);
	}
	free(names);
	return r;
}

static int resolve_source(Resolver *rv, const char *src, Error **err)
{
	_cleanup_free_ char *clean = NULL;
	int r = source_clean(src, &clean, err);
	if (r < 0)
		return r;
	size_t before = rv->n;
	if (has_glob(clean)) {
		_cleanup_strv_ char **pat = xcalloc(1, sizeof(char *));
		size_t n = 0;
		char *save = NULL;
		for (char *c = strtok_r(clean, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			pat = xrealloc(pat, (n + 2) * sizeof(char *));
			pat[n++] = xstrdup(c);
			pat[n] = NULL;
		}
		r = glob_expand(rv, "", pat, 0);
	} else if (!build_ignore_match(rv->ignore, clean)) {
		int fd = openat2_flags(rv->rootfd, clean, O_PATH, rv->resolve);
		if (fd >= 0) {
			close(fd);
			found_add(rv, clean);
		} else if (fd != -ENOENT && fd != -ENOTDIR) {
			r = fd;
		}
	}
	if (r == -EXDEV || r == -ELOOP)
		return err_set(err, EXDEV, "source '%s' leads outside the build context", src);
	if (r < 0)
		return err_sys(err, -r, "source '%s'", src);
	if (rv->n == before)
		return err_set(err, ENOENT, "source '%s': file not found in build context or excluded by "
			       ".dockerignore", src);
	return 0;
}

/* ---- hashing context sources for the cache key ---- */

static int hash_tree(Sha256 *h, BuildCache *cache, const BuildIgnore *ig, int dfd, const char *rel, int depth,
		     Error **err);

static int hash_entry(Sha256 *h, BuildCache *cache, const BuildIgnore *ig, int fd, const struct stat *st,
		      const char *rel, int depth, Error **err)
{
	_cleanup_free_ char *head = xasprintf("%s\n%o\n%jd\n", rel, (unsigned)st->st_mode, (intmax_t)st->st_size);
	sha256_update(h, head, strlen(head));
	if (S_ISREG(st->st_mode)) {
		char d[72];
		int r = build_cache_file_digest(cache, fd, st, d, err);
		if (r < 0)
			return err_prefix(err, "'%s'", rel);
		sha256_update(h, d, strlen(d));
	} else if (S_ISDIR(st->st_mode)) {
		return hash_tree(h, cache, ig, fd, rel, depth + 1, err);
	}
	return 0;
}

static int hash_tree(Sha256 *h, BuildCache *cache, const BuildIgnore *ig, int dfd, const char *rel, int depth,
		     Error **err)
{
	if (depth > 256)
		return err_set(err, ELOOP, "'%s': directories nested too deeply", rel);
	int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return err_sys(err, errno, "read directory '%s'", rel);
	}
	_cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 2) * sizeof(char *));
		names[n++] = xstrdup(de->d_name);
		names[n] = NULL;
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		if (build_ignore_match(ig, child) && !build_ignore_has_exceptions(ig))
			continue;
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			return err_sys(err, errno, "stat '%s'", child);
		if (build_ignore_match(ig, child) && !S_ISDIR(st.st_mode))
			continue;
		if (S_ISLNK(st.st_mode)) {
			char t[4097];
			ssize_t k = readlinkat(dfd, names[i], t, sizeof(t) - 1);
			t[k < 0 ? 0 : k] = 0;
			_cleanup_free_ char *line = xasprintf("%s\nlink\n%s\n", child, t);
			sha256_update(h, line, strlen(line));
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;
		_cleanup_close_ int fd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
						(S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0)
			return err_sys(err, errno, "open '%s'", child);
		int r = hash_entry(h, cache, ig, fd, &st, child, depth, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int build_copy_hash(const BuildCopySpec *cs, BuildCache *cache, char ret_digest[72], Error **err)
{
	Sha256 *h = sha256_new();
	int r = 0;
	for (size_t i = 0; r == 0 && i < cs->n_src; i++) {
		if (cs->src[i].heredoc) {
			sha256_update(h, cs->src[i].heredoc, strlen(cs->src[i].heredoc));
			continue;
		}
		Resolver rv = { .rootfd = cs->context_fd, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
				.ignore = cs->ignore };
		r = resolve_source(&rv, cs->src[i].path, err);
		for (size_t k = 0; r == 0 && k < rv.n; k++) {
			int fd = openat2_flags(cs->context_fd, rv.found[k], O_RDONLY,
					       RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
			struct stat st;
			if (fd < 0) {
				r = err_set(err, -fd == EXDEV ? EXDEV : -fd, "source '%s': %s", rv.found[k],
					    fd == -EXDEV ? "leads outside the build context" : strerror(-fd));
				break;
			}
			if (fstat(fd, &st) < 0)
				r = err_sys(err, errno, "stat '%s'", rv.found[k]);
			else
				r = hash_entry(h, cache, cs->ignore, fd, &st, rv.found[k], 0, err);
			close(fd);
		}
		strv_free(rv.found);
	}
	if (r < 0) {
		sha256_free(h);
		return r;
	}
	sha256_final(h, ret_digest);
	return 0;
}

/* ---- the copy itself, in a child with its own mount namespace ---- */

typedef struct Copier {
	const BuildCopySpec *cs;
	int dest_root;       /* merged/ */
	uid_t uid;
	gid_t gid;
	int src_root;        /* context dir or the --from root */
	uint64_t resolve;
	const BuildIgnore *ignore;
} Copier;

static void set_meta(Copier *cp, int fd, const struct stat *st, bool dir)
{
	if (fchown(fd, cp->uid, cp->gid) < 0) {
		/* best effort: a filesystem may refuse */
	}
	mode_t mode = cp->cs->chmod >= 0 ? (mode_t)cp->cs->chmod : (st ? st->st_mode & 07777 : (dir ? 0755 : 0644));
	fchmod(fd, mode);
	if (st) {
		struct timespec ts[2] = { st->st_atim, st->st_mtim };
		futimens(fd, ts);
	}
}

/* Open (creating as needed) the directory rel below the destination root. */
static int dest_mkdir_p(Copier *cp, const char *rel, Error **err)
{
	int fd = openat2_flags(cp->dest_root, rel, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0 || fd != -ENOENT) {
		if (fd < 0)
			return err_sys(err, -fd, "destination '/%s'", rel);
		return fd;
	}
	_cleanup_free_ char *parent = xstrdup(rel);
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : rel;
	if (slash)
		*slash = 0;
	else
		parent[0] = 0;
	_cleanup_close_ int pfd = dest_mkdir_p(cp, parent, err);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir '/%s'", rel);
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '/%s'", rel);
	set_meta(cp, fd, NULL, true);
	return fd;
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
				return fs_copy_fd(in, out);
			return -errno;
		}
	}
}

static int copy_file(Copier *cp, int srcfd, const struct stat *st, int ddir, const char *name, const char *what,
		     Error **err)
{
	struct stat cur;
	if (fstatat(ddir, name, &cur, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(cur.st_mode))
			return err_set(err, EISDIR, "cannot replace directory '%s' with a file", what);
		unlinkat(ddir, name, 0);
	}
	_cleanup_close_ int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return err_sys(err, errno, "create '%s'", what);
	int r = copy_data(srcfd, out);
	if (r < 0)
		return err_sys(err, -r, "copy '%s'", what);
	set_meta(cp, out, st, false);
	return 0;
}

static int copy_tree(Copier *cp, int sdir, int ddir, const char *rel, int depth, Error **err);

static int copy_one(Copier *cp, int sdir, const char *sname, const char *rel, int ddir, const char *dname,
		    int depth, Error **err)
{
	struct stat st;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "stat '%s'", rel);
	if (S_ISLNK(st.st_mode)) {
		char t[4097];
		ssize_t k = readlinkat(sdir, sname, t, sizeof(t) - 1);
		if (k < 0)
			return err_sys(err, errno, "readlink '%s'", rel);
		t[k] = 0;
		struct stat cur;
		if (fstatat(ddir, dname, &cur, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(cur.st_mode))
			unlinkat(ddir, dname, 0);
		if (symlinkat(t, ddir, dname) < 0)
			return err_sys(err, errno, "symlink '%s'", rel);
		fchownat(ddir, dname, cp->uid, cp->gid, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, errno, "open '%s'", rel);
		return copy_file(cp, fd, &st, ddir, dname, rel, err);
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* fifos, sockets, devices are not copied */
	struct stat cur;
	if (fstatat(ddir, dname, &cur, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(cur.st_mode))
		unlinkat(ddir, dname, 0);
	if (mkdirat(ddir, dname, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir '%s'", rel);
	_cleanup_close_ int s = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int d = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0 || d < 0)
		return err_sys(err, errno, "open '%s'", rel);
	int r = copy_tree(cp, s, d, rel, depth + 1, err);
	if (r == 0)
		set_meta(cp, d, &st, true);
	return r;
}

static int copy_tree(Copier *cp, int sdir, int ddir, const char *rel, int depth, Error **err)
{
	if (depth > 256)
		return err_set(err, ELOOP, "'%s': directories nested too deeply", rel);
	int dup_fd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return err_sys(err, errno, "read directory '%s'", rel);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (build_ignore_match(cp->ignore, child)) {
			if (!build_ignore_has_exceptions(cp->ignore) || de->d_type != DT_DIR)
				continue;
		}
		r = copy_one(cp, sdir, de->d_name, child, ddir, de->d_name, depth, err);
	}
	closedir(d);
	return r;
}

static bool is_archive(int fd)
{
	unsigned char m[512] = { 0 };
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return true;
	if (n >= 3 && !memcmp(m, "BZh", 3))
		return true;
	if (n >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6))
		return true;
	if (n >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		return true;
	return n >= 262 && !memcmp(m + 257, "ustar", 5);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* One resolved source `rel` into the destination. */
static int copy_source(Copier *cp, const char *rel, const char *dest_rel, Error **err)
{
	_cleanup_close_ int fd = openat2_flags(cp->src_root, rel, O_RDONLY, cp->resolve);
	if (fd < 0)
		return err_sys(err, -fd, "source '%s'", rel);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "stat '%s'", rel);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int dd = dest_mkdir_p(cp, dest_rel, err);
		if (dd < 0)
			return dd;
		return copy_tree(cp, fd, dd, rel, 0, err);
	}
	if (!S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "source '%s' is not a regular file or directory", rel);
	if (cp->cs->add && !cp->cs->from && is_archive(fd)) {
		_cleanup_close_ int dd = dest_mkdir_p(cp, dest_rel, err);
		if (dd < 0)
			return dd;
		int r = img_unpack_tar(fd, dd, err);
		return r < 0 ? err_prefix(err, "extract '%s'", rel) : 0;
	}
	bool into_dir = cp->cs->dest_is_dir || !*dest_rel;
	if (!into_dir) {
		int probe = openat2_flags(cp->dest_root, dest_rel, O_RDONLY | O_DIRECTORY,
					  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (probe >= 0) {
			into_dir = true;
			close(probe);
		}
	}
	_cleanup_free_ char *dir = into_dir ? xstrdup(dest_rel) : xstrdup(dest_rel);
	const char *name = base_name(rel);
	if (!into_dir) {
		char *slash = strrchr(dir, '/');
		name = base_name(dest_rel);
		if (slash)
			*slash = 0;
		else
			dir[0] = 0;
	}
	_cleanup_close_ int dd = dest_mkdir_p(cp, dir, err);
	if (dd < 0)
		return dd;
	return copy_file(cp, fd, &st, dd, name, rel, err);
}

static int copy_heredoc(Copier *cp, const BuildCopySource *s, const char *dest_rel, Error **err)
{
	_cleanup_free_ char *dir = xstrdup(dest_rel);
	const char *name = s->path;
	if (!cp->cs->dest_is_dir) {
		char *slash = strrchr(dir, '/');
		name = base_name(dest_rel);
		if (slash)
			*slash = 0;
		else
			dir[0] = 0;
	}
	_cleanup_close_ int dd = dest_mkdir_p(cp, dir, err);
	if (dd < 0)
		return dd;
	unlinkat(dd, name, 0);
	_cleanup_close_ int out = openat(dd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0)
		return err_sys(err, errno, "create '%s'", dest_rel);
	if (fs_write_all(out, s->heredoc, strlen(s->heredoc)) < 0)
		return err_sys(err, errno, "write '%s'", dest_rel);
	set_meta(cp, out, NULL, false);
	return 0;
}

static int copy_all(Copier *cp, const char *merged, Error **err)
{
	const BuildCopySpec *cs = cp->cs;
	if (cs->chown && *cs->chown) {
		gid_t *groups = NULL;
		size_t ng = 0;
		int r = rt_resolve_user(merged, cs->chown, &cp->uid, &cp->gid, &groups, &ng, NULL, err);
		free(groups);
		if (r < 0)
			return err_prefix(err, "--chown=%s", cs->chown);
	}
	const char *dest_rel = cs->dest + strspn(cs->dest, "/");
	if (cs->n_src == 0) { /* WORKDIR: only the directory */
		int fd = dest_mkdir_p(cp, dest_rel, err);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < cs->n_src; i++) {
		int r;
		if (cs->src[i].heredoc) {
			r = copy_heredoc(cp, &cs->src[i], dest_rel, err);
		} else {
			Resolver rv = { .rootfd = cp->src_root, .resolve = cp->resolve, .ignore = cp->ignore };
			r = resolve_source(&rv, cs->src[i].path, err);
			for (size_t k = 0; r == 0 && k < rv.n; k++)
				r = copy_source(cp, rv.found[k], dest_rel, err);
			strv_free(rv.found);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int mount_overlay(ImgStore *store, const ImgInfo *img, const char *lower_extra, const char *upper,
			 const char *work, const char *target, bool ro, Error **err)
{
	ImgInfo empty = { 0 };
	_cleanup_free_ char *data = NULL, *dir = NULL;
	int r = img_overlay_options(store, img ? img : &empty, lower_extra, upper, work, &data, &dir, err);
	if (r < 0)
		return r;
	if (chdir(dir) < 0)
		return err_sys(err, errno, "chdir '%s'", dir);
	if (mount("overlay", target, "overlay", ro ? MS_RDONLY : 0, data) < 0)
		return err_sys(err, errno, "mount overlay on '%s'", target);
	return 0;
}

static int child_copy(const BuildCopySpec *cs, Error **err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return err_sys(err, errno, "unshare mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(err, errno, "make mounts private");
	_cleanup_free_ char *upper = fs_join(cs->workdir, "upper");
	_cleanup_free_ char *work = fs_join(cs->workdir, "work");
	_cleanup_free_ char *merged = fs_join(cs->workdir, "merged");
	_cleanup_free_ char *src = fs_join(cs->workdir, "src");
	_cleanup_free_ char *empty = fs_join(cs->workdir, "empty");
	int r = mount_overlay(cs->store, cs->parent, cs->parent && cs->parent->n_layers ? NULL : empty, upper, work,
			      merged, false, err);
	if (r < 0)
		return r;
	Copier cp = { .cs = cs, .src_root = cs->context_fd, .ignore = cs->ignore,
		      .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int srcfd = -1;
	if (cs->from) {
		r = mount_overlay(cs->store, cs->from, empty, NULL, NULL, src, true, err);
		if (r < 0)
			return r;
		srcfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (srcfd < 0)
			return err_sys(err, errno, "open '%s'", src);
		cp.src_root = srcfd;
		cp.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		cp.ignore = NULL;
	}
	cp.dest_root = open(merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cp.dest_root < 0)
		return err_sys(err, errno, "open '%s'", merged);
	umask(0);
	r = copy_all(&cp, merged, err);
	close(cp.dest_root);
	return r;
}

int build_step_copy(const BuildCopySpec *cs, Error **err)
{
	static const char *const dirs[] = { "upper", "work", "merged", "src", "empty" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = fs_join(cs->workdir, dirs[i]);
		if (mkdir(p, 0755) < 0)
			return err_sys(err, errno, "mkdir '%s'", p);
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(err, errno, "fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		Error *e = NULL;
		int r = child_copy(cs, &e);
		if (r < 0) {
			const char *m = err_msg(e);
			fs_write_all(pfd[1], m, strlen(m));
		}
		_exit(r < 0 ? (e && e->code > 0 && e->code < 126 ? e->code : 1) : 0);
	}
	close(pfd[1]);
	char msg[4096];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(pfd[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= sizeof(msg) - 1)
			break;
	}
	msg[got] = 0;
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
	return err_set(err, code, "%s", got ? msg : "copy failed");
}
