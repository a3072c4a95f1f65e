/* yaml.c - YAML parsing (libyaml events, go-yaml v2 scalar resolution) and
 * emission (a re-implementation of go-yaml's emitter rules) for json_t; see
 * yaml.h for the contract.
 *
 * The emitter keeps go-yaml's state (column, indent stack, "whitespace" and
 * "indention" flags) and applies the same scalar analysis, so quoting,
 * literal blocks and line folding come out exactly as Helm's toYaml writes
 * them.  Parsing caps nesting depth and alias expansion (billion laughs).
 */
#include "yaml.h"
#include "../base/cleanup.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 10000

/* ---- Go-syntax number parsing -------------------------------------------------------- */
static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* strconv.Parse{Int,Uint}(s, 0, 64) without underscores (removed by caller). */
static bool go_parse_int(const char *s, bool is_signed, int64_t *ri, uint64_t *ru)
{
	bool neg = false;
	if (*s == '+' || *s == '-') {
		if (!is_signed && *s == '-')
			return false;
		neg = *s == '-';
		s++;
	}
	if (!*s)
		return false;
	int base = 10;
	if (s[0] == '0' && s[1]) {
		char c = (char)(s[1] | 0x20);
		if (c == 'x') base = 16, s += 2;
		else if (c == 'o') base = 8, s += 2;
		else if (c == 'b') base = 2, s += 2;
		else base = 8, s += 1;
		if (!*s)
			return false;
	}
	uint64_t v = 0;
	for (; *s; s++) {
		int d = hexval((unsigned char)*s);
		if (d < 0 || d >= base)
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (!is_signed) {
		*ru = v;
		return true;
	}
	if ((!neg && v > INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
		return false;
	*ri = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	} else {
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9')
				s++;
		}
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == 0;
}

/* strconv.ParseFloat for decimal syntax (what reaches it here). */
static bool go_parse_float(const char *s, double *ret)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p || strpbrk(p, "xXpPnNiI_"))
		return false;
	errno = 0;
	char *end;
	double d = strtod(s, &end);
	if (*end || end == s)
		return false;
	*ret = d;
	return true;
}

/* ---- timestamps (only to decide quoting, as go-yaml does) --------------------------------- */
static bool digits(const char **s, int min, int max, int *val)
{
	int n = 0, v = 0;
	while (**s >= '0' && **s <= '9' && n < max) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	*val = v;
	return n >= min;
}

static bool looks_like_timestamp(const char *s)
{
	const char *p = s;
	int y, mo, d, h, mi, se;
	if (!digits(&p, 4, 4, &y) || *p != '-')
		return false;
	p++;
	if (!digits(&p, 1, 2, &mo) || *p != '-' || mo < 1 || mo > 12)
		return false;
	p++;
	if (!digits(&p, 1, 2, &d) || d < 1)
		return false;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return false;
	if (!*p)
		return true;
	char sep = *p;
	if (sep != 'T' && sep != 't' && sep != ' ')
		return false;
	p++;
	if (!digits(&p, 1, 2, &h) || *p != ':' || h > 23)
		return false;
	p++;
	if (!digits(&p, 1, 2, &mi) || *p != ':' || mi > 59)
		return false;
	p++;
	if (!digits(&p, 1, 2, &se) || se > 59)
		return false;
	if (*p == '.' || *p == ',') {
		p++;
		int f;
		if (!digits(&p, 1, 9, &f))
			return false;
	}
	if (sep == ' ')
		return *p == 0;
	if (*p == 'Z')
		return p[1] == 0;
	if (*p == '+' || *p == '-') {
		p++;
		int zh, zm;
		if (!digits(&p, 2, 2, &zh) || *p != ':')
			return false;
		p++;
		return digits(&p, 2, 2, &zm) && *p == 0;
	}
	return false;
}

/* ---- scalar resolution (go-yaml v2's resolve) ----------------------------------------------- */
typedef enum { R_STR, R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_MERGE, R_TIMESTAMP } RTag;

typedef struct Resolved {
	RTag tag;
	bool b;
	int64_t i;
	uint64_t u;
	double f;
} Resolved;

static bool in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (!strcmp(s, *l))
			return true;
	return false;
}

static Resolved resolve(const char *in, bool v3)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", NULL };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF", NULL };
	static const char *const tru[] = { "true", "True", "TRUE", NULL };
	static const char *const fal[] = { "false", "False", "FALSE", NULL };
	static const char *const nul[] = { "", "~", "null", "Null", "NULL", NULL };
	Resolved r = { R_STR, false, 0, 0, 0 };
	char c = in[0];
	bool hint = c == 0 || c == '+' || c == '-' || (c >= '0' && c <= '9') || c == '.' || strchr("yYnNtTfFoO~", c);
	if (!hint)
		return r;
	if (in_list(in, tru) || (!v3 && in_list(in, yes))) {
		r.tag = R_BOOL;
		r.b = true;
		return r;
	}
	if (in_list(in, fal) || (!v3 && in_list(in, no))) {
		r.tag = R_BOOL;
		return r;
	}
	if (in_list(in, nul)) {
		r.tag = R_NULL;
		return r;
	}
	if (!strcmp(in, ".nan") || !strcmp(in, ".NaN") || !strcmp(in, ".NAN")) {
		r.tag = R_FLOAT;
		r.f = NAN;
		return r;
	}
	const char *p = in;
	if (*p == '+' || *p == '-')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		r.tag = R_FLOAT;
		r.f = in[0] == '-' ? -INFINITY : INFINITY;
		return r;
	}
	if (!strcmp(in, "<<")) {
		r.tag = R_MERGE;
		return r;
	}
	if (c == '.') {
		if (go_parse_float(in, &r.f))
			r.tag = R_FLOAT;
		return r;
	}
	if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
		if (looks_like_timestamp(in)) {
			r.tag = R_TIMESTAMP;
			return r;
		}
		size_t n = strlen(in);
		_cleanup_free_ char *plain = xmalloc(n + 1);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (in[i] != '_' || v3)
				plain[k++] = in[i];
		plain[k] = 0;
		if (go_parse_int(plain, true, &r.i, NULL)) {
			r.tag = R_INT;
			return r;
		}
		if (go_parse_int(plain, false, NULL, &r.u)) {
			r.tag = R_UINT;
			return r;
		}
		if (yaml_style_float(plain) && go_parse_float(plain, &r.f)) {
			r.tag = R_FLOAT;
			return r;
		}
	}
	return r;
}

