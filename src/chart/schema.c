/* schema.c - values.schema.json: JSON Schema (draft-07, with draft-04's
 * boolean exclusive bounds) validation of a chart's final values, with the
 * error texts Helm v3 prints (gojsonschema's English messages, one
 * "- FIELD: MESSAGE" line per error, FIELD "(root)" or "a.b.0"), and Helm's
 * ValidateAgainstSchema walk: the chart's schema against its values, then
 * every subchart's schema against the subchart's scoped values.
 *
 * Keywords: type enum const required properties additionalProperties
 * patternProperties propertyNames dependencies min/maxProperties items
 * additionalItems contains min/maxItems uniqueItems minimum maximum
 * exclusiveMinimum exclusiveMaximum multipleOf min/maxLength pattern (Go
 * regexp, goregex.c) allOf anyOf oneOf not if/then/else and $ref to local
 * JSON pointers (#, #/definitions/..., #/$defs/...).  format is ignored.
 * The schema is untrusted: $ref chains and nesting are depth-capped.
 */
#include "chart-internal.h"
#include "goregex.h"
#include "../base/cleanup.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_MAX_DEPTH 200

typedef struct V {
	const json_t *root;   /* the whole schema, for $ref */
	StrBuf *out;          /* "- field: message\n" lines */
	int nerr;
	bool quiet;           /* inside anyOf/oneOf/not/if probes: count only */
} V;

static void add_err(V *v, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_err(V *v, const char *field, const char *fmt, ...)
{
	v->nerr++;
	if (v->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	sb_addf(v->out, "- %s: ", field);
	sb_vaddf(v->out, fmt, ap);
	sb_addc(v->out, '\n');
	va_end(ap);
}

/* Go's %v of a float64 (shortest form, as strconv 'g' with exponent below 1e-4 / from 1e21). */
static void num_str(double d, char *buf, size_t n)
{
	if (d == floor(d) && fabs(d) < 1e21) {
		snprintf(buf, n, "%.0f", d);
		return;
	}
	char t[64];
	for (int p = 1; p <= 17; p++) {
		snprintf(t, sizeof t, "%.*g", p, d);
		if (strtod(t, NULL) == d)
			break;
	}
	snprintf(buf, n, "%s", t);
}

static const char *type_of(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return json_real_value(j) == floor(json_real_value(j)) && isfinite(json_real_value(j)) ? "integer" : "number";
	case JSON_TRUE: case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static bool type_matches(const json_t *j, const char *t)
{
	const char *g = type_of(j);
	if (!strcmp(t, "number"))
		return json_is_number(j);
	return !strcmp(g, t);
}

/* JSON equality with numbers by value (1 == 1.0). */
static bool jeq(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!jeq(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)a, k, x) {
			json_t *y = json_object_get(b, k);
			if (!y || !jeq(x, y))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static char *child_field(const char *field, const char *key)
{
	return strcmp(field, "(root)") ? xasprintf("%s.%s", field, key) : xstrdup(key);
}

/* Resolve a local "$ref" (JSON pointer into the root schema). */
static const json_t *resolve_ref(const V *v, const char *ref)
{
	if (ref[0] != '#')
		return NULL;
	const json_t *cur = v->root;
	const char *p = ref + 1;
	while (cur && *p == '/') {
		p++;
		size_t n = strcspn(p, "/");
		_cleanup_free_ char *tok = xmalloc(n + 1);
		size_t o = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
				tok[o++] = p[i + 1] == '0' ? '~' : '/';
				i++;
			} else if (p[i] == '%' && i + 2 < n) {
				char hex[3] = { p[i + 1], p[i + 2], 0 };
				tok[o++] = (char)strtol(hex, NULL, 16);
				i += 2;
			} else {
				tok[o++] = p[i];
			}
		}
		tok[o] = 0;
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur))
			cur = json_array_get(cur, strtoul(tok, NULL, 10));
		else
			cur = NULL;
		p += n;
	}
	return *p ? NULL : cur;
}

static void validate(V *v, const json_t *s, const json_t *j, const char *field, int depth);

/* Does j validate against s?  (errors not reported) */
static bool probe(V *v, const json_t *s, const json_t *j, const char *field, int depth)
{
	V q = { .root = v->root, .out = v->out, .quiet = true };
	validate(&q, s, j, field, depth);
	return q.nerr == 0;
}

