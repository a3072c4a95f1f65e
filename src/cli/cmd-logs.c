/* cmd-logs.c - `berth logs [-f] [--tail N] [-t] CONTAINER`: the CRI log
 * turned back into the container's stdout and stderr. */
#include "cli.h"
#include "attach.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../runtime/crilog.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct LogOpts {
	bool follow, timestamps;
	int64_t tail; /* -1 = all */
} LogOpts;

static void emit(const CriEntry *e, bool timestamps, bool *line_start)
{
	FILE *f = e->stream == CRI_STDERR ? stderr : stdout;
	if (timestamps && line_start[e->stream])
		fprintf(f, "%s ", e->time);
	fwrite(e->text, 1, e->len, f);
	if (!e->partial)
		fputc('\n', f);
	line_start[e->stream] = !e->partial;
}

/* Print complete lines of buf[0..len); returns how many bytes were consumed. */
static size_t emit_lines(char *buf, size_t len, int64_t skip, bool timestamps, bool *line_start)
{
	size_t off = 0;
	int64_t idx = 0;
	while (off < len) {
		char *nl = memchr(buf + off, '\n', len - off);
		if (!nl)
			break;
		size_t l = (size_t)(nl - (buf + off));
		CriEntry e;
		if (idx++ >= skip && crilog_parse_line(buf + off, l, &e) == 0)
			emit(&e, timestamps, line_start);
		off += l + 1;
	}
	fflush(stdout);
	fflush(stderr);
	return off;
}

static int64_t count_lines(const char *buf, size_t len)
{
	int64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

static int show_logs(CtrStore *s, Container *c, const LogOpts *o)
{
	_cleanup_free_ char *path = fs_join(c->dir, "ctr.log");
	FILE *f = fopen(path, "re");
	bool line_start[2] = { true, true };
	StrBuf buf = STRBUF_INIT;
	if (f) {
		char chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			sb_add(&buf, chunk, n);
	}
	int64_t total = count_lines(buf.buf ? buf.buf : "", buf.len);
	int64_t skip = o->tail >= 0 && o->tail < total ? total - o->tail : 0;
	size_t used = buf.len ? emit_lines(buf.buf, buf.len, skip, o->timestamps, line_start) : 0;
	memmove(buf.buf ? buf.buf : "", buf.buf ? buf.buf + used : "", buf.len - used);
	buf.len -= used;
	while (o->follow) {
		bool running = ctr_refresh(s, c, NULL) == 0 && ctr_status(c) == CTR_RUNNING;
		if (!f)
			f = fopen(path, "re");
		char chunk[65536];
		size_t n = f ? fread(chunk, 1, sizeof(chunk), f) : 0;
		if (n > 0) {
			sb_add(&buf, chunk, n);
			used = emit_lines(buf.buf, buf.len, 0, o->timestamps, line_start);
			memmove(buf.buf, buf.buf + used, buf.len - used);
			buf.len -= used;
			continue;
		}
		if (f)
			clearerr(f);
		if (!running)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (f)
		fclose(f);
	sb_release(&buf);
	return 0;
}

static int run_logs(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, 0, 'f' }, { "timestamps", no_argument, 0, 't' },
		{ "tail", required_argument, 0, 'n' }, { 0, 0, 0, 0 },
	};
	LogOpts o = { .tail = -1 };
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ftn:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.follow = true; break;
		case 't': o.timestamps = true; break;
		case 'n':
			if (!strcmp(optarg, "all"))
				o.tail = -1;
			else if (parse_int64(optarg, &o.tail) < 0 || o.tail < 0)
				return cli_usage_error(&cmd_logs, "invalid --tail value '%s'", optarg);
			break;
		default: return cli_usage_error(&cmd_logs, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(&cmd_logs, "requires exactly one CONTAINER");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container *ct = NULL;
	Error *e = NULL;
	int code = 0;
	if (ctr_lookup(s, argv[optind], &ct, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	else
		show_logs(s, ct, &o);
	ctr_free(ct);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_logs = {
	.name = "logs", .run = run_logs, .summary = "Show a container's output",
	.usage = "Usage: berth logs [-f] [--tail N] [-t] CONTAINER\n\n"
		 "Options:\n"
		 "  -f, --follow       keep printing new output until the container stops\n"
		 "  -n, --tail N       only the last N lines (or all)\n"
		 "  -t, --timestamps   show the time of each line\n",
};