void yaml_format_float(double f, char *buf, size_t n)
{
	if (isnan(f)) {
		snprintf(buf, n, ".nan");
		return;
	}
	if (isinf(f)) {
		snprintf(buf, n, f < 0 ? "-.inf" : ".inf");
		return;
	}
	char d[40];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(d, sizeof(d), "%.*e", p - 1, f);
		if (strtod(d, NULL) == f)
			break;
	}
	/* d is "[-]D.DDDDe[+-]XX": lay out as Go's %g with shortest digits */
	char digs[32];
	int nd = 0;
	bool neg = d[0] == '-';
	const char *s = d + neg;
	for (; *s && *s != 'e'; s++)
		if (*s != '.')
			digs[nd++] = *s;
	int exp = atoi(s + 1);
	while (nd > 1 && digs[nd - 1] == '0')
		nd--;
	if (nd == 1 && digs[0] == '0')
		exp = 0;
	char out[64];
	int o = 0;
	if (neg)
		out[o++] = '-';
	if (exp < -4 || exp >= 6) {   /* Go's 'g' with shortest digits uses precision 6 here */
		out[o++] = digs[0];
		if (nd > 1) {
			out[o++] = '.';
			for (int i = 1; i < nd; i++)
				out[o++] = digs[i];
		}
		o += snprintf(out + o, sizeof(out) - (size_t)o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = -1; i > exp; i--)
			out[o++] = '0';
		for (int i = 0; i < nd; i++)
			out[o++] = digs[i];
	} else {
		for (int i = 0; i <= exp || i < nd; i++) {
			if (i == exp + 1)
				out[o++] = '.';
			out[o++] = i < nd ? digs[i] : '0';
		}
	}
	out[o] = 0;
	snprintf(buf, n, "%s", out);
}


/* ---- parsing ----------------------------------------------------------------------------- */
typedef struct Anchor {
	char *name;
	json_t *node;
	size_t size;
} Anchor;

typedef struct Parser {
	yaml_parser_t p;
	Anchor *anchors;
	size_t nanchors;
	double decode_count, alias_count;   /* go-yaml's decodeCount / aliasCount */
	int depth;
	Error **err;
	bool failed;
	const char *json_err;   /* the JSON step's complaint (±Inf, NaN), reported after parsing */
} Parser;

static int parse_fail(Parser *ps)
{
	if (ps->failed)
		return -EINVAL;
	ps->failed = true;
	yaml_parser_t *p = &ps->p;
	size_t line = 0;
	if (p->problem_mark.line != 0) {
		line = p->problem_mark.line;
		if (p->error == YAML_SCANNER_ERROR)
			line++;
	} else if (p->context_mark.line != 0)
		line = p->context_mark.line;
	const char *msg = p->problem ? p->problem : "unknown problem parsing YAML content";
	if (line)
		return err_set(ps->err, EINVAL, "yaml: line %zu: %s", line, msg);
	return err_set(ps->err, EINVAL, "yaml: %s", msg);
}

static int fail_msg(Parser *ps, const char *msg)
{
	if (ps->failed)
		return -EINVAL;
	ps->failed = true;
	return err_set(ps->err, EINVAL, "%s", msg);
}

static int next_event(Parser *ps, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ps->p, ev))
		return parse_fail(ps);
	return 0;
}

static void add_anchor(Parser *ps, const unsigned char *name, json_t *node, size_t size)
{
	if (!name)
		return;
	for (size_t i = 0; i < ps->nanchors; i++) {
		if (!strcmp(ps->anchors[i].name, (const char *)name)) {
			json_decref(ps->anchors[i].node);
			ps->anchors[i].node = json_incref(node);
			ps->anchors[i].size = size;
			return;
		}
	}
	ps->anchors = xrealloc(ps->anchors, (ps->nanchors + 1) * sizeof(Anchor));
	ps->anchors[ps->nanchors].name = xstrdup((const char *)name);
	ps->anchors[ps->nanchors].node = json_incref(node);
	ps->anchors[ps->nanchors].size = size;
	ps->nanchors++;
}

static int parse_node(Parser *ps, yaml_event_t *ev, json_t **ret, size_t *size);

static bool tag_is(const yaml_char_t *tag, const char *suffix)
{
	if (!tag)
		return false;
	const char *t = (const char *)tag;
	if (!strncmp(t, "tag:yaml.org,2002:", 18))
		return !strcmp(t + 18, suffix);
	if (!strncmp(t, "!!", 2))
		return !strcmp(t + 2, suffix);
	return false;
}

static json_t *resolved_json(const Resolved *r, const char *s, size_t n)
{
	switch (r->tag) {
	case R_NULL: return json_null();
	case R_BOOL: return json_boolean(r->b);
	case R_INT: return json_integer(r->i);
	case R_UINT: return json_real((double)r->u);
	case R_FLOAT: return json_real(r->f);
	default: return json_stringn_nocheck(s, n);
	}
}

static int base64_decode_str(const char *s, size_t n, StrBuf *out)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=' || c == '\n' || c == '\r' || c == ' ')
			continue;
		const char *p = c ? strchr(tbl, c) : NULL;
		if (!p)
			return -1;
		acc = acc << 6 | (uint32_t)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sb_addc(out, (char)((acc >> bits) & 0xFF));
		}
	}
	return 0;
}

