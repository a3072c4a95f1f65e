/* httpval.c - two header/body grammars the registry reads from clients:
 * Accept lists (manifest content negotiation) and
 * application/x-www-form-urlencoded bodies (the OAuth2 POST form of the
 * token endpoint).  Pure string work on untrusted input, bounded by the
 * input's length (fuzzed by tests/fuzz/fuzz-registry-path.c).
 *
 * Accept follows RFC 9110 §12.5.1 as far as a registry needs it: media
 * ranges (exact types, a type with a wildcard subtype, or the full
 * wildcard) separated by commas, parameters
 * after ';' ignored except q; the most specific range that matches decides,
 * and q=0 means "not acceptable".  No Accept header at all accepts
 * everything.
 */
#include "reg-internal.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *trim_end(const char *b, const char *e)
{
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return e;
}

/* q of the parameters in [p, end): 1 unless "q=0", "q=0.0", ...; malformed q counts as 1. */
static bool params_q_zero(const char *p, const char *end)
{
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pe = semi ? semi : end;
		const char *b = skip_ws(p, pe), *e = trim_end(b, pe);
		if (e - b >= 2 && (b[0] == 'q' || b[0] == 'Q') && b[1] == '=') {
			const char *v = b + 2;
			if (v < e && *v == '0') {
				v++;
				if (v < e && *v == '.')
					v++;
				while (v < e && *v == '0')
					v++;
				return v == e;
			}
			return false;
		}
		p = semi ? semi + 1 : end;
	}
	return false;
}

/* 3: exact match, 2: wildcard subtype, 1: full wildcard, 0: no match */
static int range_match(const char *b, const char *e, const char *media)
{
	size_t n = (size_t)(e - b), mlen = strlen(media);
	if (n == 3 && !memcmp(b, "*/*", 3))
		return 1;
	if (n >= 2 && b[n - 2] == '/' && b[n - 1] == '*') {
		const char *slash = strchr(media, '/');
		return slash && (size_t)(slash - media) == n - 2 && !strncasecmp(b, media, n - 2) ? 2 : 0;
	}
	return n == mlen && !strncasecmp(b, media, n) ? 3 : 0;
}

bool reg_accept_allows(const char *const *accepts, size_t n, const char *media)
{
	int best = 0;
	bool best_ok = false, any = false;
	for (size_t i = 0; i < n; i++) {
		const char *p = accepts[i], *end = p + strlen(p);
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *ie = comma ? comma : end;
			const char *semi = memchr(p, ';', (size_t)(ie - p));
			const char *b = skip_ws(p, semi ? semi : ie), *e = trim_end(b, semi ? semi : ie);
			if (e > b) {
				any = true;
				int m = range_match(b, e, media);
				if (m > best) {
					best = m;
					best_ok = !(semi && params_q_zero(semi + 1, ie));
				} else if (m && m == best && !(semi && params_q_zero(semi + 1, ie))) {
					best_ok = true;
				}
			}
			p = comma ? comma + 1 : end;
		}
	}
	return !any || (best > 0 && best_ok);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode a form component ('+' is a space, %XX a byte); NULL when malformed or
 * when it decodes to a NUL byte. */
static char *form_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int reg_form_get(const char *body, size_t len, const char *key, size_t nth, char **ret)
{
	*ret = NULL;
	size_t klen = strlen(key), seen = 0;
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ke = eq ? eq : pe;
		_cleanup_free_ char *k = form_decode(p, (size_t)(ke - p));
		if (k && strlen(k) == klen && !memcmp(k, key, klen) && seen++ == nth) {
			*ret = eq ? form_decode(eq + 1, (size_t)(pe - eq - 1)) : xstrdup("");
			return *ret ? 0 : -EINVAL;
		}
		p = amp ? amp + 1 : end;
	}
	return -ENOENT;
}
