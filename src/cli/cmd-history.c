/* cmd-history.c - `berth history IMAGE`: the image's history entries, newest
 * first, with the size of the layer each one made (docker's table). */
#include "cli.h"
#include "../base/parse.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NCOL 5

static char *trunc_text(const char *s, size_t max, bool no_trunc)
{
	_cleanup_free_ char *flat = xstrdup(s);
	for (char *p = flat; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (no_trunc || strlen(flat) <= max)
		return TAKE_PTR(flat);
	return xasprintf("%.*s...", (int)(max - 3), flat);
}

static void print_rows(char *(*rows)[NCOL], size_t n)
{
	static const char *const head[NCOL] = { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" };
	size_t w[NCOL];
	for (int c = 0; c < NCOL; c++) {
		w[c] = strlen(head[c]);
		for (size_t i = 0; i < n; i++)
			if (strlen(rows[i][c]) > w[c])
				w[c] = strlen(rows[i][c]);
	}
	for (int c = 0; c < NCOL; c++)
		printf("%-*s%s", c < NCOL - 1 ? (int)w[c] : 0, head[c], c < NCOL - 1 ? "   " : "\n");
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < NCOL; c++)
			printf("%-*s%s", c < NCOL - 1 ? (int)w[c] : 0, rows[i][c], c < NCOL - 1 ? "   " : "\n");
}

static json_t *history_json(const ImgInfo *img, const ImgHistoryEntry *h, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = n; i-- > 0;) {
		char created[64];
		format_rfc3339nano(created, sizeof(created), h[i].created, 0);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:s,s:b}", "id",
						     i == n - 1 ? img->id : "<missing>", "created", created,
						     "createdBy", h[i].created_by, "size", (json_int_t)h[i].size,
						     "comment", h[i].comment, "emptyLayer", h[i].empty_layer));
	}
	return arr;
}

static int run_history(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-trunc", no_argument, NULL, 'T' }, { "quiet", no_argument, NULL, 'q' },
		{ "human", required_argument, NULL, 'H' }, { "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	bool no_trunc = false, quiet = false, human = true;
	const char *format = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qH:", opts, NULL)) != -1) {
		switch (c) {
		case 'T': no_trunc = true; break;
		case 'q': quiet = true; break;
		case 'H': human = strcmp(optarg, "false") != 0; break;
		case 'F': format = optarg; break;
		default: return cli_usage_error(&cmd_history, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (format && strcmp(format, "json") && strcmp(format, "table"))
		return cli_usage_error(&cmd_history, "--format must be 'json' or 'table'");
	if (argc - optind != 1)
		return cli_usage_error(&cmd_history, "requires exactly 1 IMAGE");
	Error *e = NULL;
	ImgStore *s;
	ImgInfo *img = NULL;
	ImgHistoryEntry *h = NULL;
	size_t n = 0;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (img_resolve(s, argv[optind], &img, &e) < 0 || img_history(s, img, &h, &n, &e) < 0) {
		img_info_free(img);
		img_store_free(s);
		return cli_fail_err(e, EXIT_BERTH);
	}
	if (format && !strcmp(format, "json")) {
		_cleanup_json_ json_t *j = history_json(img, h, n);
		_cleanup_free_ char *out = json_dumps(j, JSON_INDENT(4));
		puts(out);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%.*s\n", i ? 9 : no_trunc ? 71 : 12, i ? "<missing>" : no_trunc ? img->id : img->id + 7);
	} else {
		char *(*rows)[NCOL] = xcalloc(n ? n : 1, sizeof(*rows));
		time_t now = time(NULL);
		for (size_t i = 0; i < n; i++) {
			const ImgHistoryEntry *x = &h[n - 1 - i];
			char buf[64];
			rows[i][0] = i == 0 ? (no_trunc ? xstrdup(img->id) : xstrndup(img->id + 7, 12))
					    : xstrdup("<missing>");
			if (!human) {
				format_rfc3339nano(buf, sizeof(buf), x->created, 0);
				rows[i][1] = xstrdup(buf);
			} else if (x->created > 0) {
				format_age(buf, sizeof(buf), (int64_t)now - x->created);
				rows[i][1] = xasprintf("%s ago", buf);
			} else {
				rows[i][1] = xstrdup("N/A");
			}
			rows[i][2] = trunc_text(x->created_by, 45, no_trunc);
			if (human)
				format_size_human(buf, sizeof(buf), x->size);
			else
				snprintf(buf, sizeof(buf), "%lld", (long long)x->size);
			rows[i][3] = xstrdup(buf);
			rows[i][4] = trunc_text(x->comment, 45, no_trunc);
		}
		print_rows(rows, n);
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < NCOL; k++)
				free(rows[i][k]);
		free(rows);
	}
	img_history_free(h, n);
	img_info_free(img);
	img_store_free(s);
	return 0;
}

const CliCommand cmd_history = {
	.name = "history", .run = run_history, .summary = "Show the history of an image",
	.usage = "Usage: berth history [OPTIONS] IMAGE\n\n"
		 "Show how the image was made, newest first, with the size each step added.\n\n"
		 "Options:\n"
		 "      --no-trunc      do not truncate output\n"
		 "  -q, --quiet         only the image id\n"
		 "  -H, --human BOOL    human-readable sizes and dates (default true)\n"
		 "      --format FMT    'table' (default) or 'json'\n",
};
