/* store-internal.h - what a store backend implements: one table of
 * operations behind the public functions of store.h (store.c dispatches).
 * A backend's handle and watch structs start with Store / StoreWatch. */
#ifndef BERTH_STORE_INTERNAL_H
#define BERTH_STORE_INTERNAL_H
#include "store.h"

typedef struct StoreOps {
	void (*free)(Store *s);
	int64_t (*revision)(Store *s);
	int64_t (*compact_revision)(Store *s);
	int (*get)(Store *s, const char *key, StoreKV *ret, Error **err);
	int (*list)(Store *s, const char *prefix, const char *start_after, int64_t limit, int64_t rev, StoreKVList *ret,
		    int64_t *ret_rev, bool *ret_more, Error **err);
	int64_t (*count)(Store *s, const char *prefix);
	int (*create)(Store *s, const char *key, const char *value, size_t len, int64_t *ret_rev, Error **err);
	int (*update)(Store *s, const char *key, const char *value, size_t len, int64_t expect_rev, int64_t *ret_rev,
		      Error **err);
	int (*del)(Store *s, const char *key, int64_t expect_rev, StoreKV *ret_prev, int64_t *ret_rev, Error **err);
	int (*compact)(Store *s, int64_t rev, Error **err);
	int (*commit_stats)(Store *s, uint64_t *ret_commits, uint64_t *ret_writes); /* optional */
	int (*ping)(Store *s, Error **err);                                         /* optional */
	int (*watch_new)(Store *s, const char *prefix, int64_t after_rev, StoreWatch **ret, Error **err);
	int (*watch_next)(StoreWatch *w, int timeout_ms, StoreEvent *ret, Error **err);
	int64_t (*watch_revision)(StoreWatch *w);
	void (*watch_free)(StoreWatch *w);
} StoreOps;

struct Store {
	const StoreOps *ops;
};

struct StoreWatch {
	const StoreOps *ops;
};

int store_sqlite_open(const char *path, Store **ret, Error **err);
/* endpoints: "http://HOST:PORT[,http://HOST2:PORT...]" (etcd's v3 JSON gateway). */
int store_etcd_open(const char *endpoints, Store **ret, Error **err);

/* The smallest string greater than every string that starts with prefix (caller frees). */
char *store_prefix_end(const char *prefix);

#endif
