/* cleanup.h - scope-bound ownership: the one memory convention of berth.
 *
 * A variable declared with a _cleanup_*_ attribute is released when it goes
 * out of scope.  TAKE_PTR / TAKE_FD hand ownership on (to a caller, a struct)
 * and leave NULL / -1 behind so the cleanup does nothing.  Out-of-memory is not
 * an error value: xmalloc and friends abort in one place (base/xalloc.c).
 */
#ifndef BERTH_BASE_CLEANUP_H
#define BERTH_BASE_CLEANUP_H

#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) { int e = errno; close(*fd); errno = e; } }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }
/* NULL-terminated vector of owned strings */
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_strv_ _cleanup_(strv_freep)

#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

/* Define a cleanup helper for a type with a free function: DEFINE_CLEANUP(Foo, foo_free)
 * gives foo_freep usable as _cleanup_(foo_freep). */
#define DEFINE_CLEANUP(type, func) \
	static inline void func##p(type **p) { if (*p) func(*p); }

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
