/* selector.c - label selectors as the controllers need them: a
 * metav1.LabelSelector (matchLabels ANDed with matchExpressions In, NotIn,
 * Exists, DoesNotExist) and the plain map of a ReplicationController.
 */
#include "framework.h"
#include "../../shared/json.h"
#include <string.h>

static bool in_values(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x)
		if (v && json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	return false;
}

static bool expr_matches(const json_t *e, const json_t *labels)
{
	const char *key = json_str(e, "key"), *op = json_str(e, "operator");
	if (!key || !op)
		return false;
	const char *v = json_str(labels, key);
	json_t *values = json_object_get(e, "values");
	if (!strcmp(op, "In"))
		return in_values(values, v);
	if (!strcmp(op, "NotIn"))
		return !in_values(values, v);
	if (!strcmp(op, "Exists"))
		return v != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return v == NULL;
	return false;
}

bool sel_matches(const json_t *selector, const json_t *labels)
{
	if (!json_is_object(selector))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), k, v) {
		const char *have = json_str(labels, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(selector, "matchExpressions"), i, e)
		if (!expr_matches(e, labels))
			return false;
	return true;
}

bool sel_map_matches(const json_t *map, const json_t *labels)
{
	if (!json_is_object(map) || !json_object_size(map))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v) {
		const char *have = json_str(labels, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	return true;
}
