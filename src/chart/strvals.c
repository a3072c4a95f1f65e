/* strvals.c - the --set family of Helm's CLI (pkg/strvals): "a.b[0].c=x,d={1,2}"
 * parsed into a values tree, with Helm's type inference (--set: true/false
 * bools, int64 integers, null; --set-string: strings; --set-json: JSON values;
 * --set-file: file contents; --set-literal: the rest of the argument,
 * unescaped), index and nesting limits and error texts, including the texts
 * of the Go panics Helm turns into errors ("unable to parse key: interface
 * conversion: ...").  Also chart_user_values: -f files and every --set flag
 * merged in Helm's order into one user-values map.
 *
 * The input is read rune by rune like Go's bytes.Buffer.ReadRune (invalid
 * UTF-8 becomes U+FFFD); values are jansson trees (integers stay JSON
 * integers = Go int64, --set-json numbers are reals = Go float64).
 */
#include "chart-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "unicode.h"
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRVALS_MAX_INDEX 65536
#define STRVALS_MAX_NESTED 30
#define STRVALS_MAX_LIST_NESTING 1000   /* a[0][0]...: Go recurses without limit */
#define EOFERR 1                          /* "io.EOF": end of input, not an error */

typedef struct P {
	const unsigned char *s;
	size_t len, pos, last;   /* last: size of the last rune read (UnreadRune) */
	StrvalsMode mode;
	Error **err;
} P;

typedef struct Runes {
	char *b;
	size_t n, cap;
} Runes;

static void runes_free(Runes *r) { free(r->b); }
#define _cleanup_runes_ __attribute__((cleanup(runes_free)))

static void runes_add(Runes *r, uint32_t c)
{
	if (r->n + 5 > r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->b = xrealloc(r->b, r->cap);
	}
	char *o = r->b + r->n;
	if (c < 0x80) {
		o[0] = (char)c;
		r->n += 1;
	} else if (c < 0x800) {
		o[0] = (char)(0xC0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3F));
		r->n += 2;
	} else if (c < 0x10000) {
		o[0] = (char)(0xE0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		r->n += 3;
	} else {
		o[0] = (char)(0xF0 | c >> 18);
		o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[3] = (char)(0x80 | (c & 0x3F));
		r->n += 4;
	}
	r->b[r->n] = 0;
}

static const char *runes_str(Runes *r) { return r->b ? r->b : ""; }

/* Go's utf8.DecodeRune: invalid or short sequences are U+FFFD of size 1. */
static size_t decode_rune(const unsigned char *s, size_t n, uint32_t *r)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
	if (!need || need > n)
		goto bad;
	uint32_t v = c & (0xFF >> (need + 1));
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		v = v << 6 | (s[i] & 0x3F);
	}
	if ((need == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (need == 4 && (v < 0x10000 || v > 0x10FFFF)))
		goto bad;
	*r = v;
	return need;
bad:
	*r = 0xFFFD;
	return 1;
}

static bool read_rune(P *p, uint32_t *r)
{
	if (p->pos >= p->len)
		return false;
	p->last = decode_rune(p->s + p->pos, p->len - p->pos, r);
	p->pos += p->last;
	return true;
}

static void unread_rune(P *p) { p->pos -= p->last; p->last = 0; }

/* runesUntil: read to a stop rune (consumed); '\\' escapes the next rune
 * except in literal mode.  Returns EOFERR at end of input, *stop the rune. */
static int runes_until(P *p, const char *stops, Runes *out, uint32_t *stop)
{
	uint32_t r;
	*stop = 0;
	while (read_rune(p, &r)) {
		if (r < 0x80 && strchr(stops, (int)r) && r) {
			*stop = r;
			return 0;
		}
		if (r == '\\' && p->mode != STRVALS_LITERAL) {
			if (!read_rune(p, &r))
				return EOFERR;
			runes_add(out, r);
			continue;
		}
		runes_add(out, r);
	}
	return EOFERR;
}

/* Go's %q for the texts of a few errors. */
static char *quote(const char *s)
{
	StrBuf sb = STRBUF_INIT;
	sb_addc(&sb, '"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_addf(&sb, "\\%c", *c);
		else if (*c == '\n')
			sb_adds(&sb, "\\n");
		else if (*c == '\t')
			sb_adds(&sb, "\\t");
		else if (*c == '\r')
			sb_adds(&sb, "\\r");
		else if (*c < 0x20 || *c == 0x7F)
			sb_addf(&sb, "\\x%02x", *c);
		else
			sb_addc(&sb, (char)*c);
	}
	sb_addc(&sb, '"');
	return sb_detach(&sb);
}