static void v_type(V *v, const json_t *s, const json_t *j, const char *field)
{
	json_t *t = json_object_get(s, "type");
	if (!t)
		return;
	if (json_is_string(t)) {
		if (!type_matches(j, json_string_value(t)))
			add_err(v, field, "Invalid type. Expected: %s, given: %s", json_string_value(t), type_of(j));
		return;
	}
	size_t i;
	json_t *x;
	StrBuf names = STRBUF_INIT;
	bool okt = false;
	json_array_foreach(t, i, x) {
		okt |= json_is_string(x) && type_matches(j, json_string_value(x));
		sb_addf(&names, "%s%s", i ? "," : "", json_string_value(x) ?: "");
	}
	if (!okt)
		add_err(v, field, "Invalid type. Expected: [%s], given: %s", names.buf ? names.buf : "", type_of(j));
	sb_release(&names);
}

static void v_enum_const(V *v, const json_t *s, const json_t *j, const char *field)
{
	json_t *e = json_object_get(s, "enum");
	if (json_is_array(e)) {
		size_t i;
		json_t *x;
		bool found = false;
		json_array_foreach(e, i, x)
			found |= jeq(x, j);
		if (!found) {
			StrBuf allowed = STRBUF_INIT;
			json_array_foreach(e, i, x) {
				_cleanup_free_ char *d = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
				sb_addf(&allowed, "%s%s", i ? ", " : "", d);
			}
			add_err(v, field, "%s must be one of the following: %s", field, allowed.buf ? allowed.buf : "");
			sb_release(&allowed);
		}
	}
	json_t *c = json_object_get(s, "const");
	if (c && !jeq(c, j)) {
		_cleanup_free_ char *d = json_dumps(c, JSON_ENCODE_ANY | JSON_COMPACT);
		add_err(v, field, "%s does not match: %s", field, d);
	}
}

static void v_number(V *v, const json_t *s, const json_t *j, const char *field)
{
	double d = json_number_value(j);
	char b[64];
	json_t *m = json_object_get(s, "multipleOf");
	if (json_is_number(m) && json_number_value(m) > 0) {
		double q = d / json_number_value(m);
		if (fabs(q - nearbyint(q)) > 1e-9 * fmax(1, fabs(q))) {
			num_str(json_number_value(m), b, sizeof b);
			add_err(v, field, "Must be a multiple of %s", b);
		}
	}
	json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
	json_t *emn = json_object_get(s, "exclusiveMinimum"), *emx = json_object_get(s, "exclusiveMaximum");
	if (json_is_number(mn)) {
		num_str(json_number_value(mn), b, sizeof b);
		if (json_is_true(emn) ? d <= json_number_value(mn) : d < json_number_value(mn))
			add_err(v, field, json_is_true(emn) ? "Must be greater than %s" : "Must be greater than or equal to %s", b);
	}
	if (json_is_number(mx)) {
		num_str(json_number_value(mx), b, sizeof b);
		if (json_is_true(emx) ? d >= json_number_value(mx) : d > json_number_value(mx))
			add_err(v, field, json_is_true(emx) ? "Must be less than %s" : "Must be less than or equal to %s", b);
	}
	if (json_is_number(emn) && d <= json_number_value(emn)) {
		num_str(json_number_value(emn), b, sizeof b);
		add_err(v, field, "Must be greater than %s", b);
	}
	if (json_is_number(emx) && d >= json_number_value(emx)) {
		num_str(json_number_value(emx), b, sizeof b);
		add_err(v, field, "Must be less than %s", b);
	}
}

static size_t utf8_len(const char *s, size_t n)
{
	size_t r = 0;
	for (size_t i = 0; i < n; i++)
		r += ((unsigned char)s[i] & 0xC0) != 0x80;
	return r;
}

static bool pattern_match(const char *pat, const char *s, size_t n)
{
	char eb[256];
	GoRegex *re = goregex_compile(pat, strlen(pat), eb, sizeof eb);
	if (!re)
		return false;
	ssize_t m[2 * (goregex_ncap(re) + 1)];
	bool r = goregex_exec(re, s, n, 0, m);
	goregex_free(re);
	return r;
}

static void v_string(V *v, const json_t *s, const json_t *j, const char *field)
{
	size_t len = utf8_len(json_string_value(j), json_string_length(j));
	json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
	if (json_is_number(mn) && (double)len < json_number_value(mn))
		add_err(v, field, "String length must be greater than or equal to %lld", (long long)json_number_value(mn));
	if (json_is_number(mx) && (double)len > json_number_value(mx))
		add_err(v, field, "String length must be less than or equal to %lld", (long long)json_number_value(mx));
	const char *pat = json_string_value(json_object_get(s, "pattern"));
	if (pat && !pattern_match(pat, json_string_value(j), json_string_length(j)))
		add_err(v, field, "Does not match pattern '%s'", pat);
}

