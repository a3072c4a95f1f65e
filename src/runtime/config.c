/* config.c - OCI runtime spec (json_t) -> RtConfig, in the parent.
 *
 * Every check on the spec happens here, before anything is forked, so a bad
 * spec is reported with the field that is wrong and the container's first
 * process only applies prepared data.  Sizes are capped
 * (BERTH_MAX_SPEC_ITEMS); namespace paths are opened here so that a wrong
 * path is an error of rt_spawn, not of the child. */
#include "spawn-internal.h"
#include "cgroup-internal.h"
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../shared/json.h"

#define ANN_OVERLAY "org.berth.rootfs.overlay"
#define ANN_OVERLAY_DIR "org.berth.rootfs.overlay.dir"
#define ANN_USER "org.berth.user"
/* "true": a reaper runs as PID 1 and the program as its child (--init) */
#define ANN_INIT "org.berth.init"

/* ------------------------------------------------------- mount options */

typedef struct MountFlag {
	const char *name;
	bool clear;
	unsigned long flag;
} MountFlag;

static const MountFlag mount_flags[] = {
	{ "ro", false, MS_RDONLY }, { "rw", true, MS_RDONLY },
	{ "nosuid", false, MS_NOSUID }, { "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV }, { "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC }, { "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC }, { "remount", false, MS_REMOUNT },
	{ "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },
	{ "noatime", false, MS_NOATIME }, { "atime", true, MS_NOATIME },
	{ "nodiratime", false, MS_NODIRATIME }, { "diratime", true, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
	{ "bind", false, MS_BIND }, { "rbind", false, MS_BIND | MS_REC },
	{ "silent", false, MS_SILENT }, { "loud", true, MS_SILENT },
};

static const MountFlag propagation_flags[] = {
	{ "private", false, MS_PRIVATE }, { "rprivate", false, MS_PRIVATE | MS_REC },
	{ "shared", false, MS_SHARED }, { "rshared", false, MS_SHARED | MS_REC },
	{ "slave", false, MS_SLAVE }, { "rslave", false, MS_SLAVE | MS_REC },
	{ "unbindable", false, MS_UNBINDABLE }, { "runbindable", false, MS_UNBINDABLE | MS_REC },
};

static const MountFlag *flag_find(const MountFlag *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

int rt_mount_options(const json_t *opts, RtMount *m, Error **err)
{
	_cleanup_sb_ StrBuf data = STRBUF_INIT;
	size_t i;
	json_t *o;
	if (opts && !json_is_array(opts))
		return err_set(err, EINVAL, "options must be an array of strings");
	json_array_foreach(opts, i, o) {
		const char *s = json_string_value(o);
		if (!s)
			return err_set(err, EINVAL, "options[%zu] is not a string", i);
		const MountFlag *f = flag_find(mount_flags, ARRAY_SIZE(mount_flags), s);
		if (f) {
			if (f->clear)
				m->flags &= ~f->flag;
			else
				m->flags |= f->flag;
			if (f->flag == MS_RDONLY)
				m->clear_ro = f->clear;
			continue;
		}
		if ((f = flag_find(propagation_flags, ARRAY_SIZE(propagation_flags), s))) {
			m->propagation = f->flag;
			continue;
		}
		if (!strcmp(s, "tmpcopyup") || !strcmp(s, "rro") || !strcmp(s, "rrw"))
			continue; /* runtime extensions berth does not implement: harmless to ignore */
		if (data.len)
			sb_addc(&data, ',');
		sb_adds(&data, s);
	}
	m->data = data.len ? sb_detach(&data) : NULL;
	return 0;
}

/* ------------------------------------------------------------- helpers */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int strv_from(const json_t *arr, const char *what, char ***ret, Error **err)
{
	if (arr && !json_is_array(arr))
		return err_set(err, EINVAL, "%s must be an array", what);
	if (json_array_size(arr) > BERTH_MAX_SPEC_ITEMS)
		return err_set(err, E2BIG, "%s has more than %u entries", what, BERTH_MAX_SPEC_ITEMS);
	*ret = json_to_strv(arr);
	return 0;
}

static const char *annotation(const json_t *spec, const char *key)
{
	return json_str(json_object_get(spec, "annotations"), key);
}

/* -------------------------------------------------------------- mounts */

static int parse_mounts(const json_t *spec, RtConfig *cfg, Error **err)
{
	const json_t *mounts = json_object_get(spec, "mounts");
	if (mounts && !json_is_array(mounts))
		return err_set(err, EINVAL, "spec: mounts must be an array");
	size_t n = json_array_size(mounts);
	if (n > BERTH_MAX_SPEC_ITEMS)
		return err_set(err, E2BIG, "spec: more than %u mounts", BERTH_MAX_SPEC_ITEMS);
	cfg->mounts = xcalloc(n ? n : 1, sizeof(RtMount));
	for (size_t i = 0; i < n; i++) {
		const json_t *j = json_array_get(mounts, i);
		RtMount *m = &cfg->mounts[cfg->n_mounts++];
		const char *dest = json_str(j, "destination");
		if (!dest || dest[0] != '/')
			return err_set(err, EINVAL, "spec: mounts[%zu]: destination must be an absolute path", i);
		if (strlen(dest) >= 4000)
			return err_set(err, ENAMETOOLONG, "spec: mounts[%zu]: destination too long", i);
		m->dest = xstrdup(dest);
		m->source = dup_or_null(json_str(j, "source"));
		m->type = dup_or_null(json_str(j, "type"));
		if (rt_mount_options(json_object_get(j, "options"), m, err) < 0)
			return err_prefix(err, "spec: mount '%s'", dest);
		if (m->type && !strcmp(m->type, "bind")) {
			m->flags |= MS_BIND;
			free(m->type);
			m->type = NULL;
		}
		if (m->flags & MS_BIND) {
			free(m->type);
			m->type = NULL;
		}
		if (!m->source && (m->flags & MS_BIND))
			return err_set(err, EINVAL, "spec: bind mount '%s' has no source", dest);
		if ((m->flags & MS_BIND) && m->source[0] != '/') {
			/* relative to the bundle (our cwd); the child changes directory */
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd)))
				return err_sys(err, errno, "spec: bind mount '%s': getcwd", dest);
			char *abs = xasprintf("%s/%s", cwd, m->source);
			free(m->source);
			m->source = abs;
		}
		if (!m->type && !(m->flags & MS_BIND))
			return err_set(err, EINVAL, "spec: mount '%s' has neither a type nor a bind option", dest);
	}
	return 0;
}

static bool needs_cgroup_mount(const RtConfig *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].type && (!strcmp(cfg->mounts[i].type, "cgroup") || !strcmp(cfg->mounts[i].type, "cgroup2")))
			return true;
	return false;
}

