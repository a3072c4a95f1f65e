/* validate.c - validation of the served kinds, producing the causes of a 422
 * Invalid Status with Kubernetes' field paths and wording
 * ("spec.replicas: Invalid value: -1: must be greater than or equal to 0").
 * Each validator only appends causes; the handler decides.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/cron.h"
#include "../base/strbuf.h"
#include <ctype.h>
#include <string.h>

#define REQUIRED "FieldValueRequired"
#define INVALID "FieldValueInvalid"
#define UNSUPPORTED "FieldValueNotSupported"

bool api_name_is_dns1123_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool api_name_is_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p;) {
		size_t l = strcspn(p, ".");
		_cleanup_free_ char *part = xstrndup(p, l);
		if (!api_name_is_dns1123_label(part))
			return false;
		p += l;
		if (*p == '.')
			p++;
		if (!*p && p[-1] == '.')
			return false;
	}
	return true;
}

static bool dns1035_label(const char *s)
{
	return api_name_is_dns1123_label(s) && islower((unsigned char)s[0]);
}

static bool qualified_name(const char *s)
{
	const char *slash = strrchr(s, '/');
	if (slash) {
		_cleanup_free_ char *prefix = xstrndup(s, (size_t)(slash - s));
		if (!api_name_is_dns1123_subdomain(prefix))
			return false;
		s = slash + 1;
	}
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static bool label_value(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return true;
	return n <= 63 && qualified_name(s) && !strchr(s, '/');
}

static void validate_labels(const json_t *labels, const char *path, json_t *causes)
{
	if (!labels)
		return;
	if (!json_is_object(labels)) {
		api_cause(causes, INVALID, path, "Invalid value: must be a map of strings");
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)labels, k, v) {
		if (!qualified_name(k))
			api_cause(causes, INVALID, path, "Invalid value: \"%s\": name part must consist of alphanumeric "
				  "characters, '-', '_' or '.', and must start and end with an alphanumeric character", k);
		else if (!json_is_string(v))
			api_cause(causes, INVALID, path, "Invalid value: label values must be strings");
		else if (!label_value(json_string_value(v)))
			api_cause(causes, INVALID, path, "Invalid value: \"%s\": a valid label must be an empty string or "
				  "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
				  "alphanumeric character", json_string_value(v));
	}
}

void api_validate_meta(const ApiResource *r, const json_t *obj, const char *ns, json_t *causes)
{
	(void)ns;
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_str(meta, "name");
	if (!name || !*name) {
		api_cause(causes, REQUIRED, "metadata.name", "Required value: name or generateName is required");
	} else if (!strcmp(r->resource, "namespaces") || !strcmp(r->resource, "services")) {
		if (!(strcmp(r->resource, "services") ? api_name_is_dns1123_label(name) : dns1035_label(name)))
			api_cause(causes, INVALID, "metadata.name", "Invalid value: \"%s\": a lowercase RFC 1123 label "
				  "must consist of lower case alphanumeric characters or '-', and must start and end with "
				  "an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
				  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')", name);
	} else if (!r->custom && strncmp(r->group, "rbac", 4) && !api_name_is_dns1123_subdomain(name)) {
		api_cause(causes, INVALID, "metadata.name", "Invalid value: \"%s\": a lowercase RFC 1123 subdomain must "
			  "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
			  "alphanumeric character (e.g. 'example.com', regex used for validation is "
			  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')", name);
	} else if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		api_cause(causes, INVALID, "metadata.name", "Invalid value: \"%s\": may not contain '/'", name);
	}
	validate_labels(json_object_get(meta, "labels"), "metadata.labels", causes);
	json_t *ann = json_object_get(meta, "annotations");
	if (ann && !json_is_object(ann))
		api_cause(causes, INVALID, "metadata.annotations", "Invalid value: must be a map of strings");
}

static void validate_container(const json_t *c, const char *path, json_t *causes)
{
	const char *name = json_str(c, "name");
	_cleanup_free_ char *np = xasprintf("%s.name", path), *ip = xasprintf("%s.image", path);
	if (!name || !*name)
		api_cause(causes, REQUIRED, np, "Required value");
	else if (!api_name_is_dns1123_label(name))
		api_cause(causes, INVALID, np, "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower "
			  "case alphanumeric characters or '-', and must start and end with an alphanumeric character "
			  "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
			  name);
	const char *image = json_str(c, "image");
	if (!image || !*image)
		api_cause(causes, REQUIRED, ip, "Required value");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(c, "ports"), i, p) {
		json_int_t port = json_int(p, "containerPort", 0);
		if (port < 1 || port > 65535) {
			_cleanup_free_ char *pp = xasprintf("%s.ports[%zu].containerPort", path, i);
			api_cause(causes, port ? INVALID : REQUIRED, pp, port ? "Invalid value: %lld: must be between 1 and "
				  "65535, inclusive" : "Required value", (long long)port);
		}
	}
	const char *pol = json_str(c, "imagePullPolicy");
	if (pol && strcmp(pol, "Always") && strcmp(pol, "IfNotPresent") && strcmp(pol, "Never")) {
		_cleanup_free_ char *pp = xasprintf("%s.imagePullPolicy", path);
		api_cause(causes, UNSUPPORTED, pp, "Unsupported value: \"%s\": supported values: \"Always\", "
			  "\"IfNotPresent\", \"Never\"", pol);
	}
}

void api_validate_pod_template(const json_t *spec, const char *path, json_t *causes)
{
	const json_t *cs = json_object_get(spec, "containers");
	_cleanup_free_ char *cp = xasprintf("%s.containers", path);
	if (!json_is_array(cs) || !json_array_size(cs)) {
		api_cause(causes, REQUIRED, cp, "Required value");
		return;
	}
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c) {
		_cleanup_free_ char *p = xasprintf("%s[%zu]", cp, i);
		validate_container(c, p, causes);
		for (size_t j = 0; j < i; j++) {
			const char *a = json_str(c, "name"), *b = json_str(json_array_get(cs, j), "name");
			if (a && b && !strcmp(a, b)) {
				_cleanup_free_ char *np = xasprintf("%s.name", p);
				api_cause(causes, "FieldValueDuplicate", np, "Duplicate value: \"%s\"", a);
			}
		}
	}
	const char *rp = json_str(spec, "restartPolicy");
	if (rp && strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
		_cleanup_free_ char *p = xasprintf("%s.restartPolicy", path);
		api_cause(causes, UNSUPPORTED, p, "Unsupported value: \"%s\": supported values: \"Always\", "
			  "\"OnFailure\", \"Never\"", rp);
	}
}

void api_validate_pod(const json_t *obj, json_t *causes)
{
	const json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		api_cause(causes, REQUIRED, "spec.containers", "Required value");
		return;
	}
	api_validate_pod_template(spec, "spec", causes);
}

static bool selector_matches_labels(const json_t *sel, const json_t *labels)
{
	const json_t *ml = json_object_get(sel, "matchLabels");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ml, k, v)
		if (!json_equal(v, json_object_get(labels, k)))
			return false;
	return true;
}

static char *labels_go_map(const json_t *labels)
{
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "map[string]string{");
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)labels, k, v) {
		sb_addf(&sb, "%s\"%s\":\"%s\"", first ? "" : ", ", k, json_string_value(v) ?: "");
		first = false;
	}
	sb_addc(&sb, '}');
	return sb_detach(&sb);
}

/* Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController, Job. */
void api_validate_workload(const json_t *obj, json_t *causes)
{
	const char *kind = json_str(obj, "kind") ?: "";
	const json_t *spec = json_object_get(obj, "spec");
	json_t *replicas = json_object_get(spec, "replicas");
	if (replicas && (!json_is_integer(replicas) || json_integer_value(replicas) < 0))
		api_cause(causes, INVALID, "spec.replicas", "Invalid value: %lld: must be greater than or equal to 0",
			  (long long)json_integer_value(replicas));
	bool job = !strcmp(kind, "Job"), rc = !strcmp(kind, "ReplicationController");
	const json_t *sel = json_object_get(spec, "selector");
	const json_t *tmpl = json_object_get(spec, "template");
	if (!job && !rc && (!json_is_object(sel) || (!json_object_size(json_object_get(sel, "matchLabels")) &&
						     !json_array_size(json_object_get(sel, "matchExpressions")))))
		api_cause(causes, REQUIRED, "spec.selector", "Required value");
	if (!json_is_object(tmpl)) {
		api_cause(causes, REQUIRED, "spec.template", "Required value");
		return;
	}
	const json_t *labels = json_path(tmpl, "metadata.labels");
	if (!job && !rc && json_is_object(sel) && !selector_matches_labels(sel, labels)) {
		_cleanup_free_ char *m = labels_go_map(labels);
		api_cause(causes, INVALID, "spec.template.metadata.labels",
			  "Invalid value: %s: `selector` does not match template `labels`", m);
	}
	const json_t *pspec = json_object_get(tmpl, "spec");
	api_validate_pod_template(pspec, "spec.template.spec", causes);
	const char *rp = json_str(pspec, "restartPolicy");
	if (job && (!rp || !strcmp(rp, "Always")))
		api_cause(causes, rp ? UNSUPPORTED : REQUIRED, "spec.template.spec.restartPolicy",
			  "%s: valid values: \"OnFailure\", \"Never\"", rp ? "Unsupported value: \"Always\"" :
			  "Required value");
	if (!job && rp && strcmp(rp, "Always") && strcmp(kind, "CronJob"))
		api_cause(causes, UNSUPPORTED, "spec.template.spec.restartPolicy",
			  "Unsupported value: \"%s\": supported values: \"Always\"", rp);
}

