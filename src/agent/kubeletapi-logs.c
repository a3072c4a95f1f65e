/* kubeletapi-logs.c - the kubelet API's log endpoint (what `kubectl logs`
 * reaches through the API server): finding a pod's container directory and
 * its log instances, and streaming CRI-format log files as the kubelet
 * does (follow, previous, tail, since, limitBytes, timestamps).  The
 * server itself, exec, attach and port-forward are in kubeletapi.c.
 */
#include "kubeletapi-internal.h"
#include "agent-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../runtime/crilog.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- finding a pod's files ---- */

/* The newest <root>/pods/<ns>_<pod>_<uid> directory that has CTR (caller
 * frees), or NULL. */
char *kl_pod_ctr_dir(const KubeletApi *k, const char *ns, const char *pod, const char *ctr)
{
	_cleanup_free_ char *pods = fs_join(k->root, "pods");
	_cleanup_free_ char *prefix = xasprintf("%s_%s_", ns, pod);
	DIR *d = opendir(pods);
	if (!d)
		return NULL;
	char *best = NULL;
	struct timespec best_t = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || strchr(e->d_name + strlen(prefix), '_'))
			continue;
		_cleanup_free_ char *dir = xasprintf("%s/%s/%s", pods, e->d_name, ctr);
		struct stat st;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!best || st.st_mtim.tv_sec > best_t.tv_sec ||
		    (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
			free(best);
			best = TAKE_PTR(dir);
			best_t = st.st_mtim;
		}
	}
	closedir(d);
	return best;
}

/* The instance numbers of a container directory's logs: the highest in
 * *cur, the one before in *prev (-1 when none). */
void kl_log_instances(const char *ctrdir, int *cur, int *prev)
{
	*cur = *prev = -1;
	DIR *d = opendir(ctrdir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long n = strtol(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".log") || n < 0 || n > 1000000)
			continue;
		if (n > *cur) {
			*prev = *cur;
			*cur = (int)n;
		} else if (n > *prev)
			*prev = (int)n;
	}
	closedir(d);
}

/* ---- logs ---- */

typedef struct LogStream {
	int fd;
	char *exit_path;        /* the instance's .exit file: follow ends when it exists */
	bool follow, timestamps;
	int64_t since_ns;       /* entries older than this are skipped (0: none) */
	int64_t limit;          /* bytes still allowed (-1: no limit) */
	StrBuf in, out;         /* raw lines not yet complete; rendered text not yet sent */
	size_t out_off;
	struct MHD_Connection *mc;
} LogStream;

/* RFC 3339 with nanoseconds -> ns since the epoch (0 if unparsable). */
static int64_t rfc3339_ns(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	int64_t ns = (int64_t)timegm(&tm) * 1000000000;
	if (*p == '.') {
		int64_t frac = 0, scale = 100000000;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
		ns += frac;
	}
	return ns;
}

/* Render complete CRI lines of buf[0..n) into out per the options; returns
 * the bytes consumed (a trailing partial line stays). */
static size_t log_render(LogStream *s, char *buf, size_t n, StrBuf *out)
{
	size_t off = 0;
	while (off < n) {
		char *nl = memchr(buf + off, '\n', n - off);
		if (!nl)
			break;
		size_t l = (size_t)(nl - (buf + off));
		CriEntry e;
		if (crilog_parse_line(buf + off, l, &e) == 0 && (!s->since_ns || rfc3339_ns(e.time) >= s->since_ns)) {
			size_t before = out->len;
			if (s->timestamps)
				sb_addf(out, "%s ", e.time);
			sb_add(out, e.text, e.len);
			if (!e.partial)
				sb_addc(out, '\n');
			if (s->limit >= 0) {
				size_t added = out->len - before;
				if ((int64_t)added > s->limit) {
					out->len = before + (size_t)s->limit;
					out->buf[out->len] = 0;
					added = (size_t)s->limit;
				}
				s->limit -= (int64_t)added;
			}
		}
		off += l + 1;
	}
	return off;
}

