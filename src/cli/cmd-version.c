/* cmd-version.c - `berth version`: version, git commit, cgroup mode and the
 * kernel features berth found on this host. */
#include "cli.h"
#include "../runtime/runtime.h"
#include "../shared/json.h"
#include "version.h"
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static int run_version(Cli *cli, int argc, char **argv)
{
	(void)cli;
	bool as_json = argc > 2 && !strcmp(argv[1], "--format") && !strcmp(argv[2], "json");
	struct utsname u;
	uname(&u);
	CgMode mode = 0;
	Error *e = NULL;
	const char *cg = cg_detect("/sys/fs/cgroup", &mode, &e) == 0 ? cg_mode_name(mode) : "unknown";
	err_free(e);
	_cleanup_json_ json_t *features = rt_host_features();
	if (as_json) {
		_cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:O}", "version", BERTH_VERSION,
						     "gitCommit", BERTH_GIT_COMMIT, "cgroupMode", cg,
						     "kernel", u.release, "features", features);
		_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2));
		puts(s);
		return 0;
	}
	printf("berth version %s\n", BERTH_VERSION);
	printf("git commit:    %s\n", BERTH_GIT_COMMIT);
	printf("kernel:        %s %s\n", u.sysname, u.release);
	printf("cgroups:       %s\n", cg);
	const char *key;
	json_t *val;
	json_object_foreach(features, key, val) {
		_cleanup_free_ char *s = json_dumps(val, JSON_ENCODE_ANY);
		printf("%-14s %s\n", key, s);
	}
	return 0;
}

const CliCommand cmd_version = {
	.name = "version", .run = run_version, .summary = "Show version, commit and host features",
	.usage = "Usage: berth version [--format json]\n\n"
		 "Show berth's version, git commit, the cgroup mode and kernel features found.\n",
};
