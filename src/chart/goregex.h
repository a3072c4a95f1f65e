/* goregex.h - Go regexp semantics over PCRE2 (see goregex.c).
 * Match offsets are byte offsets; m holds 2*(ncap+1) entries, -1 = unset. */
#ifndef BERTH_CHART_GOREGEX_H
#define BERTH_CHART_GOREGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct GoRegex GoRegex;

/* NULL and errbuf = Go-style "error parsing regexp: ..." on failure. */
GoRegex *goregex_compile(const char *pat, size_t n, char *errbuf, size_t errlen);
void goregex_free(GoRegex *re);
int goregex_ncap(const GoRegex *re);
bool goregex_empty_expr(const GoRegex *re);
bool goregex_exec(GoRegex *re, const char *s, size_t n, size_t start, ssize_t *m);
/* FindAll...Index; limit < 0 means all.  Returns the number delivered. */
size_t goregex_find_all(GoRegex *re, const char *s, size_t n, long limit,
			void (*deliver)(void *ctx, const ssize_t *m), void *ctx);
/* ReplaceAllString / ReplaceAllLiteralString, streamed through emit. */
void goregex_replace_all(GoRegex *re, const char *src, size_t n, const char *repl, size_t rn, bool literal,
			 void (*emit)(void *ctx, const char *p, size_t n), void *ctx);

#endif
