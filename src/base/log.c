/* log.c - see log.h. */
#include "log.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int current_level = LOG_WARN_;
static const char *const names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level) { current_level = level; }
int log_get_level(void) { return current_level; }

int log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return LOG_WARN_;
	return -EINVAL;
}

void log_msg(int level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "berth: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	errno = saved;
}