__attribute__((noinline)) static int scalar_node(Parser *ps, yaml_event_t *ev, json_t **ret)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const yaml_char_t *tag = ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (tag && !tag_is(tag, "str") && !tag_is(tag, "int") && !tag_is(tag, "float") && !tag_is(tag, "bool") &&
	    !tag_is(tag, "null") && !tag_is(tag, "binary") && !tag_is(tag, "timestamp") && !tag_is(tag, "merge")) {
		*ret = json_stringn_nocheck(s, n);   /* unknown tags keep the text */
		return 0;
	}
	if (tag_is(tag, "str") || (!plain && !tag)) {
		*ret = json_stringn_nocheck(s, n);
		return 0;
	}
	if (tag_is(tag, "binary")) {
		StrBuf b = STRBUF_INIT;
		if (base64_decode_str(s, n, &b) < 0) {
			sb_release(&b);
			return fail_msg(ps, "yaml: !!binary value contains invalid base64 data");
		}
		*ret = json_stringn_nocheck(b.buf ? b.buf : "", b.len);
		sb_release(&b);
		return 0;
	}
	if (memchr(s, 0, n)) {
		*ret = json_stringn_nocheck(s, n);
		return 0;
	}
	Resolved r = resolve(s, false);
	if (tag) {
		bool ok = (tag_is(tag, "int") && (r.tag == R_INT || r.tag == R_UINT)) ||
			  (tag_is(tag, "float") && (r.tag == R_FLOAT || r.tag == R_INT || r.tag == R_UINT)) ||
			  (tag_is(tag, "bool") && r.tag == R_BOOL) || (tag_is(tag, "null") && r.tag == R_NULL) ||
			  (tag_is(tag, "timestamp") && r.tag == R_TIMESTAMP) || (tag_is(tag, "merge") && r.tag == R_MERGE);
		if (!ok) {
			const char *want = (const char *)tag;
			if (!strncmp(want, "tag:yaml.org,2002:", 18))
				want += 18;
			const char *rt = r.tag == R_STR || r.tag == R_TIMESTAMP ? "str" : r.tag == R_NULL ? "null" :
					 r.tag == R_BOOL ? "bool" : r.tag == R_FLOAT ? "float" : "int";
			char msg[512];
			snprintf(msg, sizeof(msg), "yaml: cannot decode !!%s `%.*s` as a !!%s", rt, (int)(n > 200 ? 200 : n), s, want);
			return fail_msg(ps, msg);
		}
		if (tag_is(tag, "float") && r.tag == R_INT) {
			*ret = json_real((double)r.i);
			return 0;
		}
	}
	if (r.tag == R_MERGE || r.tag == R_TIMESTAMP) {
		*ret = json_stringn_nocheck(s, n);
		return 0;
	}
	if (r.tag == R_FLOAT && !isfinite(r.f)) {
		/* json.Marshal refuses these once the document has been read */
		if (!ps->json_err)
			ps->json_err = isnan(r.f) ? "json: unsupported value: NaN" : r.f > 0 ? "json: unsupported value: +Inf"
											    : "json: unsupported value: -Inf";
		*ret = json_null();
		return 0;
	}
	*ret = resolved_json(&r, s, n);
	return 0;
}

/* sigs.k8s.io/yaml's conversion of a non-string key to its JSON key. */
__attribute__((noinline)) static char *key_string(Parser *ps, yaml_event_t *ev, json_t *key)
{
	(void)ev;
	switch (json_typeof(key)) {
	case JSON_STRING: return xstrndup(json_string_value(key), json_string_length(key));
	case JSON_INTEGER: return xasprintf("%lld", (long long)json_integer_value(key));
	case JSON_REAL: {
		/* FormatFloat(f, 'g', -1, 32) */
		float f = (float)json_real_value(key);
		char b[48];
		if (isnan(f))
			return xstrdup(".nan");
		if (isinf(f))
			return xstrdup(f < 0 ? "-.inf" : ".inf");
		for (int p = 1; p <= 9; p++) {
			snprintf(b, sizeof(b), "%.*g", p, (double)f);
			if ((float)strtod(b, NULL) == f)
				break;
		}
		double d = strtod(b, NULL);
		char out[48];
		yaml_format_float(d, out, sizeof(out));
		return xstrdup(out);
	}
	case JSON_TRUE: return xstrdup("true");
	case JSON_FALSE: return xstrdup("false");
	default:
		fail_msg(ps, "error converting YAML to JSON: unsupported map key");
		return NULL;
	}
}

static void merge_into(json_t *obj, json_t *src)
{
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach(src, k, kl, v)
		json_object_setn(obj, k, kl, v);
}

static int mapping_node(Parser *ps, json_t **ret, size_t *size)
{
	json_t *obj = json_object();
	for (;;) {
		yaml_event_t kev;
		if (next_event(ps, &kev) < 0)
			goto fail;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		bool merge = kev.type == YAML_SCALAR_EVENT && kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			     !kev.data.scalar.tag && kev.data.scalar.length == 2 && !memcmp(kev.data.scalar.value, "<<", 2);
		json_t *key = NULL;
		size_t ks = 0;
		int r = parse_node(ps, &kev, &key, &ks);
		yaml_event_delete(&kev);
		if (r < 0)
			goto fail;
		yaml_event_t vev;
		if (next_event(ps, &vev) < 0) {
			json_decref(key);
			goto fail;
		}
		json_t *val = NULL;
		size_t vs = 0;
		r = parse_node(ps, &vev, &val, &vs);
		yaml_event_delete(&vev);
		if (r < 0) {
			json_decref(key);
			goto fail;
		}
		*size += vs + ks;
		if (merge) {
			if (json_is_object(val)) {
				merge_into(obj, val);
			} else if (json_is_array(val)) {
				for (size_t i = json_array_size(val); i-- > 0;) {
					json_t *m = json_array_get(val, i);
					if (!json_is_object(m)) {
						json_decref(key);
						json_decref(val);
						fail_msg(ps, "yaml: map merge requires map or sequence of maps as the value");
						goto fail;
					}
					merge_into(obj, m);
				}
			} else {
				json_decref(key);
				json_decref(val);
				fail_msg(ps, "yaml: map merge requires map or sequence of maps as the value");
				goto fail;
			}
			json_decref(key);
			json_decref(val);
			continue;
		}
		if (json_is_object(key) || json_is_array(key)) {
			json_decref(key);
			json_decref(val);
			fail_msg(ps, "yaml: invalid map key");
			goto fail;
		}
		_cleanup_free_ char *ks2 = key_string(ps, NULL, key);
		json_decref(key);
		if (!ks2) {
			json_decref(val);
			goto fail;
		}
		json_object_setn_new_nocheck(obj, ks2, strlen(ks2), val);
	}
	*ret = obj;
	return 0;
fail:
	json_decref(obj);
	return -EINVAL;
}

