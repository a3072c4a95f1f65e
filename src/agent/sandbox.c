/* sandbox.c - a pod's sandbox without a pause process: network, IPC and UTS
 * namespaces created by a short-lived child and pinned by bind mounts of
 * /proc/<child>/ns/{net,ipc,uts} onto files under <runroot>/agent/<uid>/ (as `ip netns
 * add` does), the CNI bridge attachment of the network namespace, the pod
 * cgroup kubepods/pod<uid>, and the files every container of the pod
 * bind-mounts: /etc/hosts, /etc/hostname, /etc/resolv.conf.
 *
 * The network is the node's pod network when it has one (routes.c: the
 * podCIDR's bridge, leases under the runroot), else the default `berth`
 * network; sandbox.json records which, so teardown (also by a later agent)
 * detaches from the right one.  Containers' ports with a hostPort are
 * published through the CNI portmap plugin on the same ADD (and removed by
 * the DEL, recomputed from the pod spec, which cannot change).
 *
 * Why pinning instead of a sleeper: no process to keep alive or account
 * for, nothing to restart, and it survives an agent restart just as well
 * (the runroot is runtime state).  sandbox.json records what to undo.
 *
 * The one exception is shareProcessNamespace: a PID namespace dies with its
 * PID 1, so such a pod gets a tiny holder process (a double-forked child of
 * the agent in a new PID namespace, named "pause", reaping orphans) whose
 * /proc/<pid>/ns/pid every container joins; sandbox.json records its pid
 * and start time, teardown kills it.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static const char *const pinned_ns[] = { "net", "ipc", "uts" };

char *sandbox_ns_path(const Pod *p, const char *ns) { return fs_join(p->rundir, ns); }

char *pod_cgroup_path(const Pod *p, const char *ctr)
{
	return ctr ? xasprintf("kubepods/pod%s/%s", p->uid, ctr) : xasprintf("kubepods/pod%s", p->uid);
}

static bool is_nsfs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

/* The child: new namespaces, the hostname, then pin them from the host's
 * mount namespace (the child never left it).  Exit status = errno. */
static int pin_child(const Pod *p, int flags)
{
	if (unshare(flags) < 0)
		return errno;
	if (flags & CLONE_NEWUTS) {
		const char *hn = json_str(json_object_get(pod_tree(p), "spec"), "hostname");
		if (!hn || !*hn)
			hn = p->name;
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", hn);
		if (sethostname(buf, strlen(buf)) < 0)
			return errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(pinned_ns); i++) {
		if (!strcmp(pinned_ns[i], "net") && !(flags & CLONE_NEWNET))
			continue;
		if (!strcmp(pinned_ns[i], "uts") && !(flags & CLONE_NEWUTS))
			continue;
		char src[64];
		snprintf(src, sizeof(src), "/proc/self/ns/%s", pinned_ns[i]);
		char *dst = sandbox_ns_path(p, pinned_ns[i]);
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
		if (fd >= 0)
			close(fd);
		int r = mount(src, dst, NULL, MS_BIND, NULL);
		free(dst);
		if (r < 0)
			return errno;
	}
	return 0;
}

static int pin_namespaces(Pod *p, Error **err)
{
	int r = fs_mkdir_p(p->rundir, 0700, err);
	if (r < 0)
		return r;
	int flags = CLONE_NEWIPC | (p->host_network ? 0 : CLONE_NEWNET | CLONE_NEWUTS);
	pid_t pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork");
	if (pid == 0)
		_exit(pin_child(p, flags));
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return err_sys(err, WIFEXITED(st) ? WEXITSTATUS(st) : EIO, "pin namespaces under '%s'", p->rundir);
	return 0;
}

static void unpin_namespaces(Pod *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(pinned_ns); i++) {
		_cleanup_free_ char *path = sandbox_ns_path(p, pinned_ns[i]);
		while (is_nsfs(path) && umount2(path, MNT_DETACH) == 0)
			;
		unlink(path);
	}
	rmdir(p->rundir);
}

