/* test-openapi.c - the OpenAPI schema tables behind `kubectl explain`
 * (apiserver/openapi*.c): every field type names a scalar, an enum or a type
 * of the tables (a typo would silently publish a free-form object), names
 * are unique, every built-in kind has a schema whose $refs all resolve,
 * short names resolve within their own API group first, the shapes kubectl
 * shows (required markers, enums, IntOrString), the per-group-version
 * cache of the document text, rebuilt when a custom resource changes, and
 * /openapi/v2 in JSON and gnostic protobuf. */
#include "tap.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/apiserver/openapi-internal.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const OType *const tables[] = { api_openapi_core_types, api_openapi_core_kinds_types,
						 api_openapi_apis_types };

static void test_tables(void)
{
	size_t ntypes = 0, bad_type = 0, bad_field = 0, dup_type = 0, dup_field = 0;
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const OType *o = tables[t]; o->name; o++) {
			ntypes++;
			if (api_openapi_type(o->name) != o) {
				dup_type++;
				tap_diag("duplicate type %s", o->name);
			}
			if (!o->desc || !*o->desc || strchr(o->desc, '\n'))
				bad_type++;
			for (const OField *f = o->fields; f->name; f++) {
				const char *name = f->name + (f->name[0] == '!');
				if (!*name || !f->desc || !*f->desc || strchr(f->desc, '\n') ||
				    !api_openapi_type_known(o, f->type)) {
					bad_field++;
					tap_diag("%s.%s: type %s", o->name, name, f->type);
				}
				for (const OField *g = o->fields; g < f; g++)
					if (!strcmp(g->name + (g->name[0] == '!'), name)) {
						dup_field++;
						tap_diag("%s.%s listed twice", o->name, name);
					}
			}
		}
	ok(ntypes > 200, "the tables hold %zu types", ntypes);
	is_int(dup_type, 0, "type names are unique");
	is_int(bad_type, 0, "every type has a one-line description");
	is_int(bad_field, 0, "every field has a one-line description and a known type");
	is_int(dup_field, 0, "field names are unique within a type");
	ok(!api_openapi_type_known(NULL, "NoSuchType") && !api_openapi_type_known(NULL, "[]Containr") &&
	   !api_openapi_type_known(NULL, "enum:"), "unknown types are told apart");
}

static void collect_refs(const json_t *v, json_t *refs)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) {
			if (!strcmp(k, "$ref") && json_is_string(x))
				json_object_set_new(refs, strrchr(json_string_value(x), '/') + 1, json_true());
			else
				collect_refs(x, refs);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			collect_refs(x, refs);
	}
}

static const json_t *prop(const json_t *schemas, const char *type, const char *field)
{
	return json_object_get(json_object_get(json_object_get(schemas, type), "properties"), field);
}

static const char *ref_of(const json_t *field)
{
	const json_t *s = json_object_get(field, "items") ? json_object_get(field, "items") : field;
	return json_string_value(json_object_get(json_array_get(json_object_get(s, "allOf"), 0), "$ref"));
}

static bool required(const json_t *schemas, const char *type, const char *field)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(schemas, type), "required"), i, v)
		if (!strcmp(json_string_value(v), field))
			return true;
	return false;
}

