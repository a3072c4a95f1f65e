/* openapi-internal.h - the schema tables behind openapi.c, split by API group
 * (openapi-core.c: core/v1; openapi-apis.c: meta/v1 and the named groups).
 *
 * A table is an array of OType ending with a NULL name.  Field types:
 * "string", "integer", "boolean", "number", "date-time", "int-or-string",
 * "quantity", "byte" (base64 string), "map" (string to string), "object"
 * (free form), "enum:A,B" (a string with those values), "X" or "[]X"
 * (another type of the tables, or a scalar type), "map:X" (string to X).
 * A reference "X" is looked up in the referring type's package first, then
 * meta/v1, then core/v1; a full schema name is taken as is.  A leading '!' on
 * a field name marks it required.  Lists carry the merge metadata
 * kube-apiserver publishes (x-kubernetes-list-type, -list-map-keys,
 * -patch-strategy, -patch-merge-key) after a '|' in their type:
 * "[]X|map:KEY[,KEY2][;STRATEGY]" (a map list merged by KEY, strategy merge
 * by default) or "[]X|set".
 */
#pragma once

#include <stdbool.h>

typedef struct OField {
	const char *name;  /* '!' prefix: required */
	const char *type;
	const char *desc;
} OField;

typedef struct OType {
	const char *name;  /* the full schema name */
	const char *desc;
	const OField *fields;
} OType;

#define OA_CORE "io.k8s.api.core.v1."
#define OA_META "io.k8s.apimachinery.pkg.apis.meta.v1."

/* apiVersion, kind and metadata of every top-level kind */
#define OA_TYPE_META                                                                                                 \
	{ "apiVersion", "string", "The versioned schema of this object, as group/version; the server converts "      \
				  "objects sent in other versions." },                                                \
	{ "kind", "string", "The REST resource this object represents, in CamelCase; the server infers it from the " \
			    "endpoint a client writes to." },                                                         \
	{ "metadata", "ObjectMeta", "Standard object metadata: name, namespace, labels, annotations and what the " \
				    "server records about the object." }

extern const OType api_openapi_core_types[];
extern const OType api_openapi_core_kinds_types[];
extern const OType api_openapi_apis_types[];

/* The type of a full schema name, or NULL. */
const OType *api_openapi_type(const char *name);
/* The type a field of `from` (NULL: none) names, or NULL. */
const OType *api_openapi_resolve(const OType *from, const char *name);
/* Whether a field type of `from` is a scalar, an enum or a type of the
 * tables (anything else would be published as a free-form object). */
bool api_openapi_type_known(const OType *from, const char *type);
