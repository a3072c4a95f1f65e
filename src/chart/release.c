/* release.c - the Helm v3 release record and its storage in Secrets.
 *
 * Helm marshals release.Release with Go's encoding/json, gzips it (best
 * compression) and base64-encodes it; the Secret's data.release holds that
 * text (so the API carries it base64'ed once more).  The record is kept as a
 * jansson tree in Helm's field order; release_to_json writes it as Go would
 * (so a record round-trips byte for byte), and the decoder accepts what Helm
 * writes (gzip or plain JSON) while capping what a hostile Secret can make
 * it allocate.
 */
#include "release.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* Hand e to the caller (or drop it when the caller passed no err). */
static void err_pass(Error **err, Error *e)
{
	if (err && !*err)
		*err = e;
	else
		err_free(e);
}

/* ---- base64 ------------------------------------------------------------------------------ */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *release_b64_encode(const void *data, size_t len)
{
	const unsigned char *s = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = 0;
	return out;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Go's StdEncoding.DecodeString: padded, strict (CR/LF ignored as Go does). */
int release_b64_decode(const char *s, size_t len, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = xmalloc(len / 4 * 3 + 4);
	size_t o = 0, q = 0, pad = 0;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			v <<= 6;
			q++;
		} else {
			int d = b64_val(c);
			if (d < 0 || pad)
				return -EINVAL;
			v = v << 6 | (unsigned)d;
			q++;
		}
		if (q == 4) {
			if (pad > 2)
				return -EINVAL;
			out[o++] = (char)(v >> 16);
			if (pad < 2)
				out[o++] = (char)(v >> 8);
			if (pad < 1)
				out[o++] = (char)v;
			q = 0;
			v = 0;
			if (pad) {
				/* only line breaks may follow the padding */
				for (size_t k = i + 1; k < len; k++)
					if (s[k] != '\r' && s[k] != '\n')
						return -EINVAL;
				break;
			}
		}
	}
	if (q)
		return -EINVAL;
	out[o] = 0;
	*ret_len = o;
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- gzip -------------------------------------------------------------------------------- */
static int gzip_buf(const char *in, size_t len, StrBuf *out, Error **err)
{
	z_stream z = { 0 };
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return err_set(err, ENOMEM, "gzip: cannot initialise");
	size_t bound = deflateBound(&z, len) + 32;
	sb_grow(out, bound);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->buf + out->len;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	if (rc != Z_STREAM_END) {
		deflateEnd(&z);
		return err_set(err, EIO, "gzip: compression failed");
	}
	out->len += z.total_out;
	out->buf[out->len] = 0;
	deflateEnd(&z);
	return 0;
}

static int gunzip_buf(const char *in, size_t len, size_t max, StrBuf *out, Error **err)
{
	z_stream z = { 0 };
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return err_set(err, ENOMEM, "gunzip: cannot initialise");
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	int rc = Z_OK;
	while (rc != Z_STREAM_END) {
		if (out->len > max) {
			inflateEnd(&z);
			return err_set(err, EFBIG, "release data: decompressed size exceeds %zu bytes", (size_t)max);
		}
		sb_grow(out, 64 << 10);
		size_t room = out->cap - out->len - 1;
		if (room > max + 1 - out->len)
			room = max + 1 - out->len;
		z.next_out = (Bytef *)out->buf + out->len;
		z.avail_out = (uInt)room;
		rc = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		out->buf[out->len] = 0;
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
			inflateEnd(&z);
			return err_set(err, EINVAL, "release data: gzip: %s", z.msg ? z.msg : "unexpected EOF");
		}
	}
	inflateEnd(&z);
	return 0;
}

/* ---- Go's encoding/json -------------------------------------------------------------------- */
static void go_string(StrBuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	sb_addc(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sb_addc(sb, '\\');
			sb_addc(sb, (char)c);
		} else if (c == '\n') {
			sb_adds(sb, "\\n");
		} else if (c == '\r') {
			sb_adds(sb, "\\r");
		} else if (c == '\t') {
			sb_adds(sb, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			sb_adds(sb, "\\u00");
			sb_addc(sb, hex[c >> 4]);
			sb_addc(sb, hex[c & 15]);
		} else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
			sb_adds(sb, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
			i += 2;
		} else {
			sb_addc(sb, (char)c);
		}
	}
	sb_addc(sb, '"');
}

