/* import.c - `berth import`: a rootfs tarball (plain, gzip, bzip2, xz or
 * zstd) becomes a one-layer image.
 *
 * The tarball is read once: while it is unpacked (through the safe unpacker)
 * its uncompressed bytes are hashed into the diff_id and re-compressed into
 * the gzip layer blob.  The config is docker's for an import: the host
 * platform, the --change instructions, one history entry.  Names and changes
 * are checked before any byte is read, so a typo costs nothing.
 */
#include "image-internal.h"
#include "../shared/json.h"
#include <string.h>
#include <sys/file.h>

static int import_name(const char *name, char **ret, Error **err)
{
	*ret = NULL;
	if (!name)
		return 0;
	int r = img_ref_normalize(name, ret, err);
	if (r < 0)
		return r;
	if (strchr(*ret, '@')) {
		free(*ret);
		*ret = NULL;
		return err_set(err, EINVAL, "'%s': an image name cannot have a digest", name);
	}
	return 0;
}

int img_import(ImgStore *s, int fd, const char *name, char *const *changes, const char *comment,
	       char **ret_id, Error **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = import_name(name, &norm, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *cfg = json_object();
	for (char *const *c = changes; c && *c; c++) {
		r = img_config_apply_change(cfg, *c, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int lock = -1;
	r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	LayerResult res = { 0 };
	r = layer_unpack(s, fd, NULL, NULL, true, &res, err);
	if (r < 0)
		return r;
	char created[64];
	config_now(created);
	_cleanup_json_ json_t *config = json_pack(
		"{s:s,s:s,s:s,s:O,s:{s:s,s:[s]},s:[{s:s,s:s,s:s}]}", "created", created, "architecture",
		config_host_arch(), "os", "linux", "config", cfg, "rootfs", "type", "layers", "diff_ids",
		res.diff_id, "history", "created", created, "created_by", "", "comment",
		comment ? comment : "Imported from -");
	_cleanup_free_ char *buf = json_dumps(config, JSON_COMPACT);
	_cleanup_json_ json_t *layers = json_pack("[{s:s,s:s,s:I}]", "mediaType", MT_OCI_LAYER_GZ, "digest",
						  res.blob_digest, "size", (json_int_t)res.blob_size);
	char *names[] = { norm, NULL };
	char id[72];
	r = store_image_write(s, buf, strlen(buf), layers, res.size, names, id, err);
	if (r < 0)
		return r;
	*ret_id = xstrdup(id);
	return 0;
}

int img_unpack_tar(int fd, int dirfd, Error **err)
{
	TarResult tr;
	return tar_unpack_stream(fd, dirfd, TAR_LAYER, NULL, &tr, err);
}