static int sequence_node(Parser *ps, json_t **ret, size_t *size)
{
	json_t *arr = json_array();
	for (;;) {
		yaml_event_t ev;
		if (next_event(ps, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		json_t *item = NULL;
		size_t is = 0;
		int r = parse_node(ps, &ev, &item, &is);
		yaml_event_delete(&ev);
		if (r < 0)
			goto fail;
		*size += is;
		json_array_append_new(arr, item);
	}
	*ret = arr;
	return 0;
fail:
	json_decref(arr);
	return -EINVAL;
}

/* go-yaml v2's guard against alias expansion bombs: past 100 aliased nodes
 * and 1000 nodes in all, the share of aliased nodes may not exceed a ratio
 * that falls from 0.99 (up to 400k nodes) to 0.10 (from 4M nodes). */
static bool too_much_aliasing(const Parser *ps)
{
	double d = ps->decode_count, allowed;
	if (ps->alias_count <= 100 || d <= 1000)
		return false;
	if (d <= 400000)
		allowed = 0.99;
	else if (d >= 4000000)
		allowed = 0.10;
	else
		allowed = 0.99 - 0.89 * ((d - 400000) / 3600000);
	return ps->alias_count / d > allowed;
}

/* Kept out of line: parse_node's frame is paid once per nesting level. */
__attribute__((noinline)) static int alias_node(Parser *ps, yaml_event_t *ev, json_t **ret, size_t *size)
{
	const char *name = (const char *)ev->data.alias.anchor;
	for (size_t i = ps->nanchors; i-- > 0;)   /* a redefined anchor: the latest wins */
		if (!strcmp(ps->anchors[i].name, name)) {
			*size = 1 + ps->anchors[i].size;
			ps->decode_count += (double)ps->anchors[i].size;
			ps->alias_count += (double)ps->anchors[i].size;
			if (too_much_aliasing(ps))
				return fail_msg(ps, "yaml: document contains excessive aliasing");
			*ret = json_incref(ps->anchors[i].node);
			return 0;
		}
	char msg[300];
	snprintf(msg, sizeof(msg), "yaml: unknown anchor '%.200s' referenced", name);
	return fail_msg(ps, msg);
}

static int parse_node(Parser *ps, yaml_event_t *ev, json_t **ret, size_t *size)
{
	*size = 1;
	/* go-yaml's scanner allows 10000 levels of flow or block nesting */
	bool collection = ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT;
	if (collection && ++ps->depth > MAX_DEPTH) {
		ps->depth--;
		return fail_msg(ps, "yaml: exceeded max depth of 10000");
	}
	ps->decode_count += 1;
	if (ev->type != YAML_ALIAS_EVENT && too_much_aliasing(ps)) {
		if (collection)
			ps->depth--;
		return fail_msg(ps, "yaml: document contains excessive aliasing");
	}
	int r = 0;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		r = scalar_node(ps, ev, ret);
		if (r == 0)
			add_anchor(ps, ev->data.scalar.anchor, *ret, 1);
		break;
	case YAML_ALIAS_EVENT:
		r = alias_node(ps, ev, ret, size);
		break;
	case YAML_MAPPING_START_EVENT: {
		const yaml_char_t *anchor = ev->data.mapping_start.anchor;
		_cleanup_free_ char *an = anchor ? xstrdup((const char *)anchor) : NULL;
		r = mapping_node(ps, ret, size);
		if (r == 0)
			add_anchor(ps, (const yaml_char_t *)an, *ret, *size);
		break;
	}
	case YAML_SEQUENCE_START_EVENT: {
		const yaml_char_t *anchor = ev->data.sequence_start.anchor;
		_cleanup_free_ char *an = anchor ? xstrdup((const char *)anchor) : NULL;
		r = sequence_node(ps, ret, size);
		if (r == 0)
			add_anchor(ps, (const yaml_char_t *)an, *ret, *size);
		break;
	}
	default:
		r = fail_msg(ps, "yaml: unexpected event");
	}
	if (collection)
		ps->depth--;
	return r;
}

/* Parse documents; all=false stops after the first. */
static int parse_stream(const char *buf, size_t len, bool all, json_t **ret, Error **err)
{
	Parser ps = { .err = err };
	if (!yaml_parser_initialize(&ps.p))
		return err_set(err, ENOMEM, "yaml: cannot initialize parser");
	yaml_parser_set_input_string(&ps.p, (const unsigned char *)buf, len);
	json_t *docs = json_array();
	int r = 0;
	for (;;) {
		yaml_event_t ev;
		if ((r = next_event(&ps, &ev)) < 0)
			break;
		yaml_event_type_t t = ev.type;
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
		if (t != YAML_DOCUMENT_START_EVENT)
			continue;
		yaml_event_t ne;
		if ((r = next_event(&ps, &ne)) < 0)
			break;
		json_t *doc = NULL;
		if (ne.type == YAML_DOCUMENT_END_EVENT) {
			doc = json_null();
			yaml_event_delete(&ne);
		} else {
			size_t sz;
			r = parse_node(&ps, &ne, &doc, &sz);
			yaml_event_delete(&ne);
			if (r < 0)
				break;
			yaml_event_t de;
			if ((r = next_event(&ps, &de)) < 0) {
				json_decref(doc);
				break;
			}
			yaml_event_delete(&de);
		}
		json_array_append_new(docs, doc);
		for (size_t i = 0; i < ps.nanchors; i++) {
			free(ps.anchors[i].name);
			json_decref(ps.anchors[i].node);
		}
		ps.nanchors = 0;
		ps.decode_count = ps.alias_count = 0;
		if (!all)
			break;
	}
	for (size_t i = 0; i < ps.nanchors; i++) {
		free(ps.anchors[i].name);
		json_decref(ps.anchors[i].node);
	}
	free(ps.anchors);
	yaml_parser_delete(&ps.p);
	if (r == 0 && ps.json_err)
		r = err_set(err, EINVAL, "%s", ps.json_err);
	if (r < 0) {
		json_decref(docs);
		return r;
	}
	*ret = docs;
	return 0;
}

int yaml_parse_buf(const char *buf, size_t len, json_t **ret, Error **err)
{
	json_t *docs = NULL;
	int r = parse_stream(buf, len, false, &docs, err);
	if (r < 0)
		return r;
	*ret = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_null();
	json_decref(docs);
	return 0;
}

int yaml_parse_all(const char *buf, size_t len, json_t **ret, Error **err)
{
	return parse_stream(buf, len, true, ret, err);
}

/* ---- emitting ------------------------------------------------------------------------------ */
typedef struct Emitter {
	StrBuf *out;
	bool v3;
	int best_indent, best_width;
	int column;
	bool whitespace, indention;
	int indent;
	int *indents;
	size_t nind, capind;
	int flow_level;
	bool root_ctx, seq_ctx, map_ctx, simple_key_ctx;
	int depth;
} Emitter;

static void put(Emitter *e, char c)
{
	sb_addc(e->out, c);
	e->column++;
}

static void put_break(Emitter *e)
{
	sb_addc(e->out, '\n');
	e->column = 0;
}

static size_t utf8_width(unsigned char c)
{
	if ((c & 0x80) == 0) return 1;
	if ((c & 0xE0) == 0xC0) return 2;
	if ((c & 0xF0) == 0xE0) return 3;
	if ((c & 0xF8) == 0xF0) return 4;
	return 1;
}

/* Copy one UTF-8 character, advancing the column by one. */
static void write_char(Emitter *e, const char *s, size_t n, size_t *i)
{
	size_t w = utf8_width((unsigned char)s[*i]);
	if (*i + w > n)
		w = n - *i;
	sb_add(e->out, s + *i, w);
	*i += w;
	e->column++;
}

static void push_indent(Emitter *e)
{
	if (e->nind == e->capind) {
		e->capind = e->capind ? e->capind * 2 : 16;
		e->indents = xrealloc(e->indents, e->capind * sizeof(int));
	}
	e->indents[e->nind++] = e->indent;
}

static void pop_indent(Emitter *e) { e->indent = e->indents[--e->nind]; }

static void increase_indent(Emitter *e, bool flow, bool indentless)
{
	push_indent(e);
	if (e->indent < 0)
		e->indent = flow ? e->best_indent : 0;
	else if (!indentless)
		e->indent += e->best_indent;
}

static void write_indent(Emitter *e)
{
	int indent = e->indent < 0 ? 0 : e->indent;
	if (!e->indention || e->column > indent || (e->column == indent && !e->whitespace))
		put_break(e);
	while (e->column < indent)
		put(e, ' ');
	e->whitespace = true;
	e->indention = true;
}

static void write_indicator(Emitter *e, const char *ind, bool need_ws, bool is_ws, bool is_indention)
{
	if (need_ws && !e->whitespace)
		put(e, ' ');
	for (const char *p = ind; *p; p++)
		put(e, *p);
	e->whitespace = is_ws;
	e->indention = e->indention && is_indention;
}

static bool is_break_at(const unsigned char *b, size_t n, size_t i)
{
	if (b[i] == '\r' || b[i] == '\n')
		return true;
	if (b[i] == 0xC2 && i + 1 < n && b[i + 1] == 0x85)
		return true;
	if (b[i] == 0xE2 && i + 2 < n && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9))
		return true;
	return false;
}

