/* cache.h - the API server's watch cache (Kubernetes' cacher): one store
 * watch on /registry/ feeds an in-memory copy of every object and a ring of
 * recent events, so lists and watches are served from memory instead of one
 * store read or store watch per client.
 *
 * Objects are kept as their JSON text with metadata.resourceVersion already
 * in place (a list is a concatenation, a watch line a copy), never decoded
 * into trees: memory stays near the size of the data.  CacheObj and the
 * event lines are immutable and reference counted, shared by every reader.
 */
#ifndef BERTH_APISERVER_CACHE_H
#define BERTH_APISERVER_CACHE_H
#include "../base/err.h"
#include "../shared/json.h"
#include "../store/store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ApiCache ApiCache;

/* A Table row computed from one object version (cache-serve.c), kept with it. */
typedef struct CacheRow {
	const void *stamp;      /* the ApiResource it was printed for */
	char text[];            /* api_table_row() */
} CacheRow;

typedef struct CacheObj {
	int refs;               /* atomic */
	CacheRow *row;          /* set once (atomic compare-and-swap), freed with the object */
	int64_t mod_rev, create_rev;
	const char *key;        /* in the same allocation, after raw */
	uint32_t labels_off, labels_len; /* metadata.labels' span in raw (len 0: none) */
	size_t raw_len;
	char raw[];             /* the object's JSON, resourceVersion included */
} CacheObj;

/* metadata.labels decoded from the cached text (new reference; NULL when
 * there are none).  Not kept decoded: a tree per object would cost more
 * memory than the object's text. */
json_t *cache_obj_labels(const CacheObj *o);

enum { CACHE_ADDED = 1, CACHE_MODIFIED = 2, CACHE_DELETED = 3 };

typedef struct CacheEvent {
	int type;
	int64_t rev;
	CacheObj *obj;          /* for DELETED: the last value at the delete revision */
} CacheEvent;

/* Load every object under /registry/ and start the feeding thread. */
int api_cache_start(Store *store, size_t ring_size, ApiCache **ret, Error **err);
void api_cache_stop(ApiCache *c);

/* The revision the cache has applied every event up to. */
int64_t api_cache_revision(ApiCache *c);
/* Wait (at most timeout_ms) until the cache has seen revision rev: 0 ok, -ETIMEDOUT. */
int api_cache_wait(ApiCache *c, int64_t rev, int timeout_ms);
/* Wait until the cache has every write the store committed before the call
 * (a consistent read, as Kubernetes' consistent list from cache). */
int api_cache_sync(ApiCache *c, int timeout_ms);

/* The live objects with prefix, in key order, after start_after (NULL: from
 * the start); at most limit (0: all).  *ret is an array of new references
 * (api_cache_objs_free); *ret_rev the revision of the snapshot. */
void api_cache_list(ApiCache *c, const char *prefix, const char *start_after, size_t limit, CacheObj ***ret,
		    size_t *ret_n, int64_t *ret_rev, bool *ret_more);
void api_cache_objs_free(CacheObj **objs, size_t n);
/* The live object at key (a new reference), or NULL. */
CacheObj *api_cache_get(ApiCache *c, const char *key);
void cache_obj_unref(CacheObj *o);
/* The whole object decoded (new reference; NULL if not JSON). */
json_t *cache_obj_decode(const CacheObj *o);

/* Events after revision after, for keys with prefix: up to max into evs
 * (references; release with cache_event_release).  Waits up to timeout_ms
 * for the first.  Returns the count, or -ERANGE when after is older than the
 * ring (*ret_window is then the oldest revision still served). */
int api_cache_events(ApiCache *c, const char *prefix, int64_t after, CacheEvent *evs, size_t max, int timeout_ms,
		     int64_t *ret_window);
void cache_event_release(CacheEvent *e);

/* JSON helpers (exposed for the unit tests): the value of member key of
 * the top-level object text [p, e): 0 with its span, -ENOENT, -EINVAL. */
int cache_json_member(const char *p, const char *e, const char *key, const char **vs, const char **ve);
/* The object text decoded without its arrays: what field selectors read
 * (scalars through nested objects), at a fraction of a full decode's cost.
 * NULL when the text does not scan as one JSON object (array contents are
 * skipped, not checked: meant for the texts the server stored).  New reference. */
json_t *cache_json_scalar_view(const char *text, size_t len);
/* text with "resourceVersion":"rev" added to its metadata; caller frees. */
char *cache_json_with_rv(const char *text, size_t len, int64_t rev, size_t *ret_len);
/* The stored pod text bound to node (pods/binding without a decode):
 * "nodeName" appended to spec and "conditions":[PodScheduled True at now]
 * to status, the bytes a decode, both changes and a compact encode give.
 * NULL when the text is not that plain case (spec.nodeName or
 * status.conditions present, no spec or status object, a node name that
 * needs escaping): the caller decodes.  Caller frees. */
char *cache_json_bind_pod(const char *text, size_t len, const char *node, const char *now, size_t *ret_len);

#endif
