/* yaml-emit.c - writing json_t as YAML (see yaml.h): a re-implementation of
 * go-yaml's emitter rules.  It keeps go-yaml's state (column, indent stack,
 * "whitespace" and "indention" flags) and applies the same scalar analysis,
 * so quoting, literal blocks, line folding and key order come out exactly as
 * Helm's toYaml (go-yaml v2) and toYamlPretty (v3) write them.
 */
#include "yaml.h"
#include "yaml-internal.h"
#include "../base/cleanup.h"
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <wctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 10000

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
	return yaml_in_list(s, l);
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
			Resolved r = yaml_resolve(s, e->v3);
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

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_loc_init(void) { utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* unicode.IsLetter: ASCII by hand, the rest by glibc's C.UTF-8 classes. */
static bool rune_letter(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	pthread_once(&utf8_once, utf8_loc_init);
	return utf8_loc && iswalpha_l((wint_t)r, utf8_loc);
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
			an2 = (int64_t)((uint64_t)an2 * 10 + (ar[ai] - '0'));   /* wraps like Go's int64 */
		for (bi = i; bi < nb && rune_digit(br[bi]); bi++)
			bn2 = (int64_t)((uint64_t)bn2 * 10 + (br[bi] - '0'));
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
