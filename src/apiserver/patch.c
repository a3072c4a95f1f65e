/* patch.c - the three PATCH dialects kubectl sends.
 *
 *   JSON merge patch (RFC 7386): objects merge, null deletes, the rest replaces.
 *   JSON patch (RFC 6902): add/remove/replace/move/copy/test on JSON pointers.
 *   Strategic merge patch: a merge patch where lists of objects merge by a key
 *     (containers by name, ports by containerPort/port, env by name, ...) and
 *     the directives $patch (replace/delete/merge), $setElementOrder/<list>,
 *     $deleteFromPrimitiveList/<list> and $retainKeys are honoured.
 *
 * The merge keys are Kubernetes' patchMergeKey tags for the served kinds,
 * looked up by field name (and, for "ports", by whether the list sits in a
 * container).  Inputs are never modified; each function returns a new tree.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <string.h>

/* ---- RFC 7386 ---- */

json_t *api_patch_merge(const json_t *doc, const json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(doc) ? json_deep_copy(doc) : json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(out, k);
			continue;
		}
		json_object_set_new(out, k, api_patch_merge(json_object_get(out, k), v));
	}
	return out;
}

/* ---- RFC 6902 ---- */

/* Decode one reference token (~1 -> /, ~0 -> ~); caller frees. */
static char *pointer_token(const char *p, size_t n)
{
	char *t = xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
			t[j++] = p[i + 1] == '0' ? '~' : '/';
			i++;
		} else {
			t[j++] = p[i];
		}
	}
	t[j] = 0;
	return t;
}

static bool array_index(const char *tok, size_t size, bool allow_end, size_t *ret)
{
	if (allow_end && !strcmp(tok, "-")) {
		*ret = size;
		return true;
	}
	if (!*tok || strspn(tok, "0123456789") != strlen(tok) || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
		return false;
	size_t i = (size_t)strtoul(tok, NULL, 10);
	if (i > size || (i == size && !allow_end))
		return false;
	*ret = i;
	return true;
}

/* Resolve all but the last token of path; *ret_parent borrowed, *ret_last owned. */
static int pointer_parent(json_t *doc, const char *path, json_t **ret_parent, char **ret_last)
{
	if (*path != '/')
		return -EINVAL;
	json_t *cur = doc;
	const char *p = path + 1;
	for (;;) {
		size_t n = strcspn(p, "/");
		_cleanup_free_ char *tok = pointer_token(p, n);
		if (!p[n]) {
			*ret_parent = cur;
			*ret_last = TAKE_PTR(tok);
			return 0;
		}
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			size_t i;
			if (!array_index(tok, json_array_size(cur), false, &i))
				return -ENOENT;
			cur = json_array_get(cur, i);
		} else {
			return -ENOENT;
		}
		if (!cur)
			return -ENOENT;
		p += n + 1;
	}
}

static json_t *pointer_get(json_t *doc, const char *path)
{
	if (!*path)
		return doc;
	json_t *parent;
	_cleanup_free_ char *last = NULL;
	if (pointer_parent(doc, path, &parent, &last) < 0)
		return NULL;
	if (json_is_object(parent))
		return json_object_get(parent, last);
	size_t i;
	if (json_is_array(parent) && array_index(last, json_array_size(parent), false, &i))
		return json_array_get(parent, i);
	return NULL;
}

/* Steals value. */
static int pointer_add(json_t *doc, const char *path, json_t *value, bool replace)
{
	json_t *parent;
	_cleanup_free_ char *last = NULL;
	if (pointer_parent(doc, path, &parent, &last) < 0) {
		json_decref(value);
		return -ENOENT;
	}
	if (json_is_object(parent)) {
		if (replace && !json_object_get(parent, last)) {
			json_decref(value);
			return -ENOENT;
		}
		return json_object_set_new(parent, last, value) ? -EINVAL : 0;
	}
	size_t i;
	if (!json_is_array(parent) || !array_index(last, json_array_size(parent), !replace, &i)) {
		json_decref(value);
		return -ENOENT;
	}
	if (replace)
		return json_array_set_new(parent, i, value) ? -EINVAL : 0;
	return json_array_insert_new(parent, i, value) ? -EINVAL : 0;
}

static int pointer_remove(json_t *doc, const char *path)
{
	json_t *parent;
	_cleanup_free_ char *last = NULL;
	if (pointer_parent(doc, path, &parent, &last) < 0)
		return -ENOENT;
	if (json_is_object(parent))
		return json_object_del(parent, last) ? -ENOENT : 0;
	size_t i;
	if (!json_is_array(parent) || !array_index(last, json_array_size(parent), false, &i))
		return -ENOENT;
	return json_array_remove(parent, i) ? -ENOENT : 0;
}