static bool is_blankz_at(const unsigned char *b, size_t n, size_t i)
{
	return i >= n || b[i] == ' ' || b[i] == '\t' || b[i] == 0 || is_break_at(b, n, i);
}

static bool is_printable_at(const unsigned char *b, size_t n, size_t i)
{
	unsigned char c = b[i];
	unsigned char c1 = i + 1 < n ? b[i + 1] : 0, c2 = i + 2 < n ? b[i + 2] : 0;
	return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c == 0xC2 && c1 >= 0xA0) || (c > 0xC2 && c < 0xED) ||
	       (c == 0xED && c1 < 0xA0) || c == 0xEE ||
	       (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)));
}

typedef struct Analysis {
	bool multiline, flow_plain, block_plain, single_quoted, block;
} Analysis;

static Analysis analyze(const char *s0, size_t n)
{
	const unsigned char *v = (const unsigned char *)s0;
	Analysis a = { false, true, true, true, true };
	if (n == 0) {
		a.flow_plain = false;
		a.block = false;
		return a;
	}
	bool block_ind = false, flow_ind = false, line_breaks = false, special = false;
	bool lead_space = false, lead_break = false, trail_space = false, trail_break = false;
	bool break_space = false, space_break = false, prev_space = false, prev_break = false;
	if (n >= 3 && ((v[0] == '-' && v[1] == '-' && v[2] == '-') || (v[0] == '.' && v[1] == '.' && v[2] == '.')))
		block_ind = flow_ind = true;
	bool preceded_ws = true;
	for (size_t i = 0, w; i < n; i += w) {
		w = utf8_width(v[i]);
		bool followed_ws = i + w >= n || v[i + w] == ' ' || v[i + w] == '\t';
		if (i == 0) {
			switch (v[i]) {
			case '#': case ',': case '[': case ']': case '{': case '}': case '&': case '*': case '!':
			case '|': case '>': case '\'': case '"': case '%': case '@': case '`':
				flow_ind = block_ind = true;
				break;
			case '?': case ':':
				flow_ind = true;
				if (followed_ws)
					block_ind = true;
				break;
			case '-':
				if (followed_ws)
					flow_ind = block_ind = true;
				break;
			}
		} else {
			switch (v[i]) {
			case ',': case '?': case '[': case ']': case '{': case '}':
				flow_ind = true;
				break;
			case ':':
				flow_ind = true;
				if (followed_ws)
					block_ind = true;
				break;
			case '#':
				if (preceded_ws)
					flow_ind = block_ind = true;
				break;
			}
		}
		if (!is_printable_at(v, n, i))
			special = true;
		if (v[i] == ' ') {
			if (i == 0)
				lead_space = true;
			if (i + w == n)
				trail_space = true;
			if (prev_break)
				break_space = true;
			prev_space = true;
			prev_break = false;
		} else if (is_break_at(v, n, i)) {
			line_breaks = true;
			if (i == 0)
				lead_break = true;
			if (i + w == n)
				trail_break = true;
			if (prev_space)
				space_break = true;
			prev_space = false;
			prev_break = true;
		} else {
			prev_space = prev_break = false;
		}
		preceded_ws = is_blankz_at(v, n, i);
	}
	a.multiline = line_breaks;
	if (lead_space || lead_break || trail_space || trail_break)
		a.flow_plain = a.block_plain = false;
	if (trail_space)
		a.block = false;
	if (break_space)
		a.flow_plain = a.block_plain = a.single_quoted = false;
	if (space_break || special)
		a.flow_plain = a.block_plain = a.single_quoted = a.block = false;
	if (line_breaks)
		a.flow_plain = a.block_plain = false;
	if (flow_ind)
		a.flow_plain = false;
	if (block_ind)
		a.block_plain = false;
	return a;
}