/* Offset where the last `tail` complete lines of the file start. */
static off_t tail_offset(int fd, int64_t tail)
{
	struct stat st;
	if (tail < 0 || fstat(fd, &st) < 0)
		return 0;
	off_t end = st.st_size, pos = end;
	int64_t lines = 0;
	char buf[8192];
	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)chunk;
		if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
			return 0;
		for (size_t i = chunk; i-- > 0;) {
			if (buf[i] != '\n' || pos + (off_t)i == end - 1)
				continue;
			if (++lines == tail)
				return pos + (off_t)i + 1;
		}
	}
	return 0;
}

static bool kl_client_hung_up(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	struct pollfd p = { .fd = ci->connect_fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Read what the file has now into s->out; true at the end of the stream. */
static bool log_pump(LogStream *s)
{
	char buf[65536];
	for (;;) {
		ssize_t r = read(s->fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		sb_add(&s->in, buf, (size_t)r);
		size_t used = log_render(s, s->in.buf, s->in.len, &s->out);
		memmove(s->in.buf, s->in.buf + used, s->in.len - used);
		s->in.len -= used;
		if (s->out.len - s->out_off >= sizeof(buf))
			return false;
	}
	if (s->limit == 0)
		return true;
	if (!s->follow)
		return true;
	return access(s->exit_path, F_OK) == 0 && s->out.len == s->out_off;
}

static ssize_t log_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	LogStream *s = cls;
	for (int waited = 0;; waited++) {
		bool end = false;
		if (s->out.len == s->out_off)
			end = log_pump(s);
		if (s->out.len > s->out_off) {
			size_t n = s->out.len - s->out_off;
			if (n > max)
				n = max;
			memcpy(buf, s->out.buf + s->out_off, n);
			s->out_off += n;
			if (s->out_off == s->out.len)
				s->out_off = s->out.len = 0;
			return (ssize_t)n;
		}
		if (end)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (kl_client_hung_up(s->mc))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		usleep(100 * 1000);  /* following: wait for the container to write */
		if (waited > 50)
			return 0;
	}
}

static void log_stream_free(void *cls)
{
	LogStream *s = cls;
	if (s->fd >= 0)
		close(s->fd);
	free(s->exit_path);
	sb_release(&s->in);
	sb_release(&s->out);
	free(s);
}

enum MHD_Result kl_serve_logs(KubeletApi *k, struct MHD_Connection *mc, const char *ns, const char *pod,
			      const char *ctr)
{
	_cleanup_free_ char *dir = kl_pod_ctr_dir(k, ns, pod, ctr);
	if (!dir)
		return kl_reply_error(mc, 404, "container \"%s\" in pod \"%s\" is not available", ctr, pod);
	int cur, prev;
	kl_log_instances(dir, &cur, &prev);
	bool previous = kl_arg_true(mc, "previous");
	int inst = previous ? prev : cur;
	if (inst < 0)
		return previous ? kl_reply_error(mc, 400, "previous terminated container \"%s\" in pod \"%s\" not found",
					      ctr, pod)
				: kl_reply_error(mc, 400, "container \"%s\" in pod \"%s\" is waiting to start", ctr, pod);
	_cleanup_free_ char *path = xasprintf("%s/%d.log", dir, inst);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kl_reply_error(mc, 404, "container \"%s\" in pod \"%s\": no log", ctr, pod);
	LogStream *s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->mc = mc;
	s->exit_path = xasprintf("%s/%d.exit", dir, inst);
	s->follow = kl_arg_true(mc, "follow") && !previous;
	s->timestamps = kl_arg_true(mc, "timestamps");
	s->limit = -1;
	int64_t v;
	const char *a;
	if ((a = kl_arg(mc, "limitBytes")) && parse_int64(a, &v) == 0 && v > 0)
		s->limit = v;
	if ((a = kl_arg(mc, "sinceSeconds")) && parse_int64(a, &v) == 0 && v > 0)
		s->since_ns = ((int64_t)time(NULL) - v) * 1000000000;
	if ((a = kl_arg(mc, "sinceTime")))
		s->since_ns = rfc3339_ns(a);
	if ((a = kl_arg(mc, "tailLines")) && parse_int64(a, &v) == 0 && v >= 0)
		lseek(fd, tail_offset(fd, v), SEEK_SET);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, log_reader, s,
								   log_stream_free);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result ret = MHD_queue_response(mc, 200, r);
	MHD_destroy_response(r);
	return ret;
}
