/* crilog.h - container logs in the CRI format (what kubelet and berth's node
 * agent read): one entry per line, "<RFC3339Nano> stdout|stderr F|P <text>\n".
 * F = the text ended with a newline (which is not stored), P = partial: the
 * text continues in the next entry (a long line split at BERTH_MAX_LOG_LINE,
 * or output that ended without a newline). */
#ifndef BERTH_RUNTIME_CRILOG_H
#define BERTH_RUNTIME_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include "../base/strbuf.h"
#include "../base/err.h"

enum { CRI_STDOUT = 0, CRI_STDERR = 1 };

typedef struct CriLog {
	int fd;
	StrBuf pending[2];
} CriLog;

int crilog_open(CriLog *l, const char *path, Error **err);
/* Feed raw bytes of one stream; complete lines are written at once. */
void crilog_feed(CriLog *l, int stream, const char *buf, size_t n);
/* Write out what is pending as P entries (end of output). */
void crilog_flush(CriLog *l);
void crilog_close(CriLog *l);

typedef struct CriEntry {
	const char *time;   /* RFC3339Nano text */
	int stream;
	bool partial;
	const char *text;   /* without the newline */
	size_t len;
} CriEntry;

/* Parse one line of a CRI log (modifies line). -EINVAL if malformed. */
int crilog_parse_line(char *line, size_t len, CriEntry *ret);

#endif
