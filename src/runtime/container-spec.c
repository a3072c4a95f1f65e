/* container-spec.c - from a container's config to what the runtime needs:
 * the init layer files and the OCI runtime spec plus cgroup limits.
 *
 * Docker's semantics: Entrypoint + Cmd were resolved at create; USER names are
 * resolved inside the container (annotation org.berth.user) because the
 * rootfs is only ever mounted inside the container's mount namespace.
 */
#include "container-internal.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Docker copies the host's resolv.conf without loopback nameservers; when
 * none are left it falls back to public resolvers (configuration only). */
static char *resolv_conf_for(const char *netmode)
{
	_cleanup_free_ char *host = NULL;
	if (fs_read_file("/etc/resolv.conf", 1 << 16, &host, NULL, NULL) < 0)
		host = xstrdup("");
	if (netmode && !strcmp(netmode, "host"))
		return TAKE_PTR(host);
	StrBuf sb = STRBUF_INIT;
	bool any_ns = false;
	char *save = NULL;
	for (char *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "nameserver", 10)) {
			const char *addr = line + 10 + strspn(line + 10, " \t");
			if (!strncmp(addr, "127.", 4) || !strncmp(addr, "::1", 3))
				continue;
			any_ns = true;
		}
		sb_addf(&sb, "%s\n", line);
	}
	if (!any_ns)
		sb_adds(&sb, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	return sb_detach(&sb);
}

int ctr_init_layer_write(const char *dir, const char *hostname, const char *ip, const char *netmode,
			 Error **err)
{
	_cleanup_free_ char *etc = fs_join(dir, "init/etc");
	_cleanup_free_ char *p_host = fs_join(etc, "hostname");
	_cleanup_free_ char *p_hosts = fs_join(etc, "hosts");
	_cleanup_free_ char *p_resolv = fs_join(etc, "resolv.conf");
	char hn[256] = "";
	if (netmode && !strcmp(netmode, "host"))
		gethostname(hn, sizeof(hn) - 1);
	const char *name = hn[0] ? hn : hostname;
	_cleanup_free_ char *hostname_line = xasprintf("%s\n", name);
	_cleanup_free_ char *hosts = xasprintf(
		"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
		"ff02::2\tip6-allrouters\n%s%s%s%s",
		ip && *ip ? ip : "", ip && *ip ? "\t" : "", ip && *ip ? name : "", ip && *ip ? "\n" : "");
	_cleanup_free_ char *resolv = resolv_conf_for(netmode);
	int r = fs_write_replace(p_host, hostname_line, strlen(hostname_line), 0644, err);
	if (r >= 0)
		r = fs_write_replace(p_hosts, hosts, strlen(hosts), 0644, err);
	if (r >= 0)
		r = fs_write_replace(p_resolv, resolv, strlen(resolv), 0644, err);
	return r;
}

const char *ctr_netmode(const Container *c)
{
	const char *m = json_str(json_object_get(c->config, "HostConfig"), "NetworkMode");
	if (!m || !*m || !strcmp(m, "default"))
		return "bridge";
	return m;
}

char *ctr_cgroup_path(const Container *c) { return xasprintf("berth/%s", c->id); }

NetPort *ctr_ports(const Container *c, size_t *ret_n)
{
	json_t *pb = json_object_get(json_object_get(c->config, "HostConfig"), "PortBindings");
	size_t n = json_array_size(pb), k = 0;
	NetPort *v = xcalloc(n + 1, sizeof(NetPort));
	for (size_t i = 0; i < n; i++)
		if (net_port_parse(json_string_value(json_array_get(pb, i)), &v[k], NULL) == 0)
			k++;
	*ret_n = k;
	return v;
}

static bool str_in_array(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcasecmp(json_string_value(v), s))
			return true;
	return false;
}

static char *cap_canonical(const char *name)
{
	char *up = str_has_prefix(name, "CAP_") || str_has_prefix(name, "cap_") ? xstrdup(name)
										: xasprintf("CAP_%s", name);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return up;
}

