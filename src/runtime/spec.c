/* spec.c - rt_spec_default(): the OCI runtime spec a container starts from,
 * with the defaults Docker (moby's oci/defaults) and crun give a container:
 * the six namespaces, the standard mounts, masked and read-only kernel paths,
 * the 14 default capabilities, no_new_privs, RLIMIT_NOFILE and the default
 * seccomp profile.  Callers fill root, process.args/env/cwd/user and tweak. */
#include "runtime.h"
#include <sys/resource.h>
#include "../shared/json.h"

static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *mount_json(const char *dest, const char *type, const char *source, const char *const *opts)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type, "source", source,
			 "options", strv_json(opts));
}

static json_t *default_mounts(void)
{
	static const char *const proc[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const cg[] = { "ro", "nosuid", "noexec", "nodev", NULL };
	static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	return json_pack("[o,o,o,o,o,o,o]",
			 mount_json("/proc", "proc", "proc", proc),
			 mount_json("/dev", "tmpfs", "tmpfs", dev),
			 mount_json("/dev/pts", "devpts", "devpts", pts),
			 mount_json("/sys", "sysfs", "sysfs", sys),
			 mount_json("/sys/fs/cgroup", "cgroup", "cgroup", cg),
			 mount_json("/dev/mqueue", "mqueue", "mqueue", mq),
			 mount_json("/dev/shm", "tmpfs", "shm", shm));
}

static json_t *default_namespaces(void)
{
	static const char *const types[] = { "mount", "pid", "uts", "ipc", "network", "cgroup", NULL };
	json_t *a = json_array();
	for (const char *const *t = types; *t; t++)
		json_array_append_new(a, json_pack("{s:s}", "type", *t));
	return a;
}

static json_t *default_caps(void)
{
	return json_pack("{s:o,s:o,s:o}", "bounding", strv_json(rt_default_caps),
			 "effective", strv_json(rt_default_caps), "permitted", strv_json(rt_default_caps));
}

/* Docker asks for 1048576 open files; without CAP_SYS_RESOURCE nothing above
 * the current hard limit can be set, so that is the default here. */
static json_t *default_rlimits(void)
{
	struct rlimit rl = { 1048576, 1048576 };
	struct rlimit cur;
	if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && cur.rlim_max < rl.rlim_max)
		rl.rlim_cur = rl.rlim_max = cur.rlim_max;
	return json_pack("[{s:s,s:I,s:I}]", "type", "RLIMIT_NOFILE", "hard", (json_int_t)rl.rlim_max,
			 "soft", (json_int_t)rl.rlim_cur);
}

/* linux.resources.devices as Docker writes it (informational: the limits
 * themselves go through CgLimits / cg_apply). */
static json_t *default_device_rules(void)
{
	static const struct { const char *type; int major, minor; const char *access; } rules[] = {
		{ "c", -1, -1, "m" }, { "b", -1, -1, "m" }, { "c", 1, 3, "rwm" }, { "c", 1, 5, "rwm" },
		{ "c", 1, 7, "rwm" }, { "c", 1, 8, "rwm" }, { "c", 1, 9, "rwm" }, { "c", 5, 0, "rwm" },
		{ "c", 5, 1, "rwm" }, { "c", 5, 2, "rwm" }, { "c", 136, -1, "rwm" }, { "c", 10, 200, "rwm" },
	};
	json_t *a = json_array();
	json_array_append_new(a, json_pack("{s:b,s:s}", "allow", 0, "access", "rwm"));
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		json_t *r = json_pack("{s:b,s:s,s:s}", "allow", 1, "type", rules[i].type, "access", rules[i].access);
		if (rules[i].major >= 0)
			json_object_set_new(r, "major", json_integer(rules[i].major));
		if (rules[i].minor >= 0)
			json_object_set_new(r, "minor", json_integer(rules[i].minor));
		json_array_append_new(a, r);
	}
	return a;
}

json_t *rt_spec_default(void)
{
	json_t *process = json_pack("{s:b,s:{s:i,s:i},s:[],s:[s],s:s,s:o,s:o,s:b}",
				    "terminal", 0,
				    "user", "uid", 0, "gid", 0,
				    "args",
				    "env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				    "cwd", "/",
				    "capabilities", default_caps(),
				    "rlimits", default_rlimits(),
				    "noNewPrivileges", 1);
	json_t *lx = json_pack("{s:o,s:o,s:o,s:o,s:{s:o}}",
				  "namespaces", default_namespaces(),
				  "maskedPaths", strv_json(masked_paths),
				  "readonlyPaths", strv_json(readonly_paths),
				  "seccomp", rt_seccomp_default(),
				  "resources", "devices", default_device_rules());
	return json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o,s:{}}",
			 "ociVersion", "1.0.2",
			 "process", process,
			 "root", "path", "rootfs", "readonly", 0,
			 "hostname", "",
			 "mounts", default_mounts(),
			 "linux", lx,
			 "annotations");
}
