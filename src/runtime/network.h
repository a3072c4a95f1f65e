/* network.h - container networking through the standard CNI plugins
 * (containernetworking-plugins from Debian: bridge + host-local + portmap;
 * lo is brought up in-process), as Kubernetes nodes do.  Part of the runtime component; included
 * by runtime.h.
 *
 * The default network "berth": bridge "berth0", subnet 10.89.0.0/16 from
 * host-local IPAM, ipMasq (NAT out), isGateway, hairpin (other bridge
 * networks, e.g. a node's pod network, through NetConfig and the _on calls); portmap for -p with
 * snat so published ports answer on 127.0.0.1 and the host's addresses.
 * The CNI result of an attach is persisted by the caller and handed back to
 * net_detach so DEL gets its prevResult; every rule, address and veth is
 * removed on detach, also when the netns is already gone.
 * Implemented in network.c (chain, attach/detach, lo), network-port.c (-p
 * syntax, host ports), network-exec.c (running plugins and iptables).
 * docs/networking.md has the config, the chain, and how to debug it.
 */
#ifndef BERTH_RUNTIME_NETWORK_H
#define BERTH_RUNTIME_NETWORK_H

#include <stdbool.h>
#include <jansson.h>
#include "../base/err.h"

typedef struct NetPort {
	char host_ip[64];   /* "" = all addresses */
	int host_port;      /* 0 = pick a free one (docker -p 80) */
	int container_port;
	char proto[4];      /* "tcp" or "udp" */
} NetPort;

/* Most ports one -p range may publish. */
#define NET_MAX_PORT_RANGE 1024

/* "[IP:][HOST:]CTR[/tcp|udp]" as docker -p takes it (IPv6 as "[::1]:80:80").
 * Errors name the spec: "invalid port spec '99999:80': port out of range".
 * A range ("8000-8001:80-81") is rejected here: use net_port_parse_range.
 * An IPv6 host address parses, but net_attach refuses it (IPv4 network). */
int net_port_parse(const char *spec, NetPort *ret, Error **err);
/* Same syntax, ranges allowed ("HOST-HOST2:CTR-CTR2", "CTR-CTR2"): one NetPort
 * per port into *ret (caller frees), at most NET_MAX_PORT_RANGE. */
int net_port_parse_range(const char *spec, NetPort **ret, size_t *ret_n, Error **err);
/* Formats "0.0.0.0:8080->80/tcp" for `ps`. Caller frees. */
char *net_port_format(const NetPort *p);

typedef struct NetAttachment {
	json_t *result;     /* CNI result (owned ref) to persist and give to detach */
	char ip[64];        /* the container's IPv4 address, "" if none */
	char gateway[64];
	char mac[32];
	NetPort *ports;     /* the published ports as set up: host_port 0 replaced
			     * by the port picked (owned; persist for `ps` and detach) */
	size_t n_ports;
} NetAttachment;

/* A bridge network other than the default one: a node's pod network
 * (src/agent gives each node its podCIDR).  Strings borrowed. */
typedef struct NetConfig {
	const char *name;     /* CNI network name (also in iptables comments) */
	const char *bridge;   /* the bridge device, <= 15 chars */
	const char *subnet;   /* IPv4 CIDR the leases come from */
	const char *gateway;  /* the bridge's address; NULL: the subnet's first */
	const char *data_dir; /* host-local dataDir; NULL: /var/lib/cni/networks */
	bool ip_masq;         /* the bridge plugin's own masquerade of all outgoing */
} NetConfig;

/* The default network "berth" (bridge berth0, 10.89.0.0/16, ipMasq). */
extern const NetConfig net_default_config;
/* The bridge name of a pod network for subnet: "bp" + the network address
 * in hex + "-" + prefix ("bp0a2a0100-24"), so networks of different nodes
 * sharing one netns never share a bridge.  -EINVAL for a bad CIDR. */
int net_bridge_name(const char *subnet, char buf[16]);
/* The network's conflist as net_attach_on runs it (new ref). */
json_t *net_conflist_of(const NetConfig *cfg);

/* net_attach / net_detach on the network cfg (NULL: the default one). */
int net_attach_on(const NetConfig *cfg, const char *id, const char *netns_path, const NetPort *ports,
		  size_t n_ports, NetAttachment *ret, Error **err);
int net_detach_on(const NetConfig *cfg, const char *id, const char *netns_path, const NetPort *ports,
		  size_t n_ports, const json_t *prev_result, Error **err);

/* ADD the container (id: [A-Za-z0-9_.-], <= 128 chars) whose network
 * namespace is netns_path to the default bridge network with the given
 * published ports (host_port 0 = pick a free one; an explicit host port
 * already published or listened on is refused).  host-local keeps its leases
 * in its default dataDir /var/lib/cni/networks/berth, shared by every berth
 * root so two roots never hand out the same address.  Also brings lo up.
 * On failure everything done so far is undone. */
int net_attach(const char *id, const char *netns_path, const NetPort *ports, size_t n_ports,
	       NetAttachment *ret, Error **err);
/* Only lo up (for --network none), in-process: no plugin is executed. */
int net_attach_loopback(const char *netns_path, Error **err);
/* DEL: remove the veth, the address lease, the portmap and masquerade rules.
 * netns_path may be NULL or gone (a path that now names the host's own netns,
 * e.g. a reused /proc/<pid>/ns/net, is treated as gone).  Idempotent.
 * prev_result may be NULL (the leased address is still released by id). */
int net_detach(const char *id, const char *netns_path, const NetPort *ports, size_t n_ports,
	       const json_t *prev_result, Error **err);
void net_attachment_release(NetAttachment *a);

#endif
