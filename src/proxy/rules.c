/* rules.c - the nat-table rules for Services, as kube-proxy's iptables mode
 * writes them (pure: objects in, iptables-restore text out).
 *
 * For every port of a Service with a ClusterIP (headless and ExternalName
 * services get nothing) and at least one ready endpoint:
 *   BERTH-SERVICES   -d CLUSTERIP --dport PORT -> BERTH-SVC-X
 *                    -d LB_INGRESS_IP --dport PORT -> BERTH-EXT-X
 *                    (last) dst-type LOCAL -> BERTH-NODEPORTS
 *   BERTH-NODEPORTS  --dport NODEPORT -> BERTH-EXT-X
 *   BERTH-EXT-X      mark for masquerade, -> BERTH-SVC-X
 *   BERTH-SVC-X      (cluster CIDR given) from outside it: mark for masquerade;
 *                    ClientIP affinity: recent --rcheck per endpoint;
 *                    endpoint i of n: statistic random 1/(n-i), the last always
 *   BERTH-SEP-Y      from the endpoint itself (hairpin): mark; DNAT to ip:port
 *   BERTH-POSTROUTING  masquerade marked packets (mark 0x4000, cleared after)
 * A port without ready endpoints gets a REJECT instead, in the filter table
 * (BERTH-SERVICES from OUTPUT/FORWARD, BERTH-EXTERNAL-SERVICES from INPUT/
 * FORWARD for NodePorts and LB IPs), so connections fail at once.
 * Chain names hash "ns/name:port" + protocol (+ endpoint) so they are stable
 * across syncs.
 */
#include "proxy.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include "../shared/digest.h"
#include "../shared/json.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void proxy_chain_name(const char *kind, const char *svc_port_name, const char *proto, const char *endpoint,
		      char *buf, size_t n)
{
	_cleanup_free_ char *in = xasprintf("%s%s%s", svc_port_name, proto, endpoint ? endpoint : "");
	char d[72];
	sha256_buf(in, strlen(in), d);
	char h[17];
	for (int i = 0; i < 16; i++)
		h[i] = (char)toupper((unsigned char)d[7 + i]);
	h[16] = '\0';
	snprintf(buf, n, "BERTH-%s-%s", kind, h);
}

