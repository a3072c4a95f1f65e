/* pull.c - the store's side of registry transfers: blobs streamed in with
 * their digest verified (ImgBlobWriter over store.c's BlobWriter), blobs read
 * out for a push, and a pulled manifest turned into an image (config and
 * layer blobs already stored: layers unpacked in order, the image recorded
 * under its name).  OCI manifests are kept byte for byte so the image keeps
 * the registry's manifest digest; Docker schema2 ones are rewritten with OCI
 * media types as `load` does.  Callers hold img_lock_content() for the
 * whole transfer so a concurrent rmi/gc cannot sweep blobs in between.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

struct ImgBlobWriter {
	BlobWriter w;
};

int img_blob_writer_new(ImgStore *s, ImgBlobWriter **ret, Error **err)
{
	ImgBlobWriter *bw = xcalloc(1, sizeof(*bw));
	int r = blob_writer_open(s, &bw->w, err);
	if (r < 0) {
		free(bw);
		return r;
	}
	*ret = bw;
	return 0;
}

int img_blob_writer_write(ImgBlobWriter *w, const void *buf, size_t n, Error **err)
{
	return blob_writer_write(&w->w, buf, n, err);
}

uint64_t img_blob_writer_size(const ImgBlobWriter *w) { return w->w.size; }

int img_blob_writer_commit(ImgStore *s, ImgBlobWriter *w, const char *expect, Error **err)
{
	int r = blob_writer_commit(s, &w->w, expect, err);
	free(w);
	return r;
}

void img_blob_writer_abort(ImgBlobWriter *w)
{
	if (!w)
		return;
	blob_writer_abort(&w->w);
	free(w);
}

bool img_blob_exists(ImgStore *s, const char *digest)
{
	return digest_valid(digest) && store_blob_exists(s, digest);
}

int img_blob_open(ImgStore *s, const char *digest, int64_t *ret_size, Error **err)
{
	if (!digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest '%s'", digest);
	_cleanup_free_ char *p = store_blob_path(s, digest);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return err_sys(err, e, "blob %s", digest);
	}
	*ret_size = (int64_t)st.st_size;
	return fd;
}

int img_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err)
{
	return store_blob_read(s, digest, max, ret, ret_len, err);
}

int img_lock_content(ImgStore *s, int *ret_fd, Error **err)
{
	return store_lock(s, "gc", LOCK_SH, ret_fd, err);
}

static const char *oci_layer_media(const char *mt)
{
	if (!strcmp(mt, MT_DOCKER_LAYER_GZ))
		return MT_OCI_LAYER_GZ;
	if (!strcmp(mt, MT_DOCKER_FOREIGN))
		return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
	return mt;
}

/* Unpack the manifest's layers (blobs in the store) bottom up; out gets OCI descriptors. */
static int put_layers(ImgStore *s, json_t *mlayers, json_t *diff_ids, json_t *out, int64_t *size, Error **err)
{
	char chain[72] = "";
	for (size_t i = 0; i < json_array_size(mlayers); i++) {
		json_t *l = json_array_get(mlayers, i);
		const char *ld = json_str(l, "digest"), *mt = json_str(l, "mediaType");
		const char *d = json_string_value(json_array_get(diff_ids, i));
		if (!digest_valid(ld) || !mt || !config_layer_media_ok(oci_layer_media(mt)) || !digest_valid(d))
			return err_set(err, EINVAL, "layer #%zu: unsupported layer '%s'", i, mt ? mt : "(none)");
		char next[72];
		layer_chain_id(i ? chain : NULL, d, next);
		if (layer_exists(s, next)) {
			_cleanup_json_ json_t *info = NULL;
			if (layer_info_read(s, next, &info, NULL) == 0)
				*size += json_int(info, "size", 0);
		} else {
			_cleanup_free_ char *bp = store_blob_path(s, ld);
			_cleanup_close_ int fd = open(bp, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return err_sys(err, errno, "layer %s", ld);
			LayerResult res = { .blob_size = json_int(l, "size", 0) };
			memcpy(res.blob_digest, ld, 72);
			snprintf(res.blob_media, sizeof(res.blob_media), "%s", oci_layer_media(mt));
			int r = layer_unpack(s, fd, i ? chain : NULL, d, false, &res, err);
			if (r < 0)
				return err_prefix(err, "layer %s", ld);
			*size += res.size;
		}
		memcpy(chain, next, 72);
		json_t *desc = json_deep_copy(l);
		json_object_set_new(desc, "mediaType", json_string(oci_layer_media(mt)));
		json_array_append_new(out, desc);
	}
	return 0;
}

int img_put_manifest(ImgStore *s, const char *mbuf, size_t mlen, const char *name, char **ret_id, Error **err)
{
	_cleanup_json_ json_t *m = NULL, *config = NULL;
	int r = json_parse_buf(mbuf, mlen, "manifest", &m, err);
	if (r < 0)
		return r;
	const char *mt = json_str(m, "mediaType");
	bool docker = mt && !strcmp(mt, MT_DOCKER_MANIFEST);
	if (mt && !docker && strcmp(mt, MT_OCI_MANIFEST))
		return err_set(err, EINVAL, "manifest: unsupported media type '%s'", mt);
	const char *cd = json_str(json_object_get(m, "config"), "digest");
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	if (!cd || !digest_valid(cd))
		return err_set(err, EINVAL, "manifest: no config digest");
	r = store_blob_read(s, cd, BERTH_MAX_IMAGE_CONFIG, &cbuf, &clen, err);
	if (r == 0)
		r = json_parse_buf(cbuf, clen, "image config", &config, err);
	if (r < 0)
		return r;
	json_t *mlayers = json_object_get(m, "layers"), *diff_ids = json_path(config, "rootfs.diff_ids");
	if (!json_is_array(mlayers) || json_array_size(mlayers) > BERTH_MAX_LAYERS ||
	    json_array_size(diff_ids) != json_array_size(mlayers))
		return err_set(err, EINVAL, "manifest: layers do not match the config's diff_ids");
	_cleanup_close_ int lock = -1;
	r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *layers = json_array();
	int64_t size = 0;
	r = put_layers(s, mlayers, diff_ids, layers, &size, err);
	if (r < 0)
		return r;
	char id[72];
	if (docker) {
		char *nv[] = { (char *)name, NULL };
		r = store_image_write(s, cbuf, clen, layers, size, nv, id, err);
	} else {
		char md[72];
		memcpy(id, cd, 72);
		r = store_blob_put(s, mbuf, mlen, md, err);
		if (r == 0)
			r = store_image_add(s, md, (int64_t)mlen, id, size, name, err);
	}
	if (r < 0)
		return r;
	*ret_id = xstrdup(id);
	return 0;
}
