/* image.h - the image store: the public interface of src/image/.
 *
 * State under <root>:
 *   image/            an OCI image layout: oci-layout, index.json (one
 *                     descriptor per tagged manifest, annotation
 *                     "org.opencontainers.image.ref.name" = the full reference
 *                     "docker.io/library/busybox:latest"), blobs/sha256/<hex>
 *   layers/<chainid-hex>/diff   each layer unpacked once (overlay whiteouts)
 *   layers/<chainid-hex>/link   the short id "l/<26 chars>" for mount options
 *   l/<short>                   symlink -> ../layers/<hex>/diff
 * An image is identified by its config digest (the "IMAGE ID" docker shows).
 * References are normalised as Docker does: "busybox" ->
 * "docker.io/library/busybox:latest", "localhost/bb" stays, digests accepted.
 */
#ifndef BERTH_IMAGE_H
#define BERTH_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "../base/err.h"

typedef struct ImgStore ImgStore;

typedef struct ImgInfo {
	char *id;               /* config digest "sha256:..." */
	char *manifest_digest;  /* "sha256:..." of the stored manifest */
	char **names;           /* NULL-terminated full references that point at it */
	json_t *config;         /* the whole OCI image config (owned ref) */
	char **diff_ids;        /* NULL-terminated, bottom first */
	char **layer_digests;   /* NULL-terminated compressed blob digests, bottom first */
	size_t n_layers;
	int64_t created;        /* unix seconds from config.created (0 if none) */
	int64_t size;           /* sum of unpacked layer sizes, bytes */
} ImgInfo;

void img_info_free(ImgInfo *info);

/* Open (creating if needed) the store under root.  Caller frees with img_store_free. */
int img_store_open(const char *root, ImgStore **ret, Error **err);
void img_store_free(ImgStore *s);
const char *img_store_root(const ImgStore *s);

/* Reference helpers */
/* Normalise a user reference; caller frees. -EINVAL with a message if malformed. */
int img_ref_normalize(const char *ref, char **ret, Error **err);
/* Short form for display: "docker.io/library/busybox:latest" -> "busybox:latest". */
char *img_ref_short(const char *full);
/* Split a full reference for tables: repository in short form and tag
 * ("<none>" for digest-only references).  Caller frees both. */
void img_ref_split(const char *full, char **ret_repo, char **ret_tag);

/* Find by name, full/short id prefix or digest: -ENOENT "image 'x' not found". */
int img_resolve(ImgStore *s, const char *name_or_id, ImgInfo **ret, Error **err);
/* All images, newest first; caller frees each and the array. */
int img_list(ImgStore *s, ImgInfo ***ret, size_t *ret_n, Error **err);
int img_tag(ImgStore *s, const char *src, const char *dst, Error **err);

/* Remove a name (or, given an id, the image with all its names).  Refuses with
 * -EBUSY when `in_use_ids` (NULL-terminated image ids used by containers)
 * contains the image, unless force; with force such an image is only
 * untagged (kept as <none> so its containers keep their layers).  Removing
 * an id with several names needs force.  Unreferenced blobs and layers are
 * deleted.
 * Prints nothing; reports what happened through ret_lines ("Untagged: x",
 * "Deleted: sha256:..."), caller frees. */
int img_remove(ImgStore *s, const char *name_or_id, bool force, char *const *in_use_ids,
	       char ***ret_lines, Error **err);

/* Import a rootfs tarball (plain, gzip, bzip2, xz, zstd; from fd) as a
 * one-layer image named `name` (NULL: unnamed).  `changes` are Dockerfile-style
 * instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME,
 * STOPSIGNAL) applied to the config; `comment` is the history comment (NULL:
 * "Imported from -").  *ret_id = config digest; caller frees. */
int img_import(ImgStore *s, int fd, const char *name, char *const *changes, const char *comment,
	       char **ret_id, Error **err);
/* Apply one Dockerfile-style instruction ("CMD [\"sh\"]", "ENV A=b") to the
 * "config" object of an image config (for import and commit --change). */
int img_config_apply_change(json_t *config, const char *change, Error **err);
/* Load a docker-archive or oci-archive (compressed or not) from fd; returns
 * the full names loaded, or "sha256:<id>" for an image without a name
 * ("Loaded image: x" lines are the caller's).  NULL-terminated, caller frees. */
int img_load(ImgStore *s, int fd, char ***ret_names, Error **err);
/* Save images to fd.  format: "docker-archive" (default) or "oci-archive". */
int img_save(ImgStore *s, char *const *names, const char *format, int fd, Error **err);

/* The history of an image, oldest first: config "history" entries matched
 * to layers (their unpacked sizes), plus entries for layers without one. */
typedef struct ImgHistoryEntry {
	int64_t created;
	char *created_by;
	char *comment;
	int64_t size;
	bool empty_layer;
} ImgHistoryEntry;
int img_history(ImgStore *s, const ImgInfo *img, ImgHistoryEntry **ret, size_t *ret_n, Error **err);
void img_history_free(ImgHistoryEntry *h, size_t n);

/* Containers use the store through these: */
/* Mount data for an overlay with the image's layers (relative "l/<short>"
 * names, top first) below `extra_lower` (absolute, e.g. the init layer; may be
 * NULL), with the given upper and work dirs.  *ret_dir is the directory to
 * chdir to before mount(2) (<root>).  Fails clearly past the page limit or
 * BERTH_MAX_LAYERS. Caller frees both. */
int img_overlay_options(ImgStore *s, const ImgInfo *img, const char *extra_lower,
			const char *upper, const char *work, char **ret_data, char **ret_dir,
			Error **err);
