/* route.c - request path -> (group, version, namespace, resource, name,
 * subresource), following apiserver's RequestInfo rules:
 *
 *   /api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]]
 *   /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUB]]
 *
 * with /api/v1/namespaces/NAME[/status|/finalize] naming the Namespace
 * itself.  Segments are checked for emptiness and a sane length.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <string.h>

#define MAX_SEGMENTS 10

/* Valid UTF-8 without control characters (names end up in JSON and messages). */
static bool utf8_printable(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;
	json_decref(j);
	for (; ok && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			ok = false;
	return ok;
}

static size_t split(const char *path, char **seg, size_t max)
{
	size_t n = 0;
	for (const char *p = path; *p && n < max;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, "/");
		seg[n++] = xstrndup(p, l);
		p += l;
	}
	return n;
}

int api_route(Api *api, ApiRequest *req)
{
	char *seg[MAX_SEGMENTS + 1] = { 0 };
	size_t n = split(req->path, seg, MAX_SEGMENTS + 1);
	int r = -ENOENT;
	size_t i = 0;
	if (n > MAX_SEGMENTS)
		goto out;
	if (n >= 2 && !strcmp(seg[0], "api")) {
		req->group = xstrdup("");
		req->version = xstrdup(seg[1]);
		i = 2;
	} else if (n >= 3 && !strcmp(seg[0], "apis")) {
		req->group = xstrdup(seg[1]);
		req->version = xstrdup(seg[2]);
		i = 3;
	} else {
		r = 1;
		goto out;
	}
	if (i == n) {
		r = 1; /* a group-version discovery document */
		goto out;
	}
	if (!strcmp(seg[i], "namespaces") && n - i >= 2) {
		bool ns_itself = n - i == 2 || (n - i == 3 && (!strcmp(seg[i + 2], "status") ||
							       !strcmp(seg[i + 2], "finalize")));
		if (!ns_itself) {
			req->ns = xstrdup(seg[i + 1]);
			i += 2;
		}
	}
	if (n - i > 3)
		goto out;
	req->resource = xstrdup(seg[i]);
	if (n - i >= 2)
		req->name = xstrdup(seg[i + 1]);
	if (n - i >= 3)
		req->sub = xstrdup(seg[i + 2]);
	for (size_t j = 0; j < n; j++)
		if (strlen(seg[j]) > BERTH_MAX_NAME || !utf8_printable(seg[j])) {
			r = -ENAMETOOLONG;
			goto out;
		}
	req->res = api_resource_find(api, req->group, req->version, req->resource);
	if (req->res && strcmp(req->res->resource, req->resource))
		req->res = NULL; /* only the plural names a collection in a URL */
	if (!req->res)
		goto out;
	if (req->res->namespaced && !req->ns && req->name)
		goto out; /* a namespaced object needs its namespace */
	if (!req->res->namespaced && req->ns)
		goto out;
	req->cluster_wide = req->res->namespaced && !req->ns;
	r = 0;
out:
	for (size_t j = 0; j < n && j <= MAX_SEGMENTS; j++)
		free(seg[j]);
	return r;
}
