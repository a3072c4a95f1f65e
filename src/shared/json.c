/* json.c - see json.h. */
#include "json.h"
#include "../base/fs.h"
#include <string.h>

int json_parse_buf(const char *buf, size_t len, const char *what, json_t **ret, Error **err)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!j)
		return err_set(err, EINVAL, "%s: invalid JSON at line %d column %d: %s", what, je.line,
			       je.column, je.text);
	*ret = j;
	return 0;
}

int json_load_path(const char *path, size_t max, json_t **ret, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = fs_read_file(path, max, &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	return json_parse_buf(buf, len, what, ret, err);
}

int json_save_path(const char *path, const json_t *j, size_t flags, Error **err)
{
	_cleanup_free_ char *s = json_dumps(j, flags | JSON_ENCODE_ANY);
	if (!s)
		return err_set(err, ENOMEM, "encode JSON for '%s'", path);
	return fs_write_atomic(path, s, strlen(s), 0644, err);
}

int json_save_path_volatile(const char *path, const json_t *j, size_t flags, Error **err)
{
	_cleanup_free_ char *s = json_dumps(j, flags | JSON_ENCODE_ANY);
	if (!s)
		return err_set(err, ENOMEM, "encode JSON for '%s'", path);
	return fs_write_replace(path, s, strlen(s), 0644, err);
}

const char *json_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_int_t json_int(const json_t *obj, const char *key, json_int_t def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

bool json_bool(const json_t *obj, const char *key, bool def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *json_path(const json_t *obj, const char *dotted)
{
	_cleanup_free_ char *p = xstrdup(dotted);
	char *save = NULL;
	json_t *cur = (json_t *)obj;
	for (char *tok = strtok_r(p, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, tok);
	return cur;
}

json_t *json_obj_ensure(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_object(v))
		return v;
	v = json_object();
	json_object_set_new(obj, key, v);
	return v;
}

json_t *json_condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

json_t *json_condition_ensure(json_t *status, const char *type)
{
	json_t *c = json_condition(status, type);
	if (c)
		return c;
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	c = json_pack("{s:s}", "type", type);
	json_array_append_new(conds, c);
	return c;
}

json_t *json_strv(char *const *v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

char **json_to_strv(const json_t *arr)
{
	size_t n = json_array_size(arr), k = 0;
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s)
			v[k++] = xstrdup(s);
	}
	return v;
}
