/* watch.c - ?watch=1: a stream of {"type":..., "object":...} lines.
 *
 * resourceVersion semantics follow Kubernetes: unset or "0" starts with a
 * synthetic ADDED event for every current object and continues from there;
 * N continues after revision N; a compacted N yields one ERROR event with a
 * 410 Expired Status.  Label/field selectors filter events; as=Table turns
 * each object into a one-row Table (what `kubectl get -w` prints);
 * allowWatchBookmarks adds periodic BOOKMARK events; timeoutSeconds ends the
 * stream.  http.c pulls chunks with api_watch_next() from the connection's
 * own thread, so a blocked watcher costs one sleeping thread and nothing else.
 */
#include "api-internal.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <string.h>
#include <time.h>

#define BOOKMARK_INTERVAL 60
#define DEFAULT_TIMEOUT 1800

struct ApiWatch {
	Api *api;
	StoreWatch *sw;
	const ApiResource *res;
	ApiSelector *labels, *fields;
	bool table, bookmarks, columns_sent, initial_end;
	char *include;              /* includeObject param */
	json_t *initial;            /* queued synthetic events */
	size_t ipos;
	char *error;                /* a final ERROR event */
	int64_t deadline, last_bookmark;
	/* served from the watch cache (api->cache) */
	char *prefix;
	int64_t cursor;             /* every event <= cursor was delivered or filtered */
	CacheObj **cinit;           /* initial objects */
	size_t ncinit, cipos;
	CacheEvent pend[64];        /* events taken from the ring, not yet sent */
	size_t npend, ppos;
};

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void api_watch_free(ApiWatch *w)
{
	if (!w)
		return;
	store_watch_free(w->sw);
	for (size_t i = w->ppos; i < w->npend; i++)
		cache_event_release(&w->pend[i]);
	for (size_t i = w->cipos; i < w->ncinit; i++)
		cache_obj_unref(w->cinit[i]);
	free(w->cinit);
	free(w->prefix);
	api_selector_free(w->labels);
	api_selector_free(w->fields);
	json_decref(w->initial);
	free(w->include);
	free(w->error);
	free(w);
}

static json_t *event_object(ApiWatch *w, json_t *obj)
{
	if (!w->table)
		return obj;
	ApiRequest fake = { 0 };
	ApiParam p = { (char *)"includeObject", w->include };
	if (w->include) {
		fake.params = &p;
		fake.nparams = 1;
	}
	json_t *t = api_table_new(w->res, true);
	w->columns_sent = true;
	api_table_add(t, w->res, obj, &fake);
	json_object_set(json_object_get(t, "metadata"), "resourceVersion", json_path(obj, "metadata.resourceVersion"));
	json_decref(obj);
	return t;
}

static char *encode_event(const char *type, json_t *obj)
{
	json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", obj);
	char *s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	char *line = xasprintf("%s\n", s);
	free(s);
	return line;
}

static char *bookmark(ApiWatch *w, int64_t rev, bool initial_end)
{
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)rev);
	_cleanup_free_ char *av = api_resource_api_version(w->res);
	json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "kind", w->res->kind, "apiVersion", av, "metadata",
			      "resourceVersion", rvs);
	if (initial_end)
		json_object_set_new(json_object_get(o, "metadata"), "annotations",
				    json_pack("{s:s}", "k8s.io/initial-events-end", "true"));
	w->last_bookmark = now_s();
	return encode_event("BOOKMARK", o);
}

/* Initial objects and the starting revision from the cache; -EAGAIN when it
 * cannot serve (a revision it has not reached in time). */