/* strconv.FormatFloat(f, 'f' or 'e', -1, 64) as encoding/json picks it. */
static void go_float(StrBuf *sb, double f)
{
	if (!isfinite(f)) {
		sb_adds(sb, "null");
		return;
	}
	char buf[64];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	double a = fabs(f);
	if (a == 0 || (a >= 1e-6 && a < 1e21)) {
		/* shortest digits, printed without exponent */
		char *e = strchr(buf, 'e');
		int exp = atoi(e + 1);
		*e = 0;
		char digits[32];
		size_t nd = 0;
		for (char *p = buf; *p; p++)
			if (isdigit((unsigned char)*p))
				digits[nd++] = *p;
		digits[nd] = 0;
		while (nd > 1 && digits[nd - 1] == '0')
			digits[--nd] = 0;
		if (signbit(f))
			sb_addc(sb, '-');
		if (exp < 0) {
			sb_adds(sb, "0.");
			for (int i = -1; i > exp; i--)
				sb_addc(sb, '0');
			sb_adds(sb, digits);
		} else if ((size_t)exp + 1 >= nd) {
			sb_adds(sb, digits);
			for (size_t i = nd; i < (size_t)exp + 1; i++)
				sb_addc(sb, '0');
		} else {
			sb_add(sb, digits, (size_t)exp + 1);
			sb_addc(sb, '.');
			sb_adds(sb, digits + exp + 1);
		}
		return;
	}
	/* 1e+21, 1.5e-07: mantissa trimmed, exponent at least two digits */
	char *e = strchr(buf, 'e');
	int exp = atoi(e + 1);
	*e = 0;
	size_t ml = strlen(buf);
	if (strchr(buf, '.')) {
		while (buf[ml - 1] == '0')
			buf[--ml] = 0;
		if (buf[ml - 1] == '.')
			buf[--ml] = 0;
	}
	sb_addf(sb, "%se%c%02d", buf, exp < 0 ? '-' : '+', abs(exp));
}

static void go_json(StrBuf *sb, const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		sb_addc(sb, '{');
		const char *k;
		json_t *v;
		bool first = true;
		json_object_foreach((json_t *)j, k, v) {
			if (!first)
				sb_addc(sb, ',');
			first = false;
			go_string(sb, k, strlen(k));
			sb_addc(sb, ':');
			go_json(sb, v);
		}
		sb_addc(sb, '}');
		break;
	}
	case JSON_ARRAY:
		sb_addc(sb, '[');
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i)
				sb_addc(sb, ',');
			go_json(sb, json_array_get(j, i));
		}
		sb_addc(sb, ']');
		break;
	case JSON_STRING:
		go_string(sb, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		sb_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		go_float(sb, json_real_value(j));
		break;
	case JSON_TRUE: sb_adds(sb, "true"); break;
	case JSON_FALSE: sb_adds(sb, "false"); break;
	default: sb_adds(sb, "null"); break;
	}
}

/* A deep copy whose objects have sorted keys (Go marshals maps sorted). */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static json_t *sorted_copy(const json_t *j)
{
	if (json_is_array(j)) {
		json_t *a = json_array();
		for (size_t i = 0; i < json_array_size(j); i++)
			json_array_append_new(a, sorted_copy(json_array_get(j, i)));
		return a;
	}
	if (!json_is_object(j))
		return json_deep_copy(j);
	size_t n = json_object_size(j), i = 0;
	_cleanup_free_ const char **keys = xcalloc(n ? n : 1, sizeof *keys);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v) keys[i++] = k;
	qsort(keys, n, sizeof *keys, cmp_str);
	json_t *o = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(o, keys[i], sorted_copy(json_object_get(j, keys[i])));
	return o;
}

char *release_to_json(const json_t *rel)
{
	StrBuf sb;
	sb_init(&sb);
	go_json(&sb, rel);
	return sb_detach(&sb);
}

int release_encode(const json_t *rel, char **ret, size_t *ret_len, Error **err)
{
	_cleanup_free_ char *js = release_to_json(rel);
	_cleanup_sb_ StrBuf gz = STRBUF_INIT;
	if (gzip_buf(js, strlen(js), &gz, err) < 0)
		return err_prefix(err, "release %s", release_name(rel));
	*ret = release_b64_encode(gz.buf, gz.len);
	*ret_len = strlen(*ret);
	return 0;
}

