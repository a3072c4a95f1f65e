/* layer.c - unpacked layers and the overlay mount data built from them.
 *
 *   <root>/layers/<chainid-hex>/diff       the layer's files, overlay whiteouts
 *   <root>/layers/<chainid-hex>/link       "l/<26 chars>": its short name
 *   <root>/layers/<chainid-hex>/lower      short names of all layers below it,
 *                                          top first ("l/A:l/B"), absent at the base
 *   <root>/layers/<chainid-hex>/info.json  diff_id, parent, sizes, the blob it came from
 *   <root>/l/<26 chars> -> ../layers/<chainid-hex>/diff
 * As in overlay2: mount(2) data is limited to one page, so lowerdirs are the
 * short relative l/ names and the mount is done from <root>.  The `lower` file
 * means building the options for an image reads two small files, however deep
 * the image is.  A layer is keyed by its chain id (it depends on its parents'
 * content) and unpacked once, into a temp dir renamed into place when
 * complete: a failed or concurrent unpack never leaves half a layer.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define LINK_LEN 26

void layer_chain_id(const char *parent_chain, const char *diff_id, char out[72])
{
	if (!parent_chain) {
		memcpy(out, diff_id, 72);
		out[71] = 0;
		return;
	}
	_cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
	sha256_buf(s, strlen(s), out);
}

char (*layer_chain_ids(const ImgInfo *img))[72]
{
	char (*ids)[72] = xcalloc(img->n_layers ? img->n_layers : 1, 72);
	for (size_t i = 0; i < img->n_layers; i++)
		layer_chain_id(i ? ids[i - 1] : NULL, img->diff_ids[i], ids[i]);
	return ids;
}

char *layer_dir(const ImgStore *s, const char *chain_id)
{
	return xasprintf("%s/%s", s->layers, digest_valid(chain_id) ? chain_id + 7 : "invalid");
}

bool layer_exists(const ImgStore *s, const char *chain_id)
{
	_cleanup_free_ char *d = layer_dir(s, chain_id);
	return fs_is_dir(d);
}

static void random_link(char out[LINK_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[LINK_LEN];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r > 0)
			got += (size_t)r;
	}
	for (int i = 0; i < LINK_LEN; i++)
		out[i] = alphabet[raw[i] % 36];
	out[LINK_LEN] = 0;
}

static bool link_valid(const char *l, size_t n)
{
	if (n != 2 + LINK_LEN || strncmp(l, "l/", 2))
		return false;
	for (size_t i = 2; i < n; i++)
		if (!((l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= '0' && l[i] <= '9')))
			return false;
	return true;
}

/* Read layers/<chain>/<file>; *ret NULL (and 0 returned) when absent and optional. */
static int layer_read_small(const ImgStore *s, const char *chain, const char *file, bool optional,
			    char **ret, Error **err)
{
	_cleanup_free_ char *d = layer_dir(s, chain);
	_cleanup_free_ char *p = fs_join(d, file);
	*ret = NULL;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			return 0;
		return err_sys(err, errno, "layer %.19s: open '%s'", chain, file);
	}
	close(fd);
	return fs_read_file(p, (size_t)(BERTH_MAX_LAYERS + 1) * (LINK_LEN + 3), ret, NULL, err);
}

/* "link[:lower]" of an existing layer: the lowerdir list with it on top. */
static int layer_stack(const ImgStore *s, const char *chain, char **ret, Error **err)
{
	_cleanup_free_ char *link = NULL, *lower = NULL;
	int r = layer_read_small(s, chain, "link", false, &link, err);
	if (r < 0)
		return r;
	r = layer_read_small(s, chain, "lower", true, &lower, err);
	if (r < 0)
		return r;
	*ret = lower && *lower ? xasprintf("%s:%s", link, lower) : TAKE_PTR(link);
	return 0;
}

