/* ctrspec.c - a Kubernetes container -> the OCI runtime spec and cgroup
 * limits rt_spawn takes, with the semantics of the kubelet + containerd:
 * image resolution (pull policy; pulling itself comes with the registry
 * client), command/args against Entrypoint/Cmd, the environment merged over
 * the image's, the sandbox's namespaces joined by path (net, ipc, uts; a
 * new mount, pid and cgroup namespace each), the pod's /etc/hosts,
 * /etc/hostname, /etc/resolv.conf and volumes bind-mounted, securityContext
 * (pod defaults, container overrides) and resources.limits.
 *
 * Kubernetes differs from Docker in two defaults kept here: seccomp is
 * Unconfined unless seccompProfile says RuntimeDefault, and
 * allowPrivilegeEscalation defaults to true (no_new_privs off).
 *
 * shareProcessNamespace: the PID namespace is the sandbox's holder's
 * (sandbox.c), joined by path.  fsGroup and supplementalGroups become the
 * process's additional groups.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

/* A securityContext field: the container's, else the pod's. */
static const json_t *sc_get(const Pod *p, const json_t *ctr, const char *key)
{
	const json_t *v = json_object_get(json_object_get(ctr, "securityContext"), key);
	if (!v)
		v = json_object_get(json_path(pod_tree(p), "spec.securityContext"), key);
	return v;
}

static void set_namespaces(Pod *p, json_t *spec)
{
	json_t *nss = json_path(spec, "linux.namespaces");
	const json_t *ps = json_object_get(pod_tree(p), "spec");
	for (size_t i = json_array_size(nss); i-- > 0;) {
		json_t *ns = json_array_get(nss, i);
		const char *t = json_str(ns, "type");
		const char *pin = !strcmp(t, "network") ? "net" : !strcmp(t, "ipc") ? "ipc" : !strcmp(t, "uts") ? "uts" : NULL;
		bool host = (!strcmp(t, "network") || !strcmp(t, "uts")) ? p->host_network
			  : !strcmp(t, "ipc") ? json_bool(ps, "hostIPC", false)
			  : !strcmp(t, "pid") ? json_bool(ps, "hostPID", false) : false;
		if (host) {
			json_array_remove(nss, i);
			continue;
		}
		if (pin) {
			char *path = sandbox_ns_path(p, pin);
			json_object_set_new(ns, "path", json_string(path));
			free(path);
		}
	}
}

/* shareProcessNamespace: join the sandbox holder's PID namespace. */
static int set_shared_pid(Pod *p, json_t *spec, Error **err)
{
	const json_t *ps = json_object_get(pod_tree(p), "spec");
	if (!json_bool(ps, "shareProcessNamespace", false) || json_bool(ps, "hostPID", false))
		return 0;
	pid_t holder = sandbox_pid_holder(p);
	if (holder <= 0)
		return err_set(err, ESRCH, "pod %s/%s: the shared PID namespace's process is gone", p->ns, p->name);
	size_t i;
	json_t *ns;
	json_array_foreach(json_path(spec, "linux.namespaces"), i, ns)
		if (!strcmp(json_str(ns, "type") ?: "", "pid"))
			json_object_set_new(ns, "path", json_sprintf("/proc/%d/ns/pid", (int)holder));
	return 0;
}

/* fsGroup and supplementalGroups (pod securityContext) as additional gids;
 * NULL when there are none. */
static json_t *extra_groups(const Pod *p)
{
	const json_t *sc = json_path(pod_tree(p), "spec.securityContext");
	json_t *out = json_array();
	const json_t *fg = json_object_get(sc, "fsGroup");
	if (json_is_integer(fg) && json_integer_value(fg) >= 0)
		json_array_append(out, (json_t *)fg);
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(sc, "supplementalGroups"), i, g)
		if (json_is_integer(g) && json_integer_value(g) >= 0)
			json_array_append(out, g);
	if (!json_array_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The additional groups go into process.user; a numeric runAsUser is then
 * given directly (uid, runAsGroup or 0) instead of being resolved in the
 * image, which would replace the groups with the image's. */
static void set_groups(Pod *p, PodCtr *c, json_t *spec)
{
	_cleanup_json_ json_t *groups = extra_groups(p);
	if (!groups)
		return;
	const json_t *ruid = sc_get(p, ctr_spec(p, c), "runAsUser"), *rgid = sc_get(p, ctr_spec(p, c), "runAsGroup");
	json_t *ann = json_object_get(spec, "annotations");
	json_t *user = json_obj_ensure(json_object_get(spec, "process"), "user");
	if (json_is_integer(ruid)) {
		json_object_del(ann, "org.berth.user");
		json_object_set(user, "uid", (json_t *)ruid);
		json_object_set_new(user, "gid", json_integer(json_is_integer(rgid) ? json_integer_value(rgid) : 0));
	}
	json_object_set(user, "additionalGids", groups);
}

static void add_bind(json_t *mounts, const char *src, const char *dst, bool ro)
{
	json_t *opts = json_pack("[s,s]", "rbind", "rprivate");
	if (ro)
		json_array_append_new(opts, json_string("ro"));
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", "bind", "source",
						src, "options", opts));
}

