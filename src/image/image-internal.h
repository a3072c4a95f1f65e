/* image-internal.h - what the files of src/image/ share; nothing outside the
 * component includes it (tests and the tar fuzzer do, to reach the unpacker).
 *
 * Split of concerns:
 *   store.c    paths, blobs (content-addressed, atomic), index.json, locks
 *   images.c   ImgInfo, resolve, list, tag, adding an image record
 *   gc.c       rmi and garbage collection of blobs and layers
 *   ref.c      reference parsing and normalising
 *   tarsafe.c  hostile-input-safe tar extraction + the decompress/hash/tee pipe
 *   layer.c    unpacked layers (chain ids, l/ links), overlay options
 *   diff.c     tree walks: upperdir -> OCI layer tar, A/C/D listing, export
 *   config.c   image config helpers, Dockerfile-style --change instructions
 *   import.c   rootfs tarball -> image;  commit.c  upperdir -> image
 *   compress.c layer compressors for img_commit_ex (adaptive gzip, zstd)
 *   archive.c  docker-archive / oci-archive save and load
 *
 * Locking: writers that add content hold <root>/image/.gc.lock shared for
 * their whole run; rmi/gc holds it exclusive.  Every read-modify-write of
 * index.json holds .index.lock exclusive (taken after the gc lock).  Readers
 * take no lock: index.json and blobs are replaced by rename only.
 */
#ifndef BERTH_IMAGE_INTERNAL_H
#define BERTH_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "archive-lazy.h" /* libarchive, loaded on first use */
#include <jansson.h>
#include "image.h"
#include "../base/err.h"
#include "../shared/digest.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG   "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER    "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZS "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_FOREIGN  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

#define ANN_REF_NAME     "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD   "io.containerd.image.name"
#define ANN_CONFIG       "io.berth.image.config"   /* config digest: resolve ids without reading manifests */
#define ANN_SIZE         "io.berth.image.size"     /* unpacked size in bytes (decimal string) */

struct ImgStore {
	char *root;     /* <root> */
	char *dir;      /* <root>/image: the OCI layout */
	char *blobs;    /* <root>/image/blobs/sha256 */
	char *layers;   /* <root>/layers */
	char *links;    /* <root>/l */
	char *tmp;      /* <root>/tmp (created when first needed) */
};

/* ---- store.c ---- */
/* "<blobs>/<hex>" for a valid digest; caller frees. */
char *store_blob_path(const ImgStore *s, const char *digest);
bool store_blob_exists(const ImgStore *s, const char *digest);
int store_blob_put(ImgStore *s, const void *data, size_t n, char ret_digest[72], Error **err);
int store_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err);
int store_blob_read_json(ImgStore *s, const char *digest, size_t max, json_t **ret, Error **err);

/* A blob being written: bytes are hashed as they pass; commit renames it to
 * its digest (verifying it when expect is given). */
typedef struct BlobWriter {
	int fd;
	char *tmp_path;
	Sha256 *hash;
	uint64_t size;
	char digest[72];  /* after commit */
} BlobWriter;
int blob_writer_open(ImgStore *s, BlobWriter *w, Error **err);
int blob_writer_write(BlobWriter *w, const void *buf, size_t n, Error **err);
int blob_writer_commit(ImgStore *s, BlobWriter *w, const char *expect, Error **err);
void blob_writer_abort(BlobWriter *w);

int store_index_read(ImgStore *s, json_t **ret, Error **err);
int store_index_write(ImgStore *s, json_t *idx, Error **err);
/* flock(<root>/image/.NAME.lock, op); *ret_fd to close() to unlock. */
int store_lock(ImgStore *s, const char *name, int op, int *ret_fd, Error **err);
/* mkdtemp under <root>/tmp; caller frees the path (and removes the dir). */
int store_mkdtemp(ImgStore *s, const char *prefix, char **ret, Error **err);

/* ---- images.c ---- */
/* The config id an index entry names (annotation, else read from the manifest). */
const char *index_entry_config(ImgStore *s, json_t *entry);
/* Build the ImgInfo for config id `id` from index `idx`. */
int img_info_load(ImgStore *s, json_t *idx, const char *id, ImgInfo **ret, Error **err);
/* Find what name_or_id means in idx: *ret_id the config id (caller frees),
 * *ret_name the normalised name when it was given by name (else NULL). */
int index_lookup(ImgStore *s, json_t *idx, const char *name_or_id, char **ret_id, char **ret_name,
		 Error **err);
/* Record an image (its manifest already in the blob store) under `name`
 * (full reference, or NULL for an unnamed image).  Moves the name off any
 * other image; an image left without names stays as a dangling entry. */
