/* proxy.h - berth's service proxy (kube-proxy in iptables mode).
 *
 *   rules.c   pure: Services + EndpointSlices -> the iptables-restore input
 *             for berth's chains in the nat table (BERTH-SERVICES,
 *             BERTH-SVC-*, BERTH-SEP-*, BERTH-EXT-*, BERTH-NODEPORTS,
 *             BERTH-MARK-MASQ, BERTH-POSTROUTING), stale chains deleted, and
 *             the filter table's REJECTs for ports without endpoints.
 *   proxy.c   informers on services and endpointslices, a sync thread that
 *             writes the rules atomically (iptables-restore --noflush, only
 *             berth's chains) when they change, the jumps from PREROUTING /
 *             OUTPUT / POSTROUTING, LoadBalancer status (the node IPs, as
 *             k3s' servicelb does), route_localnet, and --cleanup.
 */
#ifndef BERTH_PROXY_H
#define BERTH_PROXY_H
#include <stdbool.h>
#include <jansson.h>
#include "../base/err.h"
#include "../shared/kube.h"

#define PROXY_MASQ_MARK "0x4000"

typedef struct {
	char **node_ips;          /* NULL-terminated; NULL: the address of the default route */
	const char *cluster_cidr; /* pod CIDR: traffic to ClusterIPs from outside it is masqueraded; NULL: none */
	bool localhost_nodeports; /* set route_localnet so 127.0.0.1:NODEPORT works (default true in the CLI) */
} ProxyOptions;

typedef struct Proxy Proxy;

/* ---- rules.c ---- */
/* The iptables-restore input for services and slices (JSON arrays).
 * existing: chain names currently in the nat table (NULL-terminated, may be
 * NULL); berth chains among them that are no longer needed are deleted.
 * Caller frees. */
char *proxy_rules_build(const json_t *services, const json_t *slices, const ProxyOptions *opt,
			char *const *existing);
/* The chain name for a service port ("SVC"), its external chain ("EXT") or
 * an endpoint ("SEP", with endpoint "ip:port"), into buf (>= 32 bytes). */
void proxy_chain_name(const char *kind, const char *svc_port_name, const char *proto, const char *endpoint,
		      char *buf, size_t n);

/* ---- proxy.c ---- */
/* Start watching and syncing; kc is borrowed and must outlive the proxy. */
int proxy_start(KubeClient *kc, const ProxyOptions *opt, Proxy **ret, Error **err);
/* Stop syncing; the rules stay (as kube-proxy's), proxy_cleanup removes them. */
void proxy_stop(Proxy *p);
/* Remove berth's jumps and chains from the nat and filter tables. */
int proxy_cleanup(Error **err);
/* Run argv with `in` on stdin; stdout in *out (optional, caller frees). */
int proxy_run(char *const argv[], const char *in, char **out, Error **err);

#endif
