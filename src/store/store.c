/* store.c - the public store functions: choose a backend by the spec
 * ("sqlite:PATH", a plain path, or "etcd:http://HOST:PORT[,...]") and
 * dispatch to its operations table; the value helpers every backend shares.
 */
#include "store-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <stdlib.h>
#include <string.h>

int store_open(const char *spec, Store **ret, Error **err)
{
	if (str_has_prefix(spec, "etcd:"))
		return store_etcd_open(spec + 5, ret, err);
	return store_sqlite_open(str_has_prefix(spec, "sqlite:") ? spec + 7 : spec, ret, err);
}

void store_free(Store *s)
{
	if (s)
		s->ops->free(s);
}

int64_t store_revision(Store *s)
{
	return s->ops->revision(s);
}

int64_t store_compact_revision(Store *s)
{
	return s->ops->compact_revision(s);
}

int store_ping(Store *s, Error **err)
{
	return s->ops->ping ? s->ops->ping(s, err) : 0;
}

int store_get(Store *s, const char *key, StoreKV *ret, Error **err)
{
	return s->ops->get(s, key, ret, err);
}

int store_list(Store *s, const char *prefix, const char *start_after, int64_t limit, int64_t rev, StoreKVList *ret,
	       int64_t *ret_rev, bool *ret_more, Error **err)
{
	return s->ops->list(s, prefix, start_after, limit, rev, ret, ret_rev, ret_more, err);
}

int64_t store_count(Store *s, const char *prefix)
{
	return s->ops->count(s, prefix);
}

int store_create(Store *s, const char *key, const char *value, size_t len, int64_t *ret_rev, Error **err)
{
	return s->ops->create(s, key, value, len, ret_rev, err);
}

int store_update(Store *s, const char *key, const char *value, size_t len, int64_t expect_rev, int64_t *ret_rev,
		 Error **err)
{
	return s->ops->update(s, key, value, len, expect_rev, ret_rev, err);
}

int store_delete(Store *s, const char *key, int64_t expect_rev, StoreKV *ret_prev, int64_t *ret_rev, Error **err)
{
	return s->ops->del(s, key, expect_rev, ret_prev, ret_rev, err);
}

int store_compact(Store *s, int64_t rev, Error **err)
{
	return s->ops->compact(s, rev, err);
}

int store_commit_stats(Store *s, uint64_t *ret_commits, uint64_t *ret_writes)
{
	if (!s->ops->commit_stats)
		return -ENOTSUP;
	return s->ops->commit_stats(s, ret_commits, ret_writes);
}

int store_watch_new(Store *s, const char *prefix, int64_t after_rev, StoreWatch **ret, Error **err)
{
	return s->ops->watch_new(s, prefix, after_rev, ret, err);
}

int store_watch_next(StoreWatch *w, int timeout_ms, StoreEvent *ret, Error **err)
{
	return w->ops->watch_next(w, timeout_ms, ret, err);
}

int64_t store_watch_revision(StoreWatch *w)
{
	return w->ops->watch_revision(w);
}

void store_watch_free(StoreWatch *w)
{
	if (w)
		w->ops->watch_free(w);
}

void store_kv_release(StoreKV *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void store_kv_list_release(StoreKVList *l)
{
	for (size_t i = 0; i < l->n; i++)
		store_kv_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void store_event_release(StoreEvent *e)
{
	store_kv_release(&e->kv);
}

char *store_prefix_end(const char *prefix)
{
	char *e = xstrdup(prefix);
	size_t n = strlen(e);
	while (n > 0) {
		if ((unsigned char)e[n - 1] < 0xff) {
			e[n - 1]++;
			e[n] = 0;
			return e;
		}
		n--;
	}
	free(e);
	return xstrdup("\xff\xff\xff\xff");
}