int store_image_add(ImgStore *s, const char *manifest_digest, int64_t manifest_size,
		    const char *config_id, int64_t size, const char *name, Error **err);
/* Write manifest + record in one go for an image built here.  `layers` is a
 * JSON array of layer descriptors; config bytes are stored verbatim. */
int store_image_write(ImgStore *s, const char *config_buf, size_t config_len, json_t *layers,
		      int64_t size, char *const *names, char ret_id[72], Error **err);

/* ---- ref.c ---- */
typedef struct RefParts {
	char *domain, *path, *tag, *digest; /* tag/digest may be NULL */
} RefParts;
int ref_parse(const char *s, RefParts *p, Error **err);
void ref_parts_release(RefParts *p);
/* "repo" part of a normalised full reference (without :tag / @digest); caller frees. */
char *ref_repo(const char *full);

/* ---- tarsafe.c ---- */
typedef enum TarMode {
	TAR_LAYER,   /* an image layer: owners, modes, xattrs, OCI whiteouts -> overlay */
	TAR_PLAIN,   /* an archive of files (docker-/oci-archive): files, dirs, symlinks only */
} TarMode;

typedef struct TarResult {
	char diff_id[72];       /* sha256 of the uncompressed stream */
	uint64_t tar_size;      /* bytes of the uncompressed stream */
	uint64_t content_size;  /* sum of regular file sizes unpacked */
	uint64_t entries;
} TarResult;

/* Where a tar stream comes from: an fd, or (fd < 0) a callback that hands
 * out the next piece of the stream, valid until its next call (0 at the end,
 * < 0 on failure): a pull feeds the unpacker from download buffers without
 * copying them through a pipe. */
typedef struct TarInput {
	int fd;
	ssize_t (*read)(void *ud, const void **ret_buf);
	void *ud;
} TarInput;
/* Read a tar (plain, gzip, bzip2, xz or zstd) from in_fd and unpack it below
 * the directory rootfd without ever writing outside it.  When gz is non-NULL
 * the uncompressed stream is also gzip-compressed into that blob. */
int tar_unpack_stream(int in_fd, int rootfd, TarMode mode, BlobWriter *gz, TarResult *ret,
		      Error **err);
/* The same over any input. */
int tar_unpack_input(const TarInput *in, int rootfd, TarMode mode, BlobWriter *gz, TarResult *ret,
		     Error **err);
/* An archive reader that yields the decompressed bytes of fd as one entry
 * (archive_read_data); caller archive_read_free()s it. */
struct archive *tar_decompressor_open(int fd, bool *ret_empty, Error **err);
/* A gzip writer into blob w: archive_write_data() the uncompressed bytes,
 * then tar_gzip_writer_close().  Output has no timestamp (reproducible). */
struct archive *tar_gzip_writer_open(BlobWriter *w, Error **err);
int tar_gzip_writer_close(struct archive *a, Error **err);
/* Clean a member path: strip "./", collapse "//" and "."; reject "..",
 * absolute paths, overlong names.  "" is the root.  Caller frees. */
int tar_path_clean(const char *path, char **ret, Error **err);
/* Open directory `rel` (a cleaned path) below rootfd without following any
 * symlink; create missing components when `create`.  Returns an fd. */
int tar_open_dir(int rootfd, const char *rel, bool create, Error **err);
/* rm -rf of name in dirfd, never following symlinks. */
int tar_remove_at(int dirfd, const char *name);
/* Open a file below rootfd resolving symlinks as if rootfd were "/". */
int tar_open_in_root(int rootfd, const char *rel, int flags, Error **err);

/* ---- layer.c ---- */
typedef struct LayerResult {
	char diff_id[72];
	char chain_id[72];
	char blob_digest[72];   /* gzip blob written (make_blob) or given */
	int64_t blob_size;
	char blob_media[96];    /* its media type (MT_OCI_LAYER_GZ when made here) */
	int64_t size;           /* unpacked content bytes */
	int64_t tar_size;       /* uncompressed tar bytes */
} LayerResult;
void layer_chain_id(const char *parent_chain, const char *diff_id, char out[72]);
/* Chain ids of an image, bottom first (n entries, each 72 bytes). */
char (*layer_chain_ids(const ImgInfo *img))[72];
char *layer_dir(const ImgStore *s, const char *chain_id);
bool layer_exists(const ImgStore *s, const char *chain_id);
/* Unpack a layer tar (any compression) read from in_fd on top of
 * parent_chain (NULL for a base layer).  With make_blob the uncompressed
 * stream is stored as a new gzip blob; otherwise blob_digest/blob_size in
 * *res are left as the caller set them and recorded.  expect_diff_id, when
 * given, must match.  Idempotent: an existing layer is kept. */