/* Ensure every layer of img is unpacked (after a load this is already so). */
int img_ensure_unpacked(ImgStore *s, const ImgInfo *img, Error **err);
/* Does absolute `path` exist in the image's layers (whiteouts, opaque dirs honoured)? */
bool img_path_in_image(ImgStore *s, const ImgInfo *img, const char *path);
/* Delete blobs and layers no image reaches (img_remove does this itself). */
int img_gc(ImgStore *s, Error **err);

/* Commit: turn an overlay upperdir into a new layer on top of `parent` (NULL
 * for a base image), write config (parent config with `config_changes` JSON
 * object merged into .config), history entry `created_by`, tag as `name` (may be
 * NULL).  Overlay whiteouts become OCI whiteouts. *ret_id caller frees. */
int img_commit(ImgStore *s, const char *upperdir, const ImgInfo *parent, const json_t *config_changes,
	       const char *created_by, const char *comment, const char *name, char **ret_id, Error **err);

/* A commit as builds need it (zero-initialise, then set what you need). */
typedef struct ImgCommitOpts {
	int64_t timestamp;      /* >= 0: config and history "created" at this unix time and
				 * every later file mtime in the layer clamped to it; < 0: now */
	bool zstd;              /* zstd layer; else gzip that stores incompressible chunks */
	bool adopt_upper;       /* move upperdir into the store as the unpacked layer (the
				 * caller's directory is gone afterwards on success) */
	const json_t *config;   /* the new image's whole "config" object; NULL keeps the parent's */
} ImgCommitOpts;
/* img_commit with options; the new image is not tagged (img_tag it).  With
 * upperdir NULL only the config changes (an empty_layer history entry). */
int img_commit_ex(ImgStore *s, const char *upperdir, const ImgInfo *parent, const ImgCommitOpts *opts,
		  const char *created_by, const char *comment, char **ret_id, Error **err);

/* Changes in an upperdir as docker diff prints them: callback with kind
 * 'A' added, 'C' changed, 'D' deleted and the absolute in-container path.
 * `lower_exists(path)` tells whether path exists in the image's layers
 * (A vs C); the store provides it through img_path_in_image. */
int img_diff(ImgStore *s, const ImgInfo *img, const char *upperdir,
	     void (*cb)(char kind, const char *path, void *ud), void *ud, Error **err);

/* Unpack a tar (plain, gzip, bzip2, xz, zstd) read from fd below the open
 * directory dirfd, with owners and modes, never writing outside it (what a
 * Dockerfile's ADD of a local archive does). */
int img_unpack_tar(int fd, int dirfd, Error **err);

/* Write a tar of a merged directory tree (for `export`) to fd. */
int img_export_dir(const char *dir, int fd, Error **err);

/* Registry transfers (image/pull.c).  A blob writer hashes what it is given
 * and commits it under its digest (checked against `expect` when given);
 * commit and abort free it.  img_blob_open returns an fd (caller closes).
 * img_put_manifest turns a manifest whose config and layer blobs are in the
 * store into an image named `name` (NULL: unnamed), unpacking its layers;
 * *ret_id is the config digest, caller frees.  img_lock_content holds the
 * store's gc lock shared until *ret_fd is closed. */
typedef struct ImgBlobWriter ImgBlobWriter;
int img_blob_writer_new(ImgStore *s, ImgBlobWriter **ret, Error **err);
int img_blob_writer_write(ImgBlobWriter *w, const void *buf, size_t n, Error **err);
uint64_t img_blob_writer_size(const ImgBlobWriter *w);
int img_blob_writer_commit(ImgStore *s, ImgBlobWriter *w, const char *expect, Error **err);
void img_blob_writer_abort(ImgBlobWriter *w);
bool img_blob_exists(ImgStore *s, const char *digest);
int img_blob_open(ImgStore *s, const char *digest, int64_t *ret_size, Error **err);
int img_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err);
int img_put_manifest(ImgStore *s, const char *mbuf, size_t mlen, const char *name, char **ret_id, Error **err);
int img_lock_content(ImgStore *s, int *ret_fd, Error **err);

/* Layers unpacked while they download (image/pull.c).  A group knows the
 * image's layers (blob digests, media types, diff_ids, bottom first).
 * img_pull_layer_begin(i) returns 1 when layer i needs no bytes (its blob is
 * stored; a missing unpacked layer is then made from the blob in the
 * background), else 0: feed the blob's bytes with _write, then _finish
 * verifies the digest and commits the blob.  Each layer is unpacked on its
 * own thread as its bytes arrive and published only after its blob was
 * verified and its parent published; a mismatch discards it.  _restart
 * throws away what layer i got so far (start the download over).
 * img_pull_layers_wait joins every unpacker and returns the first error;
 * _free aborts whatever is still in flight.  Callers hold img_lock_content. */
typedef struct ImgPullLayers ImgPullLayers;
ImgPullLayers *img_pull_layers_new(ImgStore *s, size_t n, const char *const *digests,
				   const char *const *media, const char *const *diff_ids);
int img_pull_layer_begin(ImgPullLayers *g, size_t i, Error **err);
int img_pull_layer_write(ImgPullLayers *g, size_t i, const void *buf, size_t n, Error **err);
uint64_t img_pull_layer_size(ImgPullLayers *g, size_t i);
int img_pull_layer_restart(ImgPullLayers *g, size_t i, Error **err);
int img_pull_layer_finish(ImgPullLayers *g, size_t i, Error **err);
int img_pull_layers_wait(ImgPullLayers *g, Error **err);
void img_pull_layers_free(ImgPullLayers *g);

#endif