static void test_builtin_kinds(void)
{
	size_t n, missing = 0, open_kind = 0;
	const ApiResource *all = api_resource_builtin(&n);
	json_t *schemas = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *name = api_openapi_add_kind(schemas, &all[i]);
		if (!name) {
			missing++;
			tap_diag("no schema for %s/%s %s", all[i].group, all[i].version, all[i].kind);
			continue;
		}
		if (!prop(schemas, name, "metadata") || !prop(schemas, name, "kind"))
			open_kind++;
	}
	ok(n > 30, "%zu built-in resources", n);
	is_int(missing, 0, "every built-in kind has a schema");
	is_int(open_kind, 0, "every kind's schema lists apiVersion, kind and metadata");

	json_t *refs = json_object();
	collect_refs(schemas, refs);
	size_t dangling = 0;
	const char *k;
	json_t *v;
	json_object_foreach(refs, k, v)
		if (!json_object_get(schemas, k)) {
			dangling++;
			tap_diag("dangling $ref %s", k);
		}
	ok(json_object_size(refs) > 150, "%zu types referenced", json_object_size(refs));
	is_int(dangling, 0, "every $ref resolves within the document");

	/* what kubectl explain shows */
	ok(required(schemas, OA_CORE "PodAffinityTerm", "topologyKey") &&
	   !required(schemas, OA_CORE "PodAffinityTerm", "labelSelector") &&
	   prop(schemas, OA_CORE "PodAffinityTerm", "labelSelector"), "PodAffinityTerm: topologyKey required");
	is_str(ref_of(prop(schemas, OA_CORE "HTTPGetAction", "port")),
	       "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString", "httpGet.port is IntOrString");
	ok(!json_object_get(json_object_get(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"), "type") &&
	   json_array_size(json_object_get(json_object_get(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"),
					   "oneOf")) == 2, "IntOrString is integer or string, without a type");
	const json_t *rp = json_object_get(prop(schemas, OA_CORE "PodSpec", "restartPolicy"), "enum");
	ok(json_array_size(rp) == 3 && !strcmp(json_string_value(json_array_get(rp, 0)), "Always"),
	   "restartPolicy has its enum");
	const json_t *hp = json_object_get(prop(schemas, OA_CORE "HostPathVolumeSource", "type"), "enum");
	ok(json_array_size(hp) == 8 && !strcmp(json_string_value(json_array_get(hp, 0)), ""),
	   "hostPath.type's enum starts with the empty value");
	is_str(ref_of(prop(schemas, OA_CORE "PodSpec", "securityContext")),
	       "#/components/schemas/" OA_CORE "PodSecurityContext", "PodSpec.securityContext is typed");
	ok(required(schemas, OA_CORE "Taint", "key") && required(schemas, OA_CORE "Taint", "effect"),
	   "Taint: key and effect required");
	is_str(ref_of(prop(schemas, "io.k8s.api.discovery.v1.EndpointSlice", "ports")),
	       "#/components/schemas/io.k8s.api.discovery.v1.EndpointPort", "short names resolve in their group first");
	is_str(ref_of(prop(schemas, OA_CORE "Endpoints", "subsets")), "#/components/schemas/" OA_CORE "EndpointSubset",
	       "core Endpoints keep core types");
	is_str(ref_of(prop(schemas, "io.k8s.api.events.v1.Event", "series")),
	       "#/components/schemas/io.k8s.api.events.v1.EventSeries", "events.k8s.io Event's own series");
	is_str(ref_of(prop(schemas, "io.k8s.api.batch.v1.CronJobStatus", "active")),
	       "#/components/schemas/" OA_CORE "ObjectReference", "falls back to core/v1");
	const json_t *ports = prop(schemas, OA_CORE "Container", "ports");
	ok(json_is_array(json_object_get(ports, "x-kubernetes-list-map-keys")) &&
	   json_array_size(json_object_get(ports, "x-kubernetes-list-map-keys")) == 2 &&
	   !strcmp(json_string_value(json_object_get(ports, "x-kubernetes-patch-merge-key")), "containerPort") &&
	   !strcmp(json_string_value(json_object_get(ports, "x-kubernetes-list-type")), "map") &&
	   !strcmp(json_string_value(json_object_get(ports, "x-kubernetes-patch-strategy")), "merge"),
	   "container ports merge by containerPort, listed by containerPort and protocol");
	is_str(json_string_value(json_object_get(prop(schemas, OA_CORE "PodSpec", "volumes"),
						 "x-kubernetes-patch-strategy")), "merge,retainKeys", "volumes retain keys");
	is_str(json_string_value(json_object_get(prop(schemas, OA_META "ObjectMeta", "finalizers"),
						 "x-kubernetes-list-type")), "set", "finalizers are a set");
	ok(!api_openapi_type_known(NULL, "string|set") && !api_openapi_type_known(NULL, "[]string|sorted") &&
	   api_openapi_type_known(NULL, "[]string|set"), "list metadata only on lists");
	ok(json_object_get(prop(schemas, OA_CORE "Volume", "iscsi"), "x-kubernetes-preserve-unknown-fields") != NULL,
	   "sources not modelled are free-form, not closed");
	size_t closed = 0;
	json_object_foreach(schemas, k, v)
		if (json_is_false(json_object_get(v, "additionalProperties")))
			closed++;
	is_int(closed, 0, "no type is closed");
	json_decref(refs);
	json_decref(schemas);
}

static int nbuilds;

static json_t *build(Api *api, const char *group, const char *version)
{
	(void)api;
	nbuilds++;
	size_t n;
	const ApiResource **all = api_resources_all(api, &n);
	json_t *doc = json_pack("{s:s, s:s, s:i, s:[]}", "group", group, "version", version, "build", nbuilds, "kinds");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i]->group, group) && !strcmp(all[i]->version, version))
			json_array_append_new(json_object_get(doc, "kinds"), json_string(all[i]->kind));
	free(all);
	return doc;
}