int layer_info_read(ImgStore *s, const char *chain_id, json_t **ret, Error **err)
{
	_cleanup_free_ char *d = layer_dir(s, chain_id);
	_cleanup_free_ char *p = fs_join(d, "info.json");
	return json_load_path(p, BERTH_MAX_MANIFEST, ret, err);
}

static int write_small(const char *dir, const char *file, const char *content, Error **err)
{
	_cleanup_free_ char *p = fs_join(dir, file);
	return fs_write_atomic(p, content, strlen(content), 0644, err);
}

/* Give a freshly unpacked tmp dir its link, lower and info, then rename it
 * to layers/<chain>.  Losing a race to another unpacker is not an error. */
static int layer_publish(ImgStore *s, const char *tmp, const char *parent, const LayerResult *res,
			 Error **err)
{
	char id[LINK_LEN + 1];
	random_link(id);
	_cleanup_free_ char *link = xasprintf("l/%s", id);
	int r = write_small(tmp, "link", link, err);
	if (r < 0)
		return r;
	if (parent) {
		_cleanup_free_ char *stack = NULL;
		r = layer_stack(s, parent, &stack, err);
		if (r < 0)
			return err_prefix(err, "parent of layer %.19s", res->chain_id);
		r = write_small(tmp, "lower", stack, err);
		if (r < 0)
			return r;
	}
	_cleanup_json_ json_t *info = json_pack("{s:s,s:s,s:I,s:I}", "diff_id", res->diff_id, "chain_id",
						res->chain_id, "size", (json_int_t)res->size, "tar_size",
						(json_int_t)res->tar_size);
	if (parent)
		json_object_set_new(info, "parent", json_string(parent));
	if (digest_valid(res->blob_digest))
		json_object_set_new(info, "blob", json_pack("{s:s,s:I,s:s}", "digest", res->blob_digest, "size",
							    (json_int_t)res->blob_size, "mediaType",
							    res->blob_media[0] ? res->blob_media : MT_OCI_LAYER_GZ));
	_cleanup_free_ char *ip = fs_join(tmp, "info.json");
	r = json_save_path(ip, info, JSON_COMPACT, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *final = layer_dir(s, res->chain_id);
	_cleanup_free_ char *lpath = xasprintf("%s/%s", s->links, id);
	_cleanup_free_ char *target = xasprintf("../layers/%s/diff", res->chain_id + 7);
	if (symlink(target, lpath) < 0)
		return err_sys(err, errno, "symlink '%s'", lpath);
	if (rename(tmp, final) < 0) {
		int e = errno;
		unlink(lpath);
		if (e == EEXIST || e == ENOTEMPTY)
			return 1; /* someone else unpacked it first */
		return err_sys(err, e, "rename layer into '%s'", final);
	}
	return 0;
}

int layer_unpack(ImgStore *s, int in_fd, const char *parent_chain, const char *expect_diff_id,
		 bool make_blob, LayerResult *res, Error **err)
{
	TarInput in = { .fd = in_fd };
	return layer_unpack_gated(s, &in, parent_chain, expect_diff_id, make_blob, NULL, NULL, res, err);
}

int layer_unpack_gated(ImgStore *s, const TarInput *in, const char *parent_chain, const char *expect_diff_id,
		       bool make_blob, int (*gate)(void *ud, Error **err), void *gate_ud, LayerResult *res,
		       Error **err)
{
	/* with a gate the parent may still be on its way: checked after the gate */
	if (!gate && parent_chain && !layer_exists(s, parent_chain))
		return err_set(err, ENOENT, "layer: parent layer %.19s is not unpacked", parent_chain);
	_cleanup_free_ char *tmp = xasprintf("%s/.tmp-XXXXXX", s->layers);
	if (!mkdtemp(tmp))
		return err_sys(err, errno, "create temp dir in '%s'", s->layers);
	_cleanup_free_ char *diff = fs_join(tmp, "diff");
	int r = 0;
	_cleanup_close_ int rootfd = -1;
	if (mkdir(diff, 0755) < 0 || (rootfd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = err_sys(err, errno, "create '%s'", diff);
	BlobWriter bw = { .fd = -1 };
	if (r == 0 && make_blob)
		r = blob_writer_open(s, &bw, err);
	TarResult tr;
	if (r == 0)
		r = tar_unpack_input(in, rootfd, TAR_LAYER, make_blob ? &bw : NULL, &tr, err);
	if (r == 0 && expect_diff_id && strcmp(expect_diff_id, tr.diff_id))
		r = err_set(err, EINVAL, "layer content does not match its diff_id: expected %s, got %s",
			    expect_diff_id, tr.diff_id);
	if (r == 0 && make_blob) {
		r = blob_writer_commit(s, &bw, NULL, err);
		if (r == 0) {
			memcpy(res->blob_digest, bw.digest, 72);
			res->blob_size = (int64_t)bw.size;
			snprintf(res->blob_media, sizeof(res->blob_media), "%s", MT_OCI_LAYER_GZ);
		}
	} else if (make_blob) {
		blob_writer_abort(&bw);
	}
	if (r == 0) {
		memcpy(res->diff_id, tr.diff_id, 72);
		layer_chain_id(parent_chain, tr.diff_id, res->chain_id);
		res->size = (int64_t)tr.content_size;
		res->tar_size = (int64_t)tr.tar_size;
		if (gate)
			r = gate(gate_ud, err);
		if (r == 0 && gate && parent_chain && !layer_exists(s, parent_chain))
			r = err_set(err, ENOENT, "layer: parent layer %.19s is not unpacked", parent_chain);
		if (r == 0 && !layer_exists(s, res->chain_id))
			r = layer_publish(s, tmp, parent_chain, res, err);
	}
	if (fs_is_dir(tmp))
		fs_rm_rf(tmp, NULL);
	return r < 0 ? r : 0;
}

int layer_adopt(ImgStore *s, const char *dir, const char *parent_chain, LayerResult *res, Error **err)
{
	if (layer_exists(s, res->chain_id))
		return 0;
	_cleanup_free_ char *tmp = xasprintf("%s/.tmp-XXXXXX", s->layers);
	if (!mkdtemp(tmp))
		return err_sys(err, errno, "create temp dir in '%s'", s->layers);
	_cleanup_free_ char *diff = fs_join(tmp, "diff");
	if (rename(dir, diff) < 0) {
		int e = errno;
		rmdir(tmp);
		return e == EXDEV ? -EXDEV : err_sys(err, e, "move '%s' into the layer store", dir);
	}
	int r = layer_publish(s, tmp, parent_chain, res, err);
	if (fs_is_dir(tmp))
		fs_rm_rf(tmp, NULL);
	return r < 0 ? r : 0;
}

const char *layer_media_sniff(int fd)
{
	unsigned char m[4] = { 0 };
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return MT_OCI_LAYER_GZ;
	if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return MT_OCI_LAYER_ZS;
	return MT_OCI_LAYER;
}

/* Rewrite layers/<chain>/lower after a layer below it was unpacked again. */
static int layer_relink(ImgStore *s, const char *chain, const char *parent, Error **err)
{
	_cleanup_free_ char *stack = NULL;
	int r = layer_stack(s, parent, &stack, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *d = layer_dir(s, chain);
	return write_small(d, "lower", stack, err);
}

int layer_ensure_locked(ImgStore *s, const ImgInfo *img, Error **err)
{
	_cleanup_free_ char (*chains)[72] = layer_chain_ids(img);
	bool below_changed = false;
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *parent = i ? chains[i - 1] : NULL;
		if (layer_exists(s, chains[i])) {
			if (below_changed) {
				int r = layer_relink(s, chains[i], parent, err);
				if (r < 0)
					return r;
			}
			continue;
		}
		_cleanup_free_ char *bp = store_blob_path(s, img->layer_digests[i]);
		_cleanup_close_ int fd = open(bp, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, errno, "layer %s: blob", img->layer_digests[i]);
		struct stat st;
		fstat(fd, &st);
		LayerResult res = { .blob_size = st.st_size };
		memcpy(res.blob_digest, img->layer_digests[i], 72);
		snprintf(res.blob_media, sizeof(res.blob_media), "%s", layer_media_sniff(fd));
		int r = layer_unpack(s, fd, parent, img->diff_ids[i], false, &res, err);
		if (r < 0)
			return err_prefix(err, "unpack layer %s", img->layer_digests[i]);
		below_changed = true;
	}
	return 0;
}

static bool all_unpacked(ImgStore *s, const ImgInfo *img)
{
	_cleanup_free_ char (*chains)[72] = layer_chain_ids(img);
	for (size_t i = 0; i < img->n_layers; i++)
		if (!layer_exists(s, chains[i]))
			return false;
	return true;
}

int img_ensure_unpacked(ImgStore *s, const ImgInfo *img, Error **err)
{
	if (all_unpacked(s, img))
		return 0;
	_cleanup_close_ int lock = -1;
	int r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	r = layer_ensure_locked(s, img, err);
	if (r < 0)
		return err_prefix(err, "image %.19s", img->id);
	return 0;
}

static bool option_safe(const char *p)
{
	return p && !strpbrk(p, ",:\n");
}

int img_overlay_options(ImgStore *s, const ImgInfo *img, const char *extra_lower, const char *upper,
			const char *work, char **ret_data, char **ret_dir, Error **err)
{
	if (img->n_layers > BERTH_MAX_LAYERS)
		return err_set(err, E2BIG, "image has %zu layers: more than the BERTH_MAX_LAYERS limit (%d)",
			       img->n_layers, BERTH_MAX_LAYERS);
	if ((extra_lower && !option_safe(extra_lower)) || (upper && !option_safe(upper)) ||
	    (work && !option_safe(work)))
		return err_set(err, EINVAL, "overlay: directory names must not contain ',' or ':'");
	_cleanup_free_ char *stack = NULL;
	if (img->n_layers) {
		_cleanup_free_ char (*chains)[72] = layer_chain_ids(img);
		const char *top = chains[img->n_layers - 1];
		if (!layer_exists(s, top)) {
			int r = img_ensure_unpacked(s, img, err);
			if (r < 0)
				return r;
		}
		int r = layer_stack(s, top, &stack, err);
		if (r < 0)
			return err_prefix(err, "image %.19s", img->id);
		size_t n = 0;
		for (char *p = stack; p; n++) {
			char *e = strchr(p, ':');
			if (!link_valid(p, e ? (size_t)(e - p) : strlen(p)))
				return err_set(err, EINVAL, "image %.19s: corrupt layer link list", img->id);
			p = e ? e + 1 : NULL;
		}
		if (n != img->n_layers)
			return err_set(err, EINVAL, "image %.19s: layer link list has %zu entries, expected %zu",
				       img->id, n, img->n_layers);
	} else if (!extra_lower) {
		stack = fs_join(s->layers, ".empty");
		if (mkdir(stack, 0755) < 0 && errno != EEXIST)
			return err_sys(err, errno, "mkdir '%s'", stack);
	}
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "lowerdir=");
	if (extra_lower)
		sb_addf(&sb, "%s%s", extra_lower, stack ? ":" : "");
	if (stack)
		sb_adds(&sb, stack);
	if (upper)
		sb_addf(&sb, ",upperdir=%s", upper);
	if (work)
		sb_addf(&sb, ",workdir=%s", work);
	long page = sysconf(_SC_PAGESIZE);
	if ((long)sb.len + 1 > page) {
		size_t len = sb.len;
		sb_release(&sb);
		return err_set(err, E2BIG, "image has %zu layers: overlay mount options exceed the page size "
			       "(%zu > %ld bytes)", img->n_layers, len + 1, page);
	}
	*ret_data = sb_detach(&sb);
	*ret_dir = xstrdup(s->root);
	return 0;
}

/* ---- looking paths up in an image's layers ---- */

int *layer_open_diffs(ImgStore *s, const ImgInfo *img, size_t *ret_n)
{
	_cleanup_free_ char (*chains)[72] = layer_chain_ids(img);
	int *fds = xcalloc(img->n_layers ? img->n_layers : 1, sizeof(int));
	for (size_t i = 0; i < img->n_layers; i++) {
		_cleanup_free_ char *d = layer_dir(s, chains[img->n_layers - 1 - i]);
		_cleanup_free_ char *diff = fs_join(d, "diff");
		fds[i] = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	*ret_n = img->n_layers;
	return fds;
}

void layer_close_diffs(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool dir_opaque(int fd)
{
	char v[2];
	ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

/* 1 found, 0 hidden (whiteout, or an opaque/non-dir ancestor), -1 not in this layer */
static int path_in_layer(int layerfd, const char *rel)
{
	_cleanup_free_ char *copy = xstrdup(rel);
	char *last = strrchr(copy, '/');
	const char *base = last ? last + 1 : copy;
	int cur = dup(layerfd);
	bool opaque = false;
	if (last) {
		*last = 0;
		char *save = NULL;
		for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			struct stat st;
			if (fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				close(cur);
				return opaque ? 0 : -1;
			}
			if (!S_ISDIR(st.st_mode)) {
				close(cur);
				return 0;
			}
			int fd = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			close(cur);
			if (fd < 0)
				return -1;
			cur = fd;
			if (dir_opaque(cur))
				opaque = true;
		}
	}
	struct stat st;
	int r = fstatat(cur, base, &st, AT_SYMLINK_NOFOLLOW);
	close(cur);
	if (r == 0)
		return is_whiteout(&st) ? 0 : 1;
	return opaque ? 0 : -1;
}

bool layer_path_in_image(int *fds, size_t n, const char *path)
{
	while (*path == '/')
		path++;
	if (!*path)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		int r = path_in_layer(fds[i], path);
		if (r >= 0)
			return r == 1;
	}
	return false;
}

bool img_path_in_image(ImgStore *s, const ImgInfo *img, const char *path)
{
	size_t n;
	int *fds = layer_open_diffs(s, img, &n);
	bool r = layer_path_in_image(fds, n, path);
	layer_close_diffs(fds, n);
	return r;
}

/* Docker schema2 layer media types as their OCI equivalents (others as they are). */
const char *layer_media_oci(const char *mt)
{
	if (!strcmp(mt, MT_DOCKER_LAYER_GZ))
		return MT_OCI_LAYER_GZ;
	if (!strcmp(mt, MT_DOCKER_FOREIGN))
		return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
	return mt;
}

/* Unpack a manifest's layers whose blobs are in the store, bottom up, each
 * only if it is not unpacked yet; *size adds up their unpacked sizes and out
 * gets their descriptors with OCI media types.  Used by load and pull. */
int layers_from_blobs(ImgStore *s, const json_t *mlayers, const json_t *diff_ids, json_t *out, int64_t *size,
		      Error **err)
{
	char chain[72] = "";
	for (size_t i = 0; i < json_array_size(mlayers); i++) {
		json_t *l = json_array_get(mlayers, i);
		const char *ld = json_str(l, "digest"), *mt = json_str(l, "mediaType");
		const char *d = json_string_value(json_array_get(diff_ids, i));
		if (!digest_valid(ld) || !mt || !config_layer_media_ok(layer_media_oci(mt)) || !digest_valid(d))
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
			snprintf(res.blob_media, sizeof(res.blob_media), "%s", layer_media_oci(mt));
			int r = layer_unpack(s, fd, i ? chain : NULL, d, false, &res, err);
			if (r < 0)
				return err_prefix(err, "layer %s", ld);
			*size += res.size;
		}
		memcpy(chain, next, 72);
		json_t *desc = json_deep_copy(l);
		json_object_set_new(desc, "mediaType", json_string(layer_media_oci(mt)));
		json_array_append_new(out, desc);
	}
	return 0;
}