/* The host's cgroup hierarchies as the container's /sys/fs/cgroup shows them:
 * one cgroup2 mount on v2 hosts, else each v1 hierarchy under its dir name. */
static int plan_cgroup_mounts(RtConfig *cfg, Error **err)
{
	CgHier *h = NULL;
	size_t n = 0;
	int r = cg_host_hierarchies(&h, &n, err);
	if (r < 0)
		return r;
	cfg->cgmounts = xcalloc(n ? n : 1, sizeof(RtCgroupMount));
	for (size_t i = 0; i < n; i++) {
		if (h[i].v2) {
			if (!strcmp(h[i].mountpoint, "/sys/fs/cgroup"))
				cfg->cgroup2 = true;
			continue; /* hybrid: unified/ is not shown, as Docker does */
		}
		const char *base = strrchr(h[i].mountpoint, '/');
		RtCgroupMount *c = &cfg->cgmounts[cfg->n_cgmounts++];
		c->dir = xstrdup(base ? base + 1 : h[i].mountpoint);
		c->opts = xstrdup(h[i].opts);
	}
	cg_hierarchies_free(h, n);
	return 0;
}

/* ---------------------------------------------------------- namespaces */

static const struct {
	const char *type, *proc;
	int flag, idx;
} ns_types[] = {
	{ "user", "user", CLONE_NEWUSER, RT_NS_USER },
	{ "mount", "mnt", CLONE_NEWNS, RT_NS_MNT },
	{ "pid", "pid", CLONE_NEWPID, RT_NS_PID },
	{ "network", "net", CLONE_NEWNET, RT_NS_NET },
	{ "ipc", "ipc", CLONE_NEWIPC, RT_NS_IPC },
	{ "uts", "uts", CLONE_NEWUTS, RT_NS_UTS },
	{ "cgroup", "cgroup", CLONE_NEWCGROUP, RT_NS_CGROUP },
};

static char *id_map(const json_t *arr, const char *what, Error **err)
{
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	size_t i;
	json_t *m;
	if (json_array_size(arr) > 340) /* the kernel's limit on map lines */
		return err_set(err, E2BIG, "spec: too many %s", what), NULL;
	json_array_foreach(arr, i, m) {
		json_int_t c = json_int(m, "containerID", -1), h = json_int(m, "hostID", -1), s = json_int(m, "size", -1);
		if (c < 0 || h < 0 || s <= 0 || c > UINT32_MAX || h > UINT32_MAX || s > UINT32_MAX) {
			err_set(err, EINVAL, "spec: %s[%zu] needs containerID, hostID and size", what, i);
			return NULL;
		}
		sb_addf(&sb, "%lld %lld %lld\n", (long long)c, (long long)h, (long long)s);
	}
	return sb.len ? sb_detach(&sb) : NULL;
}