static void test_cache(void)
{
	Api api = { 0 };
	pthread_mutex_init(&api.lock, NULL);
	ApiResource crd = { .group = "cache.example.com", .version = "v1", .resource = "widgets", .kind = "Widget",
			    .singular = "widget", .namespaced = true, .custom = true };
	crd.schema = json_pack("{s:s}", "type", "object");
	ApiResource *custom[] = { &crd };

	size_t len, len2;
	char *a = api_openapi_gv_text(&api, "apps", "v1", &len, build);
	char *b = api_openapi_gv_text(&api, "apps", "v1", &len2, build);
	ok(a && b && len == strlen(a) && len2 == len && !strcmp(a, b) && a != b, "a second request gets a copy");
	is_int(nbuilds, 1, "the document is built once");
	free(a);
	free(b);

	a = api_openapi_gv_text(&api, "cache.example.com", "v1", &len, build);
	ok(a && !strstr(a, "Widget"), "no custom kind yet");
	free(a);
	a = api_openapi_gv_text(&api, "cache.example.com", "v1", &len, build);
	free(a);
	is_int(nbuilds, 3, "a group-version nothing is served in is built each time, never cached");
	api.custom = custom;
	api.ncustom = 1;
	a = api_openapi_gv_text(&api, "cache.example.com", "v1", &len, build);
	ok(a && strstr(a, "Widget"), "a new custom resource rebuilds its group-version");
	free(a);
	is_int(nbuilds, 4, "rebuilt once");
	a = api_openapi_gv_text(&api, "cache.example.com", "v1", &len, build);
	free(a);
	a = api_openapi_gv_text(&api, "apps", "v1", &len, build);
	free(a);
	is_int(nbuilds, 4, "unchanged documents stay cached, other groups too");
	json_object_set_new(crd.schema, "description", json_string("changed"));
	a = api_openapi_gv_text(&api, "cache.example.com", "v1", &len, build);
	ok(a && strstr(a, "\"build\":5"), "a changed schema rebuilds the document");
	free(a);
	api.custom = NULL;
	api.ncustom = 0;
	a = api_openapi_gv_text(&api, "cache.example.com", "v1", &len, build);
	ok(a && !strstr(a, "Widget") && strstr(a, "\"build\":6"), "a removed custom resource rebuilds it too");
	free(a);
	json_decref(crd.schema);
	pthread_mutex_destroy(&api.lock);
}

/* One length-delimited field of a protobuf message: its number and bytes;
 * false at the end or on anything else. */
