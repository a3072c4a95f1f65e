/* chart-values.c - values as Helm's chartutil computes them: coalescing a
 * chart's defaults under the user's values (null deletes a default unless
 * merging), globals copied down into every subchart, subchart sections
 * scoped by name, -f files merged map by map, and dependency processing
 * (conditions, tags, aliases, import-values).
 *
 * Everything is jansson; the Go code's map iteration order does not matter
 * for results except in warnings, which are emitted in key order.
 */
#include "chart-internal.h"
#include "chart.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ChartWarnFn warn_fn;
static void *warn_ctx;

void chart_set_warn(ChartWarnFn fn, void *ctx)
{
	warn_fn = fn;
	warn_ctx = ctx;
}

void chart_warnf(const char *fmt, ...)
{
	if (!warn_fn)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) >= 0) {
		warn_fn(s, warn_ctx);
		free(s);
	}
	va_end(ap);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }
static void fmt_scalar(const json_t *v, char *buf, size_t n);

static char *concat_prefix(const char *a, const char *b)
{
	return *a ? xasprintf("%s.%s", a, b) : xstrdup(b);
}

static bool is_sub(const Chart *c, const char *key)
{
	for (size_t i = 0; i < c->ndeps; i++)
		if (!strcmp(c->deps[i]->name, key))
			return true;
	return false;
}

/* Go's %v of a values tree (map[k:v ...], [a b], <nil>). */
static void go_v(StrBuf *sb, const json_t *v)
{
	if (json_is_object(v)) {
		const char **keys = xcalloc(json_object_size(v) + 1, sizeof *keys);
		size_t n = 0;
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
			keys[n++] = k;
		qsort(keys, n, sizeof *keys, cmp_str);
		sb_adds(sb, "map[");
		for (size_t i = 0; i < n; i++) {
			sb_addf(sb, "%s%s:", i ? " " : "", keys[i]);
			go_v(sb, json_object_get(v, keys[i]));
		}
		sb_addc(sb, ']');
		free(keys);
	} else if (json_is_array(v)) {
		sb_addc(sb, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				sb_addc(sb, ' ');
			go_v(sb, json_array_get(v, i));
		}
		sb_addc(sb, ']');
	} else {
		char b[128];
		fmt_scalar(v, b, sizeof b);
		sb_adds(sb, b);
	}
}

static void fmt_val(const json_t *v, char *buf, size_t n)
{
	if (json_is_object(v) || json_is_array(v)) {
		StrBuf sb = STRBUF_INIT;
		go_v(&sb, v);
		snprintf(buf, n, "%s", sb.buf ? sb.buf : "");
		sb_release(&sb);
		return;
	}
	fmt_scalar(v, buf, n);
}

/* Go's %v of a float64: shortest digits, exponent form below 1e-4 or from 1e21... as strconv 'g' with eprec 6. */
static void go_float(double d, char *buf, size_t n)
{
	char t[64];
	int p = 0;
	for (p = 0; p < 17; p++) {
		snprintf(t, sizeof t, "%.*e", p, d);
		if (strtod(t, NULL) == d)
			break;
	}
	int exp = atoi(strchr(t, 'e') + 1);
	if (exp < -4 || exp >= (p + 1 > 6 ? 6 : 6)) {
		snprintf(buf, n, "%s", t);
		/* drop a trailing ".0..." mantissa part C keeps only when p > 0: fine as is */
	} else {
		int dec = p - exp;
		snprintf(buf, n, "%.*f", dec > 0 ? dec : 0, d);
	}
}

static void fmt_scalar(const json_t *v, char *buf, size_t n)
{
	if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else if (json_is_real(v))
		go_float(json_real_value(v), buf, n);
	else if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(buf, n, "%s", json_is_null(v) ? "<nil>" : "[...]");
}

/* coalesceTablesFullKey: dst has precedence; src fills in. */
static json_t *tables_full_key(json_t *dst, json_t *src, const char *prefix, bool merge)
{
	if (!src)
		return dst;
	if (!dst)
		return src;
	const char *k;
	json_t *v;
	void *tmp;
	/* A null in dst overrides (deletes) a non-null default of src; a null
	 * for a key src never had (or had as null) is kept (Helm #31643). */
	json_t *src_nonnull = json_object();
	json_object_foreach(src, k, v)
		if (!json_is_null(v))
			json_object_set_new(src_nonnull, k, json_true());
	json_object_foreach(dst, k, v)
		if (json_is_null(v) && json_is_object(src))
			json_object_set_new(src, k, json_null());
	json_object_foreach_safe(src, tmp, k, v) {
		_cleanup_free_ char *full = concat_prefix(prefix, k);
		json_t *dv = json_object_get(dst, k);
		if (dv && !merge && json_is_null(dv) && json_object_get(src_nonnull, k)) {
			json_object_del(dst, k);
		} else if (!dv) {
			json_object_set_new(dst, k, json_deep_copy(v));
		} else if (json_is_object(v)) {
			if (json_is_object(dv))
				tables_full_key(dv, v, full, merge);
			else {
				char b[1024];
				fmt_val(v, b, sizeof b);
				chart_warnf("warning: cannot overwrite table with non table for %s (%s)", full, b);
			}
		} else if (json_is_object(dv) && !json_is_null(v)) {
			char b[128];
			fmt_val(v, b, sizeof b);
			chart_warnf("warning: destination for %s is a table. Ignoring non-table value (%s)", full, b);
		}
	}
	json_decref(src_nonnull);
	return dst;
}

json_t *chart_coalesce_tables(json_t *dst, json_t *src, bool merge)
{
	return tables_full_key(dst, src, "", merge);
}