static int parse_namespaces(const json_t *lx, RtConfig *cfg, Error **err)
{
	const json_t *nss = json_object_get(lx, "namespaces");
	size_t i;
	json_t *ns;
	json_array_foreach(nss, i, ns) {
		const char *type = json_str(ns, "type"), *path = json_str(ns, "path");
		size_t k = 0;
		while (k < ARRAY_SIZE(ns_types) && (!type || strcmp(type, ns_types[k].type)))
			k++;
		if (k == ARRAY_SIZE(ns_types))
			return err_set(err, EINVAL, "spec: unsupported namespace type '%s'", type ? type : "(none)");
		int idx = ns_types[k].idx;
		if (path && *path) {
			if (cfg->ns_fd[idx] >= 0)
				close(cfg->ns_fd[idx]);
			cfg->ns_fd[idx] = open(path, O_RDONLY | O_CLOEXEC);
			if (cfg->ns_fd[idx] < 0)
				return err_sys(err, errno, "spec: %s namespace path '%s'", type, path);
		} else if (idx == RT_NS_PID) {
			cfg->new_pid = true;
		} else if (idx == RT_NS_CGROUP) {
			cfg->new_cgroupns = true;
		} else {
			cfg->unshare_flags |= ns_types[k].flag;
		}
	}
	if (cfg->unshare_flags & CLONE_NEWUSER) {
		if (!(cfg->uid_map = id_map(json_object_get(lx, "uidMappings"), "uidMappings", err)) && err && *err)
			return -(*err)->code;
		if (!(cfg->gid_map = id_map(json_object_get(lx, "gidMappings"), "gidMappings", err)) && err && *err)
			return -(*err)->code;
		if (!cfg->uid_map || !cfg->gid_map)
			return err_set(err, EINVAL, "spec: a new user namespace needs uidMappings and gidMappings");
	}
	return 0;
}

/* ---------------------------------------------------- devices, sysctl */

static int parse_devices(const json_t *lx, RtConfig *cfg, Error **err)
{
	const json_t *devs = json_object_get(lx, "devices");
	size_t n = json_array_size(devs), i;
	if (n > BERTH_MAX_SPEC_ITEMS)
		return err_set(err, E2BIG, "spec: more than %u devices", BERTH_MAX_SPEC_ITEMS);
	cfg->devices = xcalloc(n ? n : 1, sizeof(RtDevice));
	json_t *d;
	json_array_foreach(devs, i, d) {
		const char *path = json_str(d, "path"), *type = json_str(d, "type");
		if (!path || path[0] != '/' || !type)
			return err_set(err, EINVAL, "spec: linux.devices[%zu] needs an absolute path and a type", i);
		RtDevice *dev = &cfg->devices[cfg->n_devices++];
		dev->path = xstrdup(path);
		switch (type[0]) {
		case 'c': case 'u': dev->type = S_IFCHR; break;
		case 'b': dev->type = S_IFBLK; break;
		case 'p': dev->type = S_IFIFO; break;
		default: return err_set(err, EINVAL, "spec: device '%s': unknown type '%s'", path, type);
		}
		dev->major = (unsigned)json_int(d, "major", 0);
		dev->minor = (unsigned)json_int(d, "minor", 0);
		dev->mode = (mode_t)json_int(d, "fileMode", 0666) & 07777;
		dev->uid = (uid_t)json_int(d, "uid", 0);
		dev->gid = (gid_t)json_int(d, "gid", 0);
	}
	return 0;
}

static int parse_sysctl(const json_t *lx, RtConfig *cfg, Error **err)
{
	const json_t *sc = json_object_get(lx, "sysctl");
	size_t n = json_object_size(sc), k = 0;
	if (n > BERTH_MAX_SPEC_ITEMS)
		return err_set(err, E2BIG, "spec: more than %u sysctls", BERTH_MAX_SPEC_ITEMS);
	cfg->sysctl = xcalloc(2 * n + 1, sizeof(char *));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)sc, key, v) {
		if (!json_is_string(v) || !*key || strstr(key, "..") || strchr(key, '/'))
			return err_set(err, EINVAL, "spec: bad sysctl '%s'", key);
		char *path = xasprintf("/proc/sys/%s", key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		cfg->sysctl[k++] = path;
		cfg->sysctl[k++] = xstrdup(json_string_value(v));
	}
	return 0;
}

/* ---------------------------------------------------------------- all */

