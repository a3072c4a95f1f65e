/* reg-internal.h - what the files of src/registry/ share (tests and fuzzers
 * include it too).
 *
 *   name.c      repository names, tags, digests, request routing, ranges
 *   httpval.c   Accept lists, url-encoded forms
 *   manifest.c  manifest/index parsing and the blobs they reference
 *   storage.c   blobs, repository links, manifests, tags, catalog, referrers
 *   upload.c    upload sessions (streamed to a file, hashed on the fly)
 *   auth.c      users file, passwords, ACL
 *   jwt.c       the signing key, ES256 JWTs, base64
 *   server.c    libmicrohttpd glue, logging, metrics, auth checks
 *   token.c     the token endpoint (GET and the OAuth2 POST form)
 *   handlers.c  the distribution API endpoints
 *   gc.c        mark and sweep
 *   client.c    HTTP client: the auth dance, retries (libcurl)
 *   creds.c     Docker config.json credentials
 *   push.c, pull.c
 */
#ifndef BERTH_REG_INTERNAL_H
#define BERTH_REG_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "registry.h"
#include "../base/err.h"
#include "../shared/digest.h"

#define REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_CHUNK_MIN (1u << 20)   /* OCI-Chunk-Min-Length we advertise */

/* ---- name.c ---- */
bool reg_name_valid(const char *name);
bool reg_tag_valid(const char *tag);
/* A tag or a digest. */
bool reg_reference_valid(const char *ref);

typedef enum RegRoute {
	RT_NONE, RT_BASE, RT_CATALOG, RT_TOKEN, RT_METRICS,
	RT_TAGS, RT_MANIFEST, RT_BLOB, RT_UPLOADS, RT_UPLOAD, RT_REFERRERS,
} RegRoute;
typedef struct RegPath {
	RegRoute route;
	char *name;   /* repository, owned */
	char *ref;    /* tag/digest/upload id, owned */
} RegPath;
/* Split a request path ("/v2/a/b/manifests/x").  Invalid names and
 * references give route RT_NONE with *ret_code set to the spec's error code
 * ("NAME_INVALID", "DIGEST_INVALID", "TAG_INVALID"); an unknown path gives
 * RT_NONE with NULL code. */
void reg_path_parse(const char *path, RegPath *ret, const char **ret_code);
void reg_path_release(RegPath *p);
/* "bytes=a-b" / "a-b" -> inclusive range; -EINVAL if malformed. */
int reg_range_parse(const char *s, bool bytes_prefix, uint64_t *ret_start, uint64_t *ret_end, bool *ret_open);
bool reg_upload_id_valid(const char *id);

/* ---- httpval.c ---- */
/* Does an Accept list (the values of every Accept header, n of them) allow
 * media?  No header (n == 0, or only empty values) allows everything. */
bool reg_accept_allows(const char *const *accepts, size_t n, const char *media);
/* The nth value of key in an application/x-www-form-urlencoded body, decoded
 * (caller frees).  -ENOENT when absent, -EINVAL when malformed. */
int reg_form_get(const char *body, size_t len, const char *key, size_t nth, char **ret);

/* ---- manifest.c ---- */
typedef struct RegManifest {
	json_t *json;           /* the parsed document */
	const char *media_type; /* borrowed from json or the Content-Type */
	bool is_index;
	char **blobs;           /* config + layers (image manifest), NULL-terminated */
	char **children;        /* manifests of an index */
	const char *subject;    /* subject digest or NULL */
	const char *artifact_type;
} RegManifest;
/* Parse and check a manifest body; content_type may be NULL.  -EINVAL with a
 * message on anything malformed. */
int reg_manifest_parse(const char *buf, size_t len, const char *content_type, RegManifest *ret, Error **err);
void reg_manifest_release(RegManifest *m);

