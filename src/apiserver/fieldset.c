/* fieldset.c - field sets for managedFields (server-side apply).
 *
 * A field set is the set of paths a manager owns, as structured-merge-diff
 * defines them.  A path is a sequence of elements:
 *
 *   f:NAME            a field of an object
 *   k:{"name":"x"}    the element of an associative list with that key
 *   v:"x"             the element of a set list (finalizers)
 *
 * Here a path is one string, its elements joined by FS_SEP, and a set is a
 * json object whose keys are those strings: membership, union and
 * difference are hash lookups.  fieldsV1 (the tree Kubernetes stores: one
 * node per element, "." marking a node that is itself a member) is only the
 * wire form, converted at the edges.
 *
 * Which lists are associative comes from the strategic-merge keys of the
 * served kinds (patch.c); ports are keyed by port and protocol as in
 * Kubernetes.  Lists of other kinds are atomic: one leaf.  Without schemas,
 * objects are walked as structs: a leaf is a scalar, an atomic list, null or
 * an empty object.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <string.h>

#define FS_SEP '\x1f'

static bool is_container_list(const char *field)
{
	return field && (!strcmp(field, "containers") || !strcmp(field, "initContainers") ||
			 !strcmp(field, "ephemeralContainers"));
}

static bool is_set_list(const char *field)
{
	return field && !strcmp(field, "finalizers");
}

/* The key of list element e of list `field` ("k:{...}" text), or NULL when not keyed. */
static char *element_key(const char *field, bool in_container, const json_t *e)
{
	if (!field || !json_is_object(e))
		return NULL;
	const char *k = api_patch_merge_key(field, in_container);
	if (!k || !json_object_get(e, k))
		return NULL;
	_cleanup_json_ json_t *key = json_object();
	json_object_set(key, k, json_object_get(e, k));
	if (!strcmp(field, "ports")) {
		json_t *p = json_object_get(e, "protocol");
		json_object_set_new(key, "protocol", p ? json_incref(p) : json_string("TCP"));
	}
	_cleanup_free_ char *s = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	return xasprintf("k:%s", s);
}

/* Keyed when every element has its key. */
static bool list_is_keyed(const char *field, bool in_container, const json_t *arr)
{
	if (!field || !api_patch_merge_key(field, in_container) || !json_array_size(arr))
		return false;
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		_cleanup_free_ char *k = element_key(field, in_container, e);
		if (!k)
			return false;
	}
	return true;
}

static void set_add(json_t *set, StrBuf *p)
{
	json_object_set_new(set, sb_str(p), json_true());
}

static void push(StrBuf *p, const char *elem, size_t *ret_mark)
{
	*ret_mark = p->len;
	if (p->len)
		sb_addc(p, FS_SEP);
	sb_adds(p, elem);
}

static void pop(StrBuf *p, size_t mark)
{
	p->len = mark;
	if (p->buf)
		p->buf[mark] = 0;
}

static void collect_value(const json_t *v, StrBuf *p, const char *field, bool in_container, json_t *set, int depth);

static void collect_object(const json_t *obj, StrBuf *p, bool in_container, json_t *set, int depth)
{
	const char *k;
	json_t *c;
	json_object_foreach((json_t *)obj, k, c) {
		size_t mark;
		_cleanup_free_ char *e = xasprintf("f:%s", k);
		push(p, e, &mark);
		collect_value(c, p, k, in_container, set, depth + 1);
		pop(p, mark);
	}
}

static void collect_value(const json_t *v, StrBuf *p, const char *field, bool in_container, json_t *set, int depth)
{
	if (depth > 64) {
		set_add(set, p);
		return;
	}
	if (json_is_object(v) && json_object_size(v)) {
		collect_object(v, p, in_container, set, depth);
	} else if (json_is_array(v) && list_is_keyed(field, in_container, v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			size_t mark;
			_cleanup_free_ char *k = element_key(field, in_container, e);
			push(p, k, &mark);
			set_add(set, p);
			collect_object(e, p, is_container_list(field), set, depth + 1);
			pop(p, mark);
		}
	} else if (json_is_array(v) && is_set_list(field) && json_array_size(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			size_t mark;
			_cleanup_free_ char *s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
			_cleanup_free_ char *el = xasprintf("v:%s", s ? s : "null");
			push(p, el, &mark);
			set_add(set, p);
			pop(p, mark);
		}
	} else {
		set_add(set, p);
	}
}

