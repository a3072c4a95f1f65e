/* features.c - what the kernel offers, for `berth version` and diagnostics. */
#include "runtime.h"
#include "../base/fs.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>

static bool filesystem_supported(const char *name)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		char *tab = strrchr(line, '\t');
		char *fs = tab ? tab + 1 : line;
		fs[strcspn(fs, "\n")] = 0;
		if (!strcmp(fs, name))
			return true;
	}
	return false;
}

json_t *rt_host_features(void)
{
	static const char *const ns[] = { "mnt", "pid", "uts", "ipc", "net", "cgroup", "user" };
	json_t *nss = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		_cleanup_free_ char *p = xasprintf("/proc/self/ns/%s", ns[i]);
		if (fs_exists(p))
			json_array_append_new(nss, json_string(ns[i]));
	}
	CgMode mode;
	const char *cg = cg_detect("/sys/fs/cgroup", &mode, NULL) == 0 ? cg_mode_name(mode) : "none";
	return json_pack("{s:b,s:b,s:o,s:s}", "overlay", filesystem_supported("overlay"),
			 "seccomp", fs_exists("/proc/sys/kernel/seccomp/actions_avail"),
			 "namespaces", nss, "cgroup", cg);
}
