/* cmd-rmi.c - `berth rmi [-f] IMAGE...`: untag and delete images, refusing
 * (without -f) images that containers use.  Which images are in use is read
 * from <root>/containers/<id>/config.json ("ImageID"), written by the
 * container code. */
#include "cli.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Image ids ("sha256:<hex>") used by containers under root; NULL-terminated, caller frees. */
char **img_ids_in_use(const char *root)
{
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	_cleanup_free_ char *dir = fs_join(root, "containers");
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s/config.json", dir, de->d_name);
		_cleanup_json_ json_t *cfg = NULL;
		if (json_load_path(p, BERTH_MAX_JSON_FILE, &cfg, NULL) < 0)
			continue;
		const char *id = json_str(cfg, "ImageID");
		if (!id || !*id)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = strncmp(id, "sha256:", 7) ? xasprintf("sha256:%s", id) : xstrdup(id);
		v[n] = NULL;
	}
	return v;
}

static int run_rmi(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return cli_usage_error(&cmd_rmi, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_rmi, "requires at least 1 IMAGE");
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	_cleanup_strv_ char **in_use = img_ids_in_use(cli->root);
	int status = 0;
	for (int i = optind; i < argc; i++) {
		char **lines = NULL;
		if (img_remove(s, argv[i], force, in_use, &lines, &e) < 0) {
			status = cli_fail_err(e, EXIT_BERTH);
			e = NULL;
			continue;
		}
		for (char **l = lines; *l; l++)
			printf("%s\n", *l);
		strv_free(lines);
	}
	img_store_free(s);
	return status;
}

const CliCommand cmd_rmi = {
	.name = "rmi", .run = run_rmi, .summary = "Remove images",
	.usage = "Usage: berth rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
		 "Remove names; an image is deleted with its last name (or when given by id),\n"
		 "and layers no image uses any more are deleted with it.\n\n"
		 "Options:\n"
		 "  -f, --force   remove an id with several names; untag an image that a\n"
		 "                container uses (it stays, as <none>, until the container goes)\n",
};