int release_decode(const char *data, size_t len, json_t **ret, Error **err)
{
	_cleanup_free_ char *raw = NULL;
	size_t rlen = 0;
	if (release_b64_decode(data, len, &raw, &rlen) < 0)
		return err_set(err, EINVAL, "release data: illegal base64 data");
	_cleanup_sb_ StrBuf plain = STRBUF_INIT;
	const char *js = raw;
	size_t jlen = rlen;
	if (rlen >= 3 && !memcmp(raw, "\x1f\x8b\x08", 3)) {
		if (gunzip_buf(raw, rlen, RELEASE_MAX_DECODED, &plain, err) < 0)
			return -EINVAL;
		js = plain.buf;
		jlen = plain.len;
	}
	json_error_t je;
	json_t *j = json_loadb(js, jlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!j)
		return err_set(err, EINVAL, "release data: invalid JSON: %s (offset %d)", je.text, je.position);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(err, EINVAL, "release data: json: cannot unmarshal into Go value of type release.Release");
	}
	*ret = j;
	return 0;
}

/* ---- fields ------------------------------------------------------------------------------- */
const char *release_name(const json_t *rel) { return json_str(rel, "name") ?: ""; }
const char *release_namespace(const json_t *rel) { return json_str(rel, "namespace") ?: ""; }
int release_version(const json_t *rel) { return (int)json_int(rel, "version", 0); }

const char *release_status(const json_t *rel)
{
	return json_str(json_object_get(rel, "info"), "status") ?: "unknown";
}

void release_set_status(json_t *rel, const char *status, const char *description)
{
	json_t *info = json_object_get(rel, "info");
	if (!json_is_object(info)) {
		info = json_object();
		json_object_set_new(rel, "info", info);
	}
	json_object_set_new(info, "status", json_string(status));
	if (description)
		json_object_set_new(info, "description", json_string(description));
}

static const json_t *chart_meta_of(const json_t *rel)
{
	return json_object_get(json_object_get(rel, "chart"), "metadata");
}

char *release_chart_label(const json_t *rel)
{
	const json_t *m = chart_meta_of(rel);
	return xasprintf("%s-%s", json_str(m, "name") ?: "", json_str(m, "version") ?: "");
}

const char *release_app_version(const json_t *rel) { return json_str(chart_meta_of(rel), "appVersion") ?: ""; }

/* ---- time --------------------------------------------------------------------------------- */
char *release_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char frac[16] = "";
	if (ts.tv_nsec) {
		snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
		size_t l = strlen(frac);
		while (frac[l - 1] == '0')
			frac[--l] = 0;
	}
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, frac);
}

typedef struct GoTime {
	int y, mo, d, h, mi, s;
	char frac[12];       /* ".123" or "" */
	int off;             /* seconds east of UTC */
	bool utc;
} GoTime;

static bool parse_rfc3339(const char *s, GoTime *t)
{
	memset(t, 0, sizeof *t);
	int n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &t->y, &t->mo, &t->d, &t->h, &t->mi, &t->s, &n) != 6)
		return false;
	const char *p = s + n;
	if (*p == '.') {
		size_t l = 1;
		while (isdigit((unsigned char)p[l]) && l < 10)
			l++;
		memcpy(t->frac, p, l);
		t->frac[l] = 0;
		while (isdigit((unsigned char)p[l]))
			l++;
		p += l;
	}
	if (*p == 'Z') {
		t->utc = true;
	} else if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return false;
		t->off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
	} else {
		return false;
	}
	return true;
}

