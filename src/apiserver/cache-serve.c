/* cache-serve.c - answering lists from the watch cache (cache.c).
 *
 * resourceVersion semantics as Kubernetes >= 1.31 serves them from its
 * cacher: unset is a consistent read (the store's current revision is
 * taken and the cache waited for until it has seen it); "0" is whatever
 * the cache holds; N waits until the cache is at least at N.  Exact
 * matches and continue tokens read the store at the token's revision (the
 * cache's snapshot at R is the store's state at R, so a page served here
 * continues there consistently).  Selectors and limit are evaluated on the
 * cached text: labels are pre-decoded, other field selectors decode.
 * A raw list is the cached texts concatenated, never re-encoded.
 */
#include "api-internal.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <string.h>

#define CACHE_WAIT_MS 3000

bool api_cache_obj_match(const CacheObj *o, const ApiSelector *labels, const ApiSelector *fields)
{
	if (labels) {
		_cleanup_json_ json_t *view = json_pack("{s:{s:O?}}", "metadata", "labels", o->labels);
		if (!api_selector_match(labels, view))
			return false;
	}
	if (fields) {
		_cleanup_json_ json_t *obj = cache_obj_decode(o);
		if (!obj || !api_selector_match(fields, obj))
			return false;
	}
	return true;
}

/* Wait for the revision the request asks for; false when the cache cannot serve it. */
bool api_cache_ready_for(Api *api, const ApiRequest *req)
{
	if (!api->cache)
		return false;
	const char *rvs = api_param(req, "resourceVersion"), *match = api_param(req, "resourceVersionMatch");
	if (match && !strcmp(match, "Exact"))
		return false;
	if (!rvs || !*rvs)
		return api_cache_sync(api->cache, CACHE_WAIT_MS) == 0;
	int64_t rev;
	if (parse_int64(rvs, &rev) < 0 || rev < 0)
		return false;
	return rev == 0 || api_cache_wait(api->cache, rev, CACHE_WAIT_MS) == 0;
}

static void add_table(ApiRequest *req, CacheObj **objs, size_t n, json_t *meta, ApiResponse *resp)
{
	json_t *t = api_table_new(req->res, true);
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ json_t *o = cache_obj_decode(objs[i]);
		if (o)
			api_table_add(t, req->res, o, req);
	}
	json_object_set_new(t, "metadata", meta);
	api_respond_json(resp, 200, t);
}

bool api_cache_serve_list(Api *api, ApiRequest *req, ApiResponse *resp, const char *prefix,
			  const ApiSelector *labels, const ApiSelector *fields, int64_t limit)
{
	if (api_param(req, "continue") || !api_cache_ready_for(api, req))
		return false;
	CacheObj **all;
	size_t n, keep = 0;
	int64_t rev;
	bool more = false;
	api_cache_list(api->cache, prefix, NULL, (labels || fields) ? 0 : (size_t)limit, &all, &n, &rev, &more);
	size_t i;
	for (i = 0; i < n; i++) {
		if (limit > 0 && (int64_t)keep == limit) {
			/* more only if another item matches */
			for (size_t j = i; j < n && !more; j++)
				more = api_cache_obj_match(all[j], labels, fields);
			break;
		}
		CacheObj *o = all[i];
		all[i] = NULL;
		if (api_cache_obj_match(o, labels, fields))
			all[keep++] = o;
		else
			cache_obj_unref(o);
	}
	for (; i < n; i++)
		cache_obj_unref(all[i]);
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)rev);
	json_t *meta = json_pack("{s:s}", "resourceVersion", rvs);
	if (more && keep) {
		_cleanup_free_ char *tok = api_continue_encode(rev, all[keep - 1]->key);
		json_object_set_new(meta, "continue", json_string(tok));
	}
	if (api_accepts_table(req)) {
		add_table(req, all, keep, meta, resp);
		api_cache_objs_free(all, keep);
		return true;
	}
	_cleanup_free_ char *kind = req->res->list_kind ? xstrdup(req->res->list_kind) : xasprintf("%sList", req->res->kind);
	_cleanup_free_ char *av = api_resource_api_version(req->res);
	_cleanup_free_ char *m = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	StrBuf sb = STRBUF_INIT;
	size_t total = 128 + strlen(m);
	for (size_t i = 0; i < keep; i++)
		total += all[i]->raw_len + 1;
	sb_grow(&sb, total);
	sb_addf(&sb, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":%s,\"items\":[", kind, av, m);
	for (size_t i = 0; i < keep; i++) {
		if (i)
			sb_addc(&sb, ',');
		sb_add(&sb, all[i]->raw, all[i]->raw_len);
	}
	sb_adds(&sb, "]}");
	api_cache_objs_free(all, keep);
	free(resp->body);
	resp->status = 200;
	resp->len = sb.len;
	resp->body = sb_detach(&sb);
	resp->content_type = "application/json";
	return true;
}