static bool pb_next(const unsigned char **p, const unsigned char *end, unsigned *field, const unsigned char **val,
		    size_t *len)
{
	uint64_t key = 0, n = 0;
	int shift = 0;
	while (*p < end && (**p & 0x80))
		key |= (uint64_t)(*(*p)++ & 0x7f) << shift, shift += 7;
	if (*p >= end)
		return false;
	key |= (uint64_t)(*(*p)++) << shift;
	if ((key & 7) != 2)
		return false;
	shift = 0;
	while (*p < end && (**p & 0x80))
		n |= (uint64_t)(*(*p)++ & 0x7f) << shift, shift += 7;
	if (*p >= end)
		return false;
	n |= (uint64_t)(*(*p)++) << shift;
	if (n > (size_t)(end - *p))
		return false;
	*field = (unsigned)(key >> 3);
	*val = *p;
	*len = (size_t)n;
	*p += n;
	return true;
}

static void test_v2(void)
{
	size_t jlen, plen;
	char *text = api_openapi_v2(false, "v1.31.0+test", &jlen);
	char *pb = api_openapi_v2(true, "v1.31.0+test", &plen);
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	json_t *defs = json_object_get(doc, "definitions");
	ok(doc && !strcmp(json_string_value(json_object_get(doc, "swagger")), "2.0") &&
	   json_object_size(json_object_get(doc, "paths")) == 0, "v2 JSON: swagger 2.0 without paths");
	is_str(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(defs,
		OA_CORE "HTTPGetAction"), "properties"), "port"), "$ref")),
	       "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString", "v2 references are plain $ref");
	is_str(json_string_value(json_object_get(json_object_get(defs, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"),
						 "type")), "string", "v2 IntOrString is a string");
	json_t *refs = json_object();
	collect_refs(defs, refs);
	size_t dangling = 0;
	const char *k;
	json_t *v;
	json_object_foreach(refs, k, v)
		if (!json_object_get(defs, k))
			dangling++;
	ok(json_object_size(refs) > 150 && !dangling, "every v2 $ref resolves");

	/* the protobuf: Document { 1: "2.0", 2: Info, 9: Definitions { 1: NamedSchema { 1: name, 2: Schema } } } */
	const unsigned char *p = (const unsigned char *)pb, *end = p + (pb ? plen : 0), *val;
	size_t len, ndefs = 0, named_ok = 0;
	unsigned field;
	bool swagger = false, gvk = false;
	while (pb_next(&p, end, &field, &val, &len)) {
		if (field == 1)
			swagger = len == 3 && !memcmp(val, "2.0", 3);
		if (field != 9)
			continue;
		const unsigned char *q = val, *qend = val + len, *nv;
		size_t nlen;
		unsigned nf;
		while (pb_next(&q, qend, &nf, &nv, &nlen)) {
			ndefs++;
			const unsigned char *r = nv, *rend = nv + nlen, *sv;
			size_t slen;
			unsigned sf;
			char name[256] = "";
			while (pb_next(&r, rend, &sf, &sv, &slen)) {
				if (sf == 1 && slen < sizeof(name)) {
					memcpy(name, sv, slen);
					name[slen] = '\0';
				} else if (sf == 2 && json_object_get(defs, name)) {
					named_ok++;
					if (!strcmp(name, OA_CORE "Pod") && memmem(sv, slen, "x-kubernetes-group-version-kind", 31))
						gvk = true;
				}
			}
		}
	}
	ok(swagger && p == end, "v2 protobuf: a well-formed Document");
	ok(ndefs == json_object_size(defs) && named_ok == ndefs, "every definition is in the protobuf (%zu)", ndefs);
	ok(gvk, "kinds carry x-kubernetes-group-version-kind");
	json_decref(refs);
	json_decref(doc);
	free(text);
	free(pb);
}

int main(void)
{
	test_v2();
	test_tables();
	test_builtin_kinds();
	test_cache();
	return tap_done();
}
