/* openapi.c - OpenAPI v3 schemas of the built-in kinds, for `kubectl explain`.
 *
 * The types live in compact tables (openapi-internal.h: a description and
 * fields of name, type, description, required marker; openapi-core.c for
 * core/v1, openapi-apis.c for meta/v1 and the named groups).  This file lays
 * them out as kube-apiserver publishes them: references to other types are
 * {"allOf": [{"$ref": "#/components/schemas/NAME"}]}, array items likewise,
 * enums as "enum" lists, and the top-level kinds carry
 * x-kubernetes-group-version-kind (set by discovery.c), which kubectl uses to
 * find them.  Every document gets the closure of the types its kinds
 * reference.  Types list every field Kubernetes has, or are free-form
 * objects (x-kubernetes-preserve-unknown-fields); none is closed with
 * additionalProperties false.
 *
 * kubectl fetches a group-version's document on every explain, so its JSON
 * text is cached per group-version, keyed by what can change it: the custom
 * resources served in that group-version (api_openapi_gv_text).
 * Descriptions are this project's own summaries, not Kubernetes' texts.
 */
#include "api-internal.h"
#include "openapi-internal.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <string.h>

static const OType *const tables[] = { api_openapi_core_types, api_openapi_core_kinds_types,
					 api_openapi_apis_types };

/* The type of this full schema name, or NULL. */
const OType *api_openapi_type(const char *name)
{
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const OType *o = tables[t]; o->name; o++)
			if (!strcmp(o->name, name))
				return o;
	return NULL;
}

/* The type a field of `from` names: a full name, or a short one looked up in
 * from's package, then meta/v1, then core/v1. */
const OType *api_openapi_resolve(const OType *from, const char *name)
{
	const OType *t = api_openapi_type(name);
	if (t)
		return t;
	if (from) {
		const char *dot = strrchr(from->name, '.');
		_cleanup_free_ char *own = xasprintf("%.*s.%s", (int)(dot - from->name), from->name, name);
		if ((t = api_openapi_type(own)))
			return t;
	}
	_cleanup_free_ char *meta = xasprintf(OA_META "%s", name);
	_cleanup_free_ char *core = xasprintf(OA_CORE "%s", name);
	if ((t = api_openapi_type(meta)) || (t = api_openapi_type(core)))
		return t;
	return NULL;
}

static void add_type(json_t *schemas, const OType *t);

static const char *const scalars[] = { "string", "boolean", "number", "integer", "byte", "date-time", "micro-time",
				       "quantity", "int-or-string", "map", "object" };

bool api_openapi_type_known(const OType *from, const char *type)
{
	const char *bar = strchr(type, '|');
	if (bar) {
		_cleanup_free_ char *t = xstrndup(type, (size_t)(bar - type));
		return !strncmp(type, "[]", 2) && (!strcmp(bar + 1, "set") || !strncmp(bar + 1, "map:", 4)) &&
		       api_openapi_type_known(from, t);
	}
	while (!strncmp(type, "[]", 2) || !strncmp(type, "map:", 4))
		type += type[0] == '[' ? 2 : 4;
	if (!strncmp(type, "enum:", 5))
		return type[5] != '\0';
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++)
		if (!strcmp(type, scalars[i]))
			return true;
	return api_openapi_resolve(from, type) != NULL;
}

/* A reference to a scalar named type, defined in schemas by the json_pack
 * format and arguments on first use. */
static json_t *scalar_ref(json_t *schemas, const char *name, const char *fmt, ...)
{
	if (!json_object_get(schemas, name)) {
		va_list ap;
		va_start(ap, fmt);
		json_object_set_new(schemas, name, json_vpack_ex(NULL, 0, fmt, ap));
		va_end(ap);
	}
	_cleanup_free_ char *ref = xasprintf("#/components/schemas/%s", name);
	return json_pack("{s:[{s:s}]}", "allOf", "$ref", ref);
}

