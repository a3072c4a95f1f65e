/* cmd-build.c - `berth build [OPTIONS] CONTEXT|-`: build an image from a
 * Dockerfile (src/build/).  The library reports progress through callbacks;
 * this file prints them (the Step/---> log, RUN output), or only the id with
 * -q / --progress quiet, and reports errors once. */
#include "cli.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../build/build.h"
#include "regopts.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* --progress tty (the default on a terminal): one line per step, "[2/5] RUN
 * ...", with the step's last output lines shown dimmed below it while it runs;
 * when the step ends its output is erased and the line gets "DONE 0.4s" or
 * "CACHED".  A failing step's output stays on screen.  Anywhere else (and with
 * --progress plain) the docker-style log is printed as it comes. */
#define TTY_WINDOW 5

typedef struct Out {
	bool quiet, tty;
	char *step;                  /* "[2/5] RUN ..." of the running step */
	struct timespec started;
	char *window[TTY_WINDOW];    /* last output lines of the step (ring) */
	size_t n_lines, shown;       /* lines seen in this step; lines on screen below the step line */
	StrBuf partial;
	int width;
	const char *root;            /* the store, for pulling FROM images */
} Out;

static double seconds_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void tty_erase_window(Out *o)
{
	for (size_t i = 0; i < o->shown; i++)
		fputs("\033[1F\033[2K", stdout); /* up one line, clear it */
	o->shown = 0;
}

static void tty_draw_window(Out *o)
{
	tty_erase_window(o);
	size_t n = o->n_lines < TTY_WINDOW ? o->n_lines : TTY_WINDOW;
	for (size_t i = o->n_lines - n; i < o->n_lines; i++) {
		const char *l = o->window[i % TTY_WINDOW];
		printf("\033[2m  %.*s\033[0m\n", o->width > 4 ? o->width - 4 : 76, l);
	}
	o->shown = n;
	fflush(stdout);
}

static void tty_clear_window(Out *o)
{
	for (size_t i = 0; i < TTY_WINDOW; i++) {
		free(o->window[i]);
		o->window[i] = NULL;
	}
	o->n_lines = 0;
	sb_reset(&o->partial);
}

/* The step finished: rewrite its line with how it ended. */
static void tty_end_step(Out *o, const char *how)
{
	if (!o->step)
		return;
	tty_erase_window(o);
	fputs("\033[1F\033[2K", stdout);
	if (how)
		printf("%s  %s\n", o->step, how);
	else
		printf("%s  DONE %.1fs\n", o->step, seconds_since(&o->started));
	fflush(stdout);
	free(o->step);
	o->step = NULL;
	tty_clear_window(o);
}

static void tty_log(Out *o, const char *line)
{
	int n = 0, m = 0, off = 0;
	if (sscanf(line, "Step %d/%d : %n", &n, &m, &off) == 2 && off > 0) {
		tty_end_step(o, NULL);
		o->step = xasprintf("[%d/%d] %s", n, m, line + off);
		clock_gettime(CLOCK_MONOTONIC, &o->started);
		printf("%.*s\n", o->width > 0 ? o->width : 80, o->step);
		fflush(stdout);
	} else if (!strcmp(line, " ---> Using cache")) {
		tty_end_step(o, "CACHED");
	} else if (!strncmp(line, " ---> ", 6) && !strstr(line, "Running in")) {
		tty_end_step(o, NULL);
	} else if (strncmp(line, " ---> ", 6) && strncmp(line, "Removing intermediate", 21)) {
		printf("%s\n", line); /* Successfully built/tagged, warnings */
		fflush(stdout);
	}
}

static void tty_output(Out *o, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n' && buf[i] != '\r') {
			if (o->partial.len < 4096)
				sb_addc(&o->partial, buf[i]);
			continue;
		}
		if (buf[i] == '\r' && o->partial.len == 0)
			continue;
		free(o->window[o->n_lines % TTY_WINDOW]);
		o->window[o->n_lines % TTY_WINDOW] = sb_detach(&o->partial);
		o->n_lines++;
	}
	tty_draw_window(o);
}

static void on_log(const char *line, void *ud)
{
	Out *o = ud;
	if (o->quiet)
		return;
	if (o->tty) {
		tty_log(o, line);
		return;
	}
	printf("%s\n", line);
	fflush(stdout);
}