int rt_config_parse(const json_t *spec, RtConfig *cfg, Error **err)
{
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < RT_NS_N; i++)
		cfg->ns_fd[i] = -1;
	if (!json_is_object(spec))
		return err_set(err, EINVAL, "spec: not a JSON object");
	const json_t *lx = json_object_get(spec, "linux");
	const char *root = json_str(json_object_get(spec, "root"), "path");
	if (!root || !*root)
		return err_set(err, EINVAL, "spec: no root.path");
	/* relative to the current directory (the bundle, for crun-style callers) */
	cfg->rootfs = root[0] == '/' ? xstrdup(root) : realpath(root, NULL);
	if (!cfg->rootfs)
		return err_sys(err, errno, "spec: root.path '%s'", root);
	cfg->root_readonly = json_bool(json_object_get(spec, "root"), "readonly", false);
	const char *ov = annotation(spec, ANN_OVERLAY), *ovdir = annotation(spec, ANN_OVERLAY_DIR);
	if (ov) {
		if (strlen(ov) >= 4096)
			return err_set(err, E2BIG, "spec: overlay mount data is longer than a page (%zu bytes)", strlen(ov));
		cfg->overlay_data = xstrdup(ov);
		cfg->overlay_dir = xstrdup(ovdir ? ovdir : "/");
	}
	const char *hn = json_str(spec, "hostname"), *dn = json_str(spec, "domainname");
	cfg->hostname = hn && *hn ? xstrdup(hn) : NULL;
	cfg->domainname = dn && *dn ? xstrdup(dn) : NULL;
	if ((cfg->hostname && strlen(cfg->hostname) > 64) || (cfg->domainname && strlen(cfg->domainname) > 64))
		return err_set(err, EINVAL, "spec: hostname/domainname longer than 64 characters");
	int r = parse_namespaces(lx, cfg, err);
	if (r < 0)
		return r;
	if ((cfg->hostname || cfg->domainname) && !(cfg->unshare_flags & CLONE_NEWUTS) && cfg->ns_fd[RT_NS_UTS] < 0)
		return err_set(err, EINVAL, "spec: setting the hostname needs a new uts namespace");
	if ((r = parse_mounts(spec, cfg, err)) < 0 || (r = parse_devices(lx, cfg, err)) < 0 ||
	    (r = parse_sysctl(lx, cfg, err)) < 0)
		return r;
	if ((r = strv_from(json_object_get(lx, "maskedPaths"), "spec: linux.maskedPaths", &cfg->masked, err)) < 0 ||
	    (r = strv_from(json_object_get(lx, "readonlyPaths"), "spec: linux.readonlyPaths", &cfg->readonly, err)) < 0)
		return r;
	const char *prop = json_str(lx, "rootfsPropagation");
	if (prop && *prop) {
		const MountFlag *f = flag_find(propagation_flags, ARRAY_SIZE(propagation_flags), prop);
		if (!f)
			return err_set(err, EINVAL, "spec: unknown rootfsPropagation '%s'", prop);
		cfg->root_propagation = f->flag;
	}
	if (needs_cgroup_mount(cfg) && (r = plan_cgroup_mounts(cfg, err)) < 0)
		return r;
	const json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc))
		return err_set(err, EINVAL, "spec: no process");
	r = rt_process_parse(proc, annotation(spec, ANN_USER), json_object_get(lx, "seccomp"), &cfg->proc, err);
	const char *init = annotation(spec, ANN_INIT);
	cfg->proc.init = r >= 0 && cfg->new_pid && init && !strcmp(init, "true");
	return r;
}

void rt_config_release(RtConfig *cfg)
{
	rt_process_release(&cfg->proc);
	for (int i = 0; i < RT_NS_N; i++)
		if (cfg->ns_fd[i] >= 0)
			close(cfg->ns_fd[i]);
	free(cfg->uid_map);
	free(cfg->gid_map);
	free(cfg->rootfs);
	free(cfg->overlay_data);
	free(cfg->overlay_dir);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].dest);
		free(cfg->mounts[i].source);
		free(cfg->mounts[i].type);
		free(cfg->mounts[i].data);
	}
	free(cfg->mounts);
	for (size_t i = 0; i < cfg->n_devices; i++)
		free(cfg->devices[i].path);
	free(cfg->devices);
	strv_free(cfg->masked);
	strv_free(cfg->readonly);
	strv_free(cfg->sysctl);
	free(cfg->hostname);
	free(cfg->domainname);
	for (size_t i = 0; i < cfg->n_cgmounts; i++) {
		free(cfg->cgmounts[i].dir);
		free(cfg->cgmounts[i].opts);
	}
	free(cfg->cgmounts);
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < RT_NS_N; i++)
		cfg->ns_fd[i] = -1;
}