static int json_patch_op(json_t *doc, const json_t *op, Error **err)
{
	const char *name = json_str(op, "op"), *path = json_str(op, "path"), *from = json_str(op, "from");
	json_t *value = json_object_get(op, "value");
	if (!name || !path)
		return err_set(err, EINVAL, "invalid JSON patch operation: missing op or path");
	if (!*path)
		return err_set(err, EINVAL, "JSON patch on the document root is not supported");
	int r;
	if (!strcmp(name, "add") || !strcmp(name, "replace")) {
		if (!value)
			return err_set(err, EINVAL, "%s operation does not apply: missing value", name);
		r = pointer_add(doc, path, json_deep_copy(value), !strcmp(name, "replace"));
	} else if (!strcmp(name, "remove")) {
		r = pointer_remove(doc, path);
	} else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
		json_t *src = from ? pointer_get(doc, from) : NULL;
		if (!src)
			return err_set(err, ENOENT, "%s operation does not apply: doc is missing from path: %s", name,
				       from ? from : "");
		if (!strcmp(name, "move") && str_has_prefix(path, from) && path[strlen(from)] == '/')
			return err_set(err, EINVAL, "move operation: cannot move into a child of itself");
		json_t *copy = json_deep_copy(src);
		if (!strcmp(name, "move"))
			pointer_remove(doc, from);
		r = pointer_add(doc, path, copy, false);
	} else if (!strcmp(name, "test")) {
		json_t *cur = pointer_get(doc, path);
		if (!cur || !value || !json_equal(cur, value))
			return err_set(err, EINVAL, "testing value %s failed: test failed", path);
		r = 0;
	} else {
		return err_set(err, EINVAL, "Unexpected kind: %s", name);
	}
	if (r < 0)
		return err_set(err, -r, "%s operation does not apply: doc is missing path: \"%s\"", name, path);
	return 0;
}

json_t *api_patch_json(const json_t *doc, const json_t *ops, Error **err)
{
	if (json_array_size(ops) > BERTH_MAX_PATCH_OPS) {
		err_set(err, E2BIG, "the JSON patch has %zu operations, more than %u", json_array_size(ops),
			BERTH_MAX_PATCH_OPS);
		return NULL;
	}
	_cleanup_json_ json_t *out = json_deep_copy(doc);
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op) {
		if (!json_is_object(op)) {
			err_set(err, EINVAL, "invalid JSON patch operation %zu", i);
			return NULL;
		}
		if (json_patch_op(out, op, err) < 0)
			return NULL;
	}
	return TAKE_PTR(out);
}

/* ---- strategic merge patch ---- */

/* The patchMergeKey of list field `field`; in_container tells "ports" apart. */
const char *api_patch_merge_key(const char *field, bool in_container)
{
	static const char *const keys[][2] = {
		{ "containers", "name" }, { "initContainers", "name" }, { "ephemeralContainers", "name" },
		{ "env", "name" }, { "volumes", "name" }, { "volumeMounts", "mountPath" },
		{ "volumeDevices", "devicePath" }, { "imagePullSecrets", "name" }, { "hostAliases", "ip" },
		{ "conditions", "type" }, { "ownerReferences", "uid" }, { "topologySpreadConstraints", "topologyKey" },
		{ "resourceClaims", "name" }, { "schedulingGates", "name" }, { "secrets", "name" },
		{ "taints", "key" }, { "addresses", "type" }, { "readinessGates", "conditionType" },
	};
	if (!strcmp(field, "ports"))
		return in_container ? "containerPort" : "port";
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(field, keys[i][0]))
			return keys[i][1];
	return NULL;
}

/* Primitive lists whose patchStrategy is merge (set union). */
static bool smp_merge_primitive(const char *field)
{
	return !strcmp(field, "finalizers");
}

static json_t *smp_merge_value(const json_t *cur, const json_t *patch, const char *field, bool in_container,
			       int depth, Error **err);

static bool key_equal(const json_t *a, const json_t *b)
{
	return a && b && json_equal(a, b);
}

static ssize_t find_by_key(const json_t *arr, const char *key, const json_t *want)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (key_equal(json_object_get(v, key), want))
			return (ssize_t)i;
	return -1;
}

/* Order out's elements as `order` lists them (elements not listed keep their place at the end). */
static json_t *smp_apply_order(json_t *out, const json_t *order, const char *key)
{
	if (!json_is_array(order))
		return out;
	json_t *sorted = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(order, i, o) {
		const json_t *want = key ? json_object_get(o, key) : o;
		size_t j;
		json_t *v;
		json_array_foreach(out, j, v) {
			if (key ? key_equal(json_object_get(v, key), want) : json_equal(v, want)) {
				json_array_append(sorted, v);
				json_array_remove(out, j);
				break;
			}
		}
	}
	json_array_extend(sorted, out);
	json_decref(out);
	return sorted;
}