static void on_output(const char *buf, size_t n, void *ud)
{
	Out *o = ud;
	if (o->quiet)
		return;
	if (o->tty) {
		tty_output(o, buf, n);
		return;
	}
	fwrite(buf, 1, n, stdout);
	fflush(stdout);
}

/* Pull progress goes into the build log as "id: status" lines. */
static void on_pull_progress(const char *id, const char *status, void *ud)
{
	if (!id) {
		on_log(status, ud);
		return;
	}
	_cleanup_free_ char *line = xasprintf("%s: %s", id, status);
	on_log(line, ud);
}

/* FROM an image the store lacks: pull it as `berth pull` would (same
 * credentials file, certs.d, http for loopback registries). */
static int on_pull(const char *ref, void *ud, Error **err)
{
	Out *o = ud;
	RegClientOpts ro;
	cli_reg_opts_init(&ro, true);
	ro.progress = on_pull_progress;
	ro.ud = o;
	ImgStore *s;
	int r = img_store_open(o->root, &s, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *digest = NULL;
	bool fresh = false;
	r = reg_pull(s, ref, &ro, &digest, &fresh, err);
	img_store_free(s);
	if (r == 0) {
		_cleanup_free_ char *line = xasprintf("Digest: %s", digest);
		on_log(line, ud);
	}
	return r;
}

static void out_release(Out *o)
{
	free(o->step);
	tty_clear_window(o);
	sb_release(&o->partial);
}

static void strv_push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* The Dockerfile: -f FILE (relative to the cwd, "-" for stdin), else CONTEXT/Dockerfile. */
static int read_dockerfile(const char *file, const char *ctx, char **ret, size_t *ret_len, char **ret_name)
{
	Error *e = NULL;
	if (file && !strcmp(file, "-")) {
		char *buf = xmalloc(BERTH_MAX_DOCKERFILE + 1);
		ssize_t n = fs_read_full(STDIN_FILENO, buf, BERTH_MAX_DOCKERFILE + 1);
		if (n < 0 || (size_t)n > BERTH_MAX_DOCKERFILE) {
			free(buf);
			return cli_fail("Dockerfile from stdin: %s", n < 0 ? "read failed" : "too large");
		}
		buf[n] = 0;
		*ret = buf;
		*ret_len = (size_t)n;
		*ret_name = xstrdup("Dockerfile");
		return 0;
	}
	_cleanup_free_ char *path = file ? xstrdup(file) : fs_join(ctx, "Dockerfile");
	if (fs_read_file(path, BERTH_MAX_DOCKERFILE, ret, ret_len, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	const char *slash = strrchr(path, '/');
	*ret_name = xstrdup(slash ? slash + 1 : path);
	return 0;
}

static int run_build(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, 0, 't' }, { "file", required_argument, 0, 'f' },
		{ "build-arg", required_argument, 0, 'A' }, { "target", required_argument, 0, 'T' },
		{ "no-cache", no_argument, 0, 'N' }, { "label", required_argument, 0, 'L' },
		{ "network", required_argument, 0, 'n' }, { "compression", required_argument, 0, 'c' },
		{ "timestamp", required_argument, 0, 's' }, { "progress", required_argument, 0, 'p' },
		{ "quiet", no_argument, 0, 'q' }, { "iidfile", required_argument, 0, 'i' },
		{ "rm", no_argument, 0, 'R' }, { "force-rm", no_argument, 0, 'R' }, { 0, 0, 0, 0 },
	};
	_cleanup_strv_ char **tags = NULL, **args = NULL, **labels = NULL;
	size_t nt = 0, na = 0, nl = 0;
	BuildOptions bo = { .root = cli->root, .runroot = cli->runroot, .network = "host", .timestamp = -1 };
	const char *file = NULL, *iidfile = NULL, *ts = getenv("SOURCE_DATE_EPOCH"), *progress = "auto";
	Out out = { 0 };
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:f:q", opts, NULL)) != -1) {
		switch (c) {
		case 't': strv_push(&tags, &nt, optarg); break;
		case 'f': file = optarg; break;
		case 'A': strv_push(&args, &na, optarg); break;
		case 'T': bo.target = optarg; break;
		case 'N': bo.no_cache = true; break;
		case 'L': strv_push(&labels, &nl, optarg); break;
		case 'n':
			if (strcmp(optarg, "host") && strcmp(optarg, "none") && strcmp(optarg, "default"))
				return cli_usage_error(&cmd_build, "--network: host or none, not '%s'", optarg);
			bo.network = strcmp(optarg, "default") ? optarg : "host";
			break;
		case 'c':
			if (strcmp(optarg, "gzip") && strcmp(optarg, "zstd"))
				return cli_usage_error(&cmd_build, "--compression: gzip or zstd, not '%s'", optarg);
			bo.zstd = !strcmp(optarg, "zstd");
			break;
		case 's': ts = optarg; break;
		case 'p':
			if (strcmp(optarg, "auto") && strcmp(optarg, "plain") && strcmp(optarg, "quiet") &&
			    strcmp(optarg, "tty"))
				return cli_usage_error(&cmd_build, "--progress: auto, plain or quiet, not '%s'", optarg);
			out.quiet = !strcmp(optarg, "quiet");
			progress = optarg;
			break;
		case 'q': out.quiet = true; break;
		case 'i': iidfile = optarg; break;
		case 'R': break;
		default: return cli_usage_error(&cmd_build, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd_build, "requires exactly one argument: CONTEXT or -");
	if (ts && *ts && (parse_int64(ts, &bo.timestamp) < 0 || bo.timestamp < 0))
		return cli_usage_error(&cmd_build, "--timestamp / SOURCE_DATE_EPOCH: '%s' is not a unix time", ts);
	const char *ctx = argv[optind];
	bool stdin_df = !strcmp(ctx, "-");
	if (!stdin_df && !fs_is_dir(ctx))
		return cli_fail("build context '%s' is not a directory", ctx);
	_cleanup_free_ char *text = NULL, *name = NULL;
	size_t len = 0;
	int r = read_dockerfile(stdin_df ? "-" : file, ctx, &text, &len, &name);
	if (r)
		return r;
	bo.context_dir = stdin_df ? NULL : ctx;
	bo.dockerfile_name = name;
	bo.dockerfile_text = text;
	bo.dockerfile_len = len;
	bo.tags = tags;
	bo.build_args = args;
	bo.labels = labels;
	bo.log = on_log;
	bo.output = on_output;
	bo.ud = &out;
	bo.pull = on_pull;
	out.root = cli->root;
	Error *e = NULL;
	_cleanup_free_ char *id = NULL;
	struct winsize ws = { 0 };
	out.tty = !out.quiet && (!strcmp(progress, "tty") || (!strcmp(progress, "auto") && isatty(STDOUT_FILENO)));
	if (out.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		out.width = ws.ws_col;
	r = build_run(&bo, &id, &e);
	if (r < 0 && out.tty && out.step) /* keep the failing step's output on screen */
		printf("%s  ERROR\n", out.step);
	out_release(&out);
	if (r < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (out.quiet)
		printf("%s\n", id);
	if (iidfile && fs_write_atomic(iidfile, id, strlen(id), 0644, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	return 0;
}

const CliCommand cmd_build = {
	.name = "build", .run = run_build, .summary = "Build an image from a Dockerfile",
	.usage = "Usage: berth build [OPTIONS] CONTEXT|-\n\n"
		 "Options:\n"
		 "  -t, --tag NAME[:TAG]       name the image (repeatable)\n"
		 "  -f, --file FILE            the Dockerfile (default CONTEXT/Dockerfile; - for stdin)\n"
		 "      --build-arg K[=V]      set a build argument (repeatable)\n"
		 "      --target STAGE         build up to this stage\n"
		 "      --no-cache             do not use the layer cache\n"
		 "      --label K=V            add a label to the image (repeatable)\n"
		 "      --network host|none    network of RUN steps (default host)\n"
		 "      --compression gzip|zstd  layer compression (default gzip)\n"
		 "      --timestamp EPOCH      reproducible: created times and file mtimes clamped\n"
		 "                             (default $SOURCE_DATE_EPOCH)\n"
		 "      --progress auto|tty|plain|quiet  tty: live compact view (default on a terminal)\n"
		 "  -q, --quiet                print only the image id\n"
		 "      --iidfile FILE         write the image id to FILE\n",
};