/* /etc/hosts as the kubelet writes it, /etc/hostname, /etc/resolv.conf. */
static int write_etc(Agent *a, Pod *p, Error **err)
{
	const json_t *spec = json_object_get(pod_tree(p), "spec");
	const char *hn = json_str(spec, "hostname");
	if (!hn || !*hn)
		hn = p->name;
	char host[256] = "";
	if (p->host_network)
		gethostname(host, sizeof(host) - 1);
	_cleanup_free_ char *hosts_path = fs_join(p->dir, "etc-hosts");
	_cleanup_free_ char *hostname_path = fs_join(p->dir, "hostname");
	_cleanup_free_ char *resolv_path = fs_join(p->dir, "resolv.conf");
	StrBuf sb = STRBUF_INIT;
	_cleanup_free_ char *hostfile = NULL;
	if (p->host_network && fs_read_file("/etc/hosts", 1 << 20, &hostfile, NULL, NULL) == 0) {
		sb_adds(&sb, hostfile);
	} else {
		sb_adds(&sb, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
			     "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
			     "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
		if (p->ip[0])
			sb_addf(&sb, "%s\t%s\n", p->ip, hn);
	}
	size_t i;
	json_t *ha;
	json_array_foreach(json_object_get(spec, "hostAliases"), i, ha) {
		sb_addf(&sb, "\n# Entries added by HostAliases.\n%s", json_str(ha, "ip") ? json_str(ha, "ip") : "");
		size_t j;
		json_t *h;
		json_array_foreach(json_object_get(ha, "hostnames"), j, h) sb_addf(&sb, "\t%s", json_string_value(h));
		sb_adds(&sb, "\n");
	}
	int r = fs_write_replace(hosts_path, sb.buf ? sb.buf : "", sb.len, 0644, err);
	sb_release(&sb);
	_cleanup_free_ char *hn_line = xasprintf("%s\n", p->host_network ? host : hn);
	if (r >= 0)
		r = fs_write_replace(hostname_path, hn_line, strlen(hn_line), 0644, err);
	/* the host's resolvers without loopback ones (they do not answer
	 * inside a netns); the base of the cluster-DNS file too */
	_cleanup_free_ char *resolv = NULL;
	if (fs_read_file("/etc/resolv.conf", 1 << 16, &resolv, NULL, NULL) < 0)
		resolv = xstrdup("");
	StrBuf rb = STRBUF_INIT;
	sb_adds(&rb, "");
	char *save = NULL;
	for (char *line = strtok_r(resolv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *addr = line + 10 + strspn(line + 10, " \t");
		if (!p->host_network && !strncmp(line, "nameserver", 10) &&
		    (!strncmp(addr, "127.", 4) || !strncmp(addr, "::1", 3)))
			continue;
		sb_addf(&rb, "%s\n", line);
	}
	/* with a cluster DNS: the kubelet's file for the pod's dnsPolicy */
	_cleanup_free_ char *pod_resolv = a->cfg.cluster_dns && a->cfg.resolv_conf
		? a->cfg.resolv_conf(pod_tree(p), a->cfg.cluster_dns, a->cfg.cluster_domain, rb.buf) : NULL;
	if (r >= 0)
		r = pod_resolv ? fs_write_replace(resolv_path, pod_resolv, strlen(pod_resolv), 0644, err)
			       : fs_write_replace(resolv_path, rb.buf, rb.len, 0644, err);
	sb_release(&rb);
	return r;
}

/* ---- the shared PID namespace's holder (shareProcessNamespace) ---- */

static void holder_on_chld(int sig) { (void)sig; }

/* PID 1 of the pod's PID namespace: reap whatever is orphaned to it until
 * killed.  Only async-signal-safe calls (the agent has threads). */
static void __attribute__((noreturn)) holder_main(void)
{
	syscall(SYS_close_range, 3, ~0U, 0);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	prctl(PR_SET_NAME, "pause", 0, 0, 0);
	struct sigaction sa = { .sa_handler = holder_on_chld };
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		pause();
	}
}

/* Start the holder; its host pid, or < 0. */
static pid_t holder_start(Error **err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid_t child = fork();
	if (child < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_sys(err, errno, "fork");
	}
	if (child == 0) {
		setsid();
		pid_t got = -1;
		if (unshare(CLONE_NEWPID) == 0) {
			got = fork();
			if (got == 0)
				holder_main();
		}
		if (write(fds[1], &got, sizeof(got)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	pid_t got = -1;
	ssize_t n;
	while ((n = read(fds[0], &got, sizeof(got))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(got) || got <= 0)
		return err_set(err, EIO, "pod sandbox: could not start the shared PID namespace's process");
	return got;
}

static bool wants_shared_pid(const Pod *p)
{
	const json_t *spec = json_object_get(pod_tree(p), "spec");
	return json_bool(spec, "shareProcessNamespace", false) && !json_bool(spec, "hostPID", false);
}

pid_t sandbox_pid_holder(const Pod *p)
{
	_cleanup_free_ char *path = fs_join(p->dir, "sandbox.json");
	_cleanup_json_ json_t *j = NULL;
	if (json_load_path(path, 1 << 20, &j, NULL) < 0)
		return 0;
	pid_t pid = (pid_t)json_int(j, "pidHolder", 0);
	return pid > 0 && pid_alive(pid, json_int(j, "pidHolderStart", 0)) ? pid : 0;
}

static void holder_stop(const Pod *p)
{
	pid_t pid = sandbox_pid_holder(p);
	if (pid > 0)
		kill(pid, SIGKILL); /* its namespace's processes go with it */
}

static int save_sandbox(Pod *p, const AgentPodNetCfg *net, pid_t holder)
{
	_cleanup_free_ char *path = fs_join(p->dir, "sandbox.json");
	_cleanup_json_ json_t *j = json_pack("{s:s,s:b,s:O?}", "ip", p->ip, "hostNetwork", p->host_network,
					     "cniResult", p->cni_result);
	if (holder > 0) {
		json_object_set_new(j, "pidHolder", json_integer(holder));
		json_object_set_new(j, "pidHolderStart", json_integer(pid_start_time(holder)));
	}
	if (net)
		json_object_set_new(j, "network", json_pack("{s:s, s:s, s:s, s:s}", "name", net->name, "bridge",
							    net->bridge, "subnet", net->subnet, "dataDir",
							    net->data_dir));
	return json_save_path_volatile(path, j, JSON_COMPACT, NULL);
}

static NetConfig netconfig_of(const AgentPodNetCfg *n)
{
	return (NetConfig){ .name = n->name, .bridge = n->bridge, .subnet = n->subnet,
			    .data_dir = n->data_dir[0] ? n->data_dir : NULL };
}

/* The pod network sandbox.json names (1), or 0 for the default one. */
static int saved_network(const Pod *p, AgentPodNetCfg *out, json_t **ret_result)
{
	_cleanup_free_ char *path = fs_join(p->dir, "sandbox.json");
	_cleanup_json_ json_t *j = NULL;
	json_t *n;
	if (json_load_path(path, 1 << 20, &j, NULL) < 0)
		return 0;
	json_t *res = json_object_get(j, "cniResult");
	if (ret_result && res && !json_is_null(res))
		*ret_result = json_incref(res);
	if (!json_is_object(n = json_object_get(j, "network")))
		return 0;
	const char *v[4] = { json_str(n, "name"), json_str(n, "bridge"), json_str(n, "subnet"), json_str(n, "dataDir") };
	if (!v[0] || !v[1] || !v[2] || !v[3])
		return 0;
	snprintf(out->name, sizeof(out->name), "%s", v[0]);
	snprintf(out->bridge, sizeof(out->bridge), "%s", v[1]);
	snprintf(out->subnet, sizeof(out->subnet), "%s", v[2]);
	snprintf(out->data_dir, sizeof(out->data_dir), "%s", v[3]);
	return 1;
}

/* The pod's hostPorts (containers' ports with hostPort, hostIP honoured) as
 * portmap mappings; *n of them in a new array (caller frees), NULL if none. */
static NetPort *sandbox_host_ports(const json_t *pod, size_t *n)
{
	NetPort *out = NULL;
	*n = 0;
	size_t i, j;
	json_t *c, *port;
	json_array_foreach(json_path(pod, "spec.containers"), i, c)
		json_array_foreach(json_object_get(c, "ports"), j, port) {
			json_int_t hp = json_int(port, "hostPort", 0), cp = json_int(port, "containerPort", 0);
			if (hp <= 0 || hp > 65535 || cp <= 0 || cp > 65535)
				continue;
			out = xrealloc(out, (*n + 1) * sizeof(*out));
			NetPort *np = &out[(*n)++];
			memset(np, 0, sizeof(*np));
			snprintf(np->host_ip, sizeof(np->host_ip), "%s", json_str(port, "hostIP") ?: "");
			if (!strcmp(np->host_ip, "0.0.0.0"))
				np->host_ip[0] = 0;
			np->host_port = (int)hp;
			np->container_port = (int)cp;
			const char *proto = json_str(port, "protocol") ?: "TCP";
			snprintf(np->proto, sizeof(np->proto), "%s", !strcasecmp(proto, "UDP") ? "udp" : "tcp");
		}
	return out;
}

int sandbox_create(Agent *a, Pod *p, Error **err)
{
	p->host_network = json_bool(json_object_get(pod_tree(p), "spec"), "hostNetwork", false);
	AgentPodNetCfg net;
	int podnet = p->host_network ? 0 : agent_podnet_current(&net);
	if (podnet == -EAGAIN)
		return err_set(err, EAGAIN, "pod sandbox: network not ready: node %s has no podCIDR yet",
			       a->node_name);
	if (podnet < 0)
		return err_set(err, -podnet, "pod sandbox: bad pod network '%s'", net.subnet);
	int r = pin_namespaces(p, err);
	if (r < 0)
		return r;
	if (!p->host_network) {
		_cleanup_free_ char *netns = sandbox_ns_path(p, "net");
		NetAttachment at = { 0 };
		NetConfig nc = netconfig_of(&net);
		size_t nports;
		_cleanup_free_ NetPort *ports = sandbox_host_ports(pod_tree(p), &nports);
		r = net_attach_on(podnet ? &nc : NULL, p->uid, netns, ports, nports, &at, err);
		if (r < 0) {
			unpin_namespaces(p);
			return err_prefix(err, "pod sandbox");
		}
		snprintf(p->ip, sizeof(p->ip), "%s", at.ip);
		p->cni_result = json_incref(at.result);
		net_attachment_release(&at);
	} else {
		snprintf(p->ip, sizeof(p->ip), "%s", "127.0.0.1");
		/* the node's address would be better; the API side gives --node-ip */
	}
	pid_t holder = 0;
	if (wants_shared_pid(p) && (holder = holder_start(err)) < 0) {
		sandbox_destroy(a, p);
		return holder;
	}
	save_sandbox(p, podnet == 1 ? &net : NULL, holder);
	/* the CNI result is needed again only for DEL: sandbox.json keeps it */
	json_decref(p->cni_result);
	p->cni_result = NULL;
	Cgroup *cg = NULL;
	_cleanup_free_ char *cgpath = pod_cgroup_path(p, NULL);
	if (cg_create(a->cgroup_root, cgpath, &cg, err) < 0) {
		sandbox_destroy(a, p);
		return err_prefix(err, "pod sandbox");
	}
	cg_free(cg);
	r = write_etc(a, p, err);
	if (r < 0) {
		sandbox_destroy(a, p);
		return r;
	}
	p->sandbox_ready = true;
	return 0;
}

int sandbox_adopt(Agent *a, Pod *p)
{
	(void)a;
	_cleanup_free_ char *path = fs_join(p->dir, "sandbox.json");
	_cleanup_json_ json_t *j = NULL;
	if (json_load_path(path, 1 << 20, &j, NULL) < 0)
		return 0;
	_cleanup_free_ char *ipc = sandbox_ns_path(p, "ipc");
	if (!is_nsfs(ipc))
		return 0;
	p->host_network = json_bool(j, "hostNetwork", false);
	snprintf(p->ip, sizeof(p->ip), "%s", json_str(j, "ip") ? json_str(j, "ip") : "");
	p->sandbox_ready = true; /* the CNI result stays in sandbox.json until DEL */
	return 1;
}

void sandbox_destroy(Agent *a, Pod *p)
{
	holder_stop(p);
	_cleanup_free_ char *netns = sandbox_ns_path(p, "net");
	if (!p->host_network) {
		Error *e = NULL;
		AgentPodNetCfg net;
		NetConfig nc = { 0 };
		/* the result in memory while the sandbox is being made, else the saved one */
		_cleanup_json_ json_t *saved = NULL;
		if (saved_network(p, &net, p->cni_result ? NULL : &saved) == 1)
			nc = netconfig_of(&net);
		size_t nports;
		_cleanup_free_ NetPort *ports = sandbox_host_ports(pod_tree(p), &nports);
		if (net_detach_on(nc.name ? &nc : NULL, p->uid, is_nsfs(netns) ? netns : NULL, ports, nports,
				  p->cni_result ? p->cni_result : saved, &e) < 0)
			log_warn("pod %s/%s: network: %s", p->ns, p->name, err_msg(e));
		err_free(e);
	}
	json_decref(p->cni_result);
	p->cni_result = NULL;
	unpin_namespaces(p);
	_cleanup_free_ char *cgpath = pod_cgroup_path(p, NULL);
	Cgroup *cg = NULL;
	if (cg_create(a->cgroup_root, cgpath, &cg, NULL) == 0) {
		cg_kill_all(cg, SIGKILL, NULL);
		cg_destroy(cg, NULL);
		cg_free(cg);
	}
	p->sandbox_ready = false;
}
