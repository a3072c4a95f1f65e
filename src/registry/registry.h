/* registry.h - the public interface of src/registry/: an OCI distribution
 * server (storage, auth, gc) and a client (login, push, pull) that talks to
 * any registry.
 *
 * Server state under <root> (see storage.c for the layout).  The server runs
 * on libmicrohttpd's own threads; reg_server_start returns once it listens.
 * The client writes nothing to stdout itself: progress goes through a
 * callback so the CLI decides how to show it.
 */
#ifndef BERTH_REGISTRY_H
#define BERTH_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include "../base/err.h"
#include "../image/image.h"

/* ---- server ---- */
typedef enum RegAuthMode { REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_TOKEN } RegAuthMode;

typedef struct RegServerOpts {
	const char *addr;       /* "127.0.0.1:5000" (port 0: any free port) */
	const char *root;       /* storage root */
	const char *tls_cert;   /* PEM files, both or neither */
	const char *tls_key;
	RegAuthMode auth;
	const char *users_file; /* "name:crypt-hash" lines (htpasswd compatible) */
	const char *acl_file;   /* NULL: every authenticated user may pull and push */
	const char *realm;      /* token realm URL (default: this server's /token) */
	const char *service;    /* token audience (default: "berth-registry") */
	int64_t token_ttl;      /* seconds a bearer token lives (default 300) */
} RegServerOpts;

typedef struct RegServer RegServer;
int reg_server_start(const RegServerOpts *opts, RegServer **ret, Error **err);
/* The port actually bound. */
uint16_t reg_server_port(const RegServer *srv);
void reg_server_stop(RegServer *srv);
/* Call every half second or so from the thread that started the server: after
 * a quiet period (no request since the previous call, none in flight) it
 * returns freed heap and clean library pages to the kernel, once per quiet
 * period.  True when it trimmed. */
bool reg_server_idle(RegServer *srv);

/* Mark and sweep.  Blobs no manifest reaches are deleted when neither they
 * nor a repository link to them changed during the last `grace_sec` (so
 * uploads and pushes in flight keep theirs).  delete_untagged also removes
 * manifests no tag (or tagged index, or kept subject) reaches.  Report lines
 * ("blob eligible for deletion: sha256:...") go to ret_lines; caller frees. */
int reg_gc(const char *root, bool dry_run, bool delete_untagged, int64_t grace_sec, char ***ret_lines,
	   Error **err);

/* Users file: add (or replace) / delete / list.  hash: "bcrypt" (default,
 * what htpasswd and the distribution registry read) or "yescrypt". */
int reg_user_add(const char *users_file, const char *name, const char *password, const char *hash,
		 Error **err);
int reg_user_del(const char *users_file, const char *name, Error **err);
int reg_user_list(const char *users_file, char ***ret_names, Error **err);
/* A temporary password for `user` valid for ttl_sec, signed with the key of
 * the registry at root (created if missing).  Caller frees. */
int reg_temp_token(const char *root, const char *user, int64_t ttl_sec, char **ret, Error **err);

/* ---- client ---- */
typedef struct RegCreds {
	char *user, *password;
} RegCreds;
void reg_creds_release(RegCreds *c);
/* The credentials file: $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json,
 * else ~/.docker/config.json.  Caller frees. */
char *reg_creds_path(void);
/* Look up / store / remove "auths"[registry] (base64 user:pass).  Lookup
 * returns 0 with NULL fields when none is stored. */
int reg_creds_get(const char *registry, RegCreds *ret, Error **err);
int reg_creds_put(const char *registry, const char *user, const char *password, Error **err);
/* -ENOENT when not logged in. */
int reg_creds_del(const char *registry, Error **err);

typedef struct RegClientOpts {
	bool tls_verify;        /* default true; false also allows plain http */
	const char *cert_dir;   /* CA *.crt (+ client NAME.cert/.key); NULL: certs.d/HOST[:PORT] */
	const char *user;       /* explicit credentials (else the credentials file) */
	const char *password;
	int parallel;           /* concurrent blob transfers (default 3) */
	int retries;            /* attempts per blob (default 3) */
	/* Progress: one line of text ("abc123: Pushed"), id may be NULL. */
	void (*progress)(const char *id, const char *status, void *ud);
	void *ud;
} RegClientOpts;

/* Check credentials against a registry (GET /v2/ with the auth dance). */
int reg_login_check(const char *registry, const RegClientOpts *o, Error **err);
/* The registry host a user reference names ("localhost:5000/a" -> "localhost:5000",
 * "busybox" -> "docker.io").  Caller frees. */
int reg_ref_registry(const char *ref, char **ret, Error **err);
/* Push a local image (name or id) to `ref` (the name when NULL).
 * *ret_digest: the manifest digest pushed (caller frees). */
int reg_push(ImgStore *s, const char *name, const char *ref, const RegClientOpts *o, char **ret_digest,
	     int64_t *ret_size, Error **err);
/* Pull `ref` into the store, unpacked and named `ref` (tag or digest).
 * *ret_digest: the digest of the manifest the reference names, the index's
 * for a multi-platform image (caller frees); *ret_new: false when the image
 * was already there. */
int reg_pull(ImgStore *s, const char *ref, const RegClientOpts *o, char **ret_digest, bool *ret_new,
	     Error **err);

#endif