static bool str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(v);
		if (n && (!strcasecmp(n, s) || (!strncasecmp(s, "CAP_", 4) && !strcasecmp(n, s + 4))))
			return true;
	}
	return false;
}

static json_t *capabilities(const json_t *caps, bool privileged)
{
	json_t *list = json_array();
	const json_t *add = json_object_get(caps, "add"), *drop = json_object_get(caps, "drop");
	if (privileged || str_in(add, "ALL")) {
		for (int i = 0; i <= rt_cap_last(); i++)
			if (rt_cap_name(i) && prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
				json_array_append_new(list, json_string(rt_cap_name(i)));
	} else {
		for (const char *const *c = rt_default_caps; *c; c++)
			json_array_append_new(list, json_string(*c));
		size_t i;
		json_t *v;
		json_array_foreach(add, i, v) {
			_cleanup_free_ char *n = strncasecmp(json_string_value(v), "CAP_", 4)
							 ? xasprintf("CAP_%s", json_string_value(v))
							 : xstrdup(json_string_value(v));
			for (char *q = n; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			if (rt_cap_from_name(n) >= 0 && !str_in(list, n))
				json_array_append_new(list, json_string(n));
		}
	}
	if (!privileged) {
		if (str_in(drop, "ALL"))
			json_array_clear(list);
		for (size_t j = json_array_size(list); j-- > 0;)
			if (str_in(drop, json_string_value(json_array_get(list, j))))
				json_array_remove(list, j);
	}
	json_t *obj = json_pack("{s:O,s:O,s:O,s:[]}", "bounding", list, "effective", list, "permitted", list,
				"ambient");
	json_decref(list);
	return obj;
}

static void make_privileged(json_t *spec)
{
	json_t *lnx = json_object_get(spec, "linux");
	json_object_set_new(lnx, "maskedPaths", json_array());
	json_object_set_new(lnx, "readonlyPaths", json_array());
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		const char *d = json_str(m, "destination");
		if (strcmp(d, "/sys") && strcmp(d, "/sys/fs/cgroup"))
			continue;
		json_t *opts = json_object_get(m, "options");
		for (size_t j = json_array_size(opts); j-- > 0;)
			if (!strcmp(json_string_value(json_array_get(opts, j)), "ro"))
				json_array_set_new(opts, j, json_string("rw"));
	}
}

/* runAsNonRoot against the uid the container would run as. */
static int check_non_root(Pod *p, PodCtr *c, const json_t *ruid, const char *img_user, Error **err)
{
	if (!json_is_true(sc_get(p, ctr_spec(p, c), "runAsNonRoot")))
		return 0;
	if (json_is_integer(ruid)) {
		if (json_integer_value(ruid) == 0)
			return err_set(err, EPERM, "container's runAsUser breaks non-root policy (pod: \"%s_%s(%s)\", container: %s)",
				       p->name, p->ns, p->uid, c->name);
		return 0;
	}
	_cleanup_free_ char *u = xstrdup(img_user ? img_user : "");
	u[strcspn(u, ":")] = 0;
	int64_t uid = 0;
	if (*u && parse_int64(u, &uid) < 0)
		return err_set(err, EPERM, "container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: \"%s_%s(%s)\", container: %s)",
			       u, p->name, p->ns, p->uid, c->name);
	if (uid == 0)
		return err_set(err, EPERM, "container has runAsNonRoot and image will run as root (pod: \"%s_%s(%s)\", container: %s)",
			       p->name, p->ns, p->uid, c->name);
	return 0;
}

static void set_user(Pod *p, PodCtr *c, json_t *spec, const char *img_user)
{
	const json_t *ruid = sc_get(p, ctr_spec(p, c), "runAsUser"), *rgid = sc_get(p, ctr_spec(p, c), "runAsGroup");
	json_t *ann = json_object_get(spec, "annotations");
	_cleanup_free_ char *user = NULL;
	if (json_is_integer(ruid) && json_is_integer(rgid))
		user = xasprintf("%lld:%lld", (long long)json_integer_value(ruid), (long long)json_integer_value(rgid));
	else if (json_is_integer(ruid))
		user = xasprintf("%lld", (long long)json_integer_value(ruid));
	else if (img_user && *img_user && json_is_integer(rgid))
		user = xasprintf("%.*s:%lld", (int)strcspn(img_user, ":"), img_user, (long long)json_integer_value(rgid));
	else if (img_user && *img_user)
		user = xstrdup(img_user);
	else if (json_is_integer(rgid))
		user = xasprintf("0:%lld", (long long)json_integer_value(rgid));
	if (user)
		json_object_set_new(ann, "org.berth.user", json_string(user));
}

static void set_limits(const json_t *ctr, CgLimits *lim)
{
	memset(lim, 0, sizeof(*lim));
	const json_t *res = json_object_get(ctr, "resources");
	const json_t *limits = json_object_get(res, "limits"), *req = json_object_get(res, "requests");
	int64_t v;
	if (json_str(limits, "memory") && agent_quantity_milli(json_str(limits, "memory"), &v) == 0)
		lim->memory_bytes = v / 1000;
	if (json_str(limits, "cpu") && agent_quantity_milli(json_str(limits, "cpu"), &v) == 0)
		lim->cpu_milli = v < 10 ? 10 : v;
	const char *rc = json_str(req, "cpu") ? json_str(req, "cpu") : json_str(limits, "cpu");
	if (rc && agent_quantity_milli(rc, &v) == 0)
		lim->cpu_shares = v * 1024 / 1000 < 2 ? 2 : v * 1024 / 1000;
}

/* image env first, the container's env over it (by name) */
static json_t *merge_env(const json_t *img_env, char *const *env, const char *hostname)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(img_env, i, v) json_array_append(out, v);
	_cleanup_free_ char *hn = xasprintf("HOSTNAME=%s", hostname);
	char *const extra[] = { hn, NULL };
	char *const *lists[] = { extra, env };
	for (size_t l = 0; l < 2; l++)
		for (char *const *e = lists[l]; e && *e; e++) {
			size_t n = strcspn(*e, "=");
			for (size_t j = json_array_size(out); j-- > 0;) {
				const char *s = json_string_value(json_array_get(out, j));
				if (s && !strncmp(s, *e, n) && s[n] == '=')
					json_array_remove(out, j);
			}
			json_array_append_new(out, json_string(*e));
		}
	return out;
}