typedef enum { ST_PLAIN, ST_SINGLE, ST_DOUBLE, ST_LITERAL } Style;

static void write_plain(Emitter *e, const char *s, size_t n, bool allow_breaks)
{
	const unsigned char *v = (const unsigned char *)s;
	if (!e->whitespace)
		put(e, ' ');
	bool spaces = false, breaks = false;
	for (size_t i = 0; i < n;) {
		if (v[i] == ' ') {
			if (allow_breaks && !spaces && e->column > e->best_width && !(i + 1 < n && v[i + 1] == ' ')) {
				write_indent(e);
				i++;
			} else
				write_char(e, s, n, &i);
			spaces = true;
		} else if (is_break_at(v, n, i)) {
			if (!breaks && v[i] == '\n')
				put_break(e);
			if (v[i] == '\n') {
				put_break(e);
				i++;
			} else {
				write_char(e, s, n, &i);
				e->column = 0;
			}
			e->indention = true;
			breaks = true;
		} else {
			if (breaks)
				write_indent(e);
			write_char(e, s, n, &i);
			e->indention = false;
			spaces = breaks = false;
		}
	}
	e->whitespace = false;
	e->indention = false;
}

static void write_single(Emitter *e, const char *s, size_t n, bool allow_breaks)
{
	const unsigned char *v = (const unsigned char *)s;
	write_indicator(e, "'", true, false, false);
	bool spaces = false, breaks = false;
	for (size_t i = 0; i < n;) {
		if (v[i] == ' ') {
			if (allow_breaks && !spaces && e->column > e->best_width && i > 0 && i < n - 1 && v[i + 1] != ' ') {
				write_indent(e);
				i++;
			} else
				write_char(e, s, n, &i);
			spaces = true;
		} else if (is_break_at(v, n, i)) {
			if (!breaks && v[i] == '\n')
				put_break(e);
			if (v[i] == '\n') {
				put_break(e);
				i++;
			} else {
				write_char(e, s, n, &i);
				e->column = 0;
			}
			e->indention = true;
			breaks = true;
		} else {
			if (breaks)
				write_indent(e);
			if (v[i] == '\'')
				put(e, '\'');
			write_char(e, s, n, &i);
			e->indention = false;
			spaces = breaks = false;
		}
	}
	write_indicator(e, "'", false, false, false);
	e->whitespace = false;
	e->indention = false;
}

static void write_double(Emitter *e, const char *s, size_t n, bool allow_breaks)
{
	const unsigned char *v = (const unsigned char *)s;
	static const char hex[] = "0123456789ABCDEF";
	bool spaces = false;
	write_indicator(e, "\"", true, false, false);
	for (size_t i = 0; i < n;) {
		bool bom = i + 2 < n && v[i] == 0xEF && v[i + 1] == 0xBB && v[i + 2] == 0xBF;
		if (!is_printable_at(v, n, i) || bom || is_break_at(v, n, i) || v[i] == '"' || v[i] == '\\') {
			unsigned char o = v[i];
			size_t w;
			uint32_t r;
			if ((o & 0x80) == 0) { w = 1; r = o & 0x7F; }
			else if ((o & 0xE0) == 0xC0) { w = 2; r = o & 0x1F; }
			else if ((o & 0xF0) == 0xE0) { w = 3; r = o & 0x0F; }
			else if ((o & 0xF8) == 0xF0) { w = 4; r = o & 0x07; }
			else { w = 1; r = o; }
			for (size_t k = 1; k < w && i + k < n; k++)
				r = (r << 6) + (v[i + k] & 0x3F);
			i += w;
			put(e, '\\');
			switch (r) {
			case 0x00: put(e, '0'); break;
			case 0x07: put(e, 'a'); break;
			case 0x08: put(e, 'b'); break;
			case 0x09: put(e, 't'); break;
			case 0x0A: put(e, 'n'); break;
			case 0x0B: put(e, 'v'); break;
			case 0x0C: put(e, 'f'); break;
			case 0x0D: put(e, 'r'); break;
			case 0x1B: put(e, 'e'); break;
			case 0x22: put(e, '"'); break;
			case 0x5C: put(e, '\\'); break;
			case 0x85: put(e, 'N'); break;
			case 0xA0: put(e, '_'); break;
			case 0x2028: put(e, 'L'); break;
			case 0x2029: put(e, 'P'); break;
			default: {
				int digits;
				if (r <= 0xFF) { put(e, 'x'); digits = 2; }
				else if (r <= 0xFFFF) { put(e, 'u'); digits = 4; }
				else { put(e, 'U'); digits = 8; }
				for (int k = (digits - 1) * 4; k >= 0; k -= 4)
					put(e, hex[(r >> k) & 0xF]);
			}
			}
			spaces = false;
		} else if (v[i] == ' ') {
			if (allow_breaks && !spaces && e->column > e->best_width && i > 0 && i < n - 1) {
				write_indent(e);
				if (i + 1 < n && v[i + 1] == ' ')
					put(e, '\\');
				i++;
			} else
				write_char(e, s, n, &i);
			spaces = true;
		} else {
			write_char(e, s, n, &i);
			spaces = false;
		}
	}
	write_indicator(e, "\"", false, false, false);
	e->whitespace = false;
	e->indention = false;
}