int layer_unpack(ImgStore *s, int in_fd, const char *parent_chain, const char *expect_diff_id,
		 bool make_blob, LayerResult *res, Error **err);
/* The same; with a gate, the layer is unpacked into its temp dir and then
 * gate(gate_ud) decides (blocking as long as it needs) whether it may be
 * published: a pull unpacks while the blob downloads and publishes only
 * once the blob's digest is verified and the parent layer is in place. */
int layer_unpack_gated(ImgStore *s, const TarInput *in, const char *parent_chain, const char *expect_diff_id,
		       bool make_blob, int (*gate)(void *ud, Error **err), void *gate_ud, LayerResult *res,
		       Error **err);
/* Make directory `dir` (overlay whiteouts) the unpacked layer res->chain_id
 * by moving it into the store (a build's upperdir: no second unpack).
 * -EXDEV when it is on another filesystem (nothing moved then). */
int layer_adopt(ImgStore *s, const char *dir, const char *parent_chain, LayerResult *res, Error **err);
/* The OCI layer media type a blob's first bytes say (gzip, zstd, else tar). */
const char *layer_media_sniff(int fd);
/* Read layers/<chain>/info.json (NULL fields when absent). */
int layer_info_read(ImgStore *s, const char *chain_id, json_t **ret, Error **err);
/* Docker schema2 layer media types as their OCI equivalents (others as they are). */
const char *layer_media_oci(const char *mt);
/* Unpack a manifest's layers whose blobs are in the store (load, pull); see layer.c. */
int layers_from_blobs(ImgStore *s, const json_t *mlayers, const json_t *diff_ids, json_t *out, int64_t *size,
		      Error **err);
/* Unpack img's layers that are missing; the caller holds the gc lock shared. */
int layer_ensure_locked(ImgStore *s, const ImgInfo *img, Error **err);
/* Does the absolute path exist in the image (whiteouts and opaque dirs honoured)? */
bool layer_path_in_image(int *layer_fds, size_t n, const char *path);
/* Open the diff dirs of img, top first, into fds[n]; -1 where missing. */
int *layer_open_diffs(ImgStore *s, const ImgInfo *img, size_t *ret_n);
void layer_close_diffs(int *fds, size_t n);

/* ---- diff.c ---- */
/* Write the tree under dir as an uncompressed tar to `w` (an open archive
 * writer).  as_layer: overlay whiteouts/opaque dirs become OCI whiteouts and
 * device nodes are left out; otherwise the tree is exported as it is. */
int diff_write_tree(struct archive *w, const char *dir, bool as_layer, Error **err);
/* The same with every mtime later than clamp (>= 0) set to clamp. */
int diff_write_tree_clamped(struct archive *w, const char *dir, bool as_layer, int64_t clamp, Error **err);
/* An uncompressed pax writer whose bytes go through sha256 and a gzip blob. */
typedef struct LayerTarWriter LayerTarWriter;
int layer_tar_writer_open(ImgStore *s, LayerTarWriter **ret, struct archive **ret_w, Error **err);
/* Finish: *diff_id from the tar bytes, the gzip blob committed; frees lw. */
int layer_tar_writer_close(ImgStore *s, LayerTarWriter *lw, char diff_id[72], char blob[72],
			   int64_t *blob_size, int64_t *tar_size, Error **err);
void layer_tar_writer_abort(LayerTarWriter *lw);
/* The same writer compressing through compress.c (adaptive gzip or zstd). */
int layer_tar_writer_open_ex(ImgStore *s, bool zstd, LayerTarWriter **ret, struct archive **ret_w, Error **err);

/* ---- compress.c ---- */
typedef struct LayerCompressor LayerCompressor;
LayerCompressor *compressor_open(BlobWriter *bw, bool zstd, Error **err);
int compressor_write(LayerCompressor *c, const void *buf, size_t n, Error **err);
/* Finish the stream and free c. */
int compressor_close(LayerCompressor *c, Error **err);
void compressor_abort(LayerCompressor *c);
const char *compressor_media_type(bool zstd);

/* ---- config.c ---- */
const char *config_host_arch(void);
/* RFC3339 (with optional fraction and zone) -> unix seconds; 0 when bad. */
int64_t config_parse_time(const char *s);
int64_t config_parse_time_ns(const char *s);
void config_now(char buf[64]);
/* Media type of a layer blob is one we can unpack (tar, gzip, zstd). */
bool config_layer_media_ok(const char *mt);

#endif