/* coalesceValues: the chart's defaults under v. */
static void coalesce_values(const Chart *c, json_t *v, const char *prefix, bool merge)
{
	_cleanup_free_ char *sub_prefix = concat_prefix(prefix, c->name);
	json_t *defaults = json_deep_copy(c->values);
	const char *k;
	json_t *val;
	json_object_foreach(defaults, k, val) {
		json_t *cur = json_object_get(v, k);
		if (!cur) {
			json_object_set(v, k, val);
		} else if (json_is_null(cur) && !merge) {
			json_object_del(v, k);
		} else if (json_is_object(cur)) {
			if (!json_is_object(val)) {
				if (!json_is_null(val))
					chart_warnf("warning: skipped value for %s.%s: Not a table.", sub_prefix, k);
			} else {
				_cleanup_free_ char *full = concat_prefix(sub_prefix, k);
				tables_full_key(cur, val, full, is_sub(c, k) || merge);
			}
		}
	}
	json_decref(defaults);
}

static void coalesce_globals(json_t *dest, json_t *src, const char *prefix)
{
	json_t *dg = json_object_get(dest, "global"), *sg = json_object_get(src, "global");
	if (dg && !json_is_object(dg)) {
		chart_warnf("warning: skipping globals because destination %s is not a table.", prefix);
		return;
	}
	if (sg && !json_is_object(sg)) {
		chart_warnf("warning: skipping globals because source %s is not a table.", prefix);
		return;
	}
	dg = dg ? json_incref(dg) : json_object();
	const char *k;
	json_t *val;
	json_object_foreach(sg, k, val) {
		json_t *dv = json_object_get(dg, k);
		if (json_is_object(val)) {
			json_t *vv = json_deep_copy(val);
			if (!dv) {
				json_object_set_new(dg, k, vv);
			} else if (!json_is_object(dv)) {
				chart_warnf("Conflict: cannot merge map onto non-map for %s. Skipping.", k);
				json_decref(vv);
			} else {
				/* top-down: the parent's globals win */
				_cleanup_free_ char *full = concat_prefix(prefix, k);
				tables_full_key(vv, dv, full, true);   /* nulls go later */
				json_object_set_new(dg, k, vv);
			}
		} else if (dv && json_is_object(dv)) {
			chart_warnf("warning: key %s is table. Skipping", k);
		} else {
			json_object_set(dg, k, val);
		}
	}
	json_object_set_new(dest, "global", dg);
}

static int coalesce(const Chart *c, json_t *dest, const char *prefix, bool merge);

static int coalesce_deps(const Chart *c, json_t *dest, const char *prefix, bool merge)
{
	for (size_t i = 0; i < c->ndeps; i++) {
		const Chart *sc = c->deps[i];
		json_t *dv = json_object_get(dest, sc->name);
		if (!dv) {
			dv = json_object();
			json_object_set_new(dest, sc->name, dv);
		} else if (!json_is_object(dv)) {
			/* Helm: type mismatch; the subchart's section cannot be used */
			chart_warnf("warning: type mismatch on %s: not a table", sc->name);
			continue;
		}
		_cleanup_free_ char *sub_prefix = concat_prefix(prefix, c->name);
		coalesce_globals(dv, dest, sub_prefix);
		coalesce(sc, dv, sub_prefix, merge);
	}
	return 0;
}

static int coalesce(const Chart *c, json_t *dest, const char *prefix, bool merge)
{
	coalesce_values(c, dest, prefix, merge);
	return coalesce_deps(c, dest, prefix, merge);
}

json_t *chart_coalesce_values(const Chart *c, const json_t *vals, bool merge)
{
	json_t *v = vals && json_is_object(vals) ? json_deep_copy(vals) : json_object();
	coalesce(c, v, "", merge);
	return v;
}

/* ---- -f files (mergeMaps) ------------------------------------------------------------- */
void chart_merge_maps(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v) {
		json_t *d = json_object_get(dst, k);
		if (json_is_object(v) && json_is_object(d))
			chart_merge_maps(d, v);
		else
			json_object_set(dst, k, v);
	}
}

int chart_values_merge_yaml(json_t *vals, const char *text, size_t len, const char *what, Error **err)
{
	json_t *j = NULL;
	if (chart_yaml_values(text, len, &j, err) < 0)
		return err_prefix(err, "failed to parse %s", what);
	chart_merge_maps(vals, j);
	json_decref(j);
	return 0;
}

json_t *chart_values_path(const json_t *vals, const char *path)
{
	const json_t *cur = vals;
	const char *p = path;
	while (cur && *p) {
		size_t n = strcspn(p, ".");
		if (!json_is_object(cur))
			return NULL;
		_cleanup_free_ char *k = xstrndup(p, n);
		cur = json_object_get(cur, k);
		p += n;
		if (*p == '.')
			p++;
	}
	return (json_t *)cur;
}

/* ---- --name-template (action.TemplateName) ---------------------------------------------- */
int chart_name_template(const char *tmpl, char **ret, Error **err)
{
	TmplOptions o = { .name = "name-template" };
	_cleanup_tmplset_ TmplSet *set = tmpl_set_new(&o);
	_cleanup_arena_ Arena *a = arena_new(BERTH_MAX_TEMPLATE_MEMORY);
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	if (tmpl_set_parse(set, "name-template", tmpl, strlen(tmpl), err) < 0 ||
	    tmpl_set_execute(set, "name-template", a, value_nil(), &out, err) < 0)
		return -EINVAL;
	*ret = xstrdup(out.buf ? out.buf : "");
	return 0;
}
