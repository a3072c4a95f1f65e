/* cmd-commit.c - `berth commit [-m MSG] [-a AUTHOR] [-c INSTR]... CTR [IMAGE]`:
 * the container's read-write layer (never the init layer) becomes a new image
 * layer on top of the container's image. */
#include "cli.h"
#include "attach.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int commit(CtrStore *s, const char *name, const char *image, json_t *changes, const char *message,
		  const char *author)
{
	Container *ct = NULL;
	ImgInfo *parent = NULL;
	Error *e = NULL;
	if (ctr_lookup(s, name, &ct, &e) < 0 || img_resolve(s->images, json_str(ct->config, "ImageID"), &parent, &e) < 0) {
		ctr_free(ct);
		return cli_fail_err(e, EXIT_BERTH);
	}
	/* the committed config is the container's (env, cmd, workdir...) as docker does */
	const json_t *cc = json_object_get(ct->config, "Config");
	json_t *cfg = json_object();
	static const char *const keep[] = { "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "StopSignal" };
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		json_t *v = json_object_get(cc, keep[i]);
		if (v && !json_is_null(v))
			json_object_set(cfg, keep[i], v);
	}
	json_object_set_new(changes, "config", cfg);
	if (author)
		json_object_set_new(changes, "author", json_string(author));
	_cleanup_free_ char *upper = xasprintf("%s/upper", ct->dir);
	_cleanup_free_ char *created_by = xasprintf("berth commit %s", ctr_name(ct));
	_cleanup_free_ char *id = NULL;
	int code = 0;
	if (img_commit(s->images, upper, parent, changes, created_by, message, image, &id, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	else
		printf("%s\n", id);
	img_info_free(parent);
	ctr_free(ct);
	return code;
}

static int run_commit(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "message", required_argument, 0, 'm' }, { "author", required_argument, 0, 'a' },
		{ "change", required_argument, 0, 'c' }, { "pause", no_argument, 0, 'p' }, { 0, 0, 0, 0 },
	};
	const char *message = "", *author = NULL;
	_cleanup_json_ json_t *changes = json_object();
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "m:a:c:p", opts, NULL)) != -1) {
		switch (c) {
		case 'm': message = optarg; break;
		case 'a': author = optarg; break;
		case 'c': json_array_append_new(json_object_get(changes, "changes") ? json_object_get(changes, "changes")
						: (json_object_set_new(changes, "changes", json_array()), json_object_get(changes, "changes")),
						json_string(optarg));
			break;
		case 'p': break;
		default: return cli_usage_error(&cmd_commit, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error(&cmd_commit, "requires CONTAINER [IMAGE[:TAG]]");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	int code = commit(s, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, changes, message, author);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_commit = {
	.name = "commit", .run = run_commit, .summary = "Create a new image from a container's changes",
	.usage = "Usage: berth commit [-m MESSAGE] [-a AUTHOR] [-c INSTRUCTION]... CONTAINER [IMAGE[:TAG]]\n\n"
		 "Options:\n"
		 "  -m, --message MSG      commit message (history comment)\n"
		 "  -a, --author NAME      author\n"
		 "  -c, --change INSTR     apply a Dockerfile instruction (CMD, ENV, ...) to the config\n",
};
