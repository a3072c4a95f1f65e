/* store.c - the on-disk store: an OCI image layout under <root>/image
 * (oci-layout, index.json, blobs/sha256/<hex>), the layer and link
 * directories next to it, and the two lock files.
 *
 * Blobs are immutable and content-addressed: they are written to a temp file
 * in the blobs directory, hashed on the way, fsync'd and renamed to their
 * digest, so a reader never sees a partial blob.  index.json is replaced the
 * same way.  Opening an existing store costs one stat(): `berth run` opens it
 * on every container start.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static const char OCI_LAYOUT[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

void img_store_free(ImgStore *s)
{
	if (!s)
		return;
	free(s->root);
	free(s->dir);
	free(s->blobs);
	free(s->layers);
	free(s->links);
	free(s->tmp);
	free(s);
}

const char *img_store_root(const ImgStore *s) { return s->root; }

static int store_init_dirs(ImgStore *s, Error **err)
{
	const char *dirs[] = { s->blobs, s->layers, s->links };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = fs_mkdir_p(dirs[i], 0700, err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *layout = fs_join(s->dir, "oci-layout");
	int r = 0;
	if (!fs_exists(layout))
		r = fs_write_atomic(layout, OCI_LAYOUT, strlen(OCI_LAYOUT), 0644, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *index = fs_join(s->dir, "index.json");
	if (!fs_exists(index)) {
		static const char empty[] = "{\"schemaVersion\":2,\"manifests\":[]}";
		r = fs_write_atomic(index, empty, strlen(empty), 0644, err);
	}
	return r;
}

int img_store_open(const char *root, ImgStore **ret, Error **err)
{
	ImgStore *s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root);
	s->dir = fs_join(root, "image");
	s->blobs = fs_join(s->dir, "blobs/sha256");
	s->layers = fs_join(root, "layers");
	s->links = fs_join(root, "l");
	s->tmp = fs_join(root, "tmp");
	_cleanup_free_ char *index = fs_join(s->dir, "index.json");
	struct stat st;
	if (stat(index, &st) < 0 || !fs_is_dir(s->links)) {
		int r = store_init_dirs(s, err);
		if (r < 0) {
			img_store_free(s);
			return err_prefix(err, "open image store '%s'", root);
		}
	}
	*ret = s;
	return 0;
}

char *store_blob_path(const ImgStore *s, const char *digest)
{
	return xasprintf("%s/%s", s->blobs, digest_valid(digest) ? digest + 7 : "invalid");
}

bool store_blob_exists(const ImgStore *s, const char *digest)
{
	if (!digest_valid(digest))
		return false;
	_cleanup_free_ char *p = store_blob_path(s, digest);
	return fs_exists(p);
}

int store_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err)
{
	if (!digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest '%s'", digest ? digest : "(null)");
	_cleanup_free_ char *p = store_blob_path(s, digest);
	int r = fs_read_file(p, max, ret, ret_len, err);
	if (r < 0)
		return err_prefix(err, "blob %s", digest);
	return 0;
}

int store_blob_read_json(ImgStore *s, const char *digest, size_t max, json_t **ret, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = store_blob_read(s, digest, max, &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = xasprintf("blob %s", digest);
	r = json_parse_buf(buf, len, what, ret, err);
	if (r == 0 && !json_is_object(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return err_set(err, EINVAL, "blob %s: not a JSON object", digest);
	}
	return r;
}

int blob_writer_open(ImgStore *s, BlobWriter *w, Error **err)
{
	*w = (BlobWriter){ .fd = -1 };
	w->tmp_path = xasprintf("%s/.tmp-XXXXXX", s->blobs);
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;
		free(w->tmp_path);
		w->tmp_path = NULL;
		return err_sys(err, e, "create blob in '%s'", s->blobs);
	}
	fchmod(w->fd, 0644);
	w->hash = sha256_new();
	return 0;
}

int blob_writer_write(BlobWriter *w, const void *buf, size_t n, Error **err)
{
	int r = fs_write_all(w->fd, buf, n);
	if (r < 0)
		return err_sys(err, r, "write '%s'", w->tmp_path);
	sha256_update(w->hash, buf, n);
	w->size += n;
	return 0;
}

void blob_writer_abort(BlobWriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	sha256_free(w->hash);
	*w = (BlobWriter){ .fd = -1 };
}

int blob_writer_commit(ImgStore *s, BlobWriter *w, const char *expect, Error **err)
{
	sha256_final(w->hash, w->digest);
	w->hash = NULL;
	if (expect && strcmp(expect, w->digest)) {
		err_set(err, EINVAL, "blob digest mismatch: expected %s, content is %s", expect, w->digest);
		blob_writer_abort(w);
		return -EINVAL;
	}
	if (fsync(w->fd) < 0) {
		int e = errno;
		blob_writer_abort(w);
		return err_sys(err, e, "fsync blob");
	}
	close(w->fd);
	w->fd = -1;
	_cleanup_free_ char *path = store_blob_path(s, w->digest);
	if (rename(w->tmp_path, path) < 0) {
		int e = errno;
		blob_writer_abort(w);
		return err_sys(err, e, "store blob %s", w->digest);
	}
	free(w->tmp_path);
	w->tmp_path = NULL;
	return 0;
}

int store_blob_put(ImgStore *s, const void *data, size_t n, char ret_digest[72], Error **err)
{
	sha256_buf(data, n, ret_digest);
	_cleanup_free_ char *path = store_blob_path(s, ret_digest);
	if (fs_exists(path))
		return 0;
	return fs_write_atomic(path, data, n, 0644, err);
}

int store_index_read(ImgStore *s, json_t **ret, Error **err)
{
	_cleanup_free_ char *path = fs_join(s->dir, "index.json");
	json_t *idx = NULL;
	int r = json_load_path(path, BERTH_MAX_MANIFEST, &idx, err);
	if (r < 0)
		return err_prefix(err, "image store");
	if (!json_is_object(idx) || !json_is_array(json_object_get(idx, "manifests"))) {
		json_decref(idx);
		return err_set(err, EINVAL, "image store: '%s': no \"manifests\" array", path);
	}
	*ret = idx;
	return 0;
}

int store_index_write(ImgStore *s, json_t *idx, Error **err)
{
	_cleanup_free_ char *path = fs_join(s->dir, "index.json");
	return json_save_path(path, idx, JSON_COMPACT, err);
}

int store_lock(ImgStore *s, const char *name, int op, int *ret_fd, Error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/.%s.lock", s->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, errno, "open lock '%s'", path);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return err_sys(err, e, "lock '%s'", path);
	}
	*ret_fd = fd;
	return 0;
}

int store_mkdtemp(ImgStore *s, const char *prefix, char **ret, Error **err)
{
	int r = fs_mkdir_p(s->tmp, 0700, err);
	if (r < 0)
		return r;
	char *p = xasprintf("%s/%s-XXXXXX", s->tmp, prefix);
	if (!mkdtemp(p)) {
		int e = errno;
		free(p);
		return err_sys(err, e, "create temp dir in '%s'", s->tmp);
	}
	*ret = p;
	return 0;
}