static int weekday(int y, int m, int d)
{
	static const int tt[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
	if (m < 3)
		y -= 1;
	return (y + y / 4 - y / 100 + y / 400 + tt[m - 1] + d) % 7;
}

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void release_time_ansic(const char *rfc, char *buf, size_t n)
{
	GoTime t;
	if (!parse_rfc3339(rfc, &t) || t.mo < 1 || t.mo > 12) {
		snprintf(buf, n, "%s", rfc ? rfc : "");
		return;
	}
	snprintf(buf, n, "%s %s %2d %02d:%02d:%02d %d", wdays[weekday(t.y, t.mo, t.d)], months[t.mo - 1], t.d, t.h,
		 t.mi, t.s, t.y);
}

void release_time_string(const char *rfc, char *buf, size_t n)
{
	GoTime t;
	if (!parse_rfc3339(rfc, &t)) {
		snprintf(buf, n, "%s", rfc ? rfc : "");
		return;
	}
	char frac[12];
	snprintf(frac, sizeof frac, "%s", t.frac);
	size_t l = strlen(frac);
	while (l > 1 && frac[l - 1] == '0')
		frac[--l] = 0;
	if (l == 1)
		frac[0] = 0;
	int a = t.off < 0 ? -t.off : t.off;
	char zone[16];
	snprintf(zone, sizeof zone, "%c%02d%02d", t.off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
	snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d%s %s %s", t.y, t.mo, t.d, t.h, t.mi, t.s, frac, zone,
		 t.utc ? "UTC" : zone);
}

/* ---- building a record --------------------------------------------------------------------- */
static void put_str(json_t *o, const char *key, const json_t *v, bool omitempty)
{
	const char *s = NULL;
	char num[64];
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), s = num;
	else if (json_is_real(v))
		snprintf(num, sizeof num, "%g", json_real_value(v)), s = num;
	if (s && *s)
		json_object_set_new(o, key, json_string(s));
	else if (!omitempty)
		json_object_set_new(o, key, json_string(""));
}

static void put_nonempty(json_t *o, const char *key, const json_t *v)
{
	if ((json_is_array(v) && json_array_size(v)) || (json_is_object(v) && json_object_size(v)))
		json_object_set_new(o, key, sorted_copy(v));
}

/* chart.Metadata in its declared field order, omitempty as tagged. */
static json_t *meta_json(const json_t *m)
{
	json_t *o = json_object();
	put_str(o, "name", json_object_get(m, "name"), true);
	put_str(o, "home", json_object_get(m, "home"), true);
	put_nonempty(o, "sources", json_object_get(m, "sources"));
	put_str(o, "version", json_object_get(m, "version"), true);
	put_str(o, "description", json_object_get(m, "description"), true);
	put_nonempty(o, "keywords", json_object_get(m, "keywords"));
	json_t *ms = json_object_get(m, "maintainers");
	if (json_array_size(ms)) {
		json_t *a = json_array();
		for (size_t i = 0; i < json_array_size(ms); i++) {
			json_t *x = json_array_get(ms, i), *y = json_object();
			put_str(y, "name", json_object_get(x, "name"), true);
			put_str(y, "email", json_object_get(x, "email"), true);
			put_str(y, "url", json_object_get(x, "url"), true);
			json_array_append_new(a, y);
		}
		json_object_set_new(o, "maintainers", a);
	}
	put_str(o, "icon", json_object_get(m, "icon"), true);
	put_str(o, "apiVersion", json_object_get(m, "apiVersion"), true);
	put_str(o, "condition", json_object_get(m, "condition"), true);
	put_str(o, "tags", json_object_get(m, "tags"), true);
	put_str(o, "appVersion", json_object_get(m, "appVersion"), true);
	if (json_is_true(json_object_get(m, "deprecated")))
		json_object_set_new(o, "deprecated", json_true());
	put_nonempty(o, "annotations", json_object_get(m, "annotations"));
	put_str(o, "kubeVersion", json_object_get(m, "kubeVersion"), true);
	json_t *ds = json_object_get(m, "dependencies");
	if (json_array_size(ds)) {
		json_t *a = json_array();
		for (size_t i = 0; i < json_array_size(ds); i++) {
			json_t *x = json_array_get(ds, i), *y = json_object();
			put_str(y, "name", json_object_get(x, "name"), false);
			put_str(y, "version", json_object_get(x, "version"), true);
			put_str(y, "repository", json_object_get(x, "repository"), false);
			put_str(y, "condition", json_object_get(x, "condition"), true);
			put_nonempty(y, "tags", json_object_get(x, "tags"));
			if (json_is_true(json_object_get(x, "enabled")))
				json_object_set_new(y, "enabled", json_true());
			put_nonempty(y, "import-values", json_object_get(x, "import-values"));
			put_str(y, "alias", json_object_get(x, "alias"), true);
			json_array_append_new(a, y);
		}
		json_object_set_new(o, "dependencies", a);
	}
	put_str(o, "type", json_object_get(m, "type"), true);
	return o;
}

