/* node.c - the Node object the agent registers and the Lease it renews.
 *
 * Split in two: agent_node_info_detect reads the machine once (uname,
 * /etc/os-release, machine-id, boot_id, CPUs, memory, the root's
 * filesystem) into an AgentNodeInfo; everything else is pure - building
 * the Node, its status (conditions as the kubelet words them, with
 * heartbeat times and transition times kept while a condition holds), the
 * Lease, and parsing --labels / --taints - so the unit tests check the
 * objects without a server.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- reading the machine ---- */

/* First line of a small file, trimmed (caller frees) or NULL. */
static char *read_line(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char buf[512];
	if (!f || !fgets(buf, sizeof(buf), f))
		return NULL;
	buf[strcspn(buf, "\r\n")] = 0;
	return buf[0] ? xstrdup(buf) : NULL;
}

static char *os_pretty_name(void)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/os-release", "re");
	if (!f)
		f = fopen("/usr/lib/os-release", "re");
	char buf[512];
	while (f && fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "PRETTY_NAME=", 12))
			continue;
		char *v = buf + 12;
		v[strcspn(v, "\r\n")] = 0;
		size_t n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = 0;
			v++;
		}
		return xstrdup(v);
	}
	return xstrdup("Linux");
}

static int64_t mem_total_kib(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
	char buf[256];
	long long kib = 0;
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "MemTotal: %lld kB", &kib) == 1)
			break;
	return kib;
}

static const char *go_arch(const char *machine)
{
	static const char *const map[][2] = { { "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" },
					      { "i686", "386" },     { "i386", "386" },     { "ppc64le", "ppc64le" },
					      { "s390x", "s390x" },  { "riscv64", "riscv64" } };
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(machine, map[i][0]))
			return map[i][1];
	return machine;
}

static void set_owned(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

void agent_node_info_detect(AgentNodeInfo *ni, const char *root)
{
	struct utsname u;
	if (uname(&u) == 0) {
		set_owned(&ni->arch, xstrdup(go_arch(u.machine)));
		set_owned(&ni->kernel, xstrdup(u.release));
	}
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	if (!ni->hostname)
		ni->hostname = xstrdup(host);
	set_owned(&ni->os_image, os_pretty_name());
	set_owned(&ni->machine_id, read_line("/etc/machine-id"));
	set_owned(&ni->boot_id, read_line("/proc/sys/kernel/random/boot_id"));
	char *uuid = read_line("/sys/class/dmi/id/product_uuid");
	set_owned(&ni->system_uuid, uuid ? uuid : (ni->machine_id ? xstrdup(ni->machine_id) : NULL));
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	ni->cpus = n > 0 ? n : 1;
	ni->mem_kib = mem_total_kib();
	struct statvfs sv;
	if (root && statvfs(root, &sv) == 0)
		ni->storage_kib = (int64_t)((unsigned long long)sv.f_blocks * sv.f_frsize / 1024);
	if (ni->pods <= 0)
		ni->pods = 110;
}

void agent_node_info_release(AgentNodeInfo *ni)
{
	char **strs[] = { &ni->name,	   &ni->ip,	    &ni->hostname,	  &ni->pod_cidr,
			  &ni->arch,	   &ni->kernel,	    &ni->os_image,	  &ni->machine_id,
			  &ni->system_uuid, &ni->boot_id,   &ni->runtime_version, &ni->kubelet_version };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	json_decref(ni->labels);
	json_decref(ni->taints);
	ni->labels = ni->taints = NULL;
}

/* ---- --labels / --taints ---- */

static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 317) /* prefix (253) + "/" + name (63) */
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || s[i] == '/' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool value_ok(const char *s, size_t n)
{
	return n == 0 || (n <= 63 && label_ok(s, n) && !memchr(s, '/', n));
}

int agent_labels_parse(const char *s, json_t **ret, Error **err)
{
	json_t *o = json_object();
	const char *p = s ? s : "";
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (n == 0) {
			p++;
			continue;
		}
		if (!eq || !label_ok(p, (size_t)(eq - p)) || !value_ok(eq + 1, n - (size_t)(eq - p) - 1)) {
			json_decref(o);
			return err_set(err, EINVAL, "label '%.*s': want key=value", (int)n, p);
		}
		_cleanup_free_ char *k = strndup(p, (size_t)(eq - p));
		_cleanup_free_ char *v = strndup(eq + 1, n - (size_t)(eq - p) - 1);
		json_object_set_new(o, k, json_string(v));
		p += n;
		if (*p)
			p++;
	}
	*ret = o;
	return 0;
}