/* Default caps, then --cap-drop, then --cap-add (Docker's order), or every
 * capability for --privileged. */
static json_t *capability_list(const json_t *hc)
{
	json_t *caps = json_array();
	bool privileged = json_bool(hc, "Privileged", false);
	json_t *add = json_object_get(hc, "CapAdd"), *drop = json_object_get(hc, "CapDrop");
	if (privileged || str_in_array(add, "ALL")) {
		for (int i = 0; i <= rt_cap_last(); i++) {
			const char *n = rt_cap_name(i);
			/* "all" means all that berth itself holds: a capability missing from
			 * our bounding set (e.g. CAP_SYS_RESOURCE in some sandboxes) cannot be given */
			if (n && prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
				json_array_append_new(caps, json_string(n));
		}
		if (privileged)
			return caps;
	} else if (!str_in_array(drop, "ALL")) {
		for (const char *const *p = rt_default_caps; *p; p++)
			json_array_append_new(caps, json_string(*p));
	}
	size_t i;
	json_t *v;
	json_array_foreach(drop, i, v) {
		_cleanup_free_ char *n = cap_canonical(json_string_value(v));
		for (size_t j = json_array_size(caps); j-- > 0;)
			if (!strcmp(json_string_value(json_array_get(caps, j)), n))
				json_array_remove(caps, j);
	}
	json_array_foreach(add, i, v) {
		if (!strcasecmp(json_string_value(v), "ALL"))
			continue;
		_cleanup_free_ char *n = cap_canonical(json_string_value(v));
		if (!str_in_array(caps, n))
			json_array_append_new(caps, json_string(n));
	}
	return caps;
}

static void set_capabilities(json_t *process, const json_t *hc)
{
	json_t *caps = capability_list(hc);
	json_t *obj = json_pack("{s:O,s:O,s:O,s:[]}", "bounding", caps, "effective", caps,
				"permitted", caps, "ambient");
	json_object_set_new(process, "capabilities", obj);
	json_decref(caps);
}

static void add_user_mounts(json_t *spec, const json_t *hc)
{
	json_t *mounts = json_object_get(spec, "mounts");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(hc, "Binds"), i, v) {
		_cleanup_free_ char *b = xstrdup(json_string_value(v));
		char *dst = strchr(b, ':');
		*dst++ = 0;
		char *mode = strchr(dst, ':');
		if (mode)
			*mode++ = 0;
		fs_mkdir_p(b, 0755, NULL); /* docker creates a missing host dir */
		json_t *opts = json_pack("[s,s]", "rbind", "rprivate");
		if (mode && !strcmp(mode, "ro"))
			json_array_append_new(opts, json_string("ro"));
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
							"bind", "source", b, "options", opts));
	}
	json_array_foreach(json_object_get(hc, "Tmpfs"), i, v) {
		_cleanup_free_ char *t = xstrdup(json_string_value(v));
		char *o = strchr(t, ':');
		if (o)
			*o++ = 0;
		json_t *opts = json_pack("[s,s,s]", "nosuid", "nodev", "noexec");
		if (o && *o) {
			char *save = NULL;
			for (char *tok = strtok_r(o, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				json_array_append_new(opts, json_string(tok));
		}
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", t, "type",
							"tmpfs", "source", "tmpfs", "options", opts));
	}
}

static void set_network_namespace(json_t *spec, const char *mode)
{
	json_t *nss = json_path(spec, "linux.namespaces");
	if (strcmp(mode, "host"))
		return;
	for (size_t i = json_array_size(nss); i-- > 0;)
		if (!strcmp(json_str(json_array_get(nss, i), "type"), "network"))
			json_array_remove(nss, i);
}

