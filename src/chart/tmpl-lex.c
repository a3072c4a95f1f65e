/* tmpl-lex.c - the template lexer, a transcription of the state machine in
 * Go's text/template/parse/lex.go into C: text up to a left delimiter (with
 * "{{- " / " -}}" trimming), comments, and the tokens inside actions.
 * lex_next() runs states until one item is produced, like Go's nextItem.
 * Error items carry Go's messages ("unclosed action", "bad character U+0021 '!'").
 */
#include "tmpl.h"
#include <stdio.h>
#include <string.h>

#define EOF_RUNE ((uint32_t)-1)

typedef struct StateFn StateFn;
typedef StateFn *(*state_fn)(Lexer *l);
struct StateFn { state_fn fn; };

static StateFn st_text, st_left_delim, st_comment, st_right_delim, st_inside, st_space,
	st_identifier, st_field, st_variable, st_char, st_number, st_quote, st_raw_quote;

static bool is_space(uint32_t r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }

bool tmpl_rune_is_letter(uint32_t r);
bool tmpl_rune_is_letter(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	if (r == EOF_RUNE || r == 0xFFFD)
		return false;
	/* Approximation of unicode.IsLetter for non-ASCII: exclude the common
	 * punctuation, symbol, space and digit blocks. */
	if (r <= 0xBF || r == 0xD7 || r == 0xF7)
		return r == 0xAA || r == 0xB5 || r == 0xBA;
	if ((r >= 0x2000 && r <= 0x2BFF) || (r >= 0x3000 && r <= 0x303F) ||
	    (r >= 0xFF00 && r <= 0xFF20) || (r >= 0xE000 && r <= 0xF8FF) ||
	    (r >= 0xFE00 && r <= 0xFE6F) || (r >= 0x1F000 && r <= 0x1FAFF))
		return false;
	return true;
}

static bool is_digit(uint32_t r) { return r >= '0' && r <= '9'; }
static bool is_alnum(uint32_t r) { return r == '_' || tmpl_rune_is_letter(r) || is_digit(r); }

static uint32_t next(Lexer *l)
{
	if (l->pos >= l->len) {
		l->at_eof = true;
		return EOF_RUNE;
	}
	size_t w;
	uint32_t r = utf8_decode(l->input + l->pos, l->len - l->pos, &w);
	l->pos += w;
	if (r == '\n')
		l->line++;
	return r;
}

static void backup(Lexer *l)
{
	if (!l->at_eof && l->pos > 0) {
		/* step back one rune */
		size_t p = l->pos - 1;
		while (p > 0 && ((unsigned char)l->input[p] & 0xC0) == 0x80 && l->pos - p < 4)
			p--;
		size_t w;
		uint32_t r = utf8_decode(l->input + p, l->len - p, &w);
		if (p + w != l->pos) {   /* invalid byte sequence: one byte back */
			p = l->pos - 1;
			r = (unsigned char)l->input[p];
		}
		l->pos = p;
		if (r == '\n')
			l->line--;
	}
}

static uint32_t peek(Lexer *l)
{
	uint32_t r = next(l);
	backup(l);
	return r;
}

static int count_nl(const char *s, size_t n)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		c += s[i] == '\n';
	return c;
}

static Item this_item(Lexer *l, ItemType t)
{
	Item i = { t, (int)l->start, l->input + l->start, l->pos - l->start, l->start_line };
	l->start = l->pos;
	l->start_line = l->line;
	return i;
}

static StateFn *emit_item(Lexer *l, Item i)
{
	l->item = i;
	return NULL;
}

static StateFn *emit(Lexer *l, ItemType t) { return emit_item(l, this_item(l, t)); }

static void ignore(Lexer *l)
{
	l->line += count_nl(l->input + l->start, l->pos - l->start);
	l->start = l->pos;
	l->start_line = l->line;
}

static bool accept(Lexer *l, const char *valid)
{
	uint32_t r = next(l);
	if (r != EOF_RUNE && r < 0x80 && r && strchr(valid, (int)r))
		return true;
	backup(l);
	return false;
}

static void accept_run(Lexer *l, const char *valid)
{
	for (;;) {
		uint32_t r = next(l);
		if (r == EOF_RUNE || r >= 0x80 || !r || !strchr(valid, (int)r))
			break;
	}
	backup(l);
}

static StateFn *errorf(Lexer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static StateFn *errorf(Lexer *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->errbuf, sizeof(l->errbuf), fmt, ap);
	va_end(ap);
	l->item = (Item){ IT_ERROR, (int)l->start, l->errbuf, strlen(l->errbuf), l->start_line };
	l->start = 0;
	l->pos = 0;
	l->len = 0;
	return NULL;
}

