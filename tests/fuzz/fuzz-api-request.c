/* fuzz-api-request.c - whole API requests below HTTP: the input is
 * METHOD \0 PATH \0 QUERY \0 CONTENT-TYPE \0 BODY and goes through
 * api_handle() (routing, decoding, defaulting, validation, patch, list,
 * watch start) against a throw-away SQLite store.  Every answer must be a
 * response with a status; malformed input must never reach the store as
 * a half-written object (each stored value must parse as a JSON object). */
#include "../../src/apiserver/api-internal.h"
#include "../../src/base/fs.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Api api;
static char dir[] = "/tmp/fuzz-api-XXXXXX";

static void cleanup(void)
{
	store_free(api.store);
	fs_rm_rf(dir, NULL);
}

static void setup(void)
{
	if (api.store)
		return;
	if (!mkdtemp(dir))
		abort();
	char *spec = xasprintf("sqlite:%s/db", dir);
	api.cfg.data_dir = dir;
	api.cfg.service_cidr = "10.96.0.0/24";
	pthread_mutex_init(&api.lock, NULL);
	if (store_open(spec, &api.store, NULL) < 0)
		abort();
	free(spec);
	ApiRequest req = { .method = "POST", .path = xstrdup("/api/v1/namespaces") };
	req.body = "{\"metadata\":{\"name\":\"f\"}}";
	req.body_len = strlen(req.body);
	ApiResponse resp = { 0 };
	api_handle(&api, &req, &resp);
	api_response_release(&resp);
	api_request_release(&req);
	atexit(cleanup);
}

static char *take(const char **p, const char *end)
{
	const char *s = *p;
	const char *z = memchr(s, 0, (size_t)(end - s));
	size_t n = z ? (size_t)(z - s) : (size_t)(end - s);
	*p = z ? z + 1 : end;
	return strndup(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	const char *p = (const char *)data, *end = p + size;
	char *method = take(&p, end), *path = take(&p, end), *query = take(&p, end), *ctype = take(&p, end);
	ApiRequest req = { .method = method, .path = path, .content_type = ctype, .user = "admin" };
	req.body = p;
	req.body_len = (size_t)(end - p);
	char *save = NULL;
	for (char *kv = strtok_r(query, "&", &save); kv && req.nparams < 16; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		req.params = xrealloc(req.params, (req.nparams + 1) * sizeof(ApiParam));
		req.params[req.nparams].key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		req.params[req.nparams].value = xstrdup(eq ? eq + 1 : "");
		req.nparams++;
	}
	ApiResponse resp = { 0 };
	api_handle(&api, &req, &resp);
	if (resp.status < 200 || resp.status > 599)
		__builtin_trap();
	if (resp.watch) {
		char *chunk;
		size_t n;
		for (int i = 0; i < 4 && api_watch_next(resp.watch, &chunk, &n, 0) == 1; i++)
			free(chunk);
	}
	api_response_release(&resp);
	req.method = NULL;
	req.content_type = NULL;
	req.user = NULL;
	api_request_release(&req);
	free(method);
	free(query);
	free(ctype);
	StoreKVList l;
	int64_t rev;
	bool more;
	if (store_list(api.store, "/registry/", NULL, 0, 0, &l, &rev, &more, NULL) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			/* every stored Kubernetes object is a JSON object; berth's own
			 * bookkeeping (address claims, keys) lives under /registry/berth/ */
			if (!strncmp(l.items[i].key, "/registry/berth/", 16))
				continue;
			json_t *o = json_loadb(l.items[i].value, l.items[i].value_len, 0, NULL);
			if (!json_is_object(o))
				__builtin_trap();
			json_decref(o);
		}
		store_kv_list_release(&l);
	}
	return 0;
}