static int resolve_image(Agent *a, Pod *p, PodCtr *c, ImgInfo **ret, Error **err)
{
	const char *image = json_str(ctr_spec(p, c), "image");
	if (!image || !*image)
		return err_set(err, EINVAL, "container %s: no image", c->name);
	int r = img_resolve(a->images, image, ret, NULL);
	if (r >= 0)
		return 0;
	const char *policy = json_str(ctr_spec(p, c), "imagePullPolicy");
	if (policy && !strcmp(policy, "Never"))
		return err_set(err, ENOENT, "Container image \"%s\" is not present with pull policy of Never", image);
	return err_set(err, EHOSTUNREACH, "image \"%s\" is not on this node and pulling is not available yet", image);
}

int ctrspec_build(Agent *a, Pod *p, PodCtr *c, const char *instdir, json_t **ret_spec, CgLimits *ret_lim,
		  char **ret_image_id, Error **err)
{
	ImgInfo *img = NULL;
	int r = resolve_image(a, p, c, &img, err);
	if (r < 0)
		return r;
	const json_t *icfg = json_object_get(img->config, "config");
	_cleanup_strv_ char **env = NULL;
	r = agent_env_resolve(pod_tree(p), ctr_spec(p, c), p->ip, a->node_name, a->cfg.lookup, a->cfg.ud, &env, err);
	const json_t *ruid = sc_get(p, ctr_spec(p, c), "runAsUser");
	if (r >= 0)
		r = check_non_root(p, c, ruid, json_str(icfg, "User"), err);
	_cleanup_free_ char *upper = fs_join(instdir, "upper"), *work = fs_join(instdir, "work");
	_cleanup_free_ char *merged = fs_join(instdir, "merged");
	_cleanup_free_ char *data = NULL, *chdir_to = NULL;
	if (r >= 0)
		r = fs_mkdir_p(upper, 0755, err);
	if (r >= 0)
		r = fs_mkdir_p(work, 0700, err);
	if (r >= 0)
		r = fs_mkdir_p(merged, 0755, err);
	if (r >= 0)
		r = img_overlay_options(a->images, img, NULL, upper, work, &data, &chdir_to, err);
	if (r < 0) {
		img_info_free(img);
		return r;
	}
	json_t *spec = rt_spec_default();
	json_t *args = agent_command_resolve(ctr_spec(p, c), img->config, env);
	if (json_array_size(args) == 0) {
		json_decref(args);
		json_decref(spec);
		img_info_free(img);
		return err_set(err, EINVAL, "no command specified");
	}
	const json_t *hn = json_path(pod_tree(p), "spec.hostname");
	json_t *process = json_object_get(spec, "process");
	json_object_set_new(process, "args", args);
	json_object_set_new(process, "env", merge_env(json_object_get(icfg, "Env"), env,
						      json_is_string(hn) ? json_string_value(hn) : p->name));
	const char *wd = json_str(ctr_spec(p, c), "workingDir");
	if (!wd || !*wd)
		wd = json_str(icfg, "WorkingDir");
	json_object_set_new(process, "cwd", json_string(wd && *wd ? wd : "/"));
	json_object_set_new(process, "terminal", json_boolean(json_bool(ctr_spec(p, c), "tty", false)));
	bool priv = json_is_true(sc_get(p, ctr_spec(p, c), "privileged"));
	json_object_set_new(process, "capabilities", capabilities(sc_get(p, ctr_spec(p, c), "capabilities"), priv));
	const json_t *ape = sc_get(p, ctr_spec(p, c), "allowPrivilegeEscalation");
	json_object_set_new(process, "noNewPrivileges", json_boolean(!priv && json_is_false(ape)));
	json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", merged, "readonly",
						    json_is_true(sc_get(p, ctr_spec(p, c), "readOnlyRootFilesystem"))));
	json_t *ann = json_object_get(spec, "annotations");
	json_object_set_new(ann, "org.berth.rootfs.overlay", json_string(data));
	json_object_set_new(ann, "org.berth.rootfs.overlay.dir", json_string(chdir_to));
	json_object_set_new(ann, "org.berth.container.id", json_string(c->id));
	set_user(p, c, spec, json_str(icfg, "User"));
	set_groups(p, c, spec);
	set_namespaces(p, spec);
	const json_t *sp = sc_get(p, ctr_spec(p, c), "seccompProfile");
	const char *st = json_str(sp, "type");
	if (priv || !st || strcmp(st, "RuntimeDefault"))
		json_object_del(json_object_get(spec, "linux"), "seccomp");
	if (priv)
		make_privileged(spec);
	json_t *mounts = json_object_get(spec, "mounts");
	static const char *const etc[][2] = { { "etc-hosts", "/etc/hosts" }, { "hostname", "/etc/hostname" },
					      { "resolv.conf", "/etc/resolv.conf" } };
	for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
		_cleanup_free_ char *src = fs_join(p->dir, etc[i][0]);
		add_bind(mounts, src, etc[i][1], false);
	}
	r = set_shared_pid(p, spec, err);
	if (r >= 0)
		r = volumes_mounts(a, p, ctr_spec(p, c), mounts, err);
	set_limits(ctr_spec(p, c), ret_lim);
	ret_lim->devices_allow_all = priv;
	*ret_image_id = xstrdup(img->id);
	img_info_free(img);
	if (r < 0) {
		json_decref(spec);
		return r;
	}
	*ret_spec = spec;
	return 0;
}

