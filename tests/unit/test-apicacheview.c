/* test-apicacheview.c - what the watch cache answers selectors with: the
 * scalar view of an object's text (the object without its arrays) must give
 * every field selector the same answer as the fully decoded object, labels
 * decode from their span only, and objects in the cache carry their key
 * and labels without a decoded tree; in-process requests need a running
 * server. */
#include "tap.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/apiserver/cache.h"
#include "../../src/apiserver/handlers.h"
#include "../../src/apiserver/local.h"
#include "../../src/base/fs.h"
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/test-apicacheview-XXXXXX";

/* obj with every array removed, recursively (what the view must equal). */
static json_t *strip_arrays(const json_t *obj)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_array(v))
			continue;
		json_object_set_new(out, k, json_is_object(v) ? strip_arrays(v) : json_deep_copy(v));
	}
	return out;
}

static void view_equals_stripped(const char *text, const char *what)
{
	json_t *full = json_loads(text, 0, NULL);
	json_t *view = cache_json_scalar_view(text, strlen(text));
	json_t *want = full ? strip_arrays(full) : NULL;
	ok(view && want && json_equal(view, want), "view: %s", what);
	json_decref(full);
	json_decref(view);
	json_decref(want);
}

static void scalar_view(void)
{
	view_equals_stripped("{}", "empty object");
	view_equals_stripped("{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":-2.5e3}", "scalars of every type");
	view_equals_stripped("{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"},\"managedFields\":[{\"f\":{}}]},"
			     "\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[1,2]}],\"nodeName\":\"n1\"}}",
			     "a pod: arrays dropped at every depth, siblings kept");
	view_equals_stripped("{\"s\":\"q\\\"uote ] [ } { , :\",\"u\":\"caf\\u00e9 \\n\",\"k\\\"ey\":1}",
			     "escapes and structural characters inside strings");
	view_equals_stripped(" {\n \"a\" : { \"b\" : [ ] , \"c\" : \"d\" } \t} ", "whitespace everywhere");
	view_equals_stripped("{\"a\":[[[{\"x\":1}]]],\"b\":{\"c\":{\"d\":{\"e\":\"deep\"}}}}", "nested arrays, deep objects");
	view_equals_stripped("{\"a\":1,\"a\":2}", "a repeated key: the last wins, as jansson decodes it");

	static const char *bad[] = { "", "[1,2]", "\"x\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1}x",
				     "{\"a\":[1,2}", "{\"a\":\"unterminated}", "{\"a\":1 \"b\":2}", "{\"a\":tru}" };
	int rejected = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		json_t *v = cache_json_scalar_view(bad[i], strlen(bad[i]));
		if (!v)
			rejected++;
		json_decref(v);
	}
	is_int(rejected, (int)(sizeof(bad) / sizeof(*bad)), "malformed texts and non-objects give no view");

	/* a deep nesting is refused instead of recursing without bound */
	char deep[100 * 6 + 16];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(deep + n, "{\"a\":");
	n += (size_t)sprintf(deep + n, "1");
	for (int i = 0; i < 100; i++)
		deep[n++] = '}';
	deep[n] = 0;
	json_t *v = cache_json_scalar_view(deep, n);
	ok(!v, "nesting deeper than the limit is refused");
	json_decref(v);
}

/* Field selectors over cached objects answer as over the decoded objects. */
static void selectors(void)
{
	char *path = xasprintf("sqlite:%s/db", dir);
	Store *s = NULL;
	is_int(store_open(path, &s, NULL), 0, "store opens");
	static const char *objs[] = {
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"labels\":{\"app\":\"x\"}},"
		"\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Running\"}}",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\",\"namespace\":\"ns\",\"labels\":{\"app\":\"y\"},"
		"\"managedFields\":[{\"manager\":\"m\"}]},\"spec\":{\"containers\":[]},\"status\":{\"phase\":\"Pending\"}}",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\\u0071\",\"namespace\":\"ns\"},"
		"\"spec\":{\"nodeName\":\"n2\",\"priority\":7,\"hostNetwork\":true}}",
	};
	static const char *keys[] = { "/registry/pods/ns/a", "/registry/pods/ns/b", "/registry/pods/ns/c" };
	for (int i = 0; i < 3; i++)
		store_create(s, keys[i], objs[i], strlen(objs[i]), NULL, NULL);
	ApiCache *c = NULL;
	is_int(api_cache_start(s, 64, &c, NULL), 0, "cache starts");
	CacheObj **all;
	size_t n;
	int64_t rev;
	bool more;
	api_cache_list(c, "/registry/pods/ns/", NULL, 0, &all, &n, &rev, &more);
	is_int(n, 3, "three cached");
	is_str(all[0]->key, keys[0], "the key is kept with the object");

	static const char *fsel[] = { "spec.nodeName=n1", "spec.nodeName=", "spec.nodeName!=n1", "status.phase=Pending",
				      "metadata.name=cq", "spec.priority=7", "spec.hostNetwork=true",
				      "metadata.namespace=ns,spec.nodeName!=n2", "metadata.managedFields=",
				      "spec.containers=", "kind=Pod" };
	int agree = 0, total = 0, matched = 0;
	for (size_t i = 0; i < sizeof(fsel) / sizeof(*fsel); i++) {
		ApiSelector *sel = NULL;
		if (api_selector_parse(fsel[i], true, &sel, NULL) < 0) {
			tap_diag("cannot parse %s", fsel[i]);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			json_t *full = cache_obj_decode(all[j]);
			bool want = api_selector_match(sel, full), got = api_cache_obj_match(all[j], NULL, sel);
			agree += want == got;
			matched += got;
			total++;
			if (want != got)
				tap_diag("%s on %s: cache %d, decoded %d", fsel[i], all[j]->key, got, want);
			json_decref(full);
		}
		api_selector_free(sel);
	}
	ok(total > 0 && agree == total, "every field selector agrees with the decoded object (%d cases)", total);
	ok(matched > 0 && matched < total, "and the cases both match and miss (%d of %d)", matched, total);

	ApiSelector *lsel = NULL;
	api_selector_parse("app in (x,z)", false, &lsel, NULL);
	ok(api_cache_obj_match(all[0], lsel, NULL) && !api_cache_obj_match(all[1], lsel, NULL) &&
	   !api_cache_obj_match(all[2], lsel, NULL), "label selectors read the labels' span (and no labels)");
	api_selector_free(lsel);
	json_t *l = cache_obj_labels(all[1]);
	ok(l && !strcmp(json_string_value(json_object_get(l, "app")), "y"), "labels decoded on demand");
	json_decref(l);
	ok(!cache_obj_labels(all[2]), "an object without labels has none");
	api_cache_objs_free(all, n);
	api_cache_stop(c);
	store_free(s);
	free(path);
}

/* Without a running server in the process, in-process requests say so
 * (the scheduler then falls back to HTTP). */
static void local_without_server(void)
{
	int status = -1;
	char *body = NULL;
	size_t len = 0;
	is_int(apiserver_local_request("GET", "/version", NULL, NULL, 0, &status, &body, &len), -ENOTCONN,
	       "local request without a server: -ENOTCONN");
	ok(status == -1 && !body, "and nothing answered");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	scalar_view();
	selectors();
	local_without_server();
	fs_rm_rf(dir, NULL);
	return tap_done();
}