json_t *api_fieldset_of(const json_t *obj)
{
	json_t *set = json_object();
	_cleanup_sb_ StrBuf p = STRBUF_INIT;
	sb_adds(&p, "");
	if (json_is_object(obj))
		collect_object(obj, &p, false, set, 0);
	return set;
}

/* ---- navigation ---- */

/* Split a path into elements; caller frees the vector (strv_free). */
static char **path_split(const char *path)
{
	size_t n = 1;
	for (const char *s = path; *s; s++)
		n += *s == FS_SEP;
	char **v = xcalloc(n + 1, sizeof(char *));
	size_t i = 0;
	const char *s = path;
	for (;;) {
		size_t l = strcspn(s, "\x1f");
		v[i++] = xstrndup(s, l);
		if (!s[l])
			break;
		s += l + 1;
	}
	return v;
}

static bool key_matches(const json_t *key, const json_t *e)
{
	const char *k;
	json_t *want;
	json_object_foreach((json_t *)key, k, want) {
		json_t *have = json_object_get(e, k);
		if (!have && !strcmp(k, "protocol") && json_is_string(want) && !strcmp(json_string_value(want), "TCP"))
			continue;
		if (!have || !json_equal(have, want))
			return false;
	}
	return true;
}

/* The index of the element of array arr that elem names; -1 when absent. */
static ssize_t element_index(const json_t *arr, const char *elem)
{
	if (!json_is_array(arr) || strlen(elem) < 2)
		return -1;
	_cleanup_json_ json_t *want = json_loads(elem + 2, JSON_DECODE_ANY, NULL);
	if (!want)
		return -1;
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		if (elem[0] == 'k' && json_is_object(want) && json_is_object(e) && key_matches(want, e))
			return (ssize_t)i;
		if (elem[0] == 'v' && json_equal(want, e))
			return (ssize_t)i;
	}
	return -1;
}

static json_t *step(json_t *cur, const char *elem)
{
	if (!strncmp(elem, "f:", 2))
		return json_is_object(cur) ? json_object_get(cur, elem + 2) : NULL;
	ssize_t i = element_index(cur, elem);
	return i < 0 ? NULL : json_array_get(cur, (size_t)i);
}

json_t *api_fieldset_lookup(const json_t *obj, const char *path)
{
	char **v = path_split(path);
	json_t *cur = (json_t *)obj;
	for (size_t i = 0; v[i] && cur; i++)
		cur = step(cur, v[i]);
	strv_free(v);
	return cur;
}

bool api_fieldset_remove(json_t *obj, const char *path)
{
	char **v = path_split(path);
	json_t *cur = obj;
	size_t i;
	for (i = 0; v[i] && v[i + 1] && cur; i++)
		cur = step(cur, v[i]);
	bool done = false;
	if (cur && v[i]) {
		if (!strncmp(v[i], "f:", 2)) {
			done = json_is_object(cur) && json_object_del(cur, v[i] + 2) == 0;
		} else {
			ssize_t k = element_index(cur, v[i]);
			done = k >= 0 && json_array_remove(cur, (size_t)k) == 0;
		}
	}
	strv_free(v);
	return done;
}

/* ".spec.containers[name=\"x\"].image", as structured-merge-diff prints a path. */
char *api_fieldset_path_string(const char *path)
{
	char **v = path_split(path);
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	for (size_t i = 0; v[i]; i++) {
		if (!strncmp(v[i], "f:", 2)) {
			sb_addf(&sb, ".%s", v[i] + 2);
		} else if (!strncmp(v[i], "v:", 2)) {
			sb_addf(&sb, "[=%s]", v[i] + 2);
		} else {
			_cleanup_json_ json_t *k = json_loads(v[i] + 2, 0, NULL);
			const char *name;
			json_t *val;
			sb_addc(&sb, '[');
			bool first = true;
			json_object_foreach(k, name, val) {
				_cleanup_free_ char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
				sb_addf(&sb, "%s%s=%s", first ? "" : ",", name, s ? s : "");
				first = false;
			}
			sb_addc(&sb, ']');
		}
	}
	strv_free(v);
	return sb_detach(&sb);
}

/* ---- fieldsV1 ---- */

