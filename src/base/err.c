/* err.c - see err.h: the Error value and its context chain (one string). */
#include "err.h"
#include <stdio.h>
#include <string.h>

int err_setv(Error **err, int code, const char *fmt, va_list ap)
{
	if (code <= 0)
		code = code < 0 ? -code : EIO;
	if (err && !*err) {
		Error *e = xcalloc(1, sizeof(*e));
		e->code = code;
		if (vasprintf(&e->msg, fmt, ap) < 0)
			e->msg = xstrdup("(error message lost)");
		*err = e;
	}
	return -code;
}

int err_set(Error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_setv(err, code, fmt, ap);
	va_end(ap);
	return r;
}

int err_sys(Error **err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *head = NULL;
	if (vasprintf(&head, fmt, ap) < 0)
		head = NULL;
	va_end(ap);
	return err_set(err, code, "%s: %s", head ? head : "?", strerror(code));
}

int err_prefix(Error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -EIO;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *head = NULL;
	if (vasprintf(&head, fmt, ap) < 0)
		head = NULL;
	va_end(ap);
	char *m = xasprintf("%s: %s", head ? head : "?", (*err)->msg);
	free((*err)->msg);
	(*err)->msg = m;
	return -(*err)->code;
}

void err_free(Error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}