static void write_literal(Emitter *e, const char *s, size_t n)
{
	const unsigned char *v = (const unsigned char *)s;
	write_indicator(e, "|", true, false, false);
	if (n && (v[0] == ' ' || is_break_at(v, n, 0))) {
		char hint[2] = { (char)('0' + e->best_indent), 0 };
		write_indicator(e, hint, false, false, false);
	}
	const char *chomp = NULL;
	if (n == 0)
		chomp = "-";
	else {
		size_t i = n - 1;
		while (i > 0 && (v[i] & 0xC0) == 0x80)
			i--;
		if (!is_break_at(v, n, i))
			chomp = "-";
		else if (i == 0)
			chomp = "+";
		else {
			i--;
			while (i > 0 && (v[i] & 0xC0) == 0x80)
				i--;
			if (is_break_at(v, n, i))
				chomp = "+";
		}
	}
	if (chomp)
		write_indicator(e, chomp, false, false, false);
	put_break(e);
	e->indention = true;
	e->whitespace = true;
	bool breaks = true;
	for (size_t i = 0; i < n;) {
		if (is_break_at(v, n, i)) {
			if (v[i] == '\n') {
				put_break(e);
				i++;
			} else {
				write_char(e, s, n, &i);
				e->column = 0;
			}
			e->indention = true;
			breaks = true;
		} else {
			if (breaks)
				write_indent(e);
			write_char(e, s, n, &i);
			e->indention = false;
			breaks = false;
		}
	}
}

static bool is_base60_float(const char *s)
{
	if (!*s || !(*s == '+' || *s == '-' || (*s >= '0' && *s <= '9')) || !strchr(s, ':'))
		return false;
	/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!(*p >= '0' && *p <= '9'))
		return false;
	while ((*p >= '0' && *p <= '9') || *p == '_')
		p++;
	int groups = 0;
	while (*p == ':') {
		p++;
		int d = 0;
		if (*p >= '0' && *p <= '5' && p[1] >= '0' && p[1] <= '9') {
			p += 2;
			d = 2;
		} else if (*p >= '0' && *p <= '9') {
			p++;
			d = 1;
		}
		if (!d)
			return false;
		groups++;
	}
	if (!groups)
		return false;
	if (*p == '.') {
		p++;
		while ((*p >= '0' && *p <= '9') || *p == '_')
			p++;
	}
	return *p == 0;
}

static bool is_old_bool(const char *s)
{
	static const char *const l[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO",
					 "off", "Off", "OFF", NULL };
	return in_list(s, l);
}

static bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *v = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = v[i];
		size_t w = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
		if (!w || i + w > n)
			return false;
		for (size_t k = 1; k < w; k++)
			if ((v[i + k] & 0xC0) != 0x80)
				return false;
		if (w == 3 && ((c == 0xE0 && v[i + 1] < 0xA0) || (c == 0xED && v[i + 1] >= 0xA0)))
			return false;
		if (w == 4 && ((c == 0xF0 && v[i + 1] < 0x90) || (c == 0xF4 && v[i + 1] >= 0x90)))
			return false;
		i += w;
	}
	return true;
}

static void emit_scalar_text(Emitter *e, const char *s, size_t n, Style want)
{
	Analysis a = analyze(s, n);
	Style st = want;
	if (e->simple_key_ctx && a.multiline)
		st = ST_DOUBLE;
	if (st == ST_PLAIN) {
		if ((e->flow_level > 0 && !a.flow_plain) || (e->flow_level == 0 && !a.block_plain))
			st = ST_SINGLE;
		if (n == 0 && (e->flow_level > 0 || e->simple_key_ctx))
			st = ST_SINGLE;
	}
	if (st == ST_SINGLE && !a.single_quoted)
		st = ST_DOUBLE;
	if (st == ST_LITERAL && (!a.block || e->flow_level > 0 || e->simple_key_ctx))
		st = ST_DOUBLE;
	increase_indent(e, true, false);
	switch (st) {
	case ST_PLAIN: write_plain(e, s, n, !e->simple_key_ctx); break;
	case ST_SINGLE: write_single(e, s, n, !e->simple_key_ctx); break;
	case ST_DOUBLE: write_double(e, s, n, !e->simple_key_ctx); break;
	case ST_LITERAL: write_literal(e, s, n); break;
	}
	pop_indent(e);
}

static void emit_string(Emitter *e, const char *s, size_t n)
{
	Style st;
	if (!valid_utf8(s, n)) {
		/* go-yaml writes !!binary base64; keep the text readable instead */
		st = ST_DOUBLE;
	} else {
		bool can_plain;
		if (memchr(s, 0, n))
			can_plain = false;
		else {
			Resolved r = resolve(s, e->v3);
			can_plain = r.tag == R_STR && !is_base60_float(s) && !(e->v3 && is_old_bool(s));
		}
		if (memchr(s, '\n', n))
			st = ST_LITERAL;
		else if (can_plain)
			st = ST_PLAIN;
		else
			st = ST_DOUBLE;
	}
	emit_scalar_text(e, s, n, st);
}

static int emit_node(Emitter *e, const json_t *v, bool root, bool seq, bool map, bool simple_key);

static bool simple_key_ok(const json_t *k)
{
	/* keys are scalars here; multi-line or long keys go complex */
	const char *s = json_string_value(k);
	size_t n = json_string_length(k);
	if (memchr(s, '\n', n) || memchr(s, '\r', n))
		return false;
	return n <= 128;
}

/* go-yaml's keyList order for string keys (natural number-aware). */
static size_t decode_rune(const char *s, size_t n, size_t i, uint32_t *r)
{
	unsigned char c = (unsigned char)s[i];
	size_t w = utf8_width(c);
	if (i + w > n || w == 1) {
		*r = c;
		return 1;
	}
	uint32_t v = c & (w == 2 ? 0x1F : w == 3 ? 0x0F : 0x07);
	for (size_t k = 1; k < w; k++)
		v = (v << 6) | ((unsigned char)s[i + k] & 0x3F);
	*r = v;
	return w;
}

static bool rune_letter(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	return r >= 0xC0 && !(r >= 0x2000 && r <= 0x2BFF) && !(r >= 0x3000 && r <= 0x303F);
}

static bool rune_digit(uint32_t r) { return r >= '0' && r <= '9'; }

