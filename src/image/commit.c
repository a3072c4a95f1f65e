/* commit.c - a container's upperdir becomes a new layer on top of its image.
 *
 * The upperdir is walked into an OCI layer tar (overlay whiteouts and opaque
 * directories become .wh. entries, diff.c), hashed and gzipped into a blob
 * in one pass, then unpacked from that blob like any other layer so the new
 * image can run at once.  The config is the parent's with `config_changes`
 * merged into .config, a new diff_id and a history entry.  With upperdir NULL
 * only the config changes (an empty_layer history entry), as a Dockerfile's
 * metadata instructions do.
 * img_commit_ex (for builds) adds: a fixed "created" time that also clamps
 * file mtimes (reproducible layers), zstd or adaptive gzip (compress.c), a
 * whole replacement .config, and adopting the upperdir as the unpacked
 * layer instead of unpacking the new blob again.
 */
#include "image-internal.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

static int commit_layer(ImgStore *s, const char *upperdir, const char *parent_chain, const ImgCommitOpts *o,
			LayerResult *res, Error **err)
{
	LayerTarWriter *lw;
	struct archive *w;
	int r = o ? layer_tar_writer_open_ex(s, o->zstd, &lw, &w, err) : layer_tar_writer_open(s, &lw, &w, err);
	if (r < 0)
		return r;
	r = diff_write_tree_clamped(w, upperdir, true, o ? o->timestamp : -1, err);
	if (r < 0) {
		layer_tar_writer_abort(lw);
		return r;
	}
	char diff_id[72];
	r = layer_tar_writer_close(s, lw, diff_id, res->blob_digest, &res->blob_size, &res->tar_size, err);
	if (r < 0)
		return r;
	if (o && o->adopt_upper) {
		memcpy(res->diff_id, diff_id, 72);
		layer_chain_id(parent_chain, diff_id, res->chain_id);
		res->size = res->tar_size;
		snprintf(res->blob_media, sizeof(res->blob_media), "%s", compressor_media_type(o->zstd));
		r = layer_adopt(s, upperdir, parent_chain, res, err);
		if (r != -EXDEV)
			return r;
	}
	_cleanup_free_ char *bp = store_blob_path(s, res->blob_digest);
	_cleanup_close_ int fd = open(bp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", bp);
	return layer_unpack(s, fd, parent_chain, diff_id, false, res, err);
}

static json_t *base_config(void)
{
	return json_pack("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", config_host_arch(), "os", "linux",
			 "config", "rootfs", "type", "layers", "diff_ids", "history");
}

static int parent_layers(ImgStore *s, const ImgInfo *parent, json_t **ret, Error **err)
{
	if (!parent) {
		*ret = json_array();
		return 0;
	}
	_cleanup_json_ json_t *m = NULL;
	int r = store_blob_read_json(s, parent->manifest_digest, BERTH_MAX_MANIFEST, &m, err);
	if (r < 0)
		return r;
	json_t *layers = json_object_get(m, "layers");
	if (!json_is_array(layers) || json_array_size(layers) != parent->n_layers)
		return err_set(err, EINVAL, "image %.19s: manifest layers do not match", parent->id);
	*ret = json_deep_copy(layers);
	return 0;
}

static int commit_any(ImgStore *s, const char *upperdir, const ImgInfo *parent, const json_t *config_changes,
		      const ImgCommitOpts *o, const char *created_by, const char *comment, const char *name,
		      char **ret_id, Error **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = name ? img_ref_normalize(name, &norm, err) : 0;
	if (r < 0)
		return r;
	if (norm && strchr(norm, '@'))
		return err_set(err, EINVAL, "'%s': an image name cannot have a digest", name);
	_cleanup_close_ int lock = -1;
	r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *layers = NULL;
	r = parent_layers(s, parent, &layers, err);
	if (r < 0)
		return err_prefix(err, "commit");
	_cleanup_free_ char (*chains)[72] = parent ? layer_chain_ids(parent) : NULL;
	const char *parent_chain = parent && parent->n_layers ? chains[parent->n_layers - 1] : NULL;
	if (parent) {
		r = layer_ensure_locked(s, parent, err);
		if (r < 0)
			return err_prefix(err, "commit");
	}
	LayerResult res = { 0 };
	if (upperdir) {
		r = commit_layer(s, upperdir, parent_chain, o, &res, err);
		if (r < 0)
			return err_prefix(err, "commit '%s'", upperdir);
		const char *mt = o ? compressor_media_type(o->zstd) : MT_OCI_LAYER_GZ;
		json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest",
							res.blob_digest, "size", (json_int_t)res.blob_size));
	}
	_cleanup_json_ json_t *config = parent ? json_deep_copy(parent->config) : base_config();
	char created[64];
	if (o && o->timestamp >= 0) {
		struct tm tm;
		time_t t = (time_t)o->timestamp;
		gmtime_r(&t, &tm);
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else {
		config_now(created);
	}
	json_object_set_new(config, "created", json_string(created));
	if (o && o->config)
		json_object_set_new(config, "config", json_deep_copy(o->config));
	json_t *cfg = json_obj_ensure(config, "config");
	if (json_is_object(config_changes))
		json_object_update(cfg, (json_t *)config_changes);
	json_t *rootfs = json_obj_ensure(config, "rootfs");
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_t *diff_ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(diff_ids)) {
		diff_ids = json_array();
		json_object_set_new(rootfs, "diff_ids", diff_ids);
	}
	if (upperdir)
		json_array_append_new(diff_ids, json_string(res.diff_id));
	json_t *history = json_object_get(config, "history");
	if (!json_is_array(history)) {
		history = json_array();
		json_object_set_new(config, "history", history);
	}
	json_t *h = json_pack("{s:s}", "created", created);
	if (created_by)
		json_object_set_new(h, "created_by", json_string(created_by));
	if (comment && *comment)
		json_object_set_new(h, "comment", json_string(comment));
	if (!upperdir)
		json_object_set_new(h, "empty_layer", json_true());
	json_array_append_new(history, h);
	_cleanup_free_ char *buf = json_dumps(config, JSON_COMPACT);
	char *names[] = { norm, NULL };
	char id[72];
	r = store_image_write(s, buf, strlen(buf), layers, (parent ? parent->size : 0) + res.size, names, id, err);
	if (r < 0)
		return err_prefix(err, "commit");
	*ret_id = xstrdup(id);
	return 0;
}

int img_commit(ImgStore *s, const char *upperdir, const ImgInfo *parent, const json_t *config_changes,
	       const char *created_by, const char *comment, const char *name, char **ret_id, Error **err)
{
	return commit_any(s, upperdir, parent, config_changes, NULL, created_by, comment, name, ret_id, err);
}

int img_commit_ex(ImgStore *s, const char *upperdir, const ImgInfo *parent, const ImgCommitOpts *opts,
		  const char *created_by, const char *comment, char **ret_id, Error **err)
{
	return commit_any(s, upperdir, parent, NULL, opts, created_by, comment, NULL, ret_id, err);
}
