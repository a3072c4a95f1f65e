/* status.c - Kubernetes Status objects: the one shape every API error takes.
 *
 * Messages follow apimachinery's wording so that kubectl prints what users
 * know: `pods "x" not found`, `namespaces "x" already exists`,
 * `Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1: ...`
 * (kubectl rebuilds the "The Deployment "x" is invalid" line from details).
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <stdarg.h>
#include <string.h>

json_t *api_status(int code, const char *reason, const char *message, json_t *details)
{
	json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
			      "status", code < 400 ? "Success" : "Failure", "message", message ? message : "",
			      "reason", reason ? reason : "", "code", code);
	if (!reason || !*reason)
		json_object_del(s, "reason");
	if (details)
		json_object_set_new(s, "details", details);
	return s;
}

void api_respond_status(ApiResponse *resp, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	api_respond_json(resp, code, api_status(code, reason, msg, NULL));
}

/* "pods" or "deployments.apps" */
const char *api_group_resource(const ApiRequest *req, char *buf, size_t n)
{
	const char *res = req->res ? req->res->resource : req->resource ? req->resource : "";
	const char *group = req->res ? req->res->group : req->group ? req->group : "";
	if (*group)
		snprintf(buf, n, "%s.%s", res, group);
	else
		snprintf(buf, n, "%s", res);
	return buf;
}

static json_t *details_for(const ApiRequest *req, const char *name, const char *kind)
{
	json_t *d = json_object();
	if (name)
		json_object_set_new(d, "name", json_string(name));
	if (req->res && req->res->group[0])
		json_object_set_new(d, "group", json_string(req->res->group));
	json_object_set_new(d, "kind", json_string(kind));
	return d;
}

void api_respond_not_found(ApiResponse *resp, const ApiRequest *req)
{
	char gr[300];
	api_group_resource(req, gr, sizeof(gr));
	_cleanup_free_ char *msg = xasprintf("%s \"%s\" not found", gr, req->name ? req->name : "");
	api_respond_json(resp, 404, api_status(404, "NotFound", msg,
					       details_for(req, req->name, req->res ? req->res->resource : gr)));
}

void api_cause(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message", msg, "field", field));
}

void api_respond_invalid(ApiResponse *resp, const ApiRequest *req, const char *name, json_t *causes)
{
	const char *kind = req->res ? req->res->kind : "Object";
	StrBuf sb = STRBUF_INIT;
	if (req->res && req->res->group[0])
		sb_addf(&sb, "%s.%s \"%s\" is invalid: ", kind, req->res->group, name ? name : "");
	else
		sb_addf(&sb, "%s \"%s\" is invalid: ", kind, name ? name : "");
	size_t n = json_array_size(causes);
	if (n > 1)
		sb_addc(&sb, '[');
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(causes, i);
		sb_addf(&sb, "%s%s: %s", i ? ", " : "", json_str(c, "field"), json_str(c, "message"));
	}
	if (n > 1)
		sb_addc(&sb, ']');
	json_t *d = details_for(req, name, kind);
	json_object_set(d, "causes", causes);
	api_respond_json(resp, 422, api_status(422, "Invalid", sb.buf, d));
	sb_release(&sb);
}