static int key_less(const char *a, size_t an, const char *b, size_t bn, bool v3)
{
	/* decode to runes */
	uint32_t *ar = xmalloc((an + 1) * sizeof(uint32_t)), *br = xmalloc((bn + 1) * sizeof(uint32_t));
	size_t na = 0, nb = 0;
	for (size_t i = 0; i < an;)
		i += decode_rune(a, an, i, &ar[na++]);
	for (size_t i = 0; i < bn;)
		i += decode_rune(b, bn, i, &br[nb++]);
	int result = -1;
	bool done = false;
	bool digits = false;
	for (size_t i = 0; i < na && i < nb && !done; i++) {
		if (ar[i] == br[i]) {
			if (v3)
				digits = rune_digit(ar[i]);
			continue;
		}
		bool al = rune_letter(ar[i]), bl = rune_letter(br[i]);
		if (al && bl) {
			result = ar[i] < br[i];
			done = true;
			break;
		}
		if (al || bl) {
			result = v3 && digits ? al : bl;
			done = true;
			break;
		}
		int64_t an2 = 0, bn2 = 0;
		size_t ai, bi;
		if (ar[i] == '0' || br[i] == '0') {
			for (size_t j = i; j-- > 0 && rune_digit(ar[j]);) {
				if (ar[j] != '0') {
					an2 = 1;
					bn2 = 1;
					break;
				}
			}
		}
		for (ai = i; ai < na && rune_digit(ar[ai]); ai++)
			an2 = an2 * 10 + (int64_t)(ar[ai] - '0');
		for (bi = i; bi < nb && rune_digit(br[bi]); bi++)
			bn2 = bn2 * 10 + (int64_t)(br[bi] - '0');
		if (an2 != bn2)
			result = an2 < bn2;
		else if (ai != bi)
			result = ai < bi;
		else
			result = ar[i] < br[i];
		done = true;
	}
	if (!done)
		result = na < nb;
	free(ar);
	free(br);
	return result;
}

static int key_cmp(const void *x, const void *y, void *v3p)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	const char *as = json_string_value(a), *bs = json_string_value(b);
	size_t an = json_string_length(a), bn = json_string_length(b);
	bool v3 = *(const bool *)v3p;
	if (key_less(as, an, bs, bn, v3))
		return -1;
	if (key_less(bs, bn, as, an, v3))
		return 1;
	return 0;
}

static int emit_mapping(Emitter *e, const json_t *obj)
{
	size_t n = json_object_size(obj);
	if (n == 0 || e->flow_level > 0) {
		write_indicator(e, "{", true, true, false);
		increase_indent(e, true, false);
		e->flow_level++;
		e->flow_level--;
		pop_indent(e);
		write_indicator(e, "}", false, false, false);
		return 0;
	}
	json_t **keys = xmalloc(n * sizeof(json_t *));
	size_t k = 0;
	const char *key;
	size_t klen;
	json_t *val;
	json_object_keylen_foreach((json_t *)obj, key, klen, val)
		keys[k++] = json_stringn_nocheck(key, klen);
	qsort_r(keys, n, sizeof(json_t *), key_cmp, &e->v3);
	increase_indent(e, false, false);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		write_indent(e);
		const json_t *v = json_object_getn(obj, json_string_value(keys[i]), json_string_length(keys[i]));
		if (simple_key_ok(keys[i])) {
			r = emit_node(e, keys[i], false, false, true, true);
			write_indicator(e, ":", false, false, false);
		} else {
			write_indicator(e, "?", true, false, true);
			r = emit_node(e, keys[i], false, false, true, false);
			write_indent(e);
			write_indicator(e, ":", true, false, true);
		}
		if (r == 0)
			r = emit_node(e, v, false, false, true, false);
	}
	pop_indent(e);
	for (size_t i = 0; i < n; i++)
		json_decref(keys[i]);
	free(keys);
	return r;
}

static int emit_sequence(Emitter *e, const json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n == 0 || e->flow_level > 0) {
		write_indicator(e, "[", true, true, false);
		increase_indent(e, true, false);
		pop_indent(e);
		write_indicator(e, "]", false, false, false);
		return 0;
	}
	increase_indent(e, false, !e->v3 && e->map_ctx && !e->indention);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		write_indent(e);
		write_indicator(e, "-", true, false, true);
		r = emit_node(e, json_array_get(arr, i), false, true, false, false);
	}
	pop_indent(e);
	return r;
}

static int emit_node(Emitter *e, const json_t *v, bool root, bool seq, bool map, bool simple_key)
{
	if (++e->depth > MAX_DEPTH) {
		e->depth--;
		return -ELOOP;
	}
	e->root_ctx = root;
	e->seq_ctx = seq;
	e->map_ctx = map;
	e->simple_key_ctx = simple_key;
	int r = 0;
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_OBJECT: r = emit_mapping(e, v); break;
	case JSON_ARRAY: r = emit_sequence(e, v); break;
	case JSON_STRING: emit_string(e, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		emit_scalar_text(e, buf, strlen(buf), ST_PLAIN);
		break;
	case JSON_REAL:
		yaml_format_float(json_real_value(v), buf, sizeof(buf));
		emit_scalar_text(e, buf, strlen(buf), ST_PLAIN);
		break;
	case JSON_TRUE: emit_scalar_text(e, "true", 4, ST_PLAIN); break;
	case JSON_FALSE: emit_scalar_text(e, "false", 5, ST_PLAIN); break;
	case JSON_NULL: emit_scalar_text(e, "null", 4, ST_PLAIN); break;
	}
	e->depth--;
	return r;
}

int yaml_emit(const json_t *v, int flags, StrBuf *out, Error **err)
{
	/* go-yaml v2 folds at 80 columns; v3 initialises best_width to -1 (never) */
	Emitter e = { .out = out, .v3 = (flags & YAML_EMIT_V3) != 0, .best_indent = 2,
		      .best_width = (flags & YAML_EMIT_V3) ? INT_MAX : 80,
		      .column = 0, .whitespace = true, .indention = true, .indent = -1 };
	size_t start = out->len;
	int r = emit_node(&e, v, true, false, false, false);
	free(e.indents);
	if (r < 0) {
		out->len = start;
		if (out->buf)
			out->buf[start] = 0;
		return err_set(err, -r, "yaml: value nested too deeply");
	}
	/* document end: go-yaml's write_indent at indent 0 ends the last line */
	if (!e.indention || e.column > 0 || !e.whitespace)
		put_break(&e);
	return 0;
}
