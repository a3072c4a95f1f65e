/* cgroup.c - cgroup layout detection and the driver-independent entry points.
 * The v1 driver lives in cgroup-v1.c, the v2 driver in cgroup-v2.c. */
#include "runtime.h"
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "../base/fs.h"

const char *cg_mode_name(CgMode m)
{
	switch (m) {
	case CG_MODE_V1: return "v1";
	case CG_MODE_HYBRID: return "hybrid (v1 controllers + v2 unified)";
	case CG_MODE_V2: return "v2";
	}
	return "unknown";
}

/* Decide by files rather than statfs magic so that tests can point the
 * detection at a fake tree: v2 has cgroup.controllers at the top; v1 has a
 * directory per controller; hybrid additionally has unified/cgroup.controllers. */
int cg_detect(const char *mountroot, CgMode *ret, Error **err)
{
	_cleanup_free_ char *top = fs_join(mountroot, "cgroup.controllers");
	if (fs_exists(top)) {
		*ret = CG_MODE_V2;
		return 0;
	}
	_cleanup_free_ char *mem = fs_join(mountroot, "memory");
	if (!fs_is_dir(mem))
		return err_set(err, ENOTSUP, "cgroups: no v2 mount and no v1 memory controller under '%s'", mountroot);
	_cleanup_free_ char *uni = fs_join(mountroot, "unified/cgroup.controllers");
	*ret = fs_exists(uni) ? CG_MODE_HYBRID : CG_MODE_V1;
	return 0;
}