/* Go's %#U of a rune. */
static void fmt_unicode(char *buf, size_t n, uint32_t r)
{
	if (r >= 0x20 && r < 0x7F)
		snprintf(buf, n, "U+%04X '%c'", r, (char)r);
	else if (r >= 0x80 && go_rune_is_print(r)) {
		char u[5] = { 0 };
		size_t k = 0;
		if (r < 0x800) { u[k++] = (char)(0xC0 | (r >> 6)); u[k++] = (char)(0x80 | (r & 0x3F)); }
		else if (r < 0x10000) { u[k++] = (char)(0xE0 | (r >> 12)); u[k++] = (char)(0x80 | ((r >> 6) & 0x3F)); u[k++] = (char)(0x80 | (r & 0x3F)); }
		else { u[k++] = (char)(0xF0 | (r >> 18)); u[k++] = (char)(0x80 | ((r >> 12) & 0x3F)); u[k++] = (char)(0x80 | ((r >> 6) & 0x3F)); u[k++] = (char)(0x80 | (r & 0x3F)); }
		snprintf(buf, n, "U+%04X '%s'", r, u);
	} else
		snprintf(buf, n, "U+%04X", r == EOF_RUNE ? 0xFFFD : r);
}

static bool has_prefix(const Lexer *l, size_t at, const char *p, size_t n)
{
	return at <= l->len && l->len - at >= n && memcmp(l->input + at, p, n) == 0;
}

static bool has_left_trim(const Lexer *l, size_t at)
{
	return at + 2 <= l->len && l->input[at] == '-' && is_space((unsigned char)l->input[at + 1]);
}

static bool has_right_trim(const Lexer *l, size_t at)
{
	return at + 2 <= l->len && is_space((unsigned char)l->input[at]) && l->input[at + 1] == '-';
}

static bool at_right_delim(const Lexer *l, bool *trim)
{
	if (has_right_trim(l, l->pos) && has_prefix(l, l->pos + 2, l->rdelim, l->rdlen)) {
		*trim = true;
		return true;
	}
	*trim = false;
	return has_prefix(l, l->pos, l->rdelim, l->rdlen);
}

static const char *find(const char *h, size_t hn, const char *n, size_t nn)
{
	if (nn == 0)
		return h;
	if (hn < nn)
		return NULL;
	return memmem(h, hn, n, nn);
}

static StateFn *lex_text(Lexer *l)
{
	const char *x = find(l->input + l->pos, l->len - l->pos, l->ldelim, l->ldlen);
	if (x) {
		size_t off = (size_t)(x - (l->input + l->pos));
		if (off > 0) {
			l->pos += off;
			size_t trim = 0;
			if (has_left_trim(l, l->pos + l->ldlen)) {
				size_t e = l->pos;
				while (e > l->start && is_space((unsigned char)l->input[e - 1]))
					e--;
				trim = l->pos - e;
			}
			l->pos -= trim;
			l->line += count_nl(l->input + l->start, l->pos - l->start);
			Item i = this_item(l, IT_TEXT);
			l->pos += trim;
			ignore(l);
			if (i.len > 0)
				return emit_item(l, i);
		}
		return &st_left_delim;
	}
	l->pos = l->len;
	if (l->pos > l->start) {
		l->line += count_nl(l->input + l->start, l->pos - l->start);
		return emit(l, IT_TEXT);
	}
	return emit(l, IT_EOF);
}

static StateFn *lex_left_delim(Lexer *l)
{
	l->pos += l->ldlen;
	bool trim = has_left_trim(l, l->pos);
	size_t after = trim ? 2 : 0;
	if (has_prefix(l, l->pos + after, "/*", 2)) {
		l->pos += after;
		ignore(l);
		return &st_comment;
	}
	Item i = this_item(l, IT_LEFT_DELIM);
	l->inside_action = true;
	l->pos += after;
	ignore(l);
	l->paren_depth = 0;
	return emit_item(l, i);
}

static StateFn *lex_comment(Lexer *l)
{
	l->pos += 2;
	const char *x = find(l->input + l->pos, l->len - l->pos, "*/", 2);
	if (!x)
		return errorf(l, "unclosed comment");
	l->pos = (size_t)(x - l->input) + 2;
	bool trim;
	if (!at_right_delim(l, &trim))
		return errorf(l, "comment ends before closing delimiter");
	l->line += count_nl(l->input + l->start, l->pos - l->start);
	this_item(l, IT_COMMENT);
	if (trim)
		l->pos += 2;
	l->pos += l->rdlen;
	if (trim)
		while (l->pos < l->len && is_space((unsigned char)l->input[l->pos]))
			l->pos++;
	ignore(l);
	return &st_text;
}

