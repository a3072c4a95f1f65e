/* archive.c - moving images to and from other tools: docker-archive and
 * oci-archive, save and load.
 *
 * docker-archive (docker save / podman save): manifest.json
 * [{Config, RepoTags, Layers}], repositories, the config as "<hex>.json" and
 * each layer as an uncompressed "<diff_id hex>.tar".  oci-archive: a tar of
 * an OCI image layout (oci-layout, index.json with one descriptor per name,
 * annotation org.opencontainers.image.ref.name = the full name, as podman
 * writes it; blobs/sha256/<hex>), blobs copied as they are in the store.
 *
 * Loading unpacks the archive (compressed or not) with the safe unpacker in
 * plain mode into <root>/tmp/load-*, then reads members through
 * openat2(RESOLVE_IN_ROOT) so the archive's own symlinks (docker's
 * "<id>/layer.tar -> ../x.tar") resolve inside it.  Configs are kept byte for
 * byte, so an image keeps its id across save and load; layers are checked
 * against the config's diff_ids and OCI blobs against their digests.
 * Docker schema2 manifests are converted to OCI media types.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

/* ---- reading members of an unpacked archive ---- */

static int member_read(int rootfd, const char *rel, size_t max, char **ret, size_t *ret_len, Error **err)
{
	_cleanup_close_ int fd = tar_open_in_root(rootfd, rel, O_RDONLY, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "'%s' is not a regular file", rel);
	if ((uint64_t)st.st_size > max)
		return err_set(err, EFBIG, "'%s' is larger than %zu bytes", rel, max);
	char *buf = xmalloc((size_t)st.st_size + 1);
	ssize_t n = fs_read_full(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		free(buf);
		return err_set(err, EIO, "read '%s': short read", rel);
	}
	buf[n] = 0;
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

static int member_json(int rootfd, const char *rel, size_t max, json_t **ret, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = member_read(rootfd, rel, max, &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = xasprintf("'%s'", rel);
	return json_parse_buf(buf, len, what, ret, err);
}

static bool member_exists(int rootfd, const char *rel)
{
	int fd = tar_open_in_root(rootfd, rel, O_RDONLY, NULL);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void names_add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* ---- load: layers ---- */

/* The layer desc and size of an already unpacked layer whose blob we still have. */
static json_t *layer_reuse(ImgStore *s, const char *chain, const char *diff_id, int64_t *size)
{
	if (!layer_exists(s, chain))
		return NULL;
	_cleanup_json_ json_t *info = NULL;
	if (layer_info_read(s, chain, &info, NULL) < 0)
		return NULL;
	json_t *blob = json_object_get(info, "blob");
	const char *bd = json_str(blob, "digest"), *mt = json_str(blob, "mediaType");
	if (!json_str(info, "diff_id") || strcmp(json_str(info, "diff_id"), diff_id) ||
	    !store_blob_exists(s, bd) || !config_layer_media_ok(mt))
		return NULL;
	*size = json_int(info, "size", 0);
	return json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", bd, "size", json_int(blob, "size", 0));
}

/* Unpack the uncompressed (or compressed) layer tar `rel` of a docker-archive. */
static int docker_layer(ImgStore *s, int rootfd, const char *rel, const char *parent, const char *diff_id,
			json_t *layers, int64_t *size, Error **err)
{
	char chain[72];
	layer_chain_id(parent, diff_id, chain);
	int64_t lsize = 0;
	json_t *desc = layer_reuse(s, chain, diff_id, &lsize);
	if (!desc) {
		_cleanup_close_ int fd = tar_open_in_root(rootfd, rel, O_RDONLY, err);
		if (fd < 0)
			return fd;
		LayerResult res = { 0 };
		int r = layer_unpack(s, fd, parent, diff_id, true, &res, err);
		if (r < 0)
			return err_prefix(err, "layer '%s'", rel);
		lsize = res.size;
		desc = json_pack("{s:s,s:s,s:I}", "mediaType", MT_OCI_LAYER_GZ, "digest", res.blob_digest, "size",
				 (json_int_t)res.blob_size);
	}
	json_array_append_new(layers, desc);
	*size += lsize;
	return 0;
}

static int check_diff_ids(json_t *config, size_t n_layers, const char *what, Error **err)
{
	json_t *diff_ids = json_path(config, "rootfs.diff_ids");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != n_layers)
		return err_set(err, EINVAL, "%s: config lists %zu layers, the image has %zu", what,
			       json_array_size(diff_ids), n_layers);
	if (n_layers > BERTH_MAX_LAYERS)
		return err_set(err, E2BIG, "%s: %zu layers: more than the BERTH_MAX_LAYERS limit (%d)", what,
			       n_layers, BERTH_MAX_LAYERS);
	for (size_t i = 0; i < n_layers; i++)
		if (!digest_valid(json_string_value(json_array_get(diff_ids, i))))
			return err_set(err, EINVAL, "%s: invalid diff_id #%zu", what, i);
	return 0;
}

/* ---- load: docker-archive ---- */

static int load_docker_image(ImgStore *s, int rootfd, json_t *item, char ***names, size_t *nn, Error **err)
{
	const char *cfgname = json_str(item, "Config");
	json_t *lnames = json_object_get(item, "Layers"), *tags = json_object_get(item, "RepoTags");
	if (!cfgname || !json_is_array(lnames))
		return err_set(err, EINVAL, "manifest.json: entry without Config or Layers");
	_cleanup_strv_ char **norm = xcalloc(json_array_size(tags) + 1, sizeof(char *));
	size_t i, k = 0;
	json_t *t;
	json_array_foreach(tags, i, t) {
		const char *tag = json_string_value(t);
		if (!tag || img_ref_normalize(tag, &norm[k], err) < 0)
			return err_prefix(err, "manifest.json: RepoTags");
		k++;
	}
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	int r = member_read(rootfd, cfgname, BERTH_MAX_IMAGE_CONFIG, &cbuf, &clen, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *config = NULL;
	_cleanup_free_ char *what = xasprintf("config '%s'", cfgname);
	r = json_parse_buf(cbuf, clen, what, &config, err);
	if (r < 0)
		return r;
	r = check_diff_ids(config, json_array_size(lnames), what, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *layers = json_array();
	int64_t size = 0;
	char chain[72] = "";
	json_t *diff_ids = json_path(config, "rootfs.diff_ids");
	for (i = 0; i < json_array_size(lnames); i++) {
		const char *rel = json_string_value(json_array_get(lnames, i));
		const char *d = json_string_value(json_array_get(diff_ids, i));
		if (!rel)
			return err_set(err, EINVAL, "manifest.json: layer #%zu is not a string", i);
		r = docker_layer(s, rootfd, rel, i ? chain : NULL, d, layers, &size, err);
		if (r < 0)
			return r;
		layer_chain_id(i ? chain : NULL, d, chain);
	}
	char id[72];
	r = store_image_write(s, cbuf, clen, layers, size, norm, id, err);
	if (r < 0)
		return r;
	if (!norm[0])
		names_add(names, nn, id);
	for (char **n = norm; *n; n++)
		names_add(names, nn, *n);
	return 0;
}

static int load_docker(ImgStore *s, int rootfd, char ***names, size_t *nn, Error **err)
{
	_cleanup_json_ json_t *m = NULL;
	int r = member_json(rootfd, "manifest.json", BERTH_MAX_MANIFEST, &m, err);
	if (r < 0)
		return r;
	if (!json_is_array(m) || json_array_size(m) == 0)
		return err_set(err, EINVAL, "manifest.json: expected a non-empty array");
	if (json_array_size(m) > BERTH_MAX_ARCHIVE_IMAGES)
		return err_set(err, E2BIG, "manifest.json: more than %d images", BERTH_MAX_ARCHIVE_IMAGES);
	size_t i;
	json_t *item;
	json_array_foreach(m, i, item) {
		r = load_docker_image(s, rootfd, item, names, nn, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- load: oci-archive ---- */

/* Read blob `digest` of the archive, verifying it. */
static int oci_blob(int rootfd, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err)
{
	if (!digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest '%s'", digest ? digest : "(null)");
	_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", digest + 7);
	int r = member_read(rootfd, rel, max, ret, ret_len, err);
	if (r < 0)
		return r;
	char got[72];
	sha256_buf(*ret, *ret_len, got);
	if (strcmp(got, digest)) {
		free(*ret);
		*ret = NULL;
		return err_set(err, EINVAL, "blob %s: content does not match its digest", digest);
	}
	return 0;
}

/* Copy a layer blob of the archive into the store (verified) unless present. */
static int oci_layer_blob(ImgStore *s, int rootfd, const char *digest, Error **err)
{
	if (store_blob_exists(s, digest))
		return 0;
	_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", digest + 7);
	_cleanup_close_ int fd = tar_open_in_root(rootfd, rel, O_RDONLY, err);
	if (fd < 0)
		return fd;
	BlobWriter w;
	int r = blob_writer_open(s, &w, err);
	if (r < 0)
		return r;
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			blob_writer_abort(&w);
			return err_sys(err, errno, "read '%s'", rel);
		}
		if (n == 0)
			break;
		r = blob_writer_write(&w, buf, (size_t)n, err);
		if (r < 0) {
			blob_writer_abort(&w);
			return r;
		}
	}
	return blob_writer_commit(s, &w, digest, err);
}

/* Copy every layer blob of the manifest from the archive into the store,
 * then unpack what is not unpacked yet (layers_from_blobs). */
static int oci_layers(ImgStore *s, int rootfd, json_t *mlayers, json_t *config, json_t *out, int64_t *size,
		      Error **err)
{
	for (size_t i = 0; i < json_array_size(mlayers); i++) {
		const char *ld = json_str(json_array_get(mlayers, i), "digest");
		if (!digest_valid(ld))
			return err_set(err, EINVAL, "layer #%zu: invalid digest '%s'", i, ld ? ld : "(none)");
		int r = oci_layer_blob(s, rootfd, ld, err);
		if (r < 0)
			return err_prefix(err, "layer %s", ld);
	}
	return layers_from_blobs(s, mlayers, json_path(config, "rootfs.diff_ids"), out, size, err);
}

static int load_oci_manifest(ImgStore *s, int rootfd, const char *mdigest, const char *name, char ***names,
			     size_t *nn, Error **err)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	size_t mlen, clen;
	int r = oci_blob(rootfd, mdigest, BERTH_MAX_MANIFEST, &mbuf, &mlen, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *m = NULL, *config = NULL;
	r = json_parse_buf(mbuf, mlen, "manifest", &m, err);
	if (r < 0)
		return r;
	const char *mt = json_str(m, "mediaType");
	bool docker = mt && !strcmp(mt, MT_DOCKER_MANIFEST);
	if (mt && !docker && strcmp(mt, MT_OCI_MANIFEST))
		return err_set(err, EINVAL, "manifest %s: unsupported media type '%s'", mdigest, mt);
	const char *cd = json_str(json_object_get(m, "config"), "digest");
	r = oci_blob(rootfd, cd, BERTH_MAX_IMAGE_CONFIG, &cbuf, &clen, err);
	if (r < 0)
		return err_prefix(err, "manifest %s: config", mdigest);
	r = json_parse_buf(cbuf, clen, "config", &config, err);
	if (r < 0)
		return r;
	json_t *mlayers = json_object_get(m, "layers");
	r = check_diff_ids(config, json_array_size(mlayers), "config", err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *layers = json_array();
	int64_t size = 0;
	r = oci_layers(s, rootfd, mlayers, config, layers, &size, err);
	if (r < 0)
		return r;
	char *nv[] = { (char *)name, NULL };
	char id[72];
	if (docker) {
		r = store_image_write(s, cbuf, clen, layers, size, nv, id, err);
	} else {
		/* OCI already: keep the manifest byte for byte (its digest stays valid) */
		char got[72];
		r = store_blob_put(s, cbuf, clen, id, err);
		if (r == 0)
			r = store_blob_put(s, mbuf, mlen, got, err);
		if (r == 0)
			r = store_image_add(s, mdigest, (int64_t)mlen, id, size, name, err);
	}
	if (r < 0)
		return r;
	names_add(names, nn, name ? name : id);
	return 0;
}

/* The platform-matching manifest of an image index blob. */
static int oci_pick_platform(int rootfd, const char *idigest, char **ret, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = oci_blob(rootfd, idigest, BERTH_MAX_MANIFEST, &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *idx = NULL;
	r = json_parse_buf(buf, len, "image index", &idx, err);
	if (r < 0)
		return r;
	json_t *d;
	size_t i;
	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		json_t *p = json_object_get(d, "platform");
		const char *os = json_str(p, "os"), *arch = json_str(p, "architecture");
		if ((!p || (os && !strcmp(os, "linux") && arch && !strcmp(arch, config_host_arch()))) &&
		    digest_valid(json_str(d, "digest"))) {
			*ret = xstrdup(json_str(d, "digest"));
			return 0;
		}
	}
	return err_set(err, ENOENT, "image index %s: no manifest for linux/%s", idigest, config_host_arch());
}

/* The name an OCI index descriptor gives (normalised), or NULL. */
static int oci_desc_name(json_t *desc, char **ret, Error **err)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *n = json_str(ann, ANN_CONTAINERD);
	if (!n) {
		n = json_str(ann, ANN_REF_NAME);
		if (n && !strpbrk(n, ":/@"))
			n = NULL; /* only a tag: no repository to name it by */
	}
	*ret = NULL;
	if (!n)
		return 0;
	return img_ref_normalize(n, ret, err);
}

static int load_oci(ImgStore *s, int rootfd, char ***names, size_t *nn, Error **err)
{
	_cleanup_json_ json_t *idx = NULL;
	int r = member_json(rootfd, "index.json", BERTH_MAX_MANIFEST, &idx, err);
	if (r < 0)
		return r;
	json_t *ms = json_object_get(idx, "manifests");
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return err_set(err, EINVAL, "index.json: no manifests");
	if (json_array_size(ms) > BERTH_MAX_ARCHIVE_IMAGES)
		return err_set(err, E2BIG, "index.json: more than %d images", BERTH_MAX_ARCHIVE_IMAGES);
	size_t i;
	json_t *d;
	json_array_foreach(ms, i, d) {
		_cleanup_free_ char *name = NULL, *picked = NULL;
		r = oci_desc_name(d, &name, err);
		if (r < 0)
			return err_prefix(err, "index.json");
		const char *mt = json_str(d, "mediaType"), *digest = json_str(d, "digest");
		if (mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))) {
			r = oci_pick_platform(rootfd, digest, &picked, err);
			if (r < 0)
				return r;
			digest = picked;
		}
		r = load_oci_manifest(s, rootfd, digest, name, names, nn, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int img_load(ImgStore *s, int fd, char ***ret_names, Error **err)
{
	_cleanup_close_ int lock = -1;
	int r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = NULL;
	r = store_mkdtemp(s, "load", &tmp, err);
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names = NULL;
	size_t nn = 0;
	TarResult tr;
	if (rootfd < 0)
		r = err_sys(err, errno, "open '%s'", tmp);
	else
		r = tar_unpack_stream(fd, rootfd, TAR_PLAIN, NULL, &tr, err);
	if (r == 0) {
		if (member_exists(rootfd, "manifest.json"))
			r = load_docker(s, rootfd, &names, &nn, err);
		else if (member_exists(rootfd, "index.json"))
			r = load_oci(s, rootfd, &names, &nn, err);
		else
			r = err_set(err, EINVAL, "no manifest.json or index.json: not a docker-archive or oci-archive");
	}
	fs_rm_rf(tmp, NULL);
	if (r < 0) {
		strv_free(names);
		return r;
	}
	*ret_names = names;
	return 0;
}

/* ---- save ---- */

static la_ssize_t save_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	int r = fs_write_all(*(int *)ud, buf, n);
	if (r < 0) {
		archive_set_error(a, -r, "write: %s", strerror(-r));
		return -1;
	}
	return (la_ssize_t)n;
}

static struct archive_entry *member_entry(const char *name, mode_t type, int64_t size)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	return e;
}

static int put_header(struct archive *w, const char *name, mode_t type, int64_t size, Error **err)
{
	struct archive_entry *e = member_entry(name, type, size);
	int r = archive_write_header(w, e);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN)
		return err_set(err, EIO, "write '%s': %s", name, archive_error_string(w) ?: "error");
	return 0;
}

static int put_data(struct archive *w, const char *name, const void *buf, size_t n, Error **err)
{
	if (n && archive_write_data(w, buf, n) != (la_ssize_t)n)
		return err_set(err, EIO, "write '%s': %s", name, archive_error_string(w) ?: "error");
	return 0;
}

static int put_buf(struct archive *w, const char *name, const void *buf, size_t n, Error **err)
{
	int r = put_header(w, name, AE_IFREG, (int64_t)n, err);
	return r < 0 ? r : put_data(w, name, buf, n, err);
}

static int put_file(struct archive *w, const char *name, const char *path, Error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(err, errno, "open '%s'", path);
	int r = put_header(w, name, AE_IFREG, st.st_size, err);
	char buf[1 << 16];
	for (int64_t left = st.st_size; r == 0 && left > 0;) {
		ssize_t n = read(fd, buf, sizeof(buf) < (size_t)left ? sizeof(buf) : (size_t)left);
		if (n <= 0)
			return n < 0 ? err_sys(err, errno, "read '%s'", path)
				     : err_set(err, EIO, "read '%s': file shrank", path);
		r = put_data(w, name, buf, (size_t)n, err);
		left -= n;
	}
	return r;
}

/* Uncompressed length of a layer blob: recorded at unpack time, else measured. */
static int layer_tar_size(ImgStore *s, const char *chain, const char *diff_id, const char *blob, int64_t *ret,
			  Error **err)
{
	_cleanup_json_ json_t *info = NULL;
	if (layer_info_read(s, chain, &info, NULL) == 0 && json_str(info, "diff_id") &&
	    !strcmp(json_str(info, "diff_id"), diff_id) && json_int(info, "tar_size", -1) >= 0) {
		*ret = json_int(info, "tar_size", 0);
		return 0;
	}
	_cleanup_free_ char *bp = store_blob_path(s, blob);
	_cleanup_close_ int fd = open(bp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "layer %s", blob);
	bool empty;
	struct archive *a = tar_decompressor_open(fd, &empty, err);
	if (!a)
		return -EIO;
	char buf[1 << 16];
	la_ssize_t n;
	int64_t total = 0;
	while (!empty && (n = archive_read_data(a, buf, sizeof(buf))) > 0)
		total += n;
	archive_read_free(a);
	*ret = total;
	return 0;
}

static int put_layer_tar(ImgStore *s, struct archive *w, const char *name, const char *chain,
			 const char *diff_id, const char *blob, Error **err)
{
	int64_t size = 0;
	int r = layer_tar_size(s, chain, diff_id, blob, &size, err);
	if (r < 0)
		return r;
	r = put_header(w, name, AE_IFREG, size, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *bp = store_blob_path(s, blob);
	_cleanup_close_ int fd = open(bp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "layer %s", blob);
	bool empty;
	struct archive *a = tar_decompressor_open(fd, &empty, err);
	if (!a)
		return -EIO;
	char buf[1 << 16];
	la_ssize_t n = 0;
	int64_t total = 0;
	while (!empty && r == 0 && (n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (total + n > size) {
			r = err_set(err, EIO, "layer %s: longer than recorded", blob);
			break;
		}
		r = put_data(w, name, buf, (size_t)n, err);
		total += n;
	}
	if (r == 0 && n < 0)
		r = err_set(err, EIO, "layer %s: %s", blob, archive_error_string(a) ?: "read error");
	archive_read_free(a);
	if (r == 0 && total != size)
		r = err_set(err, EIO, "layer %s: %lld bytes, %lld recorded", blob, (long long)total, (long long)size);
	return r;
}

typedef struct SaveItem {
	ImgInfo *info;
	char **names;    /* full references to save it under */
	size_t n_names;
} SaveItem;

static int save_docker(ImgStore *s, struct archive *w, SaveItem *items, size_t n, Error **err)
{
	_cleanup_json_ json_t *manifest = json_array(), *repos = json_object(), *written = json_object();
	for (size_t i = 0; i < n; i++) {
		ImgInfo *img = items[i].info;
		_cleanup_free_ char (*chains)[72] = layer_chain_ids(img);
		json_t *lnames = json_array();
		for (size_t k = 0; k < img->n_layers; k++) {
			_cleanup_free_ char *name = xasprintf("%s.tar", img->diff_ids[k] + 7);
			json_array_append_new(lnames, json_string(name));
			if (json_object_get(written, name))
				continue;
			int r = put_layer_tar(s, w, name, chains[k], img->diff_ids[k], img->layer_digests[k], err);
			if (r < 0) {
				json_decref(lnames);
				return r;
			}
			json_object_set_new(written, name, json_true());
		}
		_cleanup_free_ char *cfgname = xasprintf("%s.json", img->id + 7);
		_cleanup_free_ char *cp = store_blob_path(s, img->id);
		int r = json_object_get(written, cfgname) ? 0 : put_file(w, cfgname, cp, err);
		if (r < 0) {
			json_decref(lnames);
			return r;
		}
		json_object_set_new(written, cfgname, json_true());
		json_t *tags = json_array();
		for (size_t k = 0; k < items[i].n_names; k++) {
			/* full names: podman would read "bb:latest" as localhost/bb, docker reads both */
			_cleanup_free_ char *repo = NULL, *tag = NULL;
			json_array_append_new(tags, json_string(items[i].names[k]));
			img_ref_split(items[i].names[k], &repo, &tag);
			if (img->n_layers)
				json_object_set_new(json_obj_ensure(repos, repo), tag, json_string(chains[img->n_layers - 1] + 7));
		}
		json_array_append_new(manifest, json_pack("{s:s,s:o,s:o}", "Config", cfgname, "RepoTags", tags,
							  "Layers", lnames));
	}
	_cleanup_free_ char *mbuf = json_dumps(manifest, JSON_COMPACT);
	_cleanup_free_ char *rbuf = json_dumps(repos, JSON_COMPACT);
	int r = put_buf(w, "manifest.json", mbuf, strlen(mbuf), err);
	return r < 0 ? r : put_buf(w, "repositories", rbuf, strlen(rbuf), err);
}

static int put_blob(ImgStore *s, struct archive *w, json_t *written, const char *digest, Error **err)
{
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", digest + 7);
	if (json_object_get(written, name))
		return 0;
	json_object_set_new(written, name, json_true());
	_cleanup_free_ char *p = store_blob_path(s, digest);
	return put_file(w, name, p, err);
}

static int save_oci(ImgStore *s, struct archive *w, SaveItem *items, size_t n, Error **err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	int r = put_buf(w, "oci-layout", layout, strlen(layout), err);
	if (r == 0)
		r = put_header(w, "blobs/", AE_IFDIR, 0, err);
	if (r == 0)
		r = put_header(w, "blobs/sha256/", AE_IFDIR, 0, err);
	_cleanup_json_ json_t *written = json_object(), *descs = json_array();
	for (size_t i = 0; r == 0 && i < n; i++) {
		ImgInfo *img = items[i].info;
		for (size_t k = 0; r == 0 && k < img->n_layers; k++)
			r = put_blob(s, w, written, img->layer_digests[k], err);
		if (r == 0)
			r = put_blob(s, w, written, img->id, err);
		if (r == 0)
			r = put_blob(s, w, written, img->manifest_digest, err);
		if (r < 0)
			break;
		_cleanup_free_ char *mp = store_blob_path(s, img->manifest_digest);
		struct stat st;
		if (stat(mp, &st) < 0)
			return err_sys(err, errno, "manifest %s", img->manifest_digest);
		for (size_t k = 0; k < (items[i].n_names ? items[i].n_names : 1); k++) {
			json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", MT_OCI_MANIFEST, "digest",
					      img->manifest_digest, "size", (json_int_t)st.st_size);
			if (items[i].n_names)
				json_object_set_new(d, "annotations", json_pack("{s:s}", ANN_REF_NAME, items[i].names[k]));
			json_array_append_new(descs, d);
		}
	}
	if (r < 0)
		return r;
	_cleanup_json_ json_t *index = json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
						 "manifests", descs);
	_cleanup_free_ char *ibuf = json_dumps(index, JSON_COMPACT);
	return put_buf(w, "index.json", ibuf, strlen(ibuf), err);
}

static int save_collect(ImgStore *s, char *const *refs, SaveItem **ret, size_t *ret_n, Error **err)
{
	_cleanup_json_ json_t *idx = NULL;
	int r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	size_t n = 0, cap = 0;
	for (char *const *p = refs; *p; p++)
		cap++;
	SaveItem *items = xcalloc(cap + 1, sizeof(*items));
	for (char *const *p = refs; r == 0 && *p; p++) {
		_cleanup_free_ char *id = NULL, *byname = NULL;
		r = index_lookup(s, idx, *p, &id, &byname, err);
		if (r < 0)
			break;
		size_t k = 0;
		while (k < n && strcmp(items[k].info->id, id))
			k++;
		if (k == n) {
			r = img_info_load(s, idx, id, &items[n].info, err);
			if (r < 0)
				break;
			n++;
		}
		SaveItem *it = &items[k];
		char **add = byname ? (char *[]){ byname, NULL } : it->info->names;
		for (; *add; add++) {
			bool dup = false;
			for (size_t j = 0; j < it->n_names && !dup; j++)
				dup = !strcmp(it->names[j], *add);
			if (!dup)
				names_add(&it->names, &it->n_names, *add);
		}
	}
	if (r < 0) {
		for (size_t k = 0; k < n; k++) {
			img_info_free(items[k].info);
			strv_free(items[k].names);
		}
		free(items);
		return r;
	}
	*ret = items;
	*ret_n = n;
	return 0;
}

int img_save(ImgStore *s, char *const *refs, const char *format, int fd, Error **err)
{
	bool oci;
	if (!format || !strcmp(format, "docker-archive"))
		oci = false;
	else if (!strcmp(format, "oci-archive"))
		oci = true;
	else
		return err_set(err, EINVAL, "unknown format '%s' (docker-archive, oci-archive)", format);
	if (!refs || !refs[0])
		return err_set(err, EINVAL, "no image given");
	_cleanup_close_ int lock = -1; /* no gc while we read the blobs */
	int r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	SaveItem *items;
	size_t n;
	r = save_collect(s, refs, &items, &n, err);
	if (r < 0)
		return r;
	struct archive *w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	archive_write_add_filter_none(w);
	int out = fd;
	if (archive_write_open(w, &out, NULL, save_write_cb, NULL) != ARCHIVE_OK)
		r = err_set(err, EIO, "%s", archive_error_string(w) ?: "cannot write");
	if (r == 0)
		r = oci ? save_oci(s, w, items, n, err) : save_docker(s, w, items, n, err);
	if (archive_write_close(w) != ARCHIVE_OK && r == 0)
		r = err_set(err, EIO, "%s", archive_error_string(w) ?: "write failed");
	archive_write_free(w);
	for (size_t k = 0; k < n; k++) {
		img_info_free(items[k].info);
		strv_free(items[k].names);
	}
	free(items);
	return r < 0 ? r : 0;
}
