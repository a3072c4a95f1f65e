/* network.c - containers on berth's bridge network, through the CNI plugins.
 *
 * A network is one CNI conflist built from a NetConfig (net_conflist_of):
 * bridge (+ host-local IPAM) then portmap.  The default one ("berth",
 * berth0, 10.89.0.0/16, shared leases) serves `berth run`; the agent passes
 * its node's pod network (own subnet, bridge, lease dir, no ipMasq).  Attach runs the chain as a CNI runtime
 * (libcni) does: each plugin gets the list's name and cniVersion, the
 * runtimeConfig of the capabilities it declares, and the previous plugin's
 * result as prevResult; the last result is the attachment.  Detach runs DEL
 * in reverse with the attach result as prevResult.  portmap is skipped when
 * nothing is published (it would only pass the result through).
 *
 * What the plugins do not clean themselves, we do:
 *  - bridge 1.1 finds the ipMasq rules to delete through the addresses on
 *    eth0 in the netns, so when the netns is gone its CNI-<hash> chain and
 *    POSTROUTING jump stay behind.  After every DEL, iptables-save is scanned
 *    for rules carrying this container's comment (name: "berth" id: "<id>")
 *    and they and their per-container chains are removed in one
 *    iptables-restore transaction (a few ms, nothing to do on the good path).
 *  - a host-side veth from prevResult that still exists (netns still held by
 *    someone else but the caller has no path for it) is deleted over netlink,
 *    only when its MAC is the one recorded.
 * A netns path that is missing, or that now names the host's own netns (a
 * reused /proc/<pid>/ns/net), is handed to DEL as "no netns": deleting "eth0"
 * there would take the host's interface.
 *
 * lo is brought up in-process (net_attach_loopback): a short-lived thread
 * setns()es into the netns and sets IFF_UP with an ioctl; the thread's netns
 * dies with it.  No loopback plugin exec on the --network none fast path.
 */
#include "network-internal.h"
#include "../base/fs.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define NET_NAME        "berth"
#define NET_BRIDGE      "berth0"
#define NET_SUBNET      "10.89.0.0/16"
#define NET_GATEWAY     "10.89.0.1"
#define NET_CNI_VERSION "1.0.0"
#define NET_IFNAME      "eth0"

const NetConfig net_default_config = { .name = NET_NAME, .bridge = NET_BRIDGE, .subnet = NET_SUBNET,
					.gateway = NET_GATEWAY, .ip_masq = true };

static const NetConfig *cfg_or_default(const NetConfig *cfg) { return cfg ? cfg : &net_default_config; }

static int cidr_parse(const char *cidr, struct in_addr *addr, unsigned *prefix)
{
	char buf[64];
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = 0;
	char *end;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || p > 30 || inet_pton(AF_INET, buf, addr) != 1)
		return -EINVAL;
	*prefix = (unsigned)p;
	uint32_t mask = p ? 0xffffffffu << (32 - p) : 0;
	addr->s_addr = htonl(ntohl(addr->s_addr) & mask);
	return 0;
}

int net_bridge_name(const char *subnet, char buf[16])
{
	struct in_addr a;
	unsigned prefix;
	if (cidr_parse(subnet, &a, &prefix) < 0)
		return -EINVAL;
	snprintf(buf, 16, "bp%08x-%u", ntohl(a.s_addr), prefix);
	return 0;
}

/* The network as a CNI conflist (new ref).  docs/networking.md shows it. */
json_t *net_conflist_of(const NetConfig *cfg)
{
	cfg = cfg_or_default(cfg);
	char gw[INET_ADDRSTRLEN] = "";
	struct in_addr a;
	unsigned prefix;
	if (!cfg->gateway && cidr_parse(cfg->subnet, &a, &prefix) == 0) {
		a.s_addr = htonl(ntohl(a.s_addr) + 1);
		inet_ntop(AF_INET, &a, gw, sizeof(gw));
	}
	json_t *ipam = json_pack("{s:s, s:[[{s:s, s:s}]], s:[{s:s}]}", "type", "host-local", "ranges", "subnet",
				 cfg->subnet, "gateway", cfg->gateway ? cfg->gateway : gw, "routes", "dst",
				 "0.0.0.0/0");
	if (cfg->data_dir)
		json_object_set_new(ipam, "dataDir", json_string(cfg->data_dir));
	return json_pack("{s:s, s:s, s:[{s:s, s:s, s:b, s:b, s:b, s:o}, {s:s, s:{s:b}, s:b}]}",
			 "cniVersion", NET_CNI_VERSION, "name", cfg->name, "plugins",
			 "type", "bridge", "bridge", cfg->bridge, "isGateway", 1, "ipMasq", cfg->ip_masq,
			 "hairpinMode", 1, "ipam", ipam,
			 "type", "portmap", "capabilities", "portMappings", 1, "snat", 1);
}