static StateFn *lex_right_delim(Lexer *l)
{
	bool trim;
	at_right_delim(l, &trim);
	if (trim) {
		l->pos += 2;
		ignore(l);
	}
	l->pos += l->rdlen;
	Item i = this_item(l, IT_RIGHT_DELIM);
	if (trim) {
		while (l->pos < l->len && is_space((unsigned char)l->input[l->pos]))
			l->pos++;
		ignore(l);
	}
	l->inside_action = false;
	return emit_item(l, i);
}

static StateFn *lex_inside(Lexer *l)
{
	bool trim;
	if (at_right_delim(l, &trim)) {
		if (l->paren_depth == 0)
			return &st_right_delim;
		return errorf(l, "unclosed left paren");
	}
	uint32_t r = next(l);
	if (r == EOF_RUNE)
		return errorf(l, "unclosed action");
	if (is_space(r)) {
		backup(l);
		return &st_space;
	}
	switch (r) {
	case '=': return emit(l, IT_ASSIGN);
	case ':':
		if (next(l) != '=')
			return errorf(l, "expected :=");
		return emit(l, IT_DECLARE);
	case '|': return emit(l, IT_PIPE);
	case '"': return &st_quote;
	case '`': return &st_raw_quote;
	case '$': return &st_variable;
	case '\'': return &st_char;
	case '.':
		if (l->pos < l->len) {
			char c = l->input[l->pos];
			if (c < '0' || c > '9')
				return &st_field;
		}
		backup(l);
		return &st_number;
	case '(':
		l->paren_depth++;
		return emit(l, IT_LEFT_PAREN);
	case ')':
		l->paren_depth--;
		if (l->paren_depth < 0)
			return errorf(l, "unexpected right paren");
		return emit(l, IT_RIGHT_PAREN);
	}
	if (r == '+' || r == '-' || is_digit(r)) {
		backup(l);
		return &st_number;
	}
	if (is_alnum(r)) {
		backup(l);
		return &st_identifier;
	}
	if (r < 0x7F && r >= 0x20)
		return emit(l, IT_CHAR);
	char u[32];
	fmt_unicode(u, sizeof(u), r);
	return errorf(l, "unrecognized character in action: %s", u);
}

static StateFn *lex_space(Lexer *l)
{
	int n = 0;
	while (is_space(peek(l))) {
		next(l);
		n++;
	}
	if (has_right_trim(l, l->pos - 1) && has_prefix(l, l->pos - 1 + 2, l->rdelim, l->rdlen)) {
		backup(l);
		if (n == 1)
			return &st_right_delim;
	}
	return emit(l, IT_SPACE);
}

static bool at_terminator(Lexer *l)
{
	uint32_t r = peek(l);
	if (is_space(r))
		return true;
	switch (r) {
	case EOF_RUNE: case '.': case ',': case '|': case ':': case ')': case '(':
		return true;
	}
	return has_prefix(l, l->pos, l->rdelim, l->rdlen);
}

static ItemType keyword(const char *w, size_t n)
{
	static const struct { const char *k; ItemType t; } kw[] = {
		{ ".", IT_DOT }, { "block", IT_BLOCK }, { "break", IT_BREAK }, { "continue", IT_CONTINUE },
		{ "define", IT_DEFINE }, { "else", IT_ELSE }, { "end", IT_END }, { "if", IT_IF },
		{ "range", IT_RANGE }, { "nil", IT_NIL }, { "template", IT_TEMPLATE }, { "with", IT_WITH },
	};
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i].k) == n && !memcmp(kw[i].k, w, n))
			return kw[i].t;
	return IT_ERROR;
}

static StateFn *lex_identifier(Lexer *l)
{
	for (;;) {
		uint32_t r = next(l);
		if (is_alnum(r))
			continue;
		backup(l);
		const char *w = l->input + l->start;
		size_t n = l->pos - l->start;
		if (!at_terminator(l)) {
			char u[32];
			fmt_unicode(u, sizeof(u), r);
			return errorf(l, "bad character %s", u);
		}
		ItemType k = keyword(w, n);
		if (k > IT_KEYWORD) {
			if ((k == IT_BREAK && !l->break_ok) || (k == IT_CONTINUE && !l->continue_ok))
				return emit(l, IT_IDENTIFIER);
			return emit(l, k);
		}
		if (w[0] == '.')
			return emit(l, IT_FIELD);
		if ((n == 4 && !memcmp(w, "true", 4)) || (n == 5 && !memcmp(w, "false", 5)))
			return emit(l, IT_BOOL);
		return emit(l, IT_IDENTIFIER);
	}
}

static StateFn *lex_field_or_variable(Lexer *l, ItemType typ)
{
	if (at_terminator(l))
		return emit(l, typ == IT_VARIABLE ? IT_VARIABLE : IT_DOT);
	uint32_t r;
	for (;;) {
		r = next(l);
		if (!is_alnum(r)) {
			backup(l);
			break;
		}
	}
	if (!at_terminator(l)) {
		char u[32];
		fmt_unicode(u, sizeof(u), r);
		return errorf(l, "bad character %s", u);
	}
	return emit(l, typ);
}

