/* cmd-images.c - `berth images`: the image table as docker prints it (one
 * row per name, REPOSITORY in docker's short form), ids only (-q), or JSON. */
#include "cli.h"
#include "../base/parse.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct Row {
	char *col[5];
} Row;

static void print_table(Row *rows, size_t n)
{
	static const char *const head[5] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
	size_t w[5];
	for (int c = 0; c < 5; c++) {
		w[c] = strlen(head[c]);
		for (size_t i = 0; i < n; i++)
			if (strlen(rows[i].col[c]) > w[c])
				w[c] = strlen(rows[i].col[c]);
	}
	for (int c = 0; c < 5; c++)
		printf("%-*s%s", c < 4 ? (int)w[c] : 0, head[c], c < 4 ? "   " : "\n");
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < 5; c++)
			printf("%-*s%s", c < 4 ? (int)w[c] : 0, rows[i].col[c], c < 4 ? "   " : "\n");
}

/* REPOSITORY[:TAG] filter: repository alone matches every tag */
static bool row_matches(const char *filter, const char *name)
{
	if (!filter)
		return true;
	if (!name)
		return false;
	_cleanup_free_ char *norm = NULL, *frepo = NULL, *ftag = NULL, *repo = NULL, *tag = NULL;
	if (img_ref_normalize(filter, &norm, NULL) < 0)
		return false;
	img_ref_split(norm, &frepo, &ftag);
	img_ref_split(name, &repo, &tag);
	const char *slash = strrchr(filter, '/');
	bool has_tag = strchr(slash ? slash : filter, ':') != NULL;
	return !strcmp(frepo, repo) && (!has_tag || !strcmp(ftag, tag));
}

static json_t *image_json(const ImgInfo *img)
{
	char created[64];
	format_rfc3339nano(created, sizeof(created), img->created, 0);
	json_t *labels = json_path(img->config, "config.Labels");
	return json_pack("{s:s,s:o,s:o,s:s,s:I,s:s,s:I,s:I,s:O,s:b}", "Id", img->id, "Names",
			 json_strv(img->names), "RepoTags", json_strv(img->names), "Digest",
			 img->manifest_digest, "Created", (json_int_t)img->created, "CreatedAt", created,
			 "Size", (json_int_t)img->size, "Layers", (json_int_t)img->n_layers, "Labels",
			 json_is_object(labels) ? labels : json_null(), "Dangling", !img->names[0]);
}

static void add_row(Row **rows, size_t *n, const ImgInfo *img, const char *name, bool no_trunc, time_t now)
{
	*rows = xrealloc(*rows, (*n + 1) * sizeof(Row));
	Row *r = &(*rows)[(*n)++];
	if (name) {
		img_ref_split(name, &r->col[0], &r->col[1]);
	} else {
		r->col[0] = xstrdup("<none>");
		r->col[1] = xstrdup("<none>");
	}
	r->col[2] = no_trunc ? xstrdup(img->id) : xstrndup(img->id + 7, 12);
	char buf[64];
	if (img->created > 0) {
		format_age(buf, sizeof(buf), (int64_t)now - img->created);
		r->col[3] = xasprintf("%s ago", buf);
	} else {
		r->col[3] = xstrdup("N/A");
	}
	format_size_human(buf, sizeof(buf), img->size);
	r->col[4] = xstrdup(buf);
}

static size_t history_len(const ImgInfo *img)
{
	return json_array_size(json_object_get(img->config, "history"));
}

/* Docker's notion: an untagged image that another image was built on (its
 * layers and history are a prefix of the other's) is an intermediate image,
 * listed only with -a.  A dangling build result (untagged, no child) still shows. */
static bool is_intermediate(ImgInfo *const *imgs, size_t n, const ImgInfo *x)
{
	if (x->names[0])
		return false;
	size_t hx = history_len(x);
	for (size_t i = 0; i < n; i++) {
		const ImgInfo *y = imgs[i];
		if (y == x || history_len(y) <= hx || y->n_layers < x->n_layers)
			continue;
		bool prefix = true;
		for (size_t k = 0; k < x->n_layers && prefix; k++)
			prefix = !strcmp(x->diff_ids[k], y->diff_ids[k]);
		if (prefix)
			return true;
	}
	return false;
}

static int run_images(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },      { "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' }, { "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false, no_trunc = false, all = false;
	const char *format = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'T': no_trunc = true; break;
		case 'F': format = optarg; break;
		default: return cli_usage_error(&cmd_images, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (format && strcmp(format, "json") && strcmp(format, "table"))
		return cli_usage_error(&cmd_images, "--format must be 'json' or 'table'");
	if (argc - optind > 1)
		return cli_usage_error(&cmd_images, "at most one REPOSITORY[:TAG] filter");
	const char *filter = optind < argc ? argv[optind] : NULL;
	Error *e = NULL;
	ImgStore *s;
	ImgInfo **imgs;
	size_t n;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (img_list(s, &imgs, &n, &e) < 0) {
		img_store_free(s);
		return cli_fail_err(e, EXIT_BERTH);
	}
	_cleanup_json_ json_t *arr = json_array();
	Row *rows = NULL;
	size_t nr = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		ImgInfo *img = imgs[i];
		bool any = false;
		if (!all && is_intermediate(imgs, n, img))
			continue;
		for (char **nm = img->names; *nm; nm++) {
			if (!row_matches(filter, *nm))
				continue;
			any = true;
			add_row(&rows, &nr, img, *nm, no_trunc, now);
		}
		if (!img->names[0] && !filter) {
			any = true;
			add_row(&rows, &nr, img, NULL, no_trunc, now);
		}
		if (any && format && !strcmp(format, "json"))
			json_array_append_new(arr, image_json(img));
		if (any && quiet)
			printf("%s\n", no_trunc ? img->id : rows[nr - 1].col[2]);
	}
	if (format && !strcmp(format, "json")) {
		_cleanup_free_ char *out = json_dumps(arr, JSON_INDENT(4));
		puts(out);
	} else if (!quiet) {
		print_table(rows, nr);
	}
	for (size_t i = 0; i < nr; i++)
		for (int k = 0; k < 5; k++)
			free(rows[i].col[k]);
	free(rows);
	for (size_t i = 0; i < n; i++)
		img_info_free(imgs[i]);
	free(imgs);
	img_store_free(s);
	return 0;
}

const CliCommand cmd_images = {
	.name = "images", .run = run_images, .summary = "List images",
	.usage = "Usage: berth images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
		 "List images, newest first: one row per name, <none> for unnamed images.\n\n"
		 "Options:\n"
		 "  -a, --all          also intermediate images (untagged images others were built on)\n"
		 "  -q, --quiet        only image ids (each image once)\n"
		 "      --no-trunc     full image ids\n"
		 "      --format FMT   'table' (default) or 'json'\n",
};