int agent_taints_parse(const char *s, json_t **ret, Error **err)
{
	json_t *a = json_array();
	const char *p = s ? s : "";
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 0) {
			p++;
			continue;
		}
		_cleanup_free_ char *item = strndup(p, n);
		char *colon = strrchr(item, ':');
		char *eq = strchr(item, '=');
		if (colon)
			*colon = 0;
		if (eq && eq < (colon ? colon : item + n))
			*eq = 0;
		else
			eq = NULL;
		const char *effect = colon ? colon + 1 : "";
		bool eff_ok = !strcmp(effect, "NoSchedule") || !strcmp(effect, "PreferNoSchedule") ||
			      !strcmp(effect, "NoExecute");
		if (!eff_ok || !label_ok(item, strlen(item)) || (eq && !value_ok(eq + 1, strlen(eq + 1)))) {
			json_decref(a);
			return err_set(err, EINVAL, "taint '%.*s': want key[=value]:NoSchedule|PreferNoSchedule|NoExecute",
				       (int)n, p);
		}
		json_t *t = json_pack("{s:s, s:s}", "key", item, "effect", effect);
		if (eq && eq[1])
			json_object_set_new(t, "value", json_string(eq + 1));
		json_array_append_new(a, t);
		p += n;
		if (*p)
			p++;
	}
	*ret = a;
	return 0;
}

/* ---- the objects ---- */

static json_t *quantity_kib(int64_t kib)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%lldKi", (long long)kib);
	return json_string(buf);
}

static json_t *resources(const AgentNodeInfo *ni)
{
	char cpu[24];
	snprintf(cpu, sizeof(cpu), "%lld", (long long)ni->cpus);
	json_t *r = json_object();
	json_object_set_new(r, "cpu", json_string(cpu));
	json_object_set_new(r, "memory", quantity_kib(ni->mem_kib));
	json_object_set_new(r, "ephemeral-storage", quantity_kib(ni->storage_kib));
	json_object_set_new(r, "hugepages-2Mi", json_string("0"));
	char pods[24];
	snprintf(pods, sizeof(pods), "%lld", (long long)ni->pods);
	json_object_set_new(r, "pods", json_string(pods));
	return r;
}

/* The condition of type from old (borrowed) or NULL. */
static const json_t *old_condition(const json_t *old_status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(old_status, "conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

static json_t *node_condition(const json_t *old_status, const char *type, const char *status, const char *reason,
			      const char *message, const char *now)
{
	const json_t *old = old_condition(old_status, type);
	const char *since = now;
	if (old && !strcmp(json_str(old, "status") ?: "", status) && json_str(old, "lastTransitionTime"))
		since = json_str(old, "lastTransitionTime");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "lastHeartbeatTime", now,
			 "lastTransitionTime", since, "reason", reason, "message", message);
}

json_t *agent_node_status(const AgentNodeInfo *ni, const json_t *old_status, const char *now)
{
	json_t *st = json_object();
	json_object_set_new(st, "capacity", resources(ni));
	json_object_set_new(st, "allocatable", resources(ni));
	json_t *conds = json_array();
	json_array_append_new(conds, node_condition(old_status, "MemoryPressure", "False", "KubeletHasSufficientMemory",
						    "kubelet has sufficient memory available", now));
	json_array_append_new(conds, node_condition(old_status, "DiskPressure", "False", "KubeletHasNoDiskPressure",
						    "kubelet has no disk pressure", now));
	json_array_append_new(conds, node_condition(old_status, "PIDPressure", "False", "KubeletHasSufficientPID",
						    "kubelet has sufficient PID available", now));
	json_array_append_new(conds, node_condition(old_status, "Ready", "True", "KubeletReady",
						    "kubelet is posting ready status", now));
	json_object_set_new(st, "conditions", conds);
	json_t *addrs = json_array();
	if (ni->ip && *ni->ip)
		json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "InternalIP", "address", ni->ip));
	json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "Hostname", "address",
					       ni->hostname ? ni->hostname : ni->name));
	json_object_set_new(st, "addresses", addrs);
	json_object_set_new(st, "daemonEndpoints", json_pack("{s:{s:i}}", "kubeletEndpoint", "Port",
									     ni->kubelet_port > 0 ? ni->kubelet_port : 10250));
	json_object_set_new(st, "nodeInfo",
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "machineID",
				      ni->machine_id ?: "", "systemUUID", ni->system_uuid ?: "", "bootID",
				      ni->boot_id ?: "", "kernelVersion", ni->kernel ?: "", "osImage",
				      ni->os_image ?: "", "containerRuntimeVersion", ni->runtime_version ?: "berth://",
				      "kubeletVersion", ni->kubelet_version ?: "", "kubeProxyVersion", "",
				      "operatingSystem", "linux", "architecture", ni->arch ?: ""));
	return st;
}

