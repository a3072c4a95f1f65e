/* cmd-inspect.c - `berth inspect [--type container|image] NAME...`: JSON
 * array of containers and images, Docker-shaped; a container name wins over
 * an image name as in docker. */
#include "cli.h"
#include "attach.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static json_t *image_doc(const ImgInfo *img)
{
	json_t *tags = json_array();
	for (char **n = img->names; n && *n; n++)
		json_array_append_new(tags, json_string(*n));
	const json_t *c = img->config;
	json_t *layers = json_array();
	for (char **d = img->diff_ids; d && *d; d++)
		json_array_append_new(layers, json_string(*d));
	return json_pack("{s:s,s:o,s:[],s:s,s:O?,s:s,s:s,s:s,s:I,s:{s:s,s:o},s:O?,s:s}",
		"Id", img->id, "RepoTags", tags, "RepoDigests",
		"Created", json_str(c, "created") ? json_str(c, "created") : "",
		"Config", json_object_get(c, "config"),
		"Architecture", json_str(c, "architecture") ? json_str(c, "architecture") : "",
		"Os", json_str(c, "os") ? json_str(c, "os") : "",
		"Author", json_str(c, "author") ? json_str(c, "author") : "",
		"Size", (json_int_t)img->size,
		"RootFS", "Type", "layers", "Layers", layers,
		"History", json_object_get(c, "history"),
		"ManifestDigest", img->manifest_digest ? img->manifest_digest : "");
}

static int run_inspect(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "type", required_argument, 0, 't' }, { 0, 0, 0, 0 } };
	const char *type = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 't' || (strcmp(optarg, "container") && strcmp(optarg, "image")))
			return cli_usage_error(&cmd_inspect, "invalid option '%s'", argv[optind - 1]);
		type = optarg;
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_inspect, "requires at least one NAME");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	json_t *out = json_array();
	int code = 0;
	for (int i = optind; i < argc; i++) {
		Container *ct = NULL;
		ImgInfo *img = NULL;
		if ((!type || !strcmp(type, "container")) && ctr_lookup(s, argv[i], &ct, NULL) == 0) {
			json_array_append_new(out, ctr_inspect(s, ct));
			ctr_free(ct);
		} else if ((!type || !strcmp(type, "image")) && img_resolve(s->images, argv[i], &img, NULL) == 0) {
			json_array_append_new(out, image_doc(img));
			img_info_free(img);
		} else {
			code = cli_fail("no such object: %s", argv[i]);
		}
	}
	_cleanup_free_ char *js = json_dumps(out, JSON_INDENT(4));
	puts(js);
	json_decref(out);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_inspect = {
	.name = "inspect", .run = run_inspect, .summary = "Show low-level information on containers and images",
	.usage = "Usage: berth inspect [--type container|image] NAME...\n",
};
