/* funcs-encoding.c - Sprig's encoding, path and URL functions: b64/b32
 * (Go's StdEncoding, error text returned as the value like sprig does),
 * path.Base/Dir/Clean/Ext/IsAbs (and the os* variants, same on Linux),
 * urlParse/urlJoin after net/url, and Helm's DNS-less getHostByName.
 */
#include "tmpl.h"
#include <string.h>

static const char b64tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int ret_buf(Ctx *c, ABuf *b, Value **ret)
{
	*ret = value_str_nocopy(c->a, abuf_str(b), b->len);
	return 0;
}

void base64_encode(ABuf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)s[i] << 16;
		if (i + 1 < n) x |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n) x |= s[i + 2];
		abuf_addc(b, b64tbl[(x >> 18) & 63]);
		abuf_addc(b, b64tbl[(x >> 12) & 63]);
		abuf_addc(b, i + 1 < n ? b64tbl[(x >> 6) & 63] : '=');
		abuf_addc(b, i + 2 < n ? b64tbl[x & 63] : '=');
	}
}

/* base64.StdEncoding.DecodeString; returns -1 and the failing offset. */
int base64_decode(ABuf *b, const char *s, size_t n, size_t *bad)
{
	/* Go ignores \r and \n */
	uint32_t acc = 0;
	int bits = 0, quad = 0;
	size_t pad_at = (size_t)-1;
	size_t si = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '=') {
			if (quad < 2) {
				*bad = si;
				return -1;
			}
			pad_at = si;
			/* count padding: must complete the quantum exactly */
			size_t j = i;
			int pads = 0;
			while (j < n && (s[j] == '=' || s[j] == '\r' || s[j] == '\n')) {
				if (s[j] == '=')
					pads++;
				j++;
			}
			if (quad + pads != 4 || j != n) {
				*bad = quad + pads > 4 ? pad_at + (size_t)(4 - quad) : (j != n ? pad_at + (size_t)pads : n);
				if (quad + pads < 4)
					*bad = n;
				return -1;
			}
			break;
		}
		const char *p = strchr(b64tbl, ch);
		if (!p || !ch) {
			*bad = si;
			return -1;
		}
		acc = acc << 6 | (uint32_t)(p - b64tbl);
		bits += 6;
		quad = (quad + 1) % 4;
		if (bits >= 8) {
			bits -= 8;
			abuf_addc(b, (char)((acc >> bits) & 0xFF));
		}
		si++;
	}
	if (pad_at == (size_t)-1 && quad != 0) {
		*bad = si - (size_t)quad;
		if (quad == 1)
			*bad = si - 1;
		return -1;
	}
	return 0;
}

static int f_b64enc(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	base64_encode(&b, (const unsigned char *)a[0]->u.s.p, a[0]->u.s.n);
	return ret_buf(c, &b, ret);
}

static int f_b64dec(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	size_t bad = 0;
	if (base64_decode(&b, a[0]->u.s.p, a[0]->u.s.n, &bad) < 0) {
		*ret = value_str(c->a, arena_printf(c->a, "illegal base64 data at input byte %zu", bad));
		return 0;
	}
	return ret_buf(c, &b, ret);
}

static int f_b32enc(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const unsigned char *s = (const unsigned char *)a[0]->u.s.p;
	size_t len = a[0]->u.s.n;
	ABuf b;
	abuf_init(&b, c->a);
	for (size_t i = 0; i < len; i += 5) {
		uint64_t x = 0;
		size_t k = len - i < 5 ? len - i : 5;
		for (size_t j = 0; j < 5; j++)
			x = x << 8 | (j < k ? s[i + j] : 0);
		static const int chars[] = { 0, 2, 4, 5, 7, 8 };
		int nc = chars[k];
		for (int j = 0; j < 8; j++)
			abuf_addc(&b, j < nc ? b32tbl[(x >> (35 - 5 * j)) & 31] : '=');
	}
	return ret_buf(c, &b, ret);
}

static int f_b32dec(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *s = a[0]->u.s.p;
	size_t len = a[0]->u.s.n;
	ABuf b;
	abuf_init(&b, c->a);
	uint64_t acc = 0;
	int bits = 0;
	size_t i;
	size_t data = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=')
			break;
		const char *p = s[i] ? strchr(b32tbl, s[i]) : NULL;
		if (!p) {
			*ret = value_str(c->a, arena_printf(c->a, "illegal base32 data at input byte %zu", data));
			return 0;
		}
		acc = acc << 5 | (uint64_t)(p - b32tbl);
		bits += 5;
		data++;
		if (bits >= 8) {
			bits -= 8;
			abuf_addc(&b, (char)((acc >> bits) & 0xFF));
		}
	}
	size_t total = 0;
	for (size_t k = 0; k < len; k++)
		if (s[k] != '\r' && s[k] != '\n')
			total++;
	if (total % 8 != 0) {
		*ret = value_str(c->a, arena_printf(c->a, "illegal base32 data at input byte %zu", total - total % 8));
		return 0;
	}
	return ret_buf(c, &b, ret);
}