static int fail(P *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(P *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	va_end(ap);
	return err_set(p->err, EINVAL, "%s", m);
}

/* The Go type name a failed type assertion reports. */
static const char *go_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "map[string]interface {}";
	case JSON_ARRAY: return "[]interface {}";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "int64";
	case JSON_REAL: return "float64";
	case JSON_TRUE: case JSON_FALSE: return "bool";
	default: return "nil";
	}
}

static int panic_conv(P *p, const json_t *v, const char *want)
{
	return fail(p, "unable to parse key: interface conversion: interface {} is %s, not %s", go_type(v), want);
}

static void set(json_t *data, const char *key, json_t *val)
{
	if (*key)
		json_object_set_new(data, key, val);
	else
		json_decref(val);
}

/* typedVal */
static json_t *typed_val(const char *v, bool as_string)
{
	if (as_string)
		return json_string(v);
	if (!strcasecmp(v, "true"))
		return json_true();
	if (!strcasecmp(v, "false"))
		return json_false();
	if (!strcasecmp(v, "null"))
		return json_null();
	if (!strcmp(v, "0"))
		return json_integer(0);
	if (v[0] && v[0] != '0') {
		const char *d = v + (v[0] == '+' || v[0] == '-');
		bool digits = *d != 0;
		for (const char *c = d; *c; c++)
			digits &= *c >= '0' && *c <= '9';
		if (digits) {
			errno = 0;
			char *end;
			long long n = strtoll(v, &end, 10);
			if (!errno && !*end)
				return json_integer(n);
		}
	}
	return json_string(v);
}

/* t.reader(rs): the value of a scalar by mode (file: the file's contents). */
static int reader(P *p, const char *v, json_t **ret)
{
	if (p->mode == STRVALS_FILE) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		Error *e = NULL;
		if (fs_read_file(v, BERTH_MAX_JSON_FILE, &buf, &len, &e) < 0) {
			*ret = json_null();
			int rc = fail(p, "open %s: %s", v, strerror(e ? e->code : EIO));
			err_free(e);
			return rc;
		}
		*ret = json_stringn(buf, len);
		if (!*ret)   /* not UTF-8: keep the bytes as Go does, lossy for jansson */
			*ret = json_stringn_nocheck(buf, len);
		return 0;
	}
	*ret = typed_val(v, p->mode == STRVALS_STRING);
	return 0;
}

/* emptyVal: skip blanks; true at EOF or ',' (consumed). */
static bool empty_val(P *p)
{
	uint32_t r;
	while (read_rune(p, &r)) {
		if (r == ',')
			return true;
		if (!rune_is_space(r)) {
			unread_rune(p);
			return false;
		}
	}
	return true;
}