static void make_privileged(json_t *spec)
{
	json_t *lnx = json_object_get(spec, "linux");
	json_object_del(lnx, "seccomp");
	json_object_set_new(lnx, "maskedPaths", json_array());
	json_object_set_new(lnx, "readonlyPaths", json_array());
	json_object_set_new(json_object_get(spec, "process"), "noNewPrivileges", json_false());
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		if (!strcmp(json_str(m, "destination"), "/sys") || !strcmp(json_str(m, "destination"), "/sys/fs/cgroup")) {
			json_t *opts = json_object_get(m, "options");
			for (size_t j = json_array_size(opts); j-- > 0;)
				if (!strcmp(json_string_value(json_array_get(opts, j)), "ro"))
					json_array_set_new(opts, j, json_string("rw"));
		}
	}
}

static int limits_from(const json_t *hc, CgLimits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->memory_bytes = json_int(hc, "Memory", 0);
	lim->memory_swap = json_int(hc, "MemorySwap", 0);
	lim->cpu_milli = json_int(hc, "NanoCpus", 0) / 1000000;
	lim->cpu_shares = json_int(hc, "CpuShares", 0);
	lim->pids_limit = json_int(hc, "PidsLimit", 0);
	lim->devices_allow_all = json_bool(hc, "Privileged", false);
	return 0;
}

int ctr_build_spec(CtrStore *s, Container *c, json_t **ret_spec, CgLimits *ret_lim, Error **err)
{
	const json_t *cfg = json_object_get(c->config, "Config");
	const json_t *hc = json_object_get(c->config, "HostConfig");
	ImgInfo *img = NULL;
	int r = img_resolve(s->images, json_str(c->config, "ImageID"), &img, err);
	if (r < 0)
		return err_prefix(err, "container %s", ctr_name(c));
	_cleanup_free_ char *upper = fs_join(c->dir, "upper");
	_cleanup_free_ char *work = fs_join(c->dir, "work");
	_cleanup_free_ char *init = fs_join(c->dir, "init");
	_cleanup_free_ char *merged = fs_join(c->dir, "merged");
	_cleanup_free_ char *data = NULL, *chdir_to = NULL;
	r = img_overlay_options(s->images, img, init, upper, work, &data, &chdir_to, err);
	img_info_free(img);
	if (r < 0)
		return err_prefix(err, "container %s", ctr_name(c));

	json_t *spec = rt_spec_default();
	json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", merged, "readonly",
						    json_bool(hc, "ReadonlyRootfs", false)));
	json_t *ann = json_obj_ensure(spec, "annotations");
	json_object_set_new(ann, "org.berth.rootfs.overlay", json_string(data));
	json_object_set_new(ann, "org.berth.rootfs.overlay.dir", json_string(chdir_to));
	json_object_set_new(ann, "org.berth.container.id", json_string(c->id));
	if (json_bool(hc, "Init", false))
		json_object_set_new(ann, "org.berth.init", json_string("true"));
	const char *user = json_str(cfg, "User");
	if (user && *user)
		json_object_set_new(ann, "org.berth.user", json_string(user));
	json_object_set_new(spec, "hostname", json_string(json_str(cfg, "Hostname")));

	json_t *process = json_obj_ensure(spec, "process");
	json_t *args = json_array();
	json_array_append(args, json_object_get(c->config, "Path"));
	json_array_extend(args, json_object_get(c->config, "Args"));
	json_object_set_new(process, "args", args);
	json_object_set(process, "env", json_object_get(cfg, "Env"));
	json_object_set_new(process, "cwd", json_string(json_str(cfg, "WorkingDir")));
	json_object_set_new(process, "terminal", json_boolean(json_bool(cfg, "Tty", false)));
	json_object_set_new(process, "user", json_pack("{s:i,s:i}", "uid", 0, "gid", 0));
	set_capabilities(process, hc);
	set_network_namespace(spec, ctr_netmode(c));
	add_user_mounts(spec, hc);
	if (json_bool(hc, "Privileged", false))
		make_privileged(spec);
	limits_from(hc, ret_lim);
	*ret_spec = spec;
	return 0;
}