static StateFn *lex_field(Lexer *l) { return lex_field_or_variable(l, IT_FIELD); }

static StateFn *lex_variable(Lexer *l)
{
	if (at_terminator(l))
		return emit(l, IT_VARIABLE);
	return lex_field_or_variable(l, IT_VARIABLE);
}

static StateFn *lex_char(Lexer *l)
{
	for (;;) {
		uint32_t r = next(l);
		if (r == '\\') {
			r = next(l);
			if (r != EOF_RUNE && r != '\n')
				continue;
			return errorf(l, "unterminated character constant");
		}
		if (r == EOF_RUNE || r == '\n')
			return errorf(l, "unterminated character constant");
		if (r == '\'')
			break;
	}
	return emit(l, IT_CHAR_CONSTANT);
}

static bool scan_number(Lexer *l)
{
	accept(l, "+-");
	const char *digits = "0123456789_";
	if (accept(l, "0")) {
		if (accept(l, "xX"))
			digits = "0123456789abcdefABCDEF_";
		else if (accept(l, "oO"))
			digits = "01234567_";
		else if (accept(l, "bB"))
			digits = "01_";
	}
	accept_run(l, digits);
	if (accept(l, "."))
		accept_run(l, digits);
	size_t dn = strlen(digits);
	if (dn == 11 && accept(l, "eE")) {
		accept(l, "+-");
		accept_run(l, "0123456789_");
	}
	if (dn == 23 && accept(l, "pP")) {
		accept(l, "+-");
		accept_run(l, "0123456789_");
	}
	accept(l, "i");
	if (is_alnum(peek(l))) {
		next(l);
		return false;
	}
	return true;
}

static StateFn *lex_number(Lexer *l)
{
	if (!scan_number(l)) {
		ABuf b;
		Arena *a = arena_new(0);
		abuf_init(&b, a);
		go_quote(&b, l->input + l->start, l->pos - l->start, false);
		StateFn *s = errorf(l, "bad number syntax: %s", abuf_str(&b));
		arena_free(a);
		return s;
	}
	uint32_t sign = peek(l);
	if (sign == '+' || sign == '-') {
		if (!scan_number(l) || l->input[l->pos - 1] != 'i') {
			ABuf b;
			Arena *a = arena_new(0);
			abuf_init(&b, a);
			go_quote(&b, l->input + l->start, l->pos - l->start, false);
			StateFn *s = errorf(l, "bad number syntax: %s", abuf_str(&b));
			arena_free(a);
			return s;
		}
		return emit(l, IT_COMPLEX);
	}
	return emit(l, IT_NUMBER);
}

static StateFn *lex_quote(Lexer *l)
{
	for (;;) {
		uint32_t r = next(l);
		if (r == '\\') {
			r = next(l);
			if (r != EOF_RUNE && r != '\n')
				continue;
			return errorf(l, "unterminated quoted string");
		}
		if (r == EOF_RUNE || r == '\n')
			return errorf(l, "unterminated quoted string");
		if (r == '"')
			break;
	}
	return emit(l, IT_STRING);
}

static StateFn *lex_raw_quote(Lexer *l)
{
	for (;;) {
		uint32_t r = next(l);
		if (r == EOF_RUNE)
			return errorf(l, "unterminated raw quoted string");
		if (r == '`')
			break;
	}
	return emit(l, IT_RAW_STRING);
}

static StateFn st_text = { lex_text }, st_left_delim = { lex_left_delim }, st_comment = { lex_comment },
	st_right_delim = { lex_right_delim }, st_inside = { lex_inside }, st_space = { lex_space },
	st_identifier = { lex_identifier }, st_field = { lex_field }, st_variable = { lex_variable },
	st_char = { lex_char }, st_number = { lex_number }, st_quote = { lex_quote },
	st_raw_quote = { lex_raw_quote };

void lex_init(Lexer *l, const char *input, size_t len, const char *ldelim, const char *rdelim)
{
	memset(l, 0, sizeof(*l));
	l->input = input;
	l->len = len;
	l->ldelim = ldelim && *ldelim ? ldelim : "{{";
	l->rdelim = rdelim && *rdelim ? rdelim : "}}";
	l->ldlen = strlen(l->ldelim);
	l->rdlen = strlen(l->rdelim);
	l->line = l->start_line = 1;
	l->break_ok = l->continue_ok = true;
}

Item lex_next(Lexer *l)
{
	l->item = (Item){ IT_EOF, (int)l->pos, "EOF", 3, l->start_line };
	StateFn *s = l->inside_action ? &st_inside : &st_text;
	while (s)
		s = s->fn(l);
	return l->item;
}