static void from_v1(const json_t *node, StrBuf *p, json_t *set, int depth)
{
	if (depth > 64)
		return;
	const char *k;
	json_t *c;
	json_object_foreach((json_t *)node, k, c) {
		if (!strcmp(k, ".") || !json_is_object(c) || strlen(k) < 2 || k[1] != ':' || strchr(k, FS_SEP))
			continue;
		size_t mark;
		push(p, k, &mark);
		if (!json_object_size(c) || json_object_get(c, "."))
			set_add(set, p);
		from_v1(c, p, set, depth + 1);
		pop(p, mark);
	}
}

json_t *api_fieldset_from_v1(const json_t *fields)
{
	json_t *set = json_object();
	_cleanup_sb_ StrBuf p = STRBUF_INIT;
	sb_adds(&p, "");
	if (json_is_object(fields))
		from_v1(fields, &p, set, 0);
	return set;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Nodes that are members and have children get "." first, as Kubernetes writes them. */
static json_t *mark_members(json_t *node, const json_t *members, StrBuf *p)
{
	json_t *out = json_object();
	if (p->len && json_object_get(members, sb_str(p)) && json_object_size(node))
		json_object_set_new(out, ".", json_object());
	const char *k;
	json_t *c;
	json_object_foreach(node, k, c) {
		size_t mark;
		push(p, k, &mark);
		json_object_set_new(out, k, mark_members(c, members, p));
		pop(p, mark);
	}
	return out;
}

json_t *api_fieldset_to_v1(const json_t *set)
{
	size_t n = json_object_size(set), i = 0;
	const char **keys = xcalloc(n ? n : 1, sizeof(char *));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)set, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(char *), cmp_str);
	_cleanup_json_ json_t *tree = json_object();
	for (i = 0; i < n; i++) {
		char **el = path_split(keys[i]);
		json_t *node = tree;
		for (size_t j = 0; el[j]; j++) {
			json_t *c = json_object_get(node, el[j]);
			if (!c) {
				c = json_object();
				json_object_set_new(node, el[j], c);
			}
			node = c;
		}
		strv_free(el);
	}
	free(keys);
	_cleanup_sb_ StrBuf p = STRBUF_INIT;
	sb_adds(&p, "");
	return mark_members(tree, set, &p);
}

/* ---- the apply merge ---- */

static json_t *merge_value(const json_t *live, const json_t *applied, const char *field, bool in_container,
			   int depth);

static json_t *merge_keyed(const json_t *live, const json_t *applied, const char *field, bool in_container,
			   int depth)
{
	json_t *out = json_deep_copy(live);
	size_t i;
	json_t *e;
	json_array_foreach(applied, i, e) {
		_cleanup_free_ char *k = element_key(field, in_container, e);
		ssize_t at = element_index(out, k);
		if (at < 0)
			json_array_append_new(out, json_deep_copy(e));
		else
			json_array_set_new(out, (size_t)at, merge_value(json_array_get(out, (size_t)at), e, NULL,
									 is_container_list(field), depth + 1));
	}
	return out;
}

static json_t *merge_value(const json_t *live, const json_t *applied, const char *field, bool in_container,
			   int depth)
{
	if (depth > 64)
		return json_deep_copy(applied);
	if (json_is_object(live) && json_is_object(applied)) {
		json_t *out = json_deep_copy(live);
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)applied, k, v)
			json_object_set_new(out, k, merge_value(json_object_get(live, k), v, k, in_container, depth + 1));
		return out;
	}
	if (json_is_array(live) && json_is_array(applied) && list_is_keyed(field, in_container, applied) &&
	    (list_is_keyed(field, in_container, live) || !json_array_size(live)))
		return merge_keyed(live, applied, field, in_container, depth);
	if (json_is_array(live) && json_is_array(applied) && is_set_list(field)) {
		json_t *out = json_deep_copy(live);
		size_t i;
		json_t *e;
		json_array_foreach(applied, i, e) {
			size_t j;
			json_t *x;
			bool have = false;
			json_array_foreach(out, j, x)
				have = have || json_equal(x, e);
			if (!have)
				json_array_append(out, e);
		}
		return out;
	}
	return json_deep_copy(applied);
}

json_t *api_fieldset_merge(const json_t *live, const json_t *applied)
{
	return merge_value(live, applied, NULL, false, 0);
}