/* CronJob: the schedule parses (robfig's messages), no TZ= in it, a loadable timeZone. */
void api_validate_cronjob(const json_t *obj, json_t *causes)
{
	const json_t *spec = json_object_get(obj, "spec");
	const char *sched = json_str(spec, "schedule");
	CronSched cs;
	_cleanup_err_ Error *e = NULL;
	if (!sched || !*sched)
		api_cause(causes, REQUIRED, "spec.schedule", "Required value");
	else if (cron_parse(sched, &cs, &e) < 0)
		api_cause(causes, INVALID, "spec.schedule", "Invalid value: \"%s\": %s", sched, err_msg(e));
	if (sched && strstr(sched, "TZ"))
		api_cause(causes, INVALID, "spec.schedule",
			  "Invalid value: \"%s\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead", sched);
	const json_t *tz = json_object_get(spec, "timeZone");
	err_freep(&e);
	if (tz && !json_is_null(tz) && !cron_zone_name_valid(json_string_value(tz), &e))
		api_cause(causes, INVALID, "spec.timeZone", "Invalid value: \"%s\": %s", json_string_value(tz) ?: "",
			  err_msg(e));
	if (!json_is_object(json_path(spec, "jobTemplate.spec.template")))
		api_cause(causes, REQUIRED, "spec.jobTemplate.spec.template", "Required value");
}