static void v_array(V *v, const json_t *s, const json_t *j, const char *field, int depth)
{
	size_t n = json_array_size(j);
	json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
	if (json_is_number(mn) && (double)n < json_number_value(mn))
		add_err(v, field, "Array must have at least %lld items", (long long)json_number_value(mn));
	if (json_is_number(mx) && (double)n > json_number_value(mx))
		add_err(v, field, "Array must have at most %lld items", (long long)json_number_value(mx));
	if (json_is_true(json_object_get(s, "uniqueItems")))
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (jeq(json_array_get(j, a), json_array_get(j, b))) {
					add_err(v, field, "array items[%zu,%zu] must be unique", a, b);
					a = b = n;
				}
	json_t *items = json_object_get(s, "items");
	for (size_t i = 0; i < n && items; i++) {
		char idx[32];
		snprintf(idx, sizeof idx, "%zu", i);
		_cleanup_free_ char *f = child_field(field, idx);
		if (!json_is_array(items)) {
			validate(v, items, json_array_get(j, i), f, depth + 1);
		} else if (i < json_array_size(items)) {
			validate(v, json_array_get(items, i), json_array_get(j, i), f, depth + 1);
		} else {
			json_t *ai = json_object_get(s, "additionalItems");
			if (json_is_false(ai)) {
				add_err(v, field, "No additional items allowed on array");
				break;
			}
			if (json_is_object(ai))
				validate(v, ai, json_array_get(j, i), f, depth + 1);
		}
	}
	json_t *c = json_object_get(s, "contains");
	if (c) {
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = probe(v, c, json_array_get(j, i), field, depth + 1);
		if (!any)
			add_err(v, field, "At least one of the items must match");
	}
}

static void v_object(V *v, const json_t *s, const json_t *j, const char *field, int depth)
{
	size_t n = json_object_size(j);
	json_t *mn = json_object_get(s, "minProperties"), *mx = json_object_get(s, "maxProperties");
	if (json_is_number(mn) && (double)n < json_number_value(mn))
		add_err(v, field, "Must have at least %lld properties", (long long)json_number_value(mn));
	if (json_is_number(mx) && (double)n > json_number_value(mx))
		add_err(v, field, "Must have at most %lld properties", (long long)json_number_value(mx));
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(s, "required"), i, x)
		if (json_is_string(x) && !json_object_get(j, json_string_value(x)))
			add_err(v, field, "%s is required", json_string_value(x));
	json_t *props = json_object_get(s, "properties"), *pp = json_object_get(s, "patternProperties");
	json_t *ap = json_object_get(s, "additionalProperties");
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)j, k, val) {
		_cleanup_free_ char *f = child_field(field, k);
		bool matched = false;
		json_t *ps = json_object_get(props, k);
		if (ps) {
			matched = true;
			validate(v, ps, val, f, depth + 1);
		}
		const char *pk;
		json_t *psch;
		json_object_foreach(pp, pk, psch)
			if (pattern_match(pk, k, strlen(k))) {
				matched = true;
				validate(v, psch, val, f, depth + 1);
			}
		if (!matched && ap) {
			if (json_is_false(ap))
				add_err(v, field, "Additional property %s is not allowed", k);
			else if (json_is_object(ap))
				validate(v, ap, val, f, depth + 1);
		}
		json_t *pn = json_object_get(s, "propertyNames");
		if (pn) {
			json_t *kj = json_string(k);
			if (kj && !probe(v, pn, kj, field, depth + 1))
				add_err(v, field, "Property name of \"%s\" does not match", k);
			json_decref(kj);
		}
	}
	json_t *deps = json_object_get(s, "dependencies");
	json_object_foreach(deps, k, val) {
		if (!json_object_get(j, k))
			continue;
		if (json_is_array(val)) {
			json_array_foreach(val, i, x)
				if (json_is_string(x) && !json_object_get(j, json_string_value(x)))
					add_err(v, field, "Has a dependency on %s", json_string_value(x));
		} else {
			validate(v, val, j, field, depth + 1);
		}
	}
}

