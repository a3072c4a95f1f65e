/* openapi-v2.c - /openapi/v2: the built-in kinds' schemas of the tables as a
 * Swagger 2.0 document, in JSON or as the gnostic protobuf message
 * (openapi.v2.Document) kubectl asks for.  kubectl < 1.29 downloads it before
 * every apply, and `kubectl explain --output plaintext-openapiv2` reads it.
 *
 * It is made from the same schemas as the v3 documents (openapi.c), with
 * v2's plain {"$ref": "#/definitions/NAME"} and scalar IntOrString/Quantity,
 * built once per process (the tables never change).  It has definitions but
 * no paths: without PATCH operations kubectl computes patches from its own
 * types, and it checks fields only where the v3 documents do not advertise
 * the fieldValidation parameter, which they do for every kind.  Custom
 * resources are left out (their schemas are in the v3 documents).
 */
#include "api-internal.h"
#include "openapi-internal.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- v3 schema -> v2 schema ---- */

static json_t *v2_schema(const json_t *s);

static json_t *v2_ref(const char *ref)
{
	const char *name = strrchr(ref, '/');
	_cleanup_free_ char *r = xasprintf("#/definitions/%s", name ? name + 1 : ref);
	return json_string(r);
}

/* A v2 copy of a v3 schema: allOf-wrapped references become $ref, "default"
 * of references and oneOf alternatives (v2 has neither) are dropped. */
static json_t *v2_schema(const json_t *s)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)s, k, v) {
		if (!strcmp(k, "allOf") && json_array_size(v) == 1 && json_object_get(json_array_get(v, 0), "$ref"))
			json_object_set_new(out, "$ref", v2_ref(json_string_value(json_object_get(json_array_get(v, 0),
												     "$ref"))));
		else if (!strcmp(k, "$ref") && json_is_string(v))
			json_object_set_new(out, "$ref", v2_ref(json_string_value(v)));
		else if (!strcmp(k, "default") && json_object_get(s, "allOf"))
			continue;
		else if (!strcmp(k, "oneOf"))
			json_object_set_new(out, "type", json_string("string"));
		else if ((!strcmp(k, "items") || !strcmp(k, "additionalProperties")) && json_is_object(v))
			json_object_set_new(out, k, v2_schema(v));
		else if (!strcmp(k, "properties") && json_is_object(v)) {
			json_t *props = json_object();
			const char *pk;
			json_t *pv;
			json_object_foreach(v, pk, pv)
				json_object_set_new(props, pk, v2_schema(pv));
			json_object_set_new(out, k, props);
		} else
			json_object_set(out, k, v);
	}
	return out;
}

static json_t *v2_document(const char *version)
{
	json_t *schemas = json_object();
	size_t n;
	const ApiResource *all = api_resource_builtin(&n);
	for (size_t i = 0; i < n; i++) {
		const char *name = api_openapi_add_kind(schemas, &all[i]);
		if (name)
			json_object_set_new(json_object_get(schemas, name), "x-kubernetes-group-version-kind",
					    json_pack("[{s:s, s:s, s:s}]", "group", all[i].group, "kind", all[i].kind,
						      "version", all[i].version));
	}
	json_t *defs = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(schemas, k, v)
		json_object_set_new(defs, k, v2_schema(v));
	json_decref(schemas);
	return json_pack("{s:s, s:{s:s, s:s}, s:{}, s:o}", "swagger", "2.0", "info", "title", "Kubernetes", "version",
			 version, "paths", "definitions", defs);
}

/* ---- protobuf (openapi.v2.Document of gnostic) ---- */

static void pb_varint(StrBuf *sb, uint64_t v)
{
	while (v >= 0x80) {
		sb_addc(sb, (char)(v | 0x80));
		v >>= 7;
	}
	sb_addc(sb, (char)v);
}

static void pb_bytes(StrBuf *sb, unsigned field, const char *p, size_t n)
{
	pb_varint(sb, (uint64_t)field << 3 | 2);
	pb_varint(sb, n);
	sb_add(sb, p, n);
}

static void pb_str(StrBuf *sb, unsigned field, const char *s)
{
	if (s && *s)
		pb_bytes(sb, field, s, strlen(s));
}

/* Append sub as a length-delimited field and release it. */
static void pb_msg(StrBuf *sb, unsigned field, StrBuf *sub)
{
	pb_bytes(sb, field, sub->buf ? sub->buf : "", sub->len);
	sb_release(sub);
}