static int net_id_check(const NetConfig *cfg, const char *id, Error **err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > NET_MAX_ID || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "0123456789_.-") != n || id[0] == '.' || id[0] == '-')
		return err_set(err, EINVAL, "invalid container id '%s' for network '%s'", id ? id : "",
			       cfg->name);
	return 0;
}

/* 1: a netns other than ours; 0: missing; -1: the host's own netns. */
static int netns_state(const char *path)
{
	struct stat st, self;
	if (!path || !*path || stat(path, &st) < 0)
		return 0;
	if (stat("/proc/self/ns/net", &self) == 0 && st.st_dev == self.st_dev &&
	    st.st_ino == self.st_ino)
		return -1;
	return 1;
}

static bool plugin_is(const json_t *plugin, const char *type)
{
	const char *t = json_str(plugin, "type");
	return t && !strcmp(t, type);
}

static json_t *port_mappings(const NetPort *ports, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		if (ports[i].host_port <= 0)
			continue; /* never set up: nothing to map or unmap */
		json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", ports[i].host_port,
				      "containerPort", ports[i].container_port, "protocol",
				      ports[i].proto[0] ? ports[i].proto : "tcp");
		if (ports[i].host_ip[0])
			json_object_set_new(m, "hostIP", json_string(ports[i].host_ip));
		json_array_append_new(a, m);
	}
	return a;
}

/* One plugin's stdin config from the list, as libcni builds it. */
static json_t *plugin_conf(const json_t *list, const json_t *plugin, json_t *mappings,
			   const json_t *prev)
{
	json_t *c = json_deep_copy(plugin);
	json_object_set(c, "cniVersion", json_object_get(list, "cniVersion"));
	json_object_set(c, "name", json_object_get(list, "name"));
	if (json_is_true(json_path(plugin, "capabilities.portMappings")) && json_array_size(mappings))
		json_object_set(json_obj_ensure(c, "runtimeConfig"), "portMappings", mappings);
	if (prev)
		json_object_set_new(c, "prevResult", json_deep_copy(prev));
	return c;
}

static bool plugin_skip(const json_t *plugin, const json_t *mappings)
{
	return plugin_is(plugin, "portmap") && json_array_size(mappings) == 0;
}

/* ADD along the chain.  *ret_last is the last result obtained (also on
 * failure, for the rollback's prevResult). */
static int chain_add(const json_t *list, const char *id, const char *netns, json_t *mappings,
		     json_t **ret_last, Error **err)
{
	json_t *plugins = json_object_get(list, "plugins"), *plugin;
	size_t i;
	json_array_foreach(plugins, i, plugin) {
		if (plugin_skip(plugin, mappings))
			continue;
		_cleanup_json_ json_t *conf = plugin_conf(list, plugin, mappings, *ret_last);
		json_t *res = NULL;
		int r = net_cni_exec("ADD", id, netns, NET_IFNAME, conf, &res, err);
		if (r >= 0 && !res)
			r = err_set(err, EIO, "plugin '%s' ADD: empty result", json_str(plugin, "type"));
		if (r < 0)
			return r;
		json_decref(*ret_last);
		*ret_last = res;
	}
	return 0;
}