json_t *agent_node_object(const AgentNodeInfo *ni, const char *now)
{
	json_t *labels = json_object();
	if (ni->arch)
		json_object_set_new(labels, "beta.kubernetes.io/arch", json_string(ni->arch));
	json_object_set_new(labels, "beta.kubernetes.io/os", json_string("linux"));
	if (ni->arch)
		json_object_set_new(labels, "kubernetes.io/arch", json_string(ni->arch));
	json_object_set_new(labels, "kubernetes.io/hostname", json_string(ni->name));
	json_object_set_new(labels, "kubernetes.io/os", json_string("linux"));
	if (ni->labels)
		json_object_update(labels, ni->labels);
	json_t *spec = json_object();
	if (ni->pod_cidr && *ni->pod_cidr) {
		json_object_set_new(spec, "podCIDR", json_string(ni->pod_cidr));
		json_object_set_new(spec, "podCIDRs", json_pack("[s]", ni->pod_cidr));
	}
	if (json_array_size(ni->taints))
		json_object_set(spec, "taints", ni->taints);
	return json_pack("{s:s, s:s, s:{s:s, s:o, s:{s:s}}, s:o, s:o}", "apiVersion", "v1", "kind", "Node", "metadata",
			 "name", ni->name, "labels", labels, "annotations",
			 "volumes.kubernetes.io/controller-managed-attach-detach", "true", "spec", spec, "status",
			 agent_node_status(ni, NULL, now));
}

json_t *agent_lease_object(const char *node, const char *now_micro, int duration_s)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}", "apiVersion", "coordination.k8s.io/v1", "kind",
			 "Lease", "metadata", "name", node, "namespace", "kube-node-lease", "spec", "holderIdentity",
			 node, "leaseDurationSeconds", duration_s, "renewTime", now_micro);
}

/* ---- the node's address ---- */

char *agent_node_ip_detect(const char *server_url)
{
	const char *h = server_url ? strstr(server_url, "://") : NULL;
	h = h ? h + 3 : server_url ? server_url : "";
	char host[256] = "", port[16] = "443";
	if (*h == '[') {
		const char *e = strchr(h, ']');
		if (e && (size_t)(e - h - 1) < sizeof(host)) {
			memcpy(host, h + 1, (size_t)(e - h - 1));
			host[e - h - 1] = 0;
			if (e[1] == ':')
				snprintf(port, sizeof(port), "%.*s", (int)strcspn(e + 2, "/"), e + 2);
		}
	} else {
		size_t n = strcspn(h, ":/");
		snprintf(host, sizeof(host), "%.*s", (int)(n < sizeof(host) ? n : sizeof(host) - 1), h);
		if (h[n] == ':')
			snprintf(port, sizeof(port), "%.*s", (int)strcspn(h + n + 1, "/"), h + n + 1);
	}
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	char ip[INET6_ADDRSTRLEN] = "127.0.0.1";
	if (host[0] && getaddrinfo(host, port, &hints, &res) == 0 && res) {
		/* a UDP connect only picks the route: no packet leaves */
		_cleanup_close_ int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
		    getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
			const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
								 : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
			if (!inet_ntop(ss.ss_family, a, ip, sizeof(ip)))
				snprintf(ip, sizeof(ip), "127.0.0.1");
		}
	}
	if (res)
		freeaddrinfo(res);
	return xstrdup(ip);
}
