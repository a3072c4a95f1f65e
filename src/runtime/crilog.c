/* crilog.c - see crilog.h. */
#include "crilog.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int crilog_open(CriLog *l, const char *path, Error **err)
{
	sb_init(&l->pending[0]);
	sb_init(&l->pending[1]);
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return err_sys(err, errno, "open log '%s'", path);
	return 0;
}

static void write_entry(CriLog *l, int stream, bool partial, const char *text, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char head[96];
	format_rfc3339nano(head, sizeof(head) - 16, ts.tv_sec, ts.tv_nsec);
	size_t hl = strlen(head);
	hl += (size_t)snprintf(head + hl, sizeof(head) - hl, " %s %c ", stream ? "stderr" : "stdout",
			       partial ? 'P' : 'F');
	StrBuf sb = STRBUF_INIT;
	sb_grow(&sb, hl + n + 1);
	sb_add(&sb, head, hl);
	sb_add(&sb, text, n);
	sb_addc(&sb, '\n');
	if (l->fd >= 0)
		fs_write_all(l->fd, sb.buf, sb.len); /* one write: entries never interleave */
	sb_release(&sb);
}

void crilog_feed(CriLog *l, int stream, const char *buf, size_t n)
{
	StrBuf *p = &l->pending[stream];
	while (n > 0) {
		const char *nl = memchr(buf, '\n', n);
		size_t take = nl ? (size_t)(nl - buf) : n;
		if (p->len + take >= BERTH_MAX_LOG_LINE) {
			size_t room = BERTH_MAX_LOG_LINE - p->len;
			sb_add(p, buf, room);
			write_entry(l, stream, true, p->buf, p->len);
			sb_reset(p);
			buf += room;
			n -= room;
			continue;
		}
		if (!nl) {
			sb_add(p, buf, n);
			return;
		}
		if (p->len) {
			sb_add(p, buf, take);
			write_entry(l, stream, false, p->buf, p->len);
			sb_reset(p);
		} else {
			write_entry(l, stream, false, buf, take);
		}
		buf += take + 1;
		n -= take + 1;
	}
}

void crilog_flush(CriLog *l)
{
	for (int s = 0; s < 2; s++)
		if (l->pending[s].len) {
			write_entry(l, s, true, l->pending[s].buf, l->pending[s].len);
			sb_reset(&l->pending[s]);
		}
}

void crilog_close(CriLog *l)
{
	crilog_flush(l);
	sb_release(&l->pending[0]);
	sb_release(&l->pending[1]);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int crilog_parse_line(char *line, size_t len, CriEntry *ret)
{
	char *sp1 = memchr(line, ' ', len);
	if (!sp1)
		return -EINVAL;
	*sp1 = 0;
	char *stream = sp1 + 1;
	size_t rest = len - (size_t)(stream - line);
	if (rest >= 7 && !strncmp(stream, "stdout ", 7))
		ret->stream = CRI_STDOUT;
	else if (rest >= 7 && !strncmp(stream, "stderr ", 7))
		ret->stream = CRI_STDERR;
	else
		return -EINVAL;
	char *tag = stream + 7;
	if (rest < 9 || (tag[0] != 'F' && tag[0] != 'P') || tag[1] != ' ')
		return -EINVAL;
	ret->time = line;
	ret->partial = tag[0] == 'P';
	ret->text = tag + 2;
	ret->len = len - (size_t)(ret->text - line);
	return 0;
}
