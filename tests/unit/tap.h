/* tap.h - a tiny TAP producer for unit tests (meson test protocol: tap).
 * ok(cond, name...) / is_int / is_str, then `return tap_done();` from main. */
#ifndef BERTH_TAP_H
#define BERTH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_okv(int cond, const char *fmt, va_list ap)
{
	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

static inline int __attribute__((format(printf, 2, 3))) ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_okv(cond, fmt, ap);
	va_end(ap);
	return r;
}

#define is_int(got, want, ...) do { \
	long long _g = (long long)(got), _w = (long long)(want); \
	if (!ok(_g == _w, __VA_ARGS__)) printf("#   got %lld, want %lld\n", _g, _w); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *_g = (got), *_w = (want); \
	if (!ok(_g && _w && strcmp(_g, _w) == 0, __VA_ARGS__)) \
		printf("#   got  '%s'\n#   want '%s'\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
} while (0)

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