/* DEL along the chain in reverse; every plugin runs, the first error wins. */
static int chain_del(const json_t *list, const char *id, const char *netns, json_t *mappings,
		     const json_t *prev, Error **err)
{
	json_t *plugins = json_object_get(list, "plugins");
	int ret = 0;
	for (size_t i = json_array_size(plugins); i-- > 0;) {
		json_t *plugin = json_array_get(plugins, i);
		if (plugin_skip(plugin, mappings))
			continue;
		_cleanup_json_ json_t *conf = plugin_conf(list, plugin, mappings, prev);
		int r = net_cni_exec("DEL", id, netns, NET_IFNAME, conf, NULL, err);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* ------------------------------------------------------------ iptables */

static bool chain_per_container(const char *name, size_t n)
{
	return n > 4 && !strncmp(name, "CNI-", 4) && !(n > 13 && !strncmp(name, "CNI-HOSTPORT-", 13));
}

/* A set of chain names as " A B C " (spaces around each). */
static void chain_set_add(StrBuf *set, const char *name, size_t n)
{
	if (set->len == 0)
		sb_addc(set, ' ');
	_cleanup_free_ char *key = xasprintf(" %.*s ", (int)n, name);
	if (!strstr(set->buf, key))
		sb_addf(set, "%.*s ", (int)n, name);
}

/* A "-A CHAIN ..." rule of ours: queue its deletion into dels/chains. */
static void sweep_rule(const char *line, StrBuf *dels, StrBuf *chains)
{
	const char *chain = line + 3;
	size_t n = strcspn(chain, " ");
	if (chain_per_container(chain, n))
		chain_set_add(chains, chain, n);
	else
		sb_addf(dels, "-D %s\n", chain);
	const char *j = strstr(line, " -j ");
	if (j) {
		j += 4;
		size_t m = strcspn(j, " ");
		if (chain_per_container(j, m))
			chain_set_add(chains, j, m);
	}
}

/* "*table" section end: emit deletions, flushes and chain removals. */
static void sweep_commit(StrBuf *script, const char *table, StrBuf *dels, StrBuf *chains)
{
	if (dels->len == 0 && chains->len == 0)
		return;
	sb_addf(script, "*%s\n%s", table, dels->buf ? dels->buf : "");
	for (int pass = 0; pass < 2; pass++) {
		const char *p = chains->buf ? chains->buf : "";
		while (*p) {
			p += strspn(p, " ");
			size_t n = strcspn(p, " ");
			if (n)
				sb_addf(script, "-%c %.*s\n", pass ? 'X' : 'F', (int)n, p);
			p += n;
		}
	}
	sb_adds(script, "COMMIT\n");
}

/* Remove every iptables rule commented with this container's id on our
 * network, and the per-container chains they use. */
static int ipt_sweep(const NetConfig *cfg, const char *id, Error **err)
{
	_cleanup_free_ char *dump = NULL;
	int r = net_tool_run("iptables-save", NULL, NULL, 0, NET_MAX_IPTABLES_DUMP, &dump, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *mark = xasprintf("name: \\\"%s\\\" id: \\\"%s\\\"", cfg->name, id);
	_cleanup_sb_ StrBuf script = STRBUF_INIT, dels = STRBUF_INIT, chains = STRBUF_INIT;
	char table[32] = "";
	char *save = NULL;
	for (char *line = strtok_r(dump, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			sb_reset(&dels);
			sb_reset(&chains);
		} else if (!strcmp(line, "COMMIT")) {
			sweep_commit(&script, table, &dels, &chains);
		} else if (!strncmp(line, "-A ", 3) && strstr(line, mark)) {
			sweep_rule(line, &dels, &chains);
		}
	}
	if (script.len == 0)
		return 0;
	static const char *const args[] = { "-w", "5", "--noflush", NULL };
	/* nft-backed iptables may lose a race with a concurrent writer: retry */
	for (int t = 0;; t++) {
		_cleanup_err_ Error *e = NULL;
		r = net_tool_run("iptables-restore", args, script.buf, script.len, 4096, NULL, &e);
		if (r >= 0 || t == 2) {
			if (r < 0)
				return err_set(err, -r, "remove iptables rules of '%s': %s", id, err_msg(e));
			return 0;
		}
		usleep(20000);
	}
}

/* Host ports already published on this host by portmap (any container). */
static int ipt_published(NetPort **ret, size_t *ret_n, Error **err)
{
	static const char *const args[] = { "-t", "nat", NULL };
	_cleanup_free_ char *dump = NULL;
	int r = net_tool_run("iptables-save", args, NULL, 0, NET_MAX_IPTABLES_DUMP, &dump, err);
	if (r < 0)
		return r;
	NetPort *v = NULL;
	size_t n = 0, cap = 0;
	char *save = NULL;
	for (char *line = strtok_r(dump, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *p = strstr(line, " -p "), *d = strstr(line, " --dports ");
		if (strncmp(line, "-A CNI-HOSTPORT-DNAT ", 21) || !p || !d)
			continue;
		char proto[4] = "";
		snprintf(proto, sizeof(proto), "%.*s", (int)strcspn(p + 4, " "), p + 4);
		for (d += 10;;) { /* "8080", "8080,8081", "8000:8010" */
			char *end;
			long lo = strtol(d, &end, 10), hi = lo;
			if (end == d)
				break;
			if (*end == ':')
				hi = strtol(end + 1, &end, 10);
			for (long port = lo; port <= hi && port > 0 && port < 65536; port++) {
				if (n == cap)
					v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
				v[n++] = (NetPort){ .host_port = (int)port };
				memcpy(v[n - 1].proto, proto, sizeof(proto));
			}
			if (*end != ',')
				break;
			d = end + 1;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ------------------------------------------------------ links and sysctl */

typedef struct LoJob {
	int nsfd;
	int err;
	const char *step;
} LoJob;

static void *lo_up_thread(void *arg)
{
	LoJob *j = arg;
	j->step = "setns";
	if (setns(j->nsfd, CLONE_NEWNET) < 0)
		return j->err = errno, NULL;
	j->step = "socket";
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return j->err = errno, NULL;
	struct ifreq ifr = { 0 };
	memcpy(ifr.ifr_name, "lo", 3);
	j->step = "read flags of lo";
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return j->err = errno, NULL;
	if (ifr.ifr_flags & IFF_UP)
		return NULL;
	ifr.ifr_flags |= IFF_UP;
	j->step = "set lo up";
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return j->err = errno, NULL;
	return NULL;
}

int net_attach_loopback(const char *netns_path, Error **err)
{
	_cleanup_close_ int fd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "lo up in netns '%s': open", netns_path);
	LoJob job = { fd, 0, "thread" };
	pthread_t t;
	int r = pthread_create(&t, NULL, lo_up_thread, &job);
	if (r != 0)
		return err_sys(err, r, "lo up in netns '%s': start thread", netns_path);
	pthread_join(t, NULL);
	if (job.err)
		return err_sys(err, job.err, "lo up in netns '%s': %s", netns_path, job.step);
	return 0;
}

static int link_delete(int ifindex)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR)
		return -EIO;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static bool link_has_mac(const char *name, const char *mac)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		return false;
	const unsigned char *a = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	char got[32];
	snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4],
		 a[5]);
	return !strcasecmp(got, mac);
}

/* Delete host-side veths of prev that are still there with their MAC. */
static int veth_cleanup(const NetConfig *cfg, const json_t *prev, Error **err)
{
	json_t *ifs = json_object_get(prev, "interfaces"), *it;
	size_t i;
	json_array_foreach(ifs, i, it) {
		const char *name = json_str(it, "name"), *mac = json_str(it, "mac");
		if (!name || !mac || json_object_get(it, "sandbox") || !strcmp(name, cfg->bridge))
			continue;
		unsigned idx = if_nametoindex(name);
		if (idx == 0 || !link_has_mac(name, mac))
			continue;
		int r = link_delete((int)idx);
		if (r < 0 && r != -ENODEV)
			return err_sys(err, -r, "delete veth '%s'", name);
	}
	return 0;
}

/* The bridge plugin turns forwarding on for isGateway; make sure. */
static int ip_forward_ensure(Error **err)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	char c = 0;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &c, 1, 0) != 1)
		return err_sys(err, errno, "read '%s'", path);
	if (c == '1')
		return 0;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		return err_sys(err, errno, "write '%s'", path);
	return 0;
}

