/* cache-serve.c - answering lists from the watch cache (cache.c).
 *
 * resourceVersion semantics as Kubernetes >= 1.31 serves them from its
 * cacher: unset is a consistent read (the store's current revision is
 * taken and the cache waited for until it has seen it); "0" is whatever
 * the cache holds; N waits until the cache is at least at N.  Exact
 * matches and continue tokens read the store at the token's revision (the
 * cache's snapshot at R is the store's state at R, so a page served here
 * continues there consistently).  Selectors and limit are evaluated on the
 * cached text: labels decode only the labels' span, field selectors read a view of the
 * text without its arrays (cache_json_scalar_view), not a full decode.
 * A raw list is the cached texts concatenated, never re-encoded.
 */
#include "api-internal.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <string.h>
#include <time.h>

#define CACHE_WAIT_MS 3000

bool api_cache_obj_match(const CacheObj *o, const ApiSelector *labels, const ApiSelector *fields)
{
	if (labels) {
		_cleanup_json_ json_t *view = json_pack("{s:{s:o?}}", "metadata", "labels", cache_obj_labels(o));
		if (!api_selector_match(labels, view))
			return false;
	}
	if (fields) {
		/* field selectors read scalars through objects only (selector.c's
		 * json_path): the object without its arrays answers the same */
		_cleanup_json_ json_t *obj = cache_json_scalar_view(o->raw, o->raw_len);
		if (!obj)
			obj = cache_obj_decode(o);
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

/* The rows of objs for resource r: rows[i] is the object's cached row text,
 * computed (once per object version) when missing.  New rows are computed
 * first into one scratch buffer and only then copied into their CacheRows,
 * so the long-lived rows are allocated together instead of between the
 * decoded trees (which would pin the whole arena after a trim).  A row for
 * another resource than the cached one (a CRD table replaced) is served from
 * the scratch buffer, which the caller releases after rendering. */
static void table_rows(const ApiResource *r, CacheObj **objs, size_t n, const char **rows, StrBuf *scratch)
{
	size_t *off = xcalloc(n ? n : 1, sizeof(*off));
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		CacheRow *row = __atomic_load_n(&objs[i]->row, __ATOMIC_ACQUIRE);
		rows[i] = row && row->stamp == r ? row->text : NULL;
		if (rows[i])
			continue;
		_cleanup_json_ json_t *obj = cache_obj_decode(objs[i]);
		if (!obj)
			continue;
		_cleanup_free_ char *text = api_table_row(r, obj);
		off[i] = scratch->len + 1; /* 0: none */
		sb_add(scratch, text, strlen(text) + 1);
		any = true;
	}
	for (size_t i = 0; any && i < n; i++) {
		if (!off[i])
			continue;
		const char *text = scratch->buf + off[i] - 1;
		rows[i] = text;
		if (__atomic_load_n(&objs[i]->row, __ATOMIC_ACQUIRE))
			continue; /* cached for another resource: serve the scratch copy */
		size_t len = strlen(text);
		CacheRow *nr = xmalloc(sizeof(*nr) + len + 1);
		nr->stamp = r;
		memcpy(nr->text, text, len + 1);
		CacheRow *expected = NULL;
		if (__atomic_compare_exchange_n(&objs[i]->row, &expected, nr, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			rows[i] = nr->text;
		else
			free(nr); /* another request cached it first */
	}
	free(off);
}

/* A Table as text: the rows' cached cells with ages at request time, and
 * each row's object (metadata span, the whole text, or nothing). */
static void add_table(ApiRequest *req, CacheObj **objs, size_t n, json_t *meta, ApiResponse *resp)
{
	const char *inc = api_param(req, "includeObject");
	bool whole = inc && !strcmp(inc, "Object"), none = inc && !strcmp(inc, "None");
	_cleanup_free_ char *head = api_table_head(req->res, meta);
	json_decref(meta);
	int64_t now = (int64_t)time(NULL);
	StrBuf sb = STRBUF_INIT;
	size_t total = strlen(head) + 8;
	for (size_t i = 0; i < n; i++)
		total += (whole ? objs[i]->raw_len : objs[i]->raw_len / 2) + 256;
	sb_grow(&sb, total);
	sb_adds(&sb, head);
	bool first = true;
	const char **rows = xcalloc(n ? n : 1, sizeof(*rows));
	StrBuf scratch = STRBUF_INIT;
	table_rows(req->res, objs, n, rows, &scratch);
	for (size_t i = 0; i < n; i++) {
		if (!rows[i])
			continue;
		sb_adds(&sb, first ? "{\"cells\":" : ",{\"cells\":");
		first = false;
		api_table_row_render(&sb, rows[i], now);
		if (whole) {
			sb_adds(&sb, ",\"object\":");
			sb_add(&sb, objs[i]->raw, objs[i]->raw_len);
		} else if (!none) {
			const char *ms, *me;
			sb_adds(&sb, ",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
			if (cache_json_member(objs[i]->raw, objs[i]->raw + objs[i]->raw_len, "metadata", &ms, &me) == 0 &&
			    *ms == '{')
				sb_add(&sb, ms, (size_t)(me - ms));
			else
				sb_adds(&sb, "{}");
			sb_addc(&sb, '}');
		}
		sb_addc(&sb, '}');
	}
	sb_adds(&sb, "]}");
	free(rows);
	sb_release(&scratch);
	free(resp->body);
	resp->status = 200;
	resp->len = sb.len;
	resp->body = sb_detach(&sb);
	resp->content_type = "application/json";
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