/* {"type": "string", "enum": [...]} of "A,B,C" (an empty item is the empty value). */
static json_t *enum_schema(const char *list)
{
	json_t *values = json_array();
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(values, json_stringn(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
	return json_pack("{s:s, s:o}", "type", "string", "enum", values);
}

/* The schema of a field type of `from` (new reference); referenced types are added to schemas. */
static json_t *field_schema(json_t *schemas, const OType *from, const char *type)
{
	if (!strncmp(type, "[]", 2))
		return json_pack("{s:s, s:o}", "type", "array", "items", field_schema(schemas, from, type + 2));
	if (!strncmp(type, "map:", 4))
		return json_pack("{s:s, s:o}", "type", "object", "additionalProperties",
				 field_schema(schemas, from, type + 4));
	if (!strncmp(type, "enum:", 5))
		return enum_schema(type + 5);
	if (!strcmp(type, "string") || !strcmp(type, "boolean") || !strcmp(type, "number"))
		return json_pack("{s:s}", "type", type);
	if (!strcmp(type, "integer"))
		return json_pack("{s:s, s:s}", "type", "integer", "format", "int64");
	if (!strcmp(type, "byte"))
		return json_pack("{s:s, s:s}", "type", "string", "format", "byte");
	if (!strcmp(type, "date-time"))
		return scalar_ref(schemas, OA_META "Time", "{s:s, s:s, s:s}", "description", "A time in RFC 3339 form, "
				  "to the second, in UTC.", "type", "string", "format", "date-time");
	if (!strcmp(type, "micro-time"))
		return scalar_ref(schemas, OA_META "MicroTime", "{s:s, s:s, s:s}", "description", "A time in RFC 3339 "
				  "form, to the microsecond, in UTC.", "type", "string", "format", "date-time");
	if (!strcmp(type, "quantity"))
		return scalar_ref(schemas, "io.k8s.apimachinery.pkg.api.resource.Quantity", "{s:s, s:[{s:s}, {s:s}]}",
				  "description", "An amount of a resource: a number with an optional suffix such as m, "
				  "Ki, Mi, Gi, k, M, G.", "oneOf", "type", "string", "type", "number");
	/* like kube-apiserver's v3 documents: no "type" but oneOf, so that
	 * kubectl explain names the type (<IntOrString>, <Quantity>) */
	if (!strcmp(type, "int-or-string"))
		return scalar_ref(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString", "{s:s, s:s, s:[{s:s}, {s:s}]}",
				  "description", "Either an integer or a string (a name or a percentage).", "format",
				  "int-or-string", "oneOf", "type", "integer", "type", "string");
	if (!strcmp(type, "map"))
		return json_pack("{s:s, s:{s:s, s:s}}", "type", "object", "additionalProperties", "type", "string",
				 "default", "");
	const OType *t = strcmp(type, "object") ? api_openapi_resolve(from, type) : NULL;
	if (!t)
		return json_pack("{s:s, s:b}", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
	add_type(schemas, t);
	_cleanup_free_ char *ref = xasprintf("#/components/schemas/%s", t->name);
	return json_pack("{s:[{s:s}], s:{}}", "allOf", "$ref", ref, "default");
}

/* kube-apiserver's list metadata on a list field's schema fs, from OField.list. */
static void add_list_meta(json_t *fs, const char *list)
{
	if (!strcmp(list, "set")) {
		json_object_set_new(fs, "x-kubernetes-list-type", json_string("set"));
		json_object_set_new(fs, "x-kubernetes-patch-strategy", json_string("merge"));
		return;
	}
	if (strncmp(list, "map:", 4))
		return;
	const char *keys = list + 4, *semi = strchr(keys, ';');
	size_t nkeys = semi ? (size_t)(semi - keys) : strlen(keys);
	_cleanup_free_ char *k = xstrndup(keys, nkeys);
	json_t *arr = json_array();
	for (char *save = NULL, *key = strtok_r(k, ",", &save); key; key = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_string(key));
	json_object_set_new(fs, "x-kubernetes-list-type", json_string("map"));
	json_object_set_new(fs, "x-kubernetes-list-map-keys", arr);
	json_object_set(fs, "x-kubernetes-patch-merge-key", json_array_get(arr, 0));
	json_object_set_new(fs, "x-kubernetes-patch-strategy", json_string(semi ? semi + 1 : "merge"));
}

static void add_type(json_t *schemas, const OType *t)
{
	if (json_object_get(schemas, t->name))
		return;
	json_t *props = json_object(), *req = json_array();
	json_t *s = json_pack("{s:s, s:s, s:o}", "description", t->desc, "type", "object", "properties", props);
	json_object_set_new(schemas, t->name, s); /* before the fields: types may refer to each other */
	for (const OField *f = t->fields; f->name; f++) {
		const char *name = f->name + (f->name[0] == '!');
		if (f->name[0] == '!')
			json_array_append_new(req, json_string(name));
		const char *bar = strchr(f->type, '|');
		_cleanup_free_ char *type = bar ? xstrndup(f->type, (size_t)(bar - f->type)) : NULL;
		json_t *fs = field_schema(schemas, t, type ? type : f->type);
		json_object_set_new(fs, "description", json_string(f->desc));
		if (bar)
			add_list_meta(fs, bar + 1);
		json_object_set_new(props, name, fs);
	}
	if (json_array_size(req))
		json_object_set_new(s, "required", req);
	else
		json_decref(req);
}

const char *api_openapi_add_kind(json_t *schemas, const ApiResource *r)
{
	if (r->custom)
		return NULL;
	_cleanup_free_ char *full = NULL;
	if (!*r->group)
		full = xasprintf(OA_CORE "%s", r->kind);
	else if (!strcmp(r->group, "apiextensions.k8s.io"))
		full = xasprintf("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.%s.%s", r->version, r->kind);
	else /* io.k8s.api.<first label of the group>.<version>.<kind> */
		full = xasprintf("io.k8s.api.%.*s.%s.%s", (int)strcspn(r->group, "."), r->group, r->version, r->kind);
	const OType *t = api_openapi_type(full);
	if (!t)
		return NULL;
	add_type(schemas, t);
	return t->name;
}

json_t *api_openapi_custom(json_t *schemas, const ApiResource *r)
{
	json_t *s = r->schema ? json_deep_copy(r->schema) : json_pack("{s:s}", "type", "object");
	json_t *props = json_obj_ensure(s, "properties");
	static const OField top[] = { OA_TYPE_META, { 0 } };
	for (const OField *f = top; f->name; f++)
		if (!json_object_get(props, f->name)) {
			json_t *fs = field_schema(schemas, NULL, f->type);
			json_object_set_new(fs, "description", json_string(f->desc));
			json_object_set_new(props, f->name, fs);
		}
	return s;
}

/* ---- the document cache ---- */

typedef struct GvText {
	char *gv;    /* "group/version" */
	char *key;   /* the custom resources it was built with */
	char *text;
	size_t len;
} GvText;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static GvText *cache;
static size_t ncache;

/* What the document of group/version depends on besides the tables: the
 * custom resources served there (caller frees); NULL when nothing is served
 * there (such documents are not cached: any name can be asked for). */
static char *gv_key(Api *api, const char *group, const char *version)
{
	StrBuf sb = STRBUF_INIT;
	size_t n;
	bool served = false;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		const ApiResource *r = all[i];
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		served = true;
		if (!r->custom)
			continue;
		_cleanup_free_ char *schema = r->schema ? json_dumps(r->schema, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		sb_addf(&sb, "%s/%s/%d/%s\n", r->resource, r->kind, r->namespaced, schema ? schema : "");
	}
	if (!served) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

char *api_openapi_gv_text(Api *api, const char *group, const char *version, size_t *ret_len,
			  json_t *(*build)(Api *api, const char *group, const char *version))
{
	_cleanup_free_ char *gv = xasprintf("%s/%s", group, version);
	_cleanup_free_ char *key = gv_key(api, group, version);
	char *text = NULL;
	if (!key) {
		_cleanup_json_ json_t *doc = build(api, group, version);
		text = json_dumps(doc, JSON_COMPACT);
		*ret_len = text ? strlen(text) : 0;
		return text;
	}
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ncache && !text; i++)
		if (!strcmp(cache[i].gv, gv) && !strcmp(cache[i].key, key)) {
			text = xstrndup(cache[i].text, cache[i].len);
			*ret_len = cache[i].len;
		}
	pthread_mutex_unlock(&cache_lock);
	if (text)
		return text;
	_cleanup_json_ json_t *doc = build(api, group, version);
	text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return NULL;
	*ret_len = strlen(text);
	pthread_mutex_lock(&cache_lock);
	size_t i = 0;
	while (i < ncache && strcmp(cache[i].gv, gv))
		i++;
	if (i == ncache) {
		cache = xrealloc(cache, (ncache + 1) * sizeof(*cache));
		cache[ncache++] = (GvText){ .gv = TAKE_PTR(gv) };
	}
	free(cache[i].key);
	free(cache[i].text);
	cache[i].key = TAKE_PTR(key);
	cache[i].text = xstrndup(text, *ret_len);
	cache[i].len = *ret_len;
	pthread_mutex_unlock(&cache_lock);
	return text;
}