/* ---- paths (path.Clean and friends) ---------------------------------------------------- */
static const char *path_clean(Arena *a, const char *p, size_t n, size_t *olen)
{
	if (n == 0) {
		*olen = 1;
		return ".";
	}
	bool rooted = p[0] == '/';
	char *out = arena_alloc(a, n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/')
			r++;
		else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))
			r++;
		else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0) {
		*olen = 1;
		return ".";
	}
	out[w] = 0;
	*olen = w;
	return out;
}

static int f_clean(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	size_t l;
	const char *p = path_clean(c->a, a[0]->u.s.p, a[0]->u.s.n, &l);
	*ret = value_strn(c->a, p, l);
	return 0;
}

static int f_base(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *p = a[0]->u.s.p;
	size_t len = a[0]->u.s.n;
	if (len == 0) {
		*ret = value_str(c->a, ".");
		return 0;
	}
	while (len > 0 && p[len - 1] == '/')
		len--;
	size_t st = len;
	while (st > 0 && p[st - 1] != '/')
		st--;
	if (len == 0) {
		*ret = value_str(c->a, "/");
		return 0;
	}
	*ret = value_strn(c->a, p + st, len - st);
	return 0;
}

static int f_dir(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *p = a[0]->u.s.p;
	size_t len = a[0]->u.s.n, i = len;
	while (i > 0 && p[i - 1] != '/')
		i--;
	size_t l;
	const char *d = path_clean(c->a, p, i, &l);
	*ret = value_strn(c->a, d, l);
	return 0;
}

static int f_ext(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *p = a[0]->u.s.p;
	for (size_t i = a[0]->u.s.n; i > 0 && p[i - 1] != '/'; i--)
		if (p[i - 1] == '.') {
			*ret = value_strn(c->a, p + i - 1, a[0]->u.s.n - (i - 1));
			return 0;
		}
	*ret = value_str(c->a, "");
	return 0;
}

static int f_is_abs(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(a[0]->u.s.n > 0 && a[0]->u.s.p[0] == '/');
	return 0;
}

/* ---- URLs ---------------------------------------------------------------------------------- */
static bool url_unreserved_path(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("-_.~$&+,/:;=@!*'()", ch);
}

static void url_escape(ABuf *b, const char *s, size_t n, bool fragment)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch && (url_unreserved_path(ch) || (fragment && ch == '?')))
			abuf_addc(b, (char)ch);
		else {
			abuf_addc(b, '%');
			abuf_addc(b, hex[ch >> 4]);
			abuf_addc(b, hex[ch & 0xF]);
		}
	}
}

static int unhex(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') return (ch | 0x20) - 'a' + 10;
	return -1;
}

static const char *unescape(Arena *a, const char *s, size_t n, size_t *olen)
{
	ABuf b;
	abuf_init(&b, a);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
			abuf_addc(&b, (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2])));
			i += 2;
		} else
			abuf_addc(&b, s[i]);
	}
	*olen = b.len;
	return abuf_str(&b);
}