/* ---- storage.c ---- */
typedef struct RegStore {
	char *root;
	char *blobs;    /* <root>/blobs/sha256 */
	char *repos;    /* <root>/repos */
	char *uploads;  /* <root>/uploads */
	pthread_mutex_t lock;       /* uploads table, tag writes */
	struct RegUpload *open_uploads;
} RegStore;
int rs_open(const char *root, RegStore **ret, Error **err);
void rs_free(RegStore *rs);
char *rs_blob_path(const RegStore *rs, const char *digest);
/* Is the blob stored and linked into repo?  *ret_size when so. */
bool rs_blob_visible(const RegStore *rs, const char *repo, const char *digest, int64_t *ret_size);
int rs_blob_link(RegStore *rs, const char *repo, const char *digest, Error **err);
int rs_blob_unlink(RegStore *rs, const char *repo, const char *digest, Error **err);
/* Move a verified file into the blob store (or drop it when already there). */
int rs_blob_commit_file(RegStore *rs, const char *tmp_path, const char *digest, Error **err);
int rs_manifest_put(RegStore *rs, const char *repo, const char *ref, const char *buf, size_t len,
		    const char *content_type, char ret_digest[72], char **ret_subject, Error **err);
/* ref: tag or digest.  *ret_media caller frees. */
int rs_manifest_get(RegStore *rs, const char *repo, const char *ref, char **ret_buf, size_t *ret_len,
		    char **ret_media, char ret_digest[72], Error **err);
int rs_manifest_delete(RegStore *rs, const char *repo, const char *ref, Error **err);
int rs_tags_list(RegStore *rs, const char *repo, char ***ret, Error **err);
/* Repositories, sorted: with all, every one that has links or manifests
 * (gc); otherwise those with at least one tag or manifest (the _catalog). */
int rs_catalog(RegStore *rs, bool all, char ***ret, Error **err);
int rs_referrers(RegStore *rs, const char *repo, const char *digest, const char *artifact_type,
		 json_t **ret_index, Error **err);
bool rs_repo_exists(const RegStore *rs, const char *repo);

/* ---- upload.c ---- */
typedef struct RegUpload RegUpload;
int rs_upload_new(RegStore *rs, const char *repo, char ret_id[37], Error **err);
/* Take an upload for one request (-EBUSY if another request has it;
 * -ENOENT when unknown). */
int rs_upload_acquire(RegStore *rs, const char *repo, const char *id, RegUpload **ret, Error **err);
void rs_upload_release(RegStore *rs, RegUpload *u);
uint64_t rs_upload_size(const RegUpload *u);
int rs_upload_write(RegUpload *u, const void *buf, size_t n, Error **err);
/* Verify against digest, store and link; the upload is gone afterwards
 * (even on a digest mismatch, as the spec allows). */
int rs_upload_finish(RegStore *rs, RegUpload *u, const char *digest, Error **err);
int rs_upload_cancel(RegStore *rs, RegUpload *u, Error **err);

/* ---- jwt.c ---- */
typedef struct RegKey RegKey;
/* Load <root>/auth/token-key.pem, creating a P-256 key when missing. */
int reg_key_load(const char *root, RegKey **ret, Error **err);
void reg_key_free(RegKey *k);
/* ES256 JWT of the claims; caller frees. */
char *reg_jwt_sign(RegKey *k, const json_t *claims);
/* Verify signature, "exp" and "nbf"; *ret_claims a new reference. */
int reg_jwt_verify(RegKey *k, const char *token, json_t **ret_claims, Error **err);
char *reg_b64url(const void *buf, size_t n);
/* Decodes standard or url-safe base64 (padding optional); caller frees. */
int reg_b64_decode(const char *s, size_t n, unsigned char **ret, size_t *ret_len);
char *reg_b64(const void *buf, size_t n);

/* ---- auth.c ---- */
enum { REG_PULL = 1, REG_PUSH = 2, REG_DELETE = 4 };
typedef struct RegAuth RegAuth;
int reg_auth_open(const char *root, const char *users_file, const char *acl_file, RegAuth **ret, Error **err);
void reg_auth_free(RegAuth *a);
/* Password (or temporary token) check. */
bool reg_auth_check_password(RegAuth *a, const char *user, const char *password);
/* Is user in the users file (as re-read now)? */
bool reg_auth_user_exists(RegAuth *a, const char *user);
/* Actions (REG_* bits) `user` (NULL: anonymous) may do on repo. */
int reg_auth_allowed(RegAuth *a, const char *user, const char *repo);
int reg_actions_parse(const char *s);
RegKey *reg_auth_key(RegAuth *a);
/* Parse ACL text (for tests/fuzzing); lines "PATTERN USER ACTIONS". */
int reg_acl_parse(const char *text, json_t **ret, Error **err);
int reg_acl_eval(const json_t *acl, const char *user, const char *repo);

#endif