/* ------------------------------------------------------ attach / detach */

static void attachment_fill(NetAttachment *a, json_t *result)
{
	json_t *ips = json_object_get(result, "ips"), *ip;
	size_t i;
	json_array_foreach(ips, i, ip) {
		const char *addr = json_str(ip, "address"), *gw = json_str(ip, "gateway");
		if (!addr || !strchr(addr, '.'))
			continue;
		snprintf(a->ip, sizeof(a->ip), "%.*s", (int)strcspn(addr, "/"), addr);
		snprintf(a->gateway, sizeof(a->gateway), "%s", gw ? gw : "");
		json_t *itf = json_array_get(json_object_get(result, "interfaces"),
					     (size_t)json_int(ip, "interface", -1));
		const char *mac = json_str(itf, "mac");
		snprintf(a->mac, sizeof(a->mac), "%s", mac ? mac : "");
		break;
	}
	a->result = result;
}

static int attach_ports(const NetPort *ports, size_t n_ports, NetPort **ret, Error **err)
{
	_cleanup_free_ NetPort *taken = NULL;
	size_t n_taken = 0;
	if (n_ports) {
		int r = ipt_published(&taken, &n_taken, err);
		if (r < 0)
			return r;
	}
	return net_ports_prepare(ports, n_ports, taken, n_taken, ret, err);
}