static void v_combinators(V *v, const json_t *s, const json_t *j, const char *field, int depth)
{
	size_t i;
	json_t *x;
	json_t *all = json_object_get(s, "allOf");
	if (json_is_array(all)) {
		bool good = true;
		json_array_foreach(all, i, x)
			good &= probe(v, x, j, field, depth + 1);
		if (!good) {
			add_err(v, field, "Must validate all the schemas (allOf)");
			json_array_foreach(all, i, x)
				validate(v, x, j, field, depth + 1);
		}
	}
	json_t *any = json_object_get(s, "anyOf");
	if (json_is_array(any)) {
		bool good = false;
		json_array_foreach(any, i, x)
			good |= probe(v, x, j, field, depth + 1);
		if (!good)
			add_err(v, field, "Must validate at least one schema (anyOf)");
	}
	json_t *one = json_object_get(s, "oneOf");
	if (json_is_array(one)) {
		int n = 0;
		json_array_foreach(one, i, x)
			n += probe(v, x, j, field, depth + 1);
		if (n != 1)
			add_err(v, field, "Must validate one and only one schema (oneOf)");
	}
	json_t *not = json_object_get(s, "not");
	if (not && probe(v, not, j, field, depth + 1))
		add_err(v, field, "Must not validate the schema (not)");
	json_t *ifs = json_object_get(s, "if");
	if (ifs) {
		json_t *then = json_object_get(s, "then"), *els = json_object_get(s, "else");
		if (probe(v, ifs, j, field, depth + 1)) {
			if (then && !probe(v, then, j, field, depth + 1)) {
				add_err(v, field, "Must validate \"then\" as \"if\" was valid");
				validate(v, then, j, field, depth + 1);
			}
		} else if (els && !probe(v, els, j, field, depth + 1)) {
			add_err(v, field, "Must validate \"else\" as \"if\" was not valid");
			validate(v, els, j, field, depth + 1);
		}
	}
}

static void validate(V *v, const json_t *s, const json_t *j, const char *field, int depth)
{
	if (depth > SCHEMA_MAX_DEPTH) {
		add_err(v, field, "schema nesting or $ref chain deeper than %d", SCHEMA_MAX_DEPTH);
		return;
	}
	if (json_is_true(s))
		return;
	if (json_is_false(s)) {
		add_err(v, field, "False always fails validation");
		return;
	}
	if (!json_is_object(s))
		return;
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	if (ref) {
		const json_t *t = resolve_ref(v, ref);
		if (!t)
			add_err(v, field, "Internal Error unresolvable $ref %s", ref);
		else
			validate(v, t, j, field, depth + 1);
		return;   /* draft-07: siblings of $ref are ignored */
	}
	size_t before = (size_t)v->nerr;
	v_type(v, s, j, field);
	if ((size_t)v->nerr != before)
		return;
	v_enum_const(v, s, j, field);
	if (json_is_number(j))
		v_number(v, s, j, field);
	else if (json_is_string(j))
		v_string(v, s, j, field);
	else if (json_is_array(j))
		v_array(v, s, j, field, depth);
	else if (json_is_object(j))
		v_object(v, s, j, field, depth);
	v_combinators(v, s, j, field, depth);
}

int chart_schema_validate(const char *schema, size_t len, const json_t *vals, char **report, Error **err)
{
	json_error_t je;
	json_t *s = json_loadb(schema, len, JSON_DECODE_ANY, &je);
	if (!s)
		return err_set(err, EINVAL, "unable to parse values.schema.json: %s (line %d)", je.text, je.line);
	StrBuf out = STRBUF_INIT;
	V v = { .root = s, .out = &out };
	validate(&v, s, vals, "(root)", 0);
	json_decref(s);
	*report = v.nerr ? sb_detach(&out) : NULL;
	sb_release(&out);
	return 0;
}

static int walk(const Chart *c, const json_t *vals, StrBuf *sb, Error **err)
{
	if (c->schema) {
		_cleanup_free_ char *rep = NULL;
		if (chart_schema_validate(c->schema, c->schema_len, vals, &rep, err) < 0)
			return -EINVAL;
		if (rep)
			sb_addf(sb, "%s:\n%s", c->name, rep);
	}
	for (size_t i = 0; i < c->ndeps; i++) {
		json_t *sub = json_object_get(vals, c->deps[i]->name);
		if (!json_is_object(sub))
			continue;
		if (walk(c->deps[i], sub, sb, err) < 0)
			return -EINVAL;
	}
	return 0;
}

int chart_validate_values(const Chart *c, const json_t *vals, Error **err)
{
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	if (walk(c, vals, &sb, err) < 0)
		return -EINVAL;
	if (sb.len)
		return err_set(err, EINVAL, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s", sb.buf);
	return 0;
}
