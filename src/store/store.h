/* store.h - the revisioned key-value store under the API server.
 *
 * The model is etcd's, as kine maps it onto SQL: every write appends one row
 * to a log and gets the next global revision; a key's current value is its
 * newest row; a delete is a row too (carrying the last value, so watchers see
 * what went away).  Lists read "the newest row per key at or below revision R"
 * which gives consistent snapshots; compaction drops superseded rows below a
 * revision, after which reads and watches from older revisions fail -ERANGE
 * (the API turns that into 410 Gone).
 *
 * Backends: "sqlite:PATH" (default, one file, WAL).  The handle is safe to use
 * from many threads; watchers block in store_watch_next() until a write that
 * matches their prefix commits.
 *
 * Ownership: StoreKV strings returned to the caller are owned by it
 * (store_kv_release / store_kv_list_release).
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/err.h"

typedef struct Store Store;
typedef struct StoreWatch StoreWatch;

typedef struct StoreKV {
	char *key;
	char *value;           /* NUL-terminated; value_len bytes */
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
} StoreKV;

typedef struct StoreKVList {
	StoreKV *items;
	size_t n;
} StoreKVList;

enum { STORE_EVENT_PUT_NEW = 1, STORE_EVENT_PUT = 2, STORE_EVENT_DELETE = 3 };

typedef struct StoreEvent {
	int type;
	StoreKV kv;            /* for DELETE: the last value, mod_revision = delete revision */
} StoreEvent;

/* Open (creating) the store described by spec: "sqlite:PATH" or a plain path. */
int store_open(const char *spec, Store **ret, Error **err);
void store_free(Store *s);
DEFINE_CLEANUP(Store, store_free)

/* The newest committed revision (0 for an empty store). */
int64_t store_revision(Store *s);
/* The oldest revision still readable (compaction point). */
int64_t store_compact_revision(Store *s);
/* Whether the backend answers now (a cheap read with a short timeout; the
 * local SQLite file always does): for /readyz and /healthz. */
int store_ping(Store *s, Error **err);

/* -ENOENT when absent (or deleted). */
int store_get(Store *s, const char *key, StoreKV *ret, Error **err);

/* Keys with prefix, greater than start_after (NULL: from the start), in key
 * order, at revision rev (0: current).  At most limit items (0: all);
 * *ret_more tells whether more exist; *ret_rev is the revision read. */
int store_list(Store *s, const char *prefix, const char *start_after, int64_t limit, int64_t rev,
	       StoreKVList *ret, int64_t *ret_rev, bool *ret_more, Error **err);
/* Number of live keys with prefix. */
int64_t store_count(Store *s, const char *prefix);

/* -EEXIST if the key exists. */
int store_create(Store *s, const char *key, const char *value, size_t len, int64_t *ret_rev, Error **err);
/* Compare-and-swap: expect_rev is the key's mod_revision the caller read
 * (0: unconditional).  -ENOENT when absent, -ESTALE on a mismatch. */
int store_update(Store *s, const char *key, const char *value, size_t len, int64_t expect_rev,
		 int64_t *ret_rev, Error **err);
/* Delete with the same compare-and-swap; ret_prev (optional) gets the value deleted. */
int store_delete(Store *s, const char *key, int64_t expect_rev, StoreKV *ret_prev, int64_t *ret_rev,
		 Error **err);
/* Drop rows superseded at or below rev; reads below rev then fail -ERANGE. */
int store_compact(Store *s, int64_t rev, Error **err);
/* Transactions committed since open and the writes in them (SQLite's group
 * commit: concurrent writers share a transaction).  -ENOTSUP for etcd. */
int store_commit_stats(Store *s, uint64_t *ret_commits, uint64_t *ret_writes);

/* Events for keys with prefix with revision > after_rev.  -ERANGE when
 * after_rev is older than the compaction point. */
int store_watch_new(Store *s, const char *prefix, int64_t after_rev, StoreWatch **ret, Error **err);
/* 1 with an event, 0 on timeout, -errno on error. */
int store_watch_next(StoreWatch *w, int timeout_ms, StoreEvent *ret, Error **err);
/* The revision the watch has delivered up to (for bookmarks). */
int64_t store_watch_revision(StoreWatch *w);
void store_watch_free(StoreWatch *w);
DEFINE_CLEANUP(StoreWatch, store_watch_free)

void store_kv_release(StoreKV *kv);
void store_kv_list_release(StoreKVList *l);
void store_event_release(StoreEvent *e);

#endif
