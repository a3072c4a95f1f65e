/* strbuf.h - a growable byte buffer, always NUL-terminated (git's strbuf idea). */
#ifndef BERTH_BASE_STRBUF_H
#define BERTH_BASE_STRBUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct StrBuf {
	char *buf;   /* owned; never NULL after init */
	size_t len;
	size_t cap;
} StrBuf;

#define STRBUF_INIT { NULL, 0, 0 }
void sb_init(StrBuf *sb);
void sb_release(StrBuf *sb);
static inline void sb_releasep(StrBuf *sb) { sb_release(sb); }
#define _cleanup_sb_ __attribute__((cleanup(sb_releasep)))
void sb_grow(StrBuf *sb, size_t extra);
void sb_add(StrBuf *sb, const void *data, size_t n);
void sb_adds(StrBuf *sb, const char *s);
void sb_addc(StrBuf *sb, char c);
void sb_addf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(StrBuf *sb, const char *fmt, va_list ap);
void sb_reset(StrBuf *sb);
/* Hand the buffer to the caller (free() it); the StrBuf is empty afterwards. */
char *sb_detach(StrBuf *sb);
const char *sb_str(StrBuf *sb);

#endif
