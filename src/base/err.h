/* err.h - errors as values with context.
 *
 * Functions return int: >= 0 success, -errno failure.  Component APIs take
 * `Error **err` last; on failure they fill it with a message that names the
 * object ("open 'x': No such file or directory") and return -code.  Callers add
 * context on the way up with err_prefix().  Only boundaries (the CLI, the API)
 * report an error, once.  Passing err == NULL is allowed: the message is
 * dropped, the code still returned.
 */
#ifndef BERTH_BASE_ERR_H
#define BERTH_BASE_ERR_H

#include <stdarg.h>
#include "cleanup.h"

typedef struct Error {
	int code;   /* positive errno-style code */
	char *msg;  /* owned */
} Error;

/* Set *err (if err != NULL and *err is NULL) and return -code. */
int err_set(Error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_setv(Error **err, int code, const char *fmt, va_list ap);
/* Like err_set, appending ": strerror(code)". */
int err_sys(Error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepend "context: " to an existing error; returns -code (or -EIO if none). */
int err_prefix(Error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_free(Error *e);
static inline void err_freep(Error **e) { err_free(*e); *e = NULL; }
#define _cleanup_err_ _cleanup_(err_freep)
static inline const char *err_msg(const Error *e) { return e && e->msg ? e->msg : "unknown error"; }

#endif