int net_attach(const char *id, const char *netns_path, const NetPort *ports, size_t n_ports,
	       NetAttachment *ret, Error **err)
{
	return net_attach_on(NULL, id, netns_path, ports, n_ports, ret, err);
}

int net_attach_on(const NetConfig *cfg, const char *id, const char *netns_path, const NetPort *ports,
		  size_t n_ports, NetAttachment *ret, Error **err)
{
	*ret = (NetAttachment){ 0 };
	cfg = cfg_or_default(cfg);
	int r = net_id_check(cfg, id, err);
	if (r < 0)
		return r;
	int st = netns_state(netns_path);
	if (st <= 0)
		return err_set(err, st < 0 ? EINVAL : ENOENT,
			       "attach '%s' to network '%s': netns '%s' %s", id, cfg->name,
			       netns_path ? netns_path : "", st < 0 ? "is the host's" : "not found");
	r = net_attach_loopback(netns_path, err);
	_cleanup_free_ NetPort *pub = NULL;
	if (r >= 0)
		r = attach_ports(ports, n_ports, &pub, err);
	if (r < 0)
		return err_prefix(err, "attach '%s' to network '%s'", id, cfg->name);
	_cleanup_json_ json_t *list = net_conflist_of(cfg);
	_cleanup_json_ json_t *mappings = port_mappings(pub, n_ports);
	json_t *result = NULL;
	r = chain_add(list, id, netns_path, mappings, &result, err);
	if (r >= 0)
		r = ip_forward_ensure(err);
	if (r < 0) {
		(void)chain_del(list, id, netns_path, mappings, result, NULL);
		(void)ipt_sweep(cfg, id, NULL);
		json_decref(result);
		return err_prefix(err, "attach '%s' to network '%s'", id, cfg->name);
	}
	attachment_fill(ret, result);
	ret->ports = TAKE_PTR(pub);
	ret->n_ports = n_ports;
	return 0;
}

int net_detach(const char *id, const char *netns_path, const NetPort *ports, size_t n_ports,
	       const json_t *prev_result, Error **err)
{
	return net_detach_on(NULL, id, netns_path, ports, n_ports, prev_result, err);
}

int net_detach_on(const NetConfig *cfg, const char *id, const char *netns_path, const NetPort *ports,
		  size_t n_ports, const json_t *prev_result, Error **err)
{
	cfg = cfg_or_default(cfg);
	int r = net_id_check(cfg, id, err);
	if (r < 0)
		return r;
	const char *netns = netns_state(netns_path) == 1 ? netns_path : NULL;
	_cleanup_json_ json_t *list = net_conflist_of(cfg);
	_cleanup_json_ json_t *mappings = port_mappings(ports, n_ports);
	int ret = chain_del(list, id, netns, mappings, prev_result, err);
	r = ipt_sweep(cfg, id, err);
	if (r < 0 && ret == 0)
		ret = r;
	r = veth_cleanup(cfg, prev_result, err);
	if (r < 0 && ret == 0)
		ret = r;
	if (ret < 0)
		return err_prefix(err, "detach '%s' from network '%s'", id, cfg->name);
	return 0;
}

void net_attachment_release(NetAttachment *a)
{
	if (!a)
		return;
	json_decref(a->result);
	free(a->ports);
	*a = (NetAttachment){ 0 };
}