void api_validate_service(const json_t *obj, json_t *causes)
{
	const json_t *spec = json_object_get(obj, "spec");
	const char *type = json_str(spec, "type") ?: "ClusterIP";
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer", "ExternalName" };
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		known = known || !strcmp(type, types[i]);
	if (!known)
		api_cause(causes, UNSUPPORTED, "spec.type", "Unsupported value: \"%s\": supported values: \"ClusterIP\", "
			  "\"ExternalName\", \"LoadBalancer\", \"NodePort\"", type);
	const char *cip = json_str(spec, "clusterIP");
	const json_t *ports = json_object_get(spec, "ports");
	if (strcmp(type, "ExternalName") && !json_array_size(ports) && !(cip && !strcmp(cip, "None")))
		api_cause(causes, REQUIRED, "spec.ports", "Required value");
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) {
		json_int_t port = json_int(p, "port", 0);
		if (port < 1 || port > 65535) {
			_cleanup_free_ char *pp = xasprintf("spec.ports[%zu].port", i);
			api_cause(causes, port ? INVALID : REQUIRED, pp, port ? "Invalid value: %lld: must be between 1 and "
				  "65535, inclusive" : "Required value", (long long)port);
		}
		if (json_array_size(ports) > 1 && !json_str(p, "name")) {
			_cleanup_free_ char *pp = xasprintf("spec.ports[%zu].name", i);
			api_cause(causes, REQUIRED, pp, "Required value");
		}
	}
}

