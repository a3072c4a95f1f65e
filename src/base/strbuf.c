/* strbuf.c - see strbuf.h. */
#include "strbuf.h"
#include "cleanup.h"
#include <stdio.h>
#include <string.h>

void sb_init(StrBuf *sb) { sb->buf = NULL; sb->len = sb->cap = 0; }
void sb_release(StrBuf *sb) { free(sb->buf); sb_init(sb); }

void sb_grow(StrBuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	sb->buf = xrealloc(sb->buf, cap);
	sb->cap = cap;
}

void sb_add(StrBuf *sb, const void *data, size_t n)
{
	sb_grow(sb, n);
	if (n)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

void sb_adds(StrBuf *sb, const char *s) { sb_add(sb, s, strlen(s)); }
void sb_addc(StrBuf *sb, char c) { sb_add(sb, &c, 1); }

void sb_vaddf(StrBuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	sb_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_addf(StrBuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sb_reset(StrBuf *sb) { sb->len = 0; if (sb->buf) sb->buf[0] = 0; }

char *sb_detach(StrBuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");
	sb_init(sb);
	return s;
}

const char *sb_str(StrBuf *sb) { return sb->buf ? sb->buf : ""; }