/* One JSON value from the rest of the input (json.Decoder + InputOffset). */
static int json_value(P *p, json_t **ret)
{
	json_error_t je;
	*ret = json_loadb((const char *)p->s + p->pos, p->len - p->pos,
			  JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
	if (!*ret)
		return fail(p, "%s", je.text);
	p->pos += (size_t)je.position;
	p->last = 0;
	empty_val(p);
	return 0;
}

/* valList: "{a,b}" (0), not a list (1), EOF (EOFERR... as -ENODATA) or error. */
#define NOTLIST 2
static int val_list(P *p, json_t **ret)
{
	uint32_t r;
	*ret = json_array();
	if (!read_rune(p, &r))
		return EOFERR;
	if (r != '{') {
		unread_rune(p);
		return NOTLIST;
	}
	for (;;) {
		_cleanup_runes_ Runes rs = { 0 };
		uint32_t last;
		if (runes_until(p, ",}", &rs, &last) == EOFERR)
			return fail(p, "list must terminate with '}'");
		json_t *v;
		int rc = reader(p, runes_str(&rs), &v);
		json_array_append_new(*ret, v);
		if (last == '}') {
			if (read_rune(p, &r) && r != ',')
				unread_rune(p);
			return rc;
		}
		if (rc < 0)
			return rc;
	}
}

static int set_index(P *p, json_t *list, long long i, json_t *val)
{
	if (i < 0) {
		json_decref(val);
		return fail(p, "negative %lld index not allowed", i);
	}
	if (i > STRVALS_MAX_INDEX) {
		json_decref(val);
		return fail(p, "index of %lld is greater than maximum supported index of %d", i, STRVALS_MAX_INDEX);
	}
	while (json_array_size(list) <= (size_t)i)
		json_array_append_new(list, json_null());
	json_array_set_new(list, (size_t)i, val);
	return 0;
}

/* keyIndex: the digits up to ']' (strconv.Atoi). */
static int key_index(P *p, long long *ret)
{
	_cleanup_runes_ Runes rs = { 0 };
	uint32_t last;
	if (runes_until(p, "]", &rs, &last) == EOFERR)
		return fail(p, "error parsing index: EOF");
	const char *s = runes_str(&rs);
	const char *d = s + (s[0] == '+' || s[0] == '-');
	bool ok = *d != 0;
	for (const char *c = d; *c; c++)
		ok &= *c >= '0' && *c <= '9';
	_cleanup_free_ char *q = quote(s);
	if (!ok)
		return fail(p, "error parsing index: strconv.Atoi: parsing %s: invalid syntax", q);
	errno = 0;
	*ret = strtoll(s, NULL, 10);
	if (errno)
		return fail(p, "error parsing index: strconv.Atoi: parsing %s: value out of range", q);
	return 0;
}

static int key(P *p, json_t *data, int level);

/* The value after "=" for a list slot or a key. */
static int scalar_after_eq(P *p, json_t **ret)
{
	if (p->mode == STRVALS_LITERAL) {
		_cleanup_runes_ Runes rs = { 0 };
		uint32_t last;
		runes_until(p, "", &rs, &last);
		*ret = json_string(runes_str(&rs)) ?: json_stringn_nocheck(runes_str(&rs), rs.n);
		return 0;
	}
	if (p->mode == STRVALS_JSON) {
		if (empty_val(p)) {
			*ret = json_null();
			return 0;
		}
		*ret = NULL;
		return json_value(p, ret);
	}
	json_t *vl;
	int rc = val_list(p, &vl);
	if (rc == 0 || rc == EOFERR) {
		if (rc == EOFERR) {
			json_decref(vl);
			vl = json_string("");
		}
		*ret = vl;
		return rc;
	}
	json_decref(vl);
	if (rc != NOTLIST) {
		*ret = NULL;
		return rc;
	}
	_cleanup_runes_ Runes rs = { 0 };
	uint32_t last;
	runes_until(p, ",", &rs, &last);
	return reader(p, runes_str(&rs), ret);
}

static int list_item(P *p, json_t *list, long long i, int level, int depth)
{
	if (i < 0)
		return fail(p, "negative %lld index not allowed", i);
	if (depth > STRVALS_MAX_LIST_NESTING)
		return fail(p, "list index nesting is deeper than %d", STRVALS_MAX_LIST_NESTING);
	_cleanup_runes_ Runes k = { 0 };
	uint32_t last;
	int e = runes_until(p, "[.=", &k, &last);
	if (k.n) {
		_cleanup_free_ char *q = quote(runes_str(&k));
		return fail(p, "unexpected data at end of array index: %s", q);
	}
	if (e == EOFERR)
		return EOFERR;
	if (last == '=') {
		json_t *v = NULL;
		int rc = scalar_after_eq(p, &v);
		if (rc < 0) {
			json_decref(v);
			return rc;
		}
		return set_index(p, list, i, v);
	}
	if (last == '[') {
		long long next;
		if (key_index(p, &next) < 0)
			return -EINVAL;
		json_t *cur = (size_t)i < json_array_size(list) ? json_array_get(list, (size_t)i) : NULL;
		json_t *crt;
		if (cur && !json_is_null(cur)) {
			if (!json_is_array(cur))
				return panic_conv(p, cur, "[]interface {}");
			crt = json_incref(cur);
		} else {
			crt = json_array();
		}
		int rc = list_item(p, crt, next, level, depth + 1);
		if (rc < 0) {
			json_decref(crt);
			return rc;
		}
		return set_index(p, list, i, crt);
	}
	/* '.': a map in the slot (anything else is replaced) */
	json_t *cur = (size_t)i < json_array_size(list) ? json_array_get(list, (size_t)i) : NULL;
	json_t *inner;
	if (cur && json_is_object(cur)) {
		inner = json_incref(cur);
	} else {
		inner = json_object();
		if (cur)
			json_array_set(list, (size_t)i, inner);
	}
	int rc = key(p, inner, level);
	if (rc < 0) {
		json_decref(inner);
		return rc;
	}
	return set_index(p, list, i, inner);
}

static int key(P *p, json_t *data, int level)
{
	_cleanup_runes_ Runes k = { 0 };
	uint32_t last;
	const char *stops = p->mode == STRVALS_LITERAL ? "=[." : "=[,.";
	if (runes_until(p, stops, &k, &last) == EOFERR) {
		if (!k.n)
			return EOFERR;
		_cleanup_free_ char *q = quote(runes_str(&k));
		return fail(p, "key %s has no value", q);
	}
	const char *ks = runes_str(&k);
	if (last == '[') {
		long long i;
		if (key_index(p, &i) < 0)
			return -EINVAL;
		json_t *cur = json_object_get(data, ks), *list;
		if (cur) {
			if (!json_is_array(cur))
				return panic_conv(p, cur, "[]interface {}");
			list = json_incref(cur);
		} else {
			list = json_array();
		}
		int rc = list_item(p, list, i, level, 0);
		set(data, ks, list);
		return rc;
	}
	if (last == '=') {
		json_t *v = NULL;
		int rc = scalar_after_eq(p, &v);
		if (rc < 0 && p->mode == STRVALS_JSON) {
			json_decref(v);
			return rc;
		}
		if (v)
			set(data, ks, v);
		return rc;
	}
	if (last == ',') {
		set(data, ks, json_string(""));
		_cleanup_free_ char *q = quote(ks);
		return fail(p, "key %s has no value (cannot end with ,)", q);
	}
	/* '.' */
	if (++level > STRVALS_MAX_NESTED)
		return fail(p, "value name nested level is greater than maximum supported nested level of %d", STRVALS_MAX_NESTED);
	json_t *cur = json_object_get(data, ks), *inner;
	if (cur) {
		if (!json_is_object(cur))
			return panic_conv(p, cur, "map[string]interface {}");
		inner = json_incref(cur);
	} else {
		inner = json_object();
	}
	int rc = key(p, inner, level);
	if (rc == 0 && json_object_size(inner) == 0) {
		json_decref(inner);
		_cleanup_free_ char *q = quote(ks);
		return fail(p, "key map %s has no value", q);
	}
	if (json_object_size(inner))
		set(data, ks, inner);
	else
		json_decref(inner);
	return rc;
}

int chart_strvals_parse(json_t *dest, const char *s, size_t len, StrvalsMode mode, Error **err)
{
	P p = { .s = (const unsigned char *)s, .len = len, .mode = mode, .err = err };
	for (;;) {
		int rc = key(&p, dest, 0);
		if (rc == EOFERR)
			return 0;
		if (rc < 0)
			return rc;
	}
}

/* ---- user values: -f files and the --set family in Helm's order -------------------- */
static int read_values_file(const char *path, char **buf, size_t *len, Error **err)
{
	const char *p = path;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	bool stdin_ = !strncmp(p, "-", 1) && strspn(p + 1, " \t\n") == strlen(p + 1);
	if (fs_read_file(stdin_ ? "/dev/stdin" : path, BERTH_MAX_JSON_FILE, buf, len, err) < 0)
		return -EIO;
	return 0;
}

static int set_family(json_t *base, const char *const *list, StrvalsMode mode, const char *flag, Error **err)
{
	for (size_t i = 0; list && list[i]; i++) {
		if (chart_strvals_parse(base, list[i], strlen(list[i]), mode, err) < 0)
			return err_prefix(err, "failed parsing %s data", flag);
	}
	return 0;
}

static int set_json(json_t *base, const char *const *list, Error **err)
{
	for (size_t i = 0; list && list[i]; i++) {
		const char *v = list[i];
		size_t skip = strspn(v, " \t\n\r\v\f");
		if (v[skip] == '{') {
			json_error_t je;
			json_t *j = json_loads(v + skip, JSON_DECODE_INT_AS_REAL, &je);
			if (!json_is_object(j)) {
				json_decref(j);
				return err_set(err, EINVAL, "failed parsing --set-json data JSON: %s", v);
			}
			chart_merge_maps(base, j);
			json_decref(j);
			continue;
		}
		Error *e = NULL;
		if (chart_strvals_parse(base, v, strlen(v), STRVALS_JSON, &e) < 0) {
			err_free(e);
			return err_set(err, EINVAL, "failed parsing --set-json data %s", v);
		}
	}
	return 0;
}

int chart_user_values(const ChartValueOpts *o, json_t **ret, Error **err)
{
	json_t *base = json_object();
	int rc = 0;
	for (size_t i = 0; o->value_files && o->value_files[i] && rc == 0; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		rc = read_values_file(o->value_files[i], &buf, &len, err);
		if (rc == 0)
			rc = chart_values_merge_yaml(base, buf, len, o->value_files[i], err);
	}
	if (rc == 0)
		rc = set_json(base, o->set_json, err);
	if (rc == 0)
		rc = set_family(base, o->set, STRVALS_TYPED, "--set", err);
	if (rc == 0)
		rc = set_family(base, o->set_string, STRVALS_STRING, "--set-string", err);
	if (rc == 0)
		rc = set_family(base, o->set_file, STRVALS_FILE, "--set-file", err);
	if (rc == 0)
		rc = set_family(base, o->set_literal, STRVALS_LITERAL, "--set-literal", err);
	if (rc < 0) {
		json_decref(base);
		return rc;
	}
	*ret = base;
	return 0;
}