/* []*chart.File: a nil slice (no files) marshals as null */
static json_t *files_json(const ChartFile *f, size_t n)
{
	if (!n)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(f[i].name));
		_cleanup_free_ char *b = release_b64_encode(f[i].data, f[i].len);
		json_object_set_new(o, "data", json_string(b));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *release_chart_json(const Chart *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "metadata", meta_json(c->meta));
	json_object_set_new(o, "lock", json_null());
	json_object_set_new(o, "templates", files_json(c->templates, c->ntemplates));
	json_object_set_new(o, "values", sorted_copy(c->values));
	if (c->schema) {
		_cleanup_free_ char *s = release_b64_encode(c->schema, c->schema_len);
		json_object_set_new(o, "schema", json_string(s));
	} else {
		json_object_set_new(o, "schema", json_null());
	}
	json_object_set_new(o, "files", files_json(c->files, c->nfiles));
	return o;
}

json_t *release_new(const char *name, const char *ns, int version, json_t *chart, json_t *config,
		    const char *manifest, json_t *hooks, const char *notes)
{
	_cleanup_free_ char *now = release_time_now();
	json_t *r = json_object(), *info = json_object();
	json_object_set_new(r, "name", json_string(name));
	json_object_set_new(info, "first_deployed", json_string(now));
	json_object_set_new(info, "last_deployed", json_string(now));
	json_object_set_new(info, "deleted", json_string(RELEASE_TIME_ZERO));
	json_object_set_new(info, "description", json_string(""));
	json_object_set_new(info, "status", json_string("unknown"));
	if (notes && *notes)
		json_object_set_new(info, "notes", json_string(notes));
	json_object_set_new(r, "info", info);
	json_object_set_new(r, "chart", chart);
	if (config && json_object_size(config))
		json_object_set_new(r, "config", sorted_copy(config));
	json_decref(config);
	if (manifest && *manifest)
		json_object_set_new(r, "manifest", json_string(manifest));
	if (hooks && json_array_size(hooks))
		json_object_set(r, "hooks", hooks);
	json_decref(hooks);
	json_object_set_new(r, "version", json_integer(version));
	json_object_set_new(r, "namespace", json_string(ns));
	return r;
}

/* ---- Secrets --------------------------------------------------------------------------------- */
static char *secret_name(const char *name, int version)
{
	return xasprintf(RELEASE_SECRET_PREFIX "%s.v%d", name, version);
}