static const char *lower_proto(const char *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", p ? p : "TCP");
	for (char *c = buf; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return buf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Ready "ip:port" endpoints of (ns, svc, port name, protocol), sorted, unique. NULL-terminated. */
static char **endpoints_of(const json_t *slices, const char *ns, const char *svc, const char *pname, const char *proto)
{
	size_t cap = 8, n = 0;
	char **v = xcalloc(cap, sizeof(*v));
	size_t i, j, k;
	json_t *s, *p, *ep, *ip;
	json_array_foreach(slices, i, s) {
		if (strcmp(json_str(json_object_get(s, "metadata"), "namespace") ?: "", ns) ||
		    strcmp(json_str(json_path(s, "metadata.labels"), "kubernetes.io/service-name") ?: "", svc))
			continue;
		const char *at = json_str(s, "addressType");
		if (at && strcmp(at, "IPv4"))
			continue;
		int port = -1;
		json_array_foreach(json_object_get(s, "ports"), j, p)
			if (!strcmp(json_str(p, "name") ?: "", pname) && !strcasecmp(json_str(p, "protocol") ?: "TCP", proto))
				port = (int)json_int(p, "port", -1);
		if (port <= 0)
			continue;
		json_array_foreach(json_object_get(s, "endpoints"), j, ep) {
			const json_t *r = json_path(ep, "conditions.ready");
			if (r && !json_is_null(r) && !json_is_true(r))
				continue;
			json_array_foreach(json_object_get(ep, "addresses"), k, ip) {
				if (!json_is_string(ip))
					continue;
				char *e = xasprintf("%s:%d", json_string_value(ip), port);
				bool dup = false;
				for (size_t d = 0; d < n && !dup; d++)
					dup = !strcmp(v[d], e);
				if (dup) {
					free(e);
					continue;
				}
				if (n + 1 >= cap)
					v = xrealloc(v, (cap *= 2) * sizeof(*v));
				v[n++] = e;
				v[n] = NULL;
			}
		}
	}
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

typedef struct {
	StrBuf chains, rules;
	StrBuf filter;  /* filter-table REJECTs for ports without endpoints */
	char **declared;
	size_t ndecl, cap;
} Out;

static void declare(Out *o, const char *chain)
{
	for (size_t i = 0; i < o->ndecl; i++)
		if (!strcmp(o->declared[i], chain))
			return;
	if (o->ndecl + 1 >= o->cap)
		o->declared = xrealloc(o->declared, (o->cap = o->cap ? o->cap * 2 : 32) * sizeof(char *));
	o->declared[o->ndecl++] = xstrdup(chain);
	o->declared[o->ndecl] = NULL;
	sb_addf(&o->chains, ":%s - [0:0]\n", chain);
}

static void service_port_rules(Out *o, const json_t *svc, const json_t *sp, const json_t *slices,
			       const ProxyOptions *opt)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *ns = json_str(json_object_get(svc, "metadata"), "namespace") ?: "";
	const char *name = json_str(json_object_get(svc, "metadata"), "name") ?: "";
	const char *pname = json_str(sp, "name") ?: "";
	const char *cip = json_str(spec, "clusterIP");
	char pb[16];
	const char *proto = lower_proto(json_str(sp, "protocol"), pb, sizeof(pb));
	int port = (int)json_int(sp, "port", 0);
	int nodeport = (int)json_int(sp, "nodePort", 0);
	_cleanup_free_ char *spn = *pname ? xasprintf("%s/%s:%s", ns, name, pname) : xasprintf("%s/%s", ns, name);
	_cleanup_strv_ char **eps = endpoints_of(slices, ns, name, pname, json_str(sp, "protocol") ?: "TCP");
	size_t n = 0;
	while (eps[n])
		n++;
	if (port <= 0)
		return;
	if (!n) {  /* no endpoints: refuse new connections at once, as kube-proxy */
		const char *type = json_str(spec, "type") ?: "ClusterIP";
		sb_addf(&o->filter, "-A BERTH-SERVICES -m comment --comment \"%s has no endpoints\" -m %s -p %s -d %s/32 "
			"--dport %d -j REJECT --reject-with icmp-port-unreachable\n", spn, proto, proto, cip, port);
		if (nodeport > 0 && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")))
			sb_addf(&o->filter, "-A BERTH-EXTERNAL-SERVICES -m comment --comment \"%s has no endpoints\" "
				"-m addrtype --dst-type LOCAL -m %s -p %s --dport %d -j REJECT --reject-with "
				"icmp-port-unreachable\n", spn, proto, proto, nodeport);
		size_t i;
		json_t *ing;
		if (!strcmp(type, "LoadBalancer"))
			json_array_foreach(json_path(svc, "status.loadBalancer.ingress"), i, ing)
				if (json_str(ing, "ip"))
					sb_addf(&o->filter, "-A BERTH-EXTERNAL-SERVICES -m comment --comment \"%s has no "
						"endpoints\" -m %s -p %s -d %s/32 --dport %d -j REJECT --reject-with "
						"icmp-port-unreachable\n", spn, proto, proto, json_str(ing, "ip"), port);
		return;
	}
	char svcc[40], extc[40];
	proxy_chain_name("SVC", spn, proto, NULL, svcc, sizeof(svcc));
	proxy_chain_name("EXT", spn, proto, NULL, extc, sizeof(extc));
	declare(o, svcc);
	sb_addf(&o->rules, "-A BERTH-SERVICES -m comment --comment \"%s cluster IP\" -m %s -p %s -d %s/32 --dport %d -j %s\n",
		spn, proto, proto, cip, port, svcc);
	bool ext = false;
	const char *type = json_str(spec, "type") ?: "ClusterIP";
	if (nodeport > 0 && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))) {
		ext = true;
		sb_addf(&o->rules, "-A BERTH-NODEPORTS -m comment --comment \"%s\" -m %s -p %s --dport %d -j %s\n", spn,
			proto, proto, nodeport, extc);
	}
	size_t i;
	json_t *ing;
	if (!strcmp(type, "LoadBalancer"))
		json_array_foreach(json_path(svc, "status.loadBalancer.ingress"), i, ing)
			if (json_str(ing, "ip")) {
				ext = true;
				sb_addf(&o->rules, "-A BERTH-SERVICES -m comment --comment \"%s loadbalancer IP\" -m %s -p %s "
					"-d %s/32 --dport %d -j %s\n", spn, proto, proto, json_str(ing, "ip"), port, extc);
			}
	if (ext) {
		declare(o, extc);
		sb_addf(&o->rules, "-A %s -m comment --comment \"masquerade traffic for %s external destinations\" "
			"-j BERTH-MARK-MASQ\n-A %s -j %s\n", extc, spn, extc, svcc);
	}
	if (opt && opt->cluster_cidr && *opt->cluster_cidr)
		sb_addf(&o->rules, "-A %s -m comment --comment \"%s cluster IP\" -m %s -p %s -d %s/32 --dport %d ! -s %s "
			"-j BERTH-MARK-MASQ\n", svcc, spn, proto, proto, cip, port, opt->cluster_cidr);
	bool affinity = !strcmp(json_str(spec, "sessionAffinity") ?: "None", "ClientIP");
	int timeout = (int)json_int(json_path(svc, "spec.sessionAffinityConfig.clientIP"), "timeoutSeconds", 10800);
	char sep[40];
	if (affinity)
		for (size_t k = 0; k < n; k++) {
			proxy_chain_name("SEP", spn, proto, eps[k], sep, sizeof(sep));
			sb_addf(&o->rules, "-A %s -m comment --comment \"%s -> %s\" -m recent --name %s --rcheck --seconds %d "
				"--reap -j %s\n", svcc, spn, eps[k], sep, timeout, sep);
		}
	for (size_t k = 0; k < n; k++) {
		proxy_chain_name("SEP", spn, proto, eps[k], sep, sizeof(sep));
		declare(o, sep);
		if (k + 1 < n)
			sb_addf(&o->rules, "-A %s -m comment --comment \"%s -> %s\" -m statistic --mode random "
				"--probability %0.10f -j %s\n", svcc, spn, eps[k], 1.0 / (double)(n - k), sep);
		else
			sb_addf(&o->rules, "-A %s -m comment --comment \"%s -> %s\" -j %s\n", svcc, spn, eps[k], sep);
		_cleanup_free_ char *ip = xstrndup(eps[k], strcspn(eps[k], ":"));
		sb_addf(&o->rules, "-A %s -m comment --comment \"%s\" -s %s/32 -j BERTH-MARK-MASQ\n", sep, spn, ip);
		sb_addf(&o->rules, "-A %s -m comment --comment \"%s\" -m %s -p %s", sep, spn, proto, proto);
		if (affinity)
			sb_addf(&o->rules, " -m recent --name %s --set", sep);
		sb_addf(&o->rules, " -j DNAT --to-destination %s\n", eps[k]);
	}
}

static bool has_cluster_ip(const json_t *svc)
{
	const char *cip = json_str(json_object_get(svc, "spec"), "clusterIP");
	const char *type = json_str(json_object_get(svc, "spec"), "type") ?: "ClusterIP";
	return cip && *cip && strcmp(cip, "None") && strcmp(type, "ExternalName") && !strchr(cip, ':');
}

char *proxy_rules_build(const json_t *services, const json_t *slices, const ProxyOptions *opt,
			char *const *existing)
{
	Out o = { 0 };
	sb_init(&o.chains);
	sb_init(&o.rules);
	sb_init(&o.filter);
	const char *base[] = { "BERTH-SERVICES", "BERTH-NODEPORTS", "BERTH-POSTROUTING", "BERTH-MARK-MASQ" };
	for (size_t i = 0; i < ARRAY_SIZE(base); i++)
		declare(&o, base[i]);
	sb_adds(&o.rules, "-A BERTH-MARK-MASQ -j MARK --or-mark " PROXY_MASQ_MARK "\n"
			  "-A BERTH-POSTROUTING -m mark ! --mark " PROXY_MASQ_MARK "/" PROXY_MASQ_MARK " -j RETURN\n"
			  "-A BERTH-POSTROUTING -j MARK --xor-mark " PROXY_MASQ_MARK "\n"
			  "-A BERTH-POSTROUTING -m comment --comment \"berth service traffic requiring SNAT\" -j MASQUERADE\n");
	size_t i, j;
	json_t *svc, *sp;
	json_array_foreach(services, i, svc) {
		if (!has_cluster_ip(svc))
			continue;
		json_array_foreach(json_path(svc, "spec.ports"), j, sp)
			service_port_rules(&o, svc, sp, slices, opt);
	}
	sb_adds(&o.rules, "-A BERTH-SERVICES -m comment --comment \"berth service nodeports; NOTE: this must be the "
			  "last rule in this chain\" -m addrtype --dst-type LOCAL -j BERTH-NODEPORTS\n");
	StrBuf out;
	sb_init(&out);
	sb_adds(&out, "*filter\n:BERTH-SERVICES - [0:0]\n:BERTH-EXTERNAL-SERVICES - [0:0]\n");
	sb_adds(&out, sb_str(&o.filter));
	sb_adds(&out, "COMMIT\n*nat\n");
	sb_adds(&out, sb_str(&o.chains));
	/* stale chains: declared (so flushed) then deleted after the rules that used them are gone */
	StrBuf del;
	sb_init(&del);
	for (char *const *e = existing; e && *e; e++) {
		if (strncmp(*e, "BERTH-", 6))
			continue;
		bool keep = false;
		for (size_t k = 0; k < o.ndecl && !keep; k++)
			keep = !strcmp(o.declared[k], *e);
		if (!keep) {
			sb_addf(&out, ":%s - [0:0]\n", *e);
			sb_addf(&del, "-X %s\n", *e);
		}
	}
	sb_adds(&out, sb_str(&o.rules));
	sb_adds(&out, sb_str(&del));
	sb_adds(&out, "COMMIT\n");
	sb_release(&del);
	sb_release(&o.chains);
	sb_release(&o.rules);
	sb_release(&o.filter);
	for (size_t k = 0; k < o.ndecl; k++)
		free(o.declared[k]);
	free(o.declared);
	return sb_detach(&out);
}