static json_t *smp_merge_keyed_list(const json_t *cur, const json_t *patch, const char *field, const char *key,
				    int depth, Error **err)
{
	json_t *out = json_is_array(cur) ? json_deep_copy(cur) : json_array();
	bool container = !strcmp(field, "containers") || !strcmp(field, "initContainers") ||
			 !strcmp(field, "ephemeralContainers");
	size_t i;
	json_t *p;
	json_array_foreach(patch, i, p) {
		if (!json_is_object(p)) {
			json_array_append(out, p);
			continue;
		}
		const char *directive = json_str(p, "$patch");
		if (directive && !strcmp(directive, "replace")) {
			json_decref(out);
			out = json_array();
			continue;
		}
		json_t *kv = json_object_get(p, key);
		ssize_t at = kv ? find_by_key(out, key, kv) : -1;
		if (directive && !strcmp(directive, "delete")) {
			if (at >= 0)
				json_array_remove(out, (size_t)at);
			continue;
		}
		if (at < 0) {
			json_t *n = smp_merge_value(NULL, p, field, container, depth + 1, err);
			if (!n) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, n);
			continue;
		}
		json_t *m = smp_merge_value(json_array_get(out, (size_t)at), p, field, container, depth + 1, err);
		if (!m) {
			json_decref(out);
			return NULL;
		}
		json_array_set_new(out, (size_t)at, m);
	}
	return out;
}

static json_t *smp_merge_primitive_list(const json_t *cur, const json_t *patch)
{
	json_t *out = json_is_array(cur) ? json_deep_copy(cur) : json_array();
	size_t i;
	json_t *p;
	json_array_foreach(patch, i, p) {
		size_t j;
		json_t *v;
		bool found = false;
		json_array_foreach(out, j, v)
			found = found || json_equal(v, p);
		if (!found)
			json_array_append(out, p);
	}
	return out;
}

static void smp_delete_from_primitive(json_t *list, const json_t *del)
{
	size_t i;
	json_t *d;
	json_array_foreach(del, i, d) {
		for (size_t j = json_array_size(list); j-- > 0;)
			if (json_equal(json_array_get(list, j), d))
				json_array_remove(list, j);
	}
}

/* Handle the $-directives of one map patch against out (already a copy of cur). */
static void smp_map_directives(json_t *out, const json_t *patch, bool in_container)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)patch, k, v) {
		if (str_has_prefix(k, "$deleteFromPrimitiveList/")) {
			json_t *list = json_object_get(out, k + strlen("$deleteFromPrimitiveList/"));
			if (json_is_array(list))
				smp_delete_from_primitive(list, v);
		} else if (str_has_prefix(k, "$setElementOrder/")) {
			const char *field = k + strlen("$setElementOrder/");
			json_t *list = json_object_get(out, field);
			if (json_is_array(list))
				json_object_set_new(out, field, smp_apply_order(json_incref(list), v,
										api_patch_merge_key(field, in_container)));
		}
	}
	json_t *retain = json_object_get(patch, "$retainKeys");
	if (json_is_array(retain)) {
		void *tmp;
		json_object_foreach_safe(out, tmp, k, v) {
			bool keep = false;
			size_t i;
			json_t *r;
			json_array_foreach(retain, i, r)
				keep = keep || (json_is_string(r) && !strcmp(json_string_value(r), k));
			if (!keep)
				json_object_del(out, k);
		}
	}
}

static json_t *smp_merge_map(const json_t *cur, const json_t *patch, bool in_container, int depth, Error **err)
{
	const char *directive = json_str(patch, "$patch");
	if (directive && !strcmp(directive, "replace")) {
		json_t *out = json_deep_copy(patch);
		json_object_del(out, "$patch");
		return out;
	}
	if (directive && !strcmp(directive, "delete"))
		return json_object();
	json_t *out = json_is_object(cur) ? json_deep_copy(cur) : json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)patch, k, v) {
		if (k[0] == '$')
			continue;
		if (json_is_null(v)) {
			json_object_del(out, k);
			continue;
		}
		json_t *m = smp_merge_value(json_object_get(out, k), v, k, in_container, depth + 1, err);
		if (!m) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, k, m);
	}
	smp_map_directives(out, patch, in_container);
	return out;
}

static json_t *smp_merge_value(const json_t *cur, const json_t *patch, const char *field, bool in_container,
			       int depth, Error **err)
{
	if (depth > BERTH_MAX_JSON_DEPTH) {
		err_set(err, E2BIG, "patch nests deeper than %d levels", BERTH_MAX_JSON_DEPTH);
		return NULL;
	}
	if (json_is_object(patch))
		return smp_merge_map(json_is_object(cur) ? cur : NULL, patch, in_container, depth, err);
	if (json_is_array(patch) && field) {
		const char *key = api_patch_merge_key(field, in_container);
		if (key)
			return smp_merge_keyed_list(cur, patch, field, key, depth, err);
		if (smp_merge_primitive(field))
			return smp_merge_primitive_list(cur, patch);
	}
	return json_deep_copy(patch);
}

json_t *api_patch_strategic(const json_t *doc, const json_t *patch, Error **err)
{
	return smp_merge_value(doc, patch, NULL, false, 0, err);
}