static bool config_key(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 253 || !strcmp(k, ".") || !strcmp(k, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '-' && k[i] != '_' && k[i] != '.')
			return false;
	return true;
}

/* ConfigMap and Secret keys. */
void api_validate_configmap(const json_t *obj, json_t *causes)
{
	static const char *const fields[] = { "data", "binaryData", "stringData" };
	for (size_t f = 0; f < ARRAY_SIZE(fields); f++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(obj, fields[f]), k, v) {
			if (config_key(k) && json_is_string(v))
				continue;
			_cleanup_free_ char *path = xasprintf("%s[%s]", fields[f], k);
			api_cause(causes, INVALID, path, "Invalid value: \"%s\": a valid config key must consist of "
				  "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
				  "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')", k);
		}
	}
}

/* ---- CRD openAPIV3Schema: types, required, enums, bounds ---- */

static bool type_ok(const char *type, const json_t *v)
{
	if (!strcmp(type, "object")) return json_is_object(v);
	if (!strcmp(type, "array")) return json_is_array(v);
	if (!strcmp(type, "string")) return json_is_string(v);
	if (!strcmp(type, "integer")) return json_is_integer(v);
	if (!strcmp(type, "number")) return json_is_number(v);
	if (!strcmp(type, "boolean")) return json_is_boolean(v);
	return true;
}

void api_validate_schema(const json_t *schema, const json_t *value, const char *path, json_t *causes)
{
	if (!json_is_object(schema) || json_array_size(causes) > 50)
		return;
	const char *type = json_str(schema, "type");
	if (type && !json_is_null(value) && !type_ok(type, value) &&
	    !json_is_true(json_object_get(schema, "x-kubernetes-int-or-string"))) {
		api_cause(causes, "FieldValueTypeInvalid", path, "Invalid value: \"%s\": %s in body must be of type %s: "
			  "\"%s\"", json_is_string(value) ? json_string_value(value) : "", path, type,
			  json_is_string(value) ? "string" : json_is_integer(value) ? "integer" : json_is_object(value) ?
			  "object" : json_is_array(value) ? "array" : "boolean");
		return;
	}
	json_t *min = json_object_get(schema, "minimum"), *max = json_object_get(schema, "maximum");
	if (json_is_number(value) && min && json_number_value(value) < json_number_value(min))
		api_cause(causes, INVALID, path, "Invalid value: %g: %s in body should be greater than or equal to %g",
			  json_number_value(value), path, json_number_value(min));
	if (json_is_number(value) && max && json_number_value(value) > json_number_value(max))
		api_cause(causes, INVALID, path, "Invalid value: %g: %s in body should be less than or equal to %g",
			  json_number_value(value), path, json_number_value(max));
	json_t *en = json_object_get(schema, "enum");
	if (json_is_array(en) && value) {
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach(en, i, e)
			found = found || json_equal(e, value);
		if (!found)
			api_cause(causes, UNSUPPORTED, path, "Unsupported value: %s", json_is_string(value) ?
				  json_string_value(value) : "value");
	}
	if (json_is_object(value)) {
		size_t i;
		json_t *req;
		json_array_foreach(json_object_get(schema, "required"), i, req) {
			if (json_is_string(req) && !json_object_get(value, json_string_value(req))) {
				_cleanup_free_ char *p = xasprintf("%s.%s", path, json_string_value(req));
				api_cause(causes, REQUIRED, p, "Required value");
			}
		}
		const char *k;
		json_t *v;
		json_t *props = json_object_get(schema, "properties");
		json_object_foreach((json_t *)value, k, v) {
			json_t *sub = json_object_get(props, k);
			if (!sub)
				sub = json_object_get(schema, "additionalProperties");
			_cleanup_free_ char *p = xasprintf("%s.%s", path, k);
			api_validate_schema(sub, v, p, causes);
		}
	} else if (json_is_array(value)) {
		size_t i;
		json_t *v;
		json_array_foreach(value, i, v) {
			_cleanup_free_ char *p = xasprintf("%s[%zu]", path, i);
			api_validate_schema(json_object_get(schema, "items"), v, p, causes);
		}
	}
}
