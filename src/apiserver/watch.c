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