static int cache_watch_start(ApiWatch *w, ApiRequest *req, int64_t rev, bool send_initial)
{
	if (!api_cache_ready_for(w->api, req))
		return -EAGAIN;
	_cleanup_free_ char *prefix = api_resource_key(req->res, req->ns, NULL);
	if (send_initial) {
		size_t n, keep = 0;
		bool more;
		api_cache_list(w->api->cache, prefix, NULL, 0, &w->cinit, &n, &rev, &more);
		for (size_t i = 0; i < n; i++) {
			CacheObj *o = w->cinit[i];
			w->cinit[i] = NULL;
			if (api_cache_obj_match(o, w->labels, w->fields))
				w->cinit[keep++] = o;
			else
				cache_obj_unref(o);
		}
		w->ncinit = keep;
		w->initial_end = api_param_true(req, "sendInitialEvents");
	}
	w->cursor = rev;
	w->prefix = TAKE_PTR(prefix);
	return 0;
}

/* A watch line around a cached object's text: no encoding at all. */
static char *cache_line(ApiWatch *w, const char *type, const CacheObj *o)
{
	if (w->table) {
		json_t *obj = cache_obj_decode(o);
		return obj ? encode_event(type, event_object(w, obj)) : NULL;
	}
	return xasprintf("{\"type\":\"%s\",\"object\":%.*s}\n", type, (int)o->raw_len, o->raw);
}

static const char *cache_type(int t)
{
	return t == CACHE_ADDED ? "ADDED" : t == CACHE_MODIFIED ? "MODIFIED" : "DELETED";
}

static int cache_watch_next(ApiWatch *w, char **ret, size_t *ret_len, int timeout_ms)
{
	if (w->cipos < w->ncinit) {
		CacheObj *o = w->cinit[w->cipos++];
		*ret = cache_line(w, "ADDED", o);
		cache_obj_unref(o);
		if (!*ret)
			return 0;
		*ret_len = strlen(*ret);
		return 1;
	}
	if (w->initial_end) {
		w->initial_end = false;
		*ret = bookmark(w, w->cursor, true);
		*ret_len = strlen(*ret);
		return 1;
	}
	if (now_s() >= w->deadline)
		return -1;
	if (w->ppos == w->npend) {
		int64_t seen;
		int n = api_cache_events(w->api->cache, w->prefix, w->cursor, w->pend, ARRAY_SIZE(w->pend), timeout_ms,
					 &seen);
		w->npend = w->ppos = 0;
		if (n == -ERANGE) {
			_cleanup_free_ char *msg = xasprintf("too old resource version: %lld (%lld)", (long long)w->cursor,
							     (long long)seen);
			*ret = encode_event("ERROR", api_status(410, "Expired", msg, NULL));
			*ret_len = strlen(*ret);
			w->deadline = 0;
			return 1;
		}
		if (n <= 0) {
			if (seen > w->cursor)
				w->cursor = seen;
			if (w->bookmarks && now_s() - w->last_bookmark >= BOOKMARK_INTERVAL) {
				*ret = bookmark(w, w->cursor, false);
				*ret_len = strlen(*ret);
				return 1;
			}
			return 0;
		}
		w->npend = (size_t)n;
	}
	CacheEvent *e = &w->pend[w->ppos++];
	w->cursor = e->rev;
	char *line = api_cache_obj_match(e->obj, w->labels, w->fields) ? cache_line(w, cache_type(e->type), e->obj) : NULL;
	cache_event_release(e);
	if (!line)
		return 0;
	*ret = line;
	*ret_len = strlen(line);
	return 1;
}

