/* cache.c - the build cache: step key -> image id, and file digests.
 *
 *   <root>/build-cache/keys/<sha256 hex of the step key>   the image id
 *   <root>/build-cache/files/<sha256 hex of the stat key>  a file's digest
 *
 * A step key is the parent image id, the instruction after substitution,
 * the build args it sees and, for COPY/ADD, the digest of its sources
 * (exec.c assembles it).  Entries point at images in the store and are
 * checked against it on every hit, so an `rmi` simply turns an entry into a
 * miss; no labels are added to images.  File digests are of content only;
 * the stat key (device, inode, size, mtime and ctime in ns) merely lets an
 * unchanged file skip being read again, as git's index does.
 */
#include "build-internal.h"
#include "../base/fs.h"
#include "../shared/digest.h"
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct BuildCache {
	char *keys;
	char *files;
};

int build_cache_open(const char *root, BuildCache **ret, Error **err)
{
	BuildCache *c = xcalloc(1, sizeof(*c));
	c->keys = xasprintf("%s/build-cache/keys", root);
	c->files = xasprintf("%s/build-cache/files", root);
	int r = fs_mkdir_p(c->keys, 0700, err);
	if (r >= 0)
		r = fs_mkdir_p(c->files, 0700, err);
	if (r < 0) {
		build_cache_free(c);
		return err_prefix(err, "build cache");
	}
	*ret = c;
	return 0;
}

void build_cache_free(BuildCache *c)
{
	if (!c)
		return;
	free(c->keys);
	free(c->files);
	free(c);
}

static char *entry_path(const char *dir, const char *key)
{
	char d[72];
	sha256_buf(key, strlen(key), d);
	return xasprintf("%s/%s", dir, d + 7);
}

static char *small_read(const char *path)
{
	char buf[80];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n != 71)
		return NULL;
	buf[n] = 0;
	return digest_valid(buf) ? xstrdup(buf) : NULL;
}

char *build_cache_get(BuildCache *c, ImgStore *s, const char *key)
{
	_cleanup_free_ char *p = entry_path(c->keys, key);
	_cleanup_free_ char *id = small_read(p);
	if (!id)
		return NULL;
	ImgInfo *img = NULL;
	Error *e = NULL;
	if (img_resolve(s, id, &img, &e) < 0 || strcmp(img->id, id)) {
		err_free(e);
		img_info_free(img);
		unlink(p); /* the image is gone: forget the entry */
		return NULL;
	}
	img_info_free(img);
	return TAKE_PTR(id);
}

void build_cache_put(BuildCache *c, const char *key, const char *id)
{
	_cleanup_free_ char *p = entry_path(c->keys, key);
	fs_write_replace(p, id, strlen(id), 0600, NULL);
}

int build_cache_file_digest(BuildCache *c, int fd, const struct stat *st, char out[72], Error **err)
{
	_cleanup_free_ char *key = xasprintf("%ju:%ju:%jd:%jd.%09ld:%jd.%09ld", (uintmax_t)st->st_dev,
					     (uintmax_t)st->st_ino, (intmax_t)st->st_size,
					     (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
					     (intmax_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	_cleanup_free_ char *p = c ? entry_path(c->files, key) : NULL;
	_cleanup_free_ char *known = p ? small_read(p) : NULL;
	if (known) {
		memcpy(out, known, 72);
		return 0;
	}
	Sha256 *h = sha256_new();
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sha256_free(h);
			return err_sys(err, errno, "read");
		}
		if (n == 0)
			break;
		sha256_update(h, buf, (size_t)n);
	}
	sha256_final(h, out);
	if (p)
		fs_write_replace(p, out, strlen(out), 0600, NULL);
	return 0;
}