/* Any { string yaml = 2; }: JSON is YAML. */
static void pb_any(StrBuf *sb, unsigned field, const json_t *v)
{
	_cleanup_free_ char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	StrBuf any = STRBUF_INIT;
	pb_str(&any, 2, text);
	pb_msg(sb, field, &any);
}

static void pb_schema(StrBuf *sb, const json_t *s);

/* NamedSchema { name = 1; Schema value = 2; } */
static void pb_named_schema(StrBuf *sb, unsigned field, const char *name, const json_t *s)
{
	StrBuf named = STRBUF_INIT, schema = STRBUF_INIT;
	pb_str(&named, 1, name);
	pb_schema(&schema, s);
	pb_msg(&named, 2, &schema);
	pb_msg(sb, field, &named);
}

/* The fields of a Schema message (_ref 1, format 2, description 4,
 * required 19, enum 20, additional_properties 21, type 22, items 23,
 * properties 25, vendor_extension 31). */
static void pb_schema(StrBuf *sb, const json_t *s)
{
	pb_str(sb, 1, json_string_value(json_object_get(s, "$ref")));
	pb_str(sb, 2, json_string_value(json_object_get(s, "format")));
	pb_str(sb, 4, json_string_value(json_object_get(s, "description")));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(s, "required"), i, v)
		pb_str(sb, 19, json_string_value(v));
	json_array_foreach(json_object_get(s, "enum"), i, v)
		pb_any(sb, 20, v);
	const json_t *ap = json_object_get(s, "additionalProperties");
	if (json_is_object(ap)) {
		StrBuf item = STRBUF_INIT, schema = STRBUF_INIT;
		pb_schema(&schema, ap);
		pb_msg(&item, 1, &schema);
		pb_msg(sb, 21, &item);
	}
	const char *type = json_string_value(json_object_get(s, "type"));
	if (type) {
		StrBuf item = STRBUF_INIT;
		pb_str(&item, 1, type);
		pb_msg(sb, 22, &item);
	}
	const json_t *items = json_object_get(s, "items");
	if (json_is_object(items)) {
		StrBuf item = STRBUF_INIT, schema = STRBUF_INIT;
		pb_schema(&schema, items);
		pb_msg(&item, 1, &schema);
		pb_msg(sb, 23, &item);
	}
	const json_t *props = json_object_get(s, "properties");
	if (json_object_size(props)) {
		StrBuf p = STRBUF_INIT;
		const char *k;
		json_object_foreach((json_t *)props, k, v)
			pb_named_schema(&p, 1, k, v);
		pb_msg(sb, 25, &p);
	}
	const char *k;
	json_object_foreach((json_t *)s, k, v)
		if (!strncmp(k, "x-", 2)) {
			StrBuf named = STRBUF_INIT;
			pb_str(&named, 1, k);
			pb_any(&named, 2, v);
			pb_msg(sb, 31, &named);
		}
}

/* Document { swagger 1; Info info 2 {title 1, version 2}; Definitions definitions 9 }. */
static void pb_document(StrBuf *sb, const json_t *doc)
{
	pb_str(sb, 1, json_string_value(json_object_get(doc, "swagger")));
	StrBuf info = STRBUF_INIT;
	pb_str(&info, 1, json_string_value(json_object_get(json_object_get(doc, "info"), "title")));
	pb_str(&info, 2, json_string_value(json_object_get(json_object_get(doc, "info"), "version")));
	pb_msg(sb, 2, &info);
	StrBuf defs = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(doc, "definitions"), k, v)
		pb_named_schema(&defs, 1, k, v);
	pb_msg(sb, 9, &defs);
}

/* ---- built once ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool built;
static char *json_text, *proto;
static size_t json_len, proto_len;

static void build(const char *version)
{
	_cleanup_json_ json_t *doc = v2_document(version);
	json_text = json_dumps(doc, JSON_COMPACT);
	json_len = json_text ? strlen(json_text) : 0;
	StrBuf sb = STRBUF_INIT;
	pb_document(&sb, doc);
	proto_len = sb.len;
	proto = sb_detach(&sb);
}

char *api_openapi_v2(bool protobuf, const char *version, size_t *ret_len)
{
	pthread_mutex_lock(&lock);
	if (!built) {
		build(version);
		built = true;
	}
	pthread_mutex_unlock(&lock);
	const char *src = protobuf ? proto : json_text;
	*ret_len = protobuf ? proto_len : json_len;
	if (!src)
		return NULL;
	char *copy = xmalloc(*ret_len + 1);
	memcpy(copy, src, *ret_len);
	copy[*ret_len] = '\0';
	return copy;
}
