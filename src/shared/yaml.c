/* yaml.c - YAML reading for json_t (see yaml.h): libyaml events, go-yaml v2
 * scalar resolution (also used by the emitter in yaml-emit.c), then the
 * sigs.k8s.io/yaml conversion to JSON (string keys, ±Inf/NaN refused).
 * Parsing caps nesting depth and alias expansion (billion laughs) with
 * go-yaml's own rules and error texts.
 */
#include "yaml.h"
#include "yaml-internal.h"
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
bool yaml_in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (!strcmp(s, *l))
			return true;
	return false;
}

Resolved yaml_resolve(const char *in, bool v3)
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
	if (yaml_in_list(in, tru) || (!v3 && yaml_in_list(in, yes))) {
		r.tag = R_BOOL;
		r.b = true;
		return r;
	}
	if (yaml_in_list(in, fal) || (!v3 && yaml_in_list(in, no))) {
		r.tag = R_BOOL;
		return r;
	}
	if (yaml_in_list(in, nul)) {
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
	char *json_err;         /* the JSON step's complaint (±Inf, NaN, null key), reported after parsing */
	/* ±Inf/NaN scalars stand in the tree as unique placeholder objects: fine
	 * as map keys (".inf"), an error anywhere else */
	struct { json_t *node; double f; bool key; } *nonfinite;
	size_t nnonfinite;
} Parser;

/* A placeholder node for a ±Inf/NaN scalar (see Parser.nonfinite). */
static json_t *nonfinite_new(Parser *ps, double f)
{
	json_t *j = json_object();
	ps->nonfinite = xrealloc(ps->nonfinite, (ps->nnonfinite + 1) * sizeof(*ps->nonfinite));
	ps->nonfinite[ps->nnonfinite].node = j;
	ps->nonfinite[ps->nnonfinite].f = f;
	ps->nonfinite[ps->nnonfinite].key = false;
	ps->nnonfinite++;
	return j;
}

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
	Resolved r = yaml_resolve(s, false);
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
		*ret = nonfinite_new(ps, r.f);
		return 0;
	}
	*ret = resolved_json(&r, s, n);
	return 0;
}

static void set_json_err(Parser *ps, char *msg)
{
	if (!ps->json_err)
		ps->json_err = msg;
	else
		free(msg);
}

/* A placeholder made for ±Inf/NaN, or NULL; used_as_key forgets it. */
static const double *nonfinite_of(Parser *ps, const json_t *j)
{
	if (!json_is_object(j) || json_object_size(j) != 0)
		return NULL;
	for (size_t i = ps->nnonfinite; i-- > 0;)   /* a key is the newest */
		if (ps->nonfinite[i].node == j)
			return &ps->nonfinite[i].f;
	return NULL;
}

/* This placeholder is a map key: fine for JSON (".inf"). */
static void nonfinite_is_key(Parser *ps, const json_t *j)
{
	for (size_t i = ps->nnonfinite; i-- > 0;)
		if (ps->nonfinite[i].node == j) {
			ps->nonfinite[i].key = true;
			return;
		}
}

/* Go's %#v of a decoded go-yaml v2 value (for its error texts). */
static void go_sharp_v(Parser *ps, StrBuf *b, const json_t *j)
{
	const double *nf = nonfinite_of(ps, j);
	if (nf) {
		sb_adds(b, isnan(*nf) ? "NaN" : *nf > 0 ? "+Inf" : "-Inf");
		return;
	}
	switch (json_typeof(j)) {
	case JSON_STRING: {
		sb_addc(b, '"');
		const char *s = json_string_value(j);
		for (size_t i = 0; i < json_string_length(j); i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '"' || c == '\\')
				sb_addf(b, "\\%c", c);
			else if (c == '\n')
				sb_adds(b, "\\n");
			else if (c == '\t')
				sb_adds(b, "\\t");
			else if (c < 0x20 || c == 0x7f)
				sb_addf(b, "\\x%02x", c);
			else
				sb_addc(b, (char)c);
		}
		sb_addc(b, '"');
		break;
	}
	case JSON_INTEGER: sb_addf(b, "%lld", (long long)json_integer_value(j)); break;
	case JSON_REAL: {
		char f[32];
		yaml_format_float(json_real_value(j), f, sizeof(f));
		sb_adds(b, f);
		break;
	}
	case JSON_TRUE: sb_adds(b, "true"); break;
	case JSON_FALSE: sb_adds(b, "false"); break;
	case JSON_NULL: sb_adds(b, "<nil>"); break;
	case JSON_ARRAY: {
		sb_adds(b, "[]interface {}{");
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i)
				sb_adds(b, ", ");
			go_sharp_v(ps, b, json_array_get(j, i));
		}
		sb_addc(b, '}');
		break;
	}
	case JSON_OBJECT: {
		sb_adds(b, "map[interface {}]interface {}{");
		const char *k;
		size_t kl;
		json_t *v;
		bool first = true;
		json_object_keylen_foreach((json_t *)j, k, kl, v) {
			if (!first)
				sb_adds(b, ", ");
			first = false;
			json_t *ks = json_stringn_nocheck(k, kl);
			go_sharp_v(ps, b, ks);
			json_decref(ks);
			sb_addc(b, ':');
			go_sharp_v(ps, b, v);
		}
		sb_addc(b, '}');
		break;
	}
	}
}

/* sigs.k8s.io/yaml's conversion of a non-string key to its JSON key. */
__attribute__((noinline)) static char *key_string(Parser *ps, json_t *key, const json_t *val)
{
	const double *nf = nonfinite_of(ps, key);
	if (nf) {
		const char *k = isnan(*nf) ? ".nan" : *nf > 0 ? ".inf" : "-.inf";
		nonfinite_is_key(ps, key);
		return xstrdup(k);
	}
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
	default: {
		/* a null key: JSON has no such thing; reported once parsing is done */
		StrBuf b = STRBUF_INIT;
		sb_adds(&b, "unsupported map key of type: %!s(<nil>), key: <nil>, value: ");
		go_sharp_v(ps, &b, val);
		set_json_err(ps, sb_detach(&b));
		return xstrdup("");
	}
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
		if ((json_is_object(key) && !nonfinite_of(ps, key)) || json_is_array(key)) {
			StrBuf b = STRBUF_INIT;
			sb_adds(&b, "yaml: invalid map key: ");
			go_sharp_v(ps, &b, key);
			json_decref(key);
			json_decref(val);
			fail_msg(ps, b.buf);
			sb_release(&b);
			goto fail;
		}
		_cleanup_free_ char *ks2 = key_string(ps, key, val);
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
			const double *nf = nonfinite_of(ps, ps->anchors[i].node);
			if (nf) {
				/* each use of an aliased ±Inf/NaN is judged on its own (key or value) */
				*ret = nonfinite_new(ps, *nf);
				return 0;
			}
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
	for (size_t i = 0; r == 0 && !ps.json_err && i < ps.nnonfinite; i++) {
		/* json.Marshal refuses ±Inf and NaN values */
		double f = ps.nonfinite[i].f;
		if (!ps.nonfinite[i].key)
			ps.json_err = xstrdup(isnan(f) ? "json: unsupported value: NaN" : f > 0 ? "json: unsupported value: +Inf"
												 : "json: unsupported value: -Inf");
	}
	if (r == 0 && ps.json_err)
		r = err_set(err, EINVAL, "%s", ps.json_err);
	free(ps.json_err);
	free(ps.nonfinite);
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