static int f_url_parse(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *s = a[0]->u.s.p;
	size_t len = a[0]->u.s.n;
	const char *frag = "", *query = "", *scheme = "", *opaque = "", *userinfo = "", *host = "", *path = "";
	size_t fl = 0, ql = 0, sl = 0, ol = 0, ul = 0, hl = 0, pl = 0;
	const char *h = memchr(s, '#', len);
	size_t rest = h ? (size_t)(h - s) : len;
	if (h)
		frag = unescape(c->a, h + 1, len - rest - 1, &fl);
	/* scheme */
	size_t i = 0;
	if (rest > 0 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
		for (i = 1; i < rest; i++) {
			char ch = s[i];
			if (ch == ':')
				break;
			if (!((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') && !(ch >= '0' && ch <= '9') && ch != '+' && ch != '-' && ch != '.')
				break;
		}
		if (i < rest && s[i] == ':') {
			scheme = arena_strndup(c->a, s, i);
			sl = i;
			for (size_t k = 0; k < sl; k++)
				((char *)scheme)[k] = (char)((scheme[k] >= 'A' && scheme[k] <= 'Z') ? scheme[k] + 32 : scheme[k]);
			i++;
		} else
			i = 0;
	}
	const char *q = memchr(s + i, '?', rest - i);
	size_t end = q ? (size_t)(q - s) : rest;
	if (q) {
		query = q + 1;
		ql = rest - end - 1;
	}
	const char *r = s + i;
	size_t rl = end - i;
	if (sl && (rl == 0 || r[0] != '/')) {
		opaque = r;
		ol = rl;
	} else if (rl >= 2 && r[0] == '/' && r[1] == '/') {
		r += 2;
		rl -= 2;
		const char *slash = memchr(r, '/', rl);
		size_t al = slash ? (size_t)(slash - r) : rl;
		const char *at = NULL;
		for (size_t k = al; k > 0; k--)
			if (r[k - 1] == '@') {
				at = r + k - 1;
				break;
			}
		if (at) {
			userinfo = r;
			ul = (size_t)(at - r);
			host = at + 1;
			hl = al - ul - 1;
		} else {
			host = r;
			hl = al;
		}
		path = unescape(c->a, r + al, rl - al, &pl);
	} else {
		path = unescape(c->a, r, rl, &pl);
	}
	const char *hostname = host;
	size_t hnl = hl;
	if (hl && host[0] == '[') {
		const char *rb = memchr(host, ']', hl);
		if (rb) {
			hostname = host + 1;
			hnl = (size_t)(rb - host - 1);
		}
	} else {
		for (size_t k = hl; k > 0; k--)
			if (host[k - 1] == ':') {
				hnl = k - 1;
				break;
			}
	}
	Value *m = value_map(c->a, GT_ANY);
	map_sets(m, "scheme", value_strn(c->a, scheme, sl));
	map_sets(m, "host", value_strn(c->a, host, hl));
	map_sets(m, "hostname", value_strn(c->a, hostname, hnl));
	map_sets(m, "path", value_strn(c->a, path, pl));
	map_sets(m, "query", value_strn(c->a, query, ql));
	map_sets(m, "opaque", value_strn(c->a, opaque, ol));
	map_sets(m, "fragment", value_strn(c->a, frag, fl));
	size_t ulen;
	const char *u = unescape(c->a, userinfo, ul, &ulen);
	map_sets(m, "userinfo", value_strn(c->a, u, ulen));
	*ret = m;
	return 0;
}

static int dict_str(Ctx *c, const Value *d, const char *key, const char **out, size_t *len)
{
	Value *v = d ? map_gets(d, key) : NULL;
	if (!v) {
		*out = "";
		*len = 0;
		return 0;
	}
	if (v->kind != VK_STRING)
		return fn_error(c, "unable to parse %s key, must be of type string, but %s found", key, value_kind_name(v));
	*out = v->u.s.p;
	*len = v->u.s.n;
	return 0;
}

static int f_url_join(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *scheme, *host, *path, *query, *opaque, *frag, *user;
	size_t sl, hl, pl, ql, ol, fl, ul;
	if (dict_str(c, a[0], "scheme", &scheme, &sl) < 0 || dict_str(c, a[0], "host", &host, &hl) < 0 ||
	    dict_str(c, a[0], "path", &path, &pl) < 0 || dict_str(c, a[0], "query", &query, &ql) < 0 ||
	    dict_str(c, a[0], "opaque", &opaque, &ol) < 0 || dict_str(c, a[0], "fragment", &frag, &fl) < 0 ||
	    dict_str(c, a[0], "userinfo", &user, &ul) < 0)
		return -1;
	ABuf b;
	abuf_init(&b, c->a);
	if (sl) {
		abuf_add(&b, scheme, sl);
		abuf_addc(&b, ':');
	}
	if (ol) {
		abuf_add(&b, opaque, ol);
	} else {
		if (sl || hl || ul) {
			if (hl || pl || ul)
				abuf_adds(&b, "//");
			if (ul) {
				url_escape(&b, user, ul, false);
				abuf_addc(&b, '@');
			}
			abuf_add(&b, host, hl);
		}
		if (pl && path[0] != '/' && hl)
			abuf_addc(&b, '/');
		url_escape(&b, path, pl, false);
	}
	if (ql) {
		abuf_addc(&b, '?');
		abuf_add(&b, query, ql);
	}
	if (fl) {
		abuf_addc(&b, '#');
		url_escape(&b, frag, fl, true);
	}
	return ret_buf(c, &b, ret);
}

static int f_get_host_by_name(Ctx *c, Value **a, int n, Value **ret)
{
	(void)a; (void)n;
	*ret = value_str(c->a, "");
	return 0;
}

const FuncDef funcs_encoding[] = {
	{ "b64enc", "s", f_b64enc, 0 },
	{ "b64dec", "s", f_b64dec, 0 },
	{ "b32enc", "s", f_b32enc, 0 },
	{ "b32dec", "s", f_b32dec, 0 },
	{ "base", "s", f_base, 0 },
	{ "dir", "s", f_dir, 0 },
	{ "clean", "s", f_clean, 0 },
	{ "ext", "s", f_ext, 0 },
	{ "isAbs", "s", f_is_abs, 0 },
	{ "osBase", "s", f_base, 0 },
	{ "osClean", "s", f_clean, 0 },
	{ "osDir", "s", f_dir, 0 },
	{ "osExt", "s", f_ext, 0 },
	{ "osIsAbs", "s", f_is_abs, 0 },
	{ "urlParse", "s", f_url_parse, 0 },
	{ "urlJoin", "m", f_url_join, 0 },
	{ "getHostByName", "s", f_get_host_by_name, 0 },
	{ NULL, NULL, NULL, 0 },
};