/* The container's process object with other args, for probes and hooks:
 * the same env, caps and nnp; the uid/gid the container actually runs as. */
json_t *agent_proc_user(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_free_ char *status = NULL;
	long uid = 0, gid = 0;
	if (fs_read_file(path, 1 << 16, &status, NULL, NULL) == 0) {
		const char *u = strstr(status, "\nUid:"), *g = strstr(status, "\nGid:");
		if (u)
			uid = strtol(u + 5, NULL, 10);
		if (g)
			gid = strtol(g + 5, NULL, 10);
	}
	json_t *user = json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
	const char *gl = status ? strstr(status, "\nGroups:") : NULL;
	if (gl) { /* the same supplementary groups (fsGroup, supplementalGroups, the image's) */
		json_t *gids = json_array();
		char *end;
		for (const char *q = gl + 8; *q && *q != '\n'; q = end) {
			long g = strtol(q, &end, 10);
			if (end == q)
				break;
			json_array_append_new(gids, json_integer(g));
		}
		json_object_set_new(user, "additionalGids", gids);
	}
	return user;
}

json_t *ctrspec_exec_process(Agent *a, Pod *p, PodCtr *c, char *const *argv)
{
	(void)a;
	(void)p;
	json_t *proc = c->process ? json_loads(c->process, 0, NULL) : NULL;
	if (!json_is_object(proc)) {
		json_decref(proc);
		proc = json_pack("{s:s}", "cwd", "/");
	}
	json_object_set_new(proc, "args", json_strv(argv));
	json_object_set_new(proc, "terminal", json_false());
	json_object_set_new(proc, "user", agent_proc_user(c->pid));
	return proc;
}