int api_watch_start(Api *api, ApiRequest *req, ApiResponse *resp, const char *prefix, int64_t rev)
{
	_cleanup_(api_watch_freep) ApiWatch *w = xcalloc(1, sizeof(*w));
	w->api = api;
	w->res = req->res;
	w->table = api_accepts_table(req);
	w->bookmarks = api_param_true(req, "allowWatchBookmarks");
	w->include = api_param(req, "includeObject") ? xstrdup(api_param(req, "includeObject")) : NULL;
	_cleanup_err_ Error *err = NULL;
	const char *ls = api_param(req, "labelSelector"), *fs = api_param(req, "fieldSelector");
	if ((ls && api_selector_parse(ls, false, &w->labels, &err) < 0) ||
	    (fs && api_selector_parse(fs, true, &w->fields, &err) < 0)) {
		api_respond_status(resp, 400, "BadRequest", "unable to parse requirement: %s", err_msg(err));
		return -EINVAL;
	}
	const char *to = api_param(req, "timeoutSeconds");
	int64_t timeout = DEFAULT_TIMEOUT;
	if (to && (parse_int64(to, &timeout) < 0 || timeout < 0))
		timeout = DEFAULT_TIMEOUT;
	w->deadline = now_s() + (timeout ? timeout : DEFAULT_TIMEOUT);
	w->last_bookmark = now_s();
	bool send_initial = rev == 0 || api_param_true(req, "sendInitialEvents");
	if (api->cache && cache_watch_start(w, req, rev, send_initial) == 0) {
		resp->status = 200;
		resp->content_type = "application/json";
		resp->watch = TAKE_PTR(w);
		return 0;
	}
	if (send_initial) {
		w->initial = json_array();
		int64_t read_rev;
		bool more;
		if (api_list_objects(api, prefix, w->labels, w->fields, 0, rev, NULL, w->initial, &read_rev, NULL, &more) < 0) {
			api_respond_status(resp, 500, "InternalError", "watch: listing failed");
			return -EIO;
		}
		rev = read_rev;
		w->initial_end = api_param_true(req, "sendInitialEvents");
	}
	int r = store_watch_new(api->store, prefix, rev, &w->sw, &err);
	if (r == -ERANGE) {
		_cleanup_free_ char *msg = xasprintf("too old resource version: %lld (%lld)", (long long)rev,
						     (long long)store_compact_revision(api->store));
		w->error = encode_event("ERROR", api_status(410, "Expired", msg, NULL));
	} else if (r < 0) {
		api_respond_status(resp, 500, "InternalError", "watch: %s", err_msg(err));
		return r;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	resp->watch = TAKE_PTR(w);
	return 0;
}

static const char *event_type(int t)
{
	return t == STORE_EVENT_PUT_NEW ? "ADDED" : t == STORE_EVENT_PUT ? "MODIFIED" : "DELETED";
}

int api_watch_next(ApiWatch *w, char **ret, size_t *ret_len, int timeout_ms)
{
	if (w->error) {
		*ret = TAKE_PTR(w->error);
		*ret_len = strlen(*ret);
		w->deadline = 0;
		return 1;
	}
	if (w->prefix)
		return cache_watch_next(w, ret, ret_len, timeout_ms);
	if (w->initial && w->ipos < json_array_size(w->initial)) {
		json_t *o = json_incref(json_array_get(w->initial, w->ipos++));
		*ret = encode_event("ADDED", event_object(w, o));
		*ret_len = strlen(*ret);
		return 1;
	}
	if (w->initial_end) {
		w->initial_end = false;
		*ret = bookmark(w, store_watch_revision(w->sw), true);
		*ret_len = strlen(*ret);
		return 1;
	}
	if (now_s() >= w->deadline || !w->sw)
		return -1;
	StoreEvent ev;
	int r = store_watch_next(w->sw, timeout_ms, &ev, NULL);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (w->bookmarks && now_s() - w->last_bookmark >= BOOKMARK_INTERVAL) {
			*ret = bookmark(w, store_watch_revision(w->sw), false);
			*ret_len = strlen(*ret);
			return 1;
		}
		return 0;
	}
	json_t *obj = api_object_decode(&ev.kv);
	const char *type = event_type(ev.type);
	store_event_release(&ev);
	if (!obj || !api_selector_match(w->labels, obj) || !api_selector_match(w->fields, obj)) {
		json_decref(obj);
		return 0;
	}
	*ret = encode_event(type, event_object(w, obj));
	*ret_len = strlen(*ret);
	return 1;
}