int release_secret(const json_t *rel, bool create, json_t **ret, Error **err)
{
	_cleanup_free_ char *enc = NULL;
	size_t elen = 0;
	if (release_encode(rel, &enc, &elen, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *key = secret_name(release_name(rel), release_version(rel));
	if (elen > RELEASE_MAX_SECRET_DATA)
		return err_set(err, EFBIG,
			       "release %s: the encoded release is %zu bytes; a Secret holds at most %u bytes "
			       "(data.release of Secret %s is too long)", release_name(rel), elen,
			       RELEASE_MAX_SECRET_DATA, key);
	_cleanup_free_ char *wire = release_b64_encode(enc, elen);
	char ts[32], ver[16];
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	snprintf(ver, sizeof ver, "%d", release_version(rel));
	json_t *labels = json_pack("{s:s,s:s,s:s,s:s,s:s}", create ? "createdAt" : "modifiedAt", ts,
				   "name", release_name(rel), "owner", "helm", "status", release_status(rel),
				   "version", ver);
	*ret = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
			 "metadata", "name", key, "namespace", release_namespace(rel), "labels", labels,
			 "type", RELEASE_SECRET_TYPE, "data", "release", wire);
	return 0;
}

int release_from_secret(const json_t *secret, json_t **ret, Error **err)
{
	const char *name = json_str(json_object_get(secret, "metadata"), "name") ?: "?";
	const char *wire = json_str(json_object_get(secret, "data"), "release");
	if (!wire)
		return err_set(err, EINVAL, "Secret %s: no data.release", name);
	_cleanup_free_ char *enc = NULL;
	size_t elen = 0;
	if (release_b64_decode(wire, strlen(wire), &enc, &elen) < 0)
		return err_set(err, EINVAL, "Secret %s: data.release: illegal base64 data", name);
	if (release_decode(enc, elen, ret, err) < 0)
		return err_prefix(err, "Secret %s", name);
	return 0;
}

/* ---- storage ----------------------------------------------------------------------------------- */
static int cmp_rel(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int c = strcmp(release_namespace(a), release_namespace(b));
	if (!c)
		c = strcmp(release_name(a), release_name(b));
	if (!c)
		c = release_version(a) - release_version(b);
	return c;
}

int release_store_list(KubeClient *kc, const char *ns, const char *name, json_t **ret, Error **err)
{
	_cleanup_free_ char *path = NULL;
	if (name)
		path = xasprintf("/api/v1%s%s/secrets?labelSelector=owner%%3Dhelm%%2Cname%%3D%s", ns ? "/namespaces/" : "",
				 ns ? ns : "", name);
	else
		path = xasprintf("/api/v1%s%s/secrets?labelSelector=owner%%3Dhelm", ns ? "/namespaces/" : "", ns ? ns : "");
	_cleanup_json_ json_t *list = NULL;
	if (kube_get(kc, path, &list, err) < 0)
		return err_prefix(err, "list releases");
	json_t *items = json_object_get(list, "items");
	size_t n = json_array_size(items), k = 0;
	_cleanup_free_ json_t **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(items, i);
		if (strcmp(json_str(s, "type") ?: "", RELEASE_SECRET_TYPE))
			continue;
		json_t *r = NULL;
		if (release_from_secret(s, &r, NULL) < 0)
			continue;   /* Helm logs and skips undecodable records */
		v[k++] = r;
	}
	qsort(v, k, sizeof *v, cmp_rel);
	json_t *a = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(a, v[i]);
	*ret = a;
	return 0;
}

int release_store_last(KubeClient *kc, const char *ns, const char *name, json_t **ret, Error **err)
{
	_cleanup_json_ json_t *all = NULL;
	if (release_store_list(kc, ns, name, &all, err) < 0)
		return -EIO;
	size_t n = json_array_size(all);
	if (!n)
		return err_set(err, ENOENT, "release: not found");
	*ret = json_incref(json_array_get(all, n - 1));
	return 0;
}

int release_store_get(KubeClient *kc, const char *ns, const char *name, int version, json_t **ret, Error **err)
{
	_cleanup_free_ char *key = secret_name(name, version);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ns, key);
	_cleanup_json_ json_t *s = NULL;
	Error *e = NULL;
	int rc = kube_get(kc, path, &s, &e);
	if (rc == -ENOENT) {
		err_free(e);
		return err_set(err, ENOENT, "release: not found");
	}
	if (rc < 0) {
		err_pass(err, e);
		return rc;
	}
	return release_from_secret(s, ret, err);
}

int release_store_create(KubeClient *kc, const json_t *rel, Error **err)
{
	_cleanup_json_ json_t *s = NULL, *out = NULL;
	if (release_secret(rel, true, &s, err) < 0)
		return err_prefix(err, "create");
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/secrets", release_namespace(rel));
	int rc = kube_post(kc, path, s, &out, err);
	if (rc == -EEXIST) {
		if (err && *err) {
			err_free(*err);
			*err = NULL;
		}
		return err_set(err, EEXIST, "release: already exists");
	}
	return rc < 0 ? err_prefix(err, "create: failed to create") : 0;
}

int release_store_update(KubeClient *kc, const json_t *rel, Error **err)
{
	_cleanup_json_ json_t *s = NULL, *out = NULL;
	if (release_secret(rel, false, &s, err) < 0)
		return err_prefix(err, "update");
	_cleanup_free_ char *key = secret_name(release_name(rel), release_version(rel));
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", release_namespace(rel), key);
	if (kube_put(kc, path, s, &out, err) < 0)
		return err_prefix(err, "update: failed to update");
	return 0;
}

int release_store_delete(KubeClient *kc, const char *ns, const char *name, int version, Error **err)
{
	_cleanup_free_ char *key = secret_name(name, version);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ns, key);
	int rc = kube_delete(kc, path, err);
	return rc < 0 ? err_prefix(err, "delete release %s", key) : 0;
}
