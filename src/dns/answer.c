/* answer.c - answers for names in the cluster domain, as CoreDNS's
 * kubernetes plugin gives them (the "Kubernetes DNS-Based Service Discovery"
 * specification), computed from Services and EndpointSlices:
 *
 *   SVC.NS.svc.DOMAIN               A/AAAA: the ClusterIPs (dual-stack
 *                                   spec.clusterIPs); headless: every ready
 *                                   endpoint address; ExternalName: CNAME
 *   HOST.SVC.NS.svc.DOMAIN          A/AAAA: the endpoint whose hostname is HOST
 *                                   (a pod's spec.hostname when its
 *                                   spec.subdomain names the service) or whose
 *                                   address is HOST written a-b-c-d
 *   _PORT._PROTO.SVC.NS.svc.DOMAIN  SRV for the named port (ClusterIP: the
 *                                   service name; headless: one per endpoint),
 *                                   with the targets' addresses as additional
 *   A-B-C-D.NS.pod.DOMAIN           A A.B.C.D ("pods insecure": no pod lookup)
 *   dns-version.DOMAIN              TXT DNS_VERSION
 *   DOMAIN                          SOA, NS ns.dns.DOMAIN (A: kube-system/kube-dns)
 *   D.C.B.A.in-addr.arpa, ip6.arpa  PTR SVC.NS.svc.DOMAIN for a ClusterIP,
 *                                   LABEL.SVC.NS.svc.DOMAIN for a ready endpoint
 *
 * A name that does not exist is NXDOMAIN, an existing name without records
 * of the asked type NODATA; both carry the zone's SOA in authority.  Reverse
 * names are ours inside the reverse CIDRs (the service and pod networks:
 * unknown addresses NXDOMAIN) and wherever an address is known; the server
 * forwards the rest.
 */
#include "dns.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LABELS 8

typedef struct {
	const DnsSource *src;
	const DnsQuestion *q;
	DnsMsg *r;
	bool exists;
	const char *zone;  /* the SOA owner: the domain or a reverse zone */
} Ans;

/* An address, or the leading part of one a reverse name spells. */
typedef struct {
	int fam;           /* AF_INET, AF_INET6; 0: not a reverse name */
	int nparts;        /* octets (v4) or nibbles (v6) the name gives */
	bool full;         /* all 4 octets / 32 nibbles */
	uint8_t b[16];
} Rev;

static DnsRR *add_rr(DnsRR *sec, int *n, const char *name, uint16_t type)
{
	if (*n >= DNS_MAX_RR)
		return NULL;
	DnsRR *rr = &sec[(*n)++];
	memset(rr, 0, sizeof(*rr));
	snprintf(rr->name, sizeof(rr->name), "%s", name);
	rr->type = type;
	rr->cls = DNS_CLASS_IN;
	rr->ttl = DNS_TTL;
	return rr;
}

/* Add an A or AAAA record for ip (by its family) when qtype asks for that
 * family (DNS_ANY: both); no duplicates. */
static void add_ip(DnsRR *sec, int *n, const char *name, const char *ip, uint16_t qtype)
{
	uint8_t b[16];
	int fam = !ip ? 0 : inet_pton(AF_INET, ip, b) == 1 ? AF_INET : inet_pton(AF_INET6, ip, b) == 1 ? AF_INET6 : 0;
	uint16_t type = fam == AF_INET ? DNS_A : DNS_AAAA;
	size_t len = fam == AF_INET ? 4 : 16;
	if (!fam || (qtype != type && qtype != DNS_ANY))
		return;
	for (int i = 0; i < *n; i++)
		if (sec[i].type == type && dns_name_eq(sec[i].name, name) && !memcmp(sec[i].rd.aaaa, b, len))
			return;
	DnsRR *rr = add_rr(sec, n, name, type);
	if (rr)
		memcpy(rr->rd.aaaa, b, len);  /* rd.a and rd.aaaa share the union's start */
}

static bool wants(const Ans *a, uint16_t type) { return a->q->type == type || a->q->type == DNS_ANY; }
static bool wants_addr(const Ans *a) { return wants(a, DNS_A) || wants(a, DNS_AAAA); }

static void add_target(Ans *a, uint16_t type, const char *target)
{
	for (int i = 0; i < a->r->ancount; i++)  /* no duplicates */
		if (a->r->an[i].type == type && dns_name_eq(a->r->an[i].rd.target, target))
			return;
	DnsRR *rr = add_rr(a->r->an, &a->r->ancount, a->q->name, type);
	if (rr)
		snprintf(rr->rd.target, sizeof(rr->rd.target), "%s", target);
}

static bool ep_ready(const json_t *ep)
{
	const json_t *r = json_path(ep, "conditions.ready");
	return !r || json_is_null(r) || json_is_true(r);
}

static const char *slice_service(const json_t *s)
{
	return json_str(json_path(s, "metadata.labels"), "kubernetes.io/service-name");
}

/* Slices of service svc in ns (new array). */
static json_t *slices_of(const DnsSource *src, const char *ns, const char *svc)
{
	json_t *all = src->list_slices(src->ud, ns);
	json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(all, i, s)
		if (!strcmp(slice_service(s) ?: "", svc))
			json_array_append(out, s);
	json_decref(all);
	return out;
}

/* "10-1-2-3" (IPv4) or "fd00--1" (IPv6) form of an address. */
static void dashed(const char *ip, char *buf, size_t n)
{
	snprintf(buf, n, "%s", ip);
	for (char *p = buf; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '-';
}

/* The endpoint's DNS label: its hostname, else the dashed address. */
static void ep_label(const json_t *ep, const char *ip, char *buf, size_t n)
{
	const char *h = json_str(ep, "hostname");
	if (h && *h)
		snprintf(buf, n, "%s", h);
	else
		dashed(ip, buf, n);
}

/* The service's ClusterIPs (spec.clusterIPs, else spec.clusterIP) into ips;
 * returns how many (0: headless or none allocated). */
static int cluster_ips(const json_t *svc, const char *ips[4])
{
	const json_t *spec = json_object_get(svc, "spec");
	int n = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "clusterIPs"), i, v) {
		const char *s = json_string_value(v);
		if (s && *s && strcmp(s, "None") && n < 4)
			ips[n++] = s;
	}
	const char *cip = json_str(spec, "clusterIP");
	if (!n && cip && *cip && strcmp(cip, "None"))
		ips[n++] = cip;
	return n;
}

static void answer_service(Ans *a, const json_t *svc, const char *ns, const char *name)
{
	a->exists = true;
	const char *type = json_str(json_object_get(svc, "spec"), "type") ?: "ClusterIP";
	if (!strcmp(type, "ExternalName")) {
		const char *ext = json_str(json_object_get(svc, "spec"), "externalName");
		if (ext)
			add_target(a, DNS_CNAME, ext);
		return;
	}
	if (!wants_addr(a))
		return;
	const char *ips[4];
	int n = cluster_ips(svc, ips);
	for (int i = 0; i < n; i++)
		add_ip(a->r->an, &a->r->ancount, a->q->name, ips[i], a->q->type);
	if (n)
		return;
	_cleanup_json_ json_t *slices = slices_of(a->src, ns, name);
	size_t i, j, k;
	json_t *s, *ep, *ip;
	json_array_foreach(slices, i, s)
		json_array_foreach(json_object_get(s, "endpoints"), j, ep)
			if (ep_ready(ep))
				json_array_foreach(json_object_get(ep, "addresses"), k, ip)
					add_ip(a->r->an, &a->r->ancount, a->q->name, json_string_value(ip), a->q->type);
}

static void answer_endpoint(Ans *a, const char *host, const char *ns, const char *svc)
{
	_cleanup_json_ json_t *slices = slices_of(a->src, ns, svc);
	size_t i, j, k;
	json_t *s, *ep, *ip;
	char label[DNS_NAME_MAX + 1];
	json_array_foreach(slices, i, s)
		json_array_foreach(json_object_get(s, "endpoints"), j, ep)
			json_array_foreach(json_object_get(ep, "addresses"), k, ip) {
				const char *addr = json_string_value(ip);
				if (!addr)
					continue;
				ep_label(ep, addr, label, sizeof(label));
				if (strcasecmp(label, host))
					continue;
				a->exists = true;
				add_ip(a->r->an, &a->r->ancount, a->q->name, addr, a->q->type);
			}
}

static void add_srv(Ans *a, uint16_t weight, uint16_t port, const char *target)
{
	DnsRR *rr = add_rr(a->r->an, &a->r->ancount, a->q->name, DNS_SRV);
	if (!rr)
		return;
	rr->rd.srv.weight = weight;
	rr->rd.srv.port = port;
	snprintf(rr->rd.srv.target, sizeof(rr->rd.srv.target), "%s", target);
}

static void answer_srv(Ans *a, const char *port, const char *proto, const json_t *svc, const char *ns,
		       const char *name)
{
	const json_t *sp = NULL;
	size_t i;
	json_t *p;
	json_array_foreach(json_path(svc, "spec.ports"), i, p)
		if (!strcasecmp(json_str(p, "name") ?: "", port) && !strcasecmp(json_str(p, "protocol") ?: "TCP", proto))
			sp = p;
	if (!sp)
		return;
	a->exists = true;
	if (!wants(a, DNS_SRV))
		return;
	char target[DNS_NAME_MAX + 1];
	const char *ips[4];
	int nip = cluster_ips(svc, ips);
	if (nip) {
		snprintf(target, sizeof(target), "%s.%s.svc.%s", name, ns, a->src->domain);
		add_srv(a, 100, (uint16_t)json_int(sp, "port", 0), target);
		for (int k = 0; k < nip; k++)
			add_ip(a->r->ar, &a->r->arcount, target, ips[k], DNS_ANY);
		return;
	}
	_cleanup_json_ json_t *slices = slices_of(a->src, ns, name);
	size_t j, k, n = 0;
	json_t *s, *ep, *ip;
	json_array_foreach(slices, i, s) {  /* count first: weights split 100 as CoreDNS does */
		json_array_foreach(json_object_get(s, "endpoints"), j, ep)
			n += ep_ready(ep) ? 1 : 0;
	}
	json_array_foreach(slices, i, s) {
		int eport = -1;
		json_array_foreach(json_object_get(s, "ports"), j, p)
			if (!strcasecmp(json_str(p, "name") ?: "", port))
				eport = (int)json_int(p, "port", -1);
		if (eport < 0)
			continue;
		json_array_foreach(json_object_get(s, "endpoints"), j, ep) {
			if (!ep_ready(ep))
				continue;
			json_array_foreach(json_object_get(ep, "addresses"), k, ip) {
				char label[64];
				ep_label(ep, json_string_value(ip) ?: "", label, sizeof(label));
				snprintf(target, sizeof(target), "%s.%s.%s.svc.%s", label, name, ns, a->src->domain);
				add_srv(a, (uint16_t)(n ? 100 / n : 100), (uint16_t)eport, target);
				add_ip(a->r->ar, &a->r->arcount, target, json_string_value(ip), DNS_ANY);
			}
		}
	}
}

static void add_soa(Ans *a, DnsRR *sec, int *n)
{
	DnsRR *rr = add_rr(sec, n, a->zone, DNS_SOA);
	if (!rr)
		return;
	snprintf(rr->rd.soa.mname, sizeof(rr->rd.soa.mname), "ns.dns.%s", a->src->domain);
	snprintf(rr->rd.soa.rname, sizeof(rr->rd.soa.rname), "hostmaster.%s", a->src->domain);
	rr->rd.soa.serial = 1;
	rr->rd.soa.refresh = 7200;
	rr->rd.soa.retry = 1800;
	rr->rd.soa.expire = 86400;
	rr->rd.soa.minimum = DNS_TTL;
}

/* The addresses of ns.dns.DOMAIN: the kube-system/kube-dns Service's. */
static void add_ns_addrs(Ans *a, DnsRR *sec, int *n, uint16_t qtype)
{
	_cleanup_json_ json_t *svc = a->src->get_service(a->src->ud, "kube-system", "kube-dns");
	const char *ips[4];
	int nip = svc ? cluster_ips(svc, ips) : 0;
	char host[DNS_NAME_MAX + 1];
	snprintf(host, sizeof(host), "ns.dns.%s", a->src->domain);
	for (int i = 0; i < nip; i++)
		add_ip(sec, n, host, ips[i], qtype);
}

/* The zone apex: SOA and NS (the name server's addresses as additional). */
static void answer_apex(Ans *a)
{
	a->exists = true;
	if (wants(a, DNS_SOA))
		add_soa(a, a->r->an, &a->r->ancount);
	if (wants(a, DNS_NS)) {
		char host[DNS_NAME_MAX + 1];
		snprintf(host, sizeof(host), "ns.dns.%s", a->src->domain);
		add_target(a, DNS_NS, host);
		add_ns_addrs(a, a->r->ar, &a->r->arcount, DNS_ANY);
	}
}

static void answer_version(Ans *a)
{
	a->exists = true;
	DnsRR *rr = wants(a, DNS_TXT) ? add_rr(a->r->an, &a->r->ancount, a->q->name, DNS_TXT) : NULL;
	if (!rr)
		return;
	size_t l = strlen(DNS_VERSION);
	rr->raw[0] = (uint8_t)l;  /* one character-string */
	memcpy(rr->raw + 1, DNS_VERSION, l);
	rr->rawlen = (uint16_t)(l + 1);
}

/* A-B-C-D.NS.pod.DOMAIN (or an IPv6 address with ':' written '-'): the
 * address itself, as CoreDNS's "pods insecure" mode answers. */
static void answer_pod(Ans *a, const char *label)
{
	char ip[INET6_ADDRSTRLEN];
	if (strlen(label) >= sizeof(ip))
		return;
	int dashes = 0;
	for (const char *p = label; *p; p++)
		dashes += *p == '-';
	bool v4 = dashes == 3 && !strstr(label, "--");
	snprintf(ip, sizeof(ip), "%s", label);
	for (char *p = ip; *p; p++)
		if (*p == '-')
			*p = v4 ? '.' : ':';
	uint8_t b[16];
	if (inet_pton(v4 ? AF_INET : AF_INET6, ip, b) != 1)
		return;
	a->exists = true;
	add_ip(a->r->an, &a->r->ancount, a->q->name, ip, a->q->type);
}

/* ---- reverse names ---- */

/* Parse an in-addr.arpa / ip6.arpa name (the zone itself or below it, at
 * most a full address); false when name is neither or malformed. */
static bool parse_reverse(const char *name, Rev *rv)
{
	memset(rv, 0, sizeof(*rv));
	bool v4 = dns_name_in_zone(name, "in-addr.arpa");
	if (!v4 && !dns_name_in_zone(name, "ip6.arpa"))
		return false;
	size_t ln = strlen(name), lz = strlen(v4 ? "in-addr.arpa" : "ip6.arpa");
	if (ln && name[ln - 1] == '.')
		ln--;
	size_t rest = ln > lz ? ln - lz - 1 : 0;  /* the labels before the zone */
	char buf[DNS_NAME_MAX + 1];
	memcpy(buf, name, rest);
	buf[rest] = '\0';
	char *lab[32];
	int n = 0, max = v4 ? 4 : 32;
	for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		if (n == max)
			return false;
		lab[n++] = t;
	}
	for (int i = 0; i < n; i++) {  /* labels are least significant first */
		const char *t = lab[n - 1 - i];
		size_t tl = strlen(t);
		bool digits = tl && strspn(t, v4 ? "0123456789" : "0123456789abcdefABCDEF") == tl;
		long v = strtol(t, NULL, v4 ? 10 : 16);
		if (!digits || (v4 ? tl > 3 || v > 255 || (t[0] == '0' && tl > 1) : tl != 1))
			return false;
		if (v4)
			rv->b[i] = (uint8_t)v;
		else
			rv->b[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
	}
	rv->fam = v4 ? AF_INET : AF_INET6;
	rv->nparts = n;
	rv->full = n == max;
	return true;
}

/* The reverse zone of the configured CIDR holding rv ("43.10.in-addr.arpa"
 * for 10.43.0.0/16) into zone; false when rv is in none of them. */
static bool reverse_zone(const DnsSource *src, const Rev *rv, char *zone, size_t n)
{
	static const char *const defaults[] = { DNS_REVERSE_CIDRS, NULL };
	if (rv->fam != AF_INET)
		return false;
	for (const char *const *c = src->reverse_cidrs ? src->reverse_cidrs : defaults; *c; c++) {
		char net[INET_ADDRSTRLEN];
		const char *slash = strchr(*c, '/');
		uint8_t b[4];
		char *end;
		long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
		if (!slash || (size_t)(slash - *c) >= sizeof(net) || *end || prefix < 0 || prefix > 32)
			continue;
		memcpy(net, *c, (size_t)(slash - *c));
		net[slash - *c] = '\0';
		if (inet_pton(AF_INET, net, b) != 1)
			continue;
		int k = (int)prefix / 8;  /* octets the zone name has */
		if (rv->nparts < k)
			continue;
		int bits = rv->nparts * 8 < prefix ? rv->nparts * 8 : (int)prefix;
		uint32_t mask = bits ? ~0u << (32 - bits) : 0;
		uint32_t x = (uint32_t)rv->b[0] << 24 | (uint32_t)rv->b[1] << 16 | (uint32_t)rv->b[2] << 8 | rv->b[3];
		uint32_t y = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		if ((x & mask) != (y & mask))
			continue;
		size_t o = 0;
		zone[0] = '\0';
		for (int i = k - 1; i >= 0 && o < n; i--)
			o += (size_t)snprintf(zone + o, n - o, "%u.", b[i]);
		if (o < n)
			snprintf(zone + o, n - o, "in-addr.arpa");
		return true;
	}
	return false;
}

static bool same_addr(const Rev *rv, const char *ip)
{
	uint8_t b[16];
	return ip && inet_pton(rv->fam, ip, b) == 1 && !memcmp(b, rv->b, rv->fam == AF_INET ? 4 : 16);
}

/* The names of the full address rv: PTR records into a->r->an when a is
 * given; returns how many there are. */
static int ptr_names(const DnsSource *src, const Rev *rv, Ans *a)
{
	int found = 0;
	char target[DNS_NAME_MAX + 1];
	size_t i, j, k;
	json_t *o, *ep, *ip;
	_cleanup_json_ json_t *svcs = src->list_services ? src->list_services(src->ud) : NULL;
	json_array_foreach(svcs, i, o) {
		const char *ips[4];
		int n = cluster_ips(o, ips);
		for (int x = 0; x < n; x++)
			if (same_addr(rv, ips[x])) {
				snprintf(target, sizeof(target), "%s.%s.svc.%s", json_str(json_object_get(o, "metadata"), "name") ?: "",
					 json_str(json_object_get(o, "metadata"), "namespace") ?: "", src->domain);
				found++;
				if (a)
					add_target(a, DNS_PTR, target);
			}
	}
	_cleanup_json_ json_t *slices = src->list_slices(src->ud, NULL);
	json_array_foreach(slices, i, o) {
		const char *svc = slice_service(o), *ns = json_str(json_object_get(o, "metadata"), "namespace");
		if (!svc || !ns)
			continue;
		json_array_foreach(json_object_get(o, "endpoints"), j, ep) {
			if (!ep_ready(ep))
				continue;
			json_array_foreach(json_object_get(ep, "addresses"), k, ip) {
				if (!same_addr(rv, json_string_value(ip)))
					continue;
				char label[64];  /* a DNS label */
				ep_label(ep, json_string_value(ip), label, sizeof(label));
				snprintf(target, sizeof(target), "%s.%s.%s.svc.%s", label, svc, ns, src->domain);
				found++;
				if (a)
					add_target(a, DNS_PTR, target);
			}
		}
	}
	return found;
}

static void answer_reverse(Ans *a, const Rev *rv, char *zone, size_t zn)
{
	bool ours = reverse_zone(a->src, rv, zone, zn);
	if (!ours)
		snprintf(zone, zn, "%s", rv->fam == AF_INET ? "in-addr.arpa" : "ip6.arpa");
	a->zone = zone;
	if (!rv->full) {  /* the zone apex or a name above addresses */
		a->exists = true;
		int dots = 0;
		for (const char *p = zone; *p; p++)
			dots += *p == '.';
		if (ours && rv->nparts == dots - 1)  /* "43.10.in-addr.arpa": 2 octets */
			answer_apex(a);
		return;
	}
	a->exists = ptr_names(a->src, rv, wants(a, DNS_PTR) ? a : NULL) > 0;
}

bool dns_is_cluster_name(const DnsSource *src, const char *name)
{
	if (dns_name_in_zone(name, src->domain))
		return true;
	Rev rv;
	char zone[DNS_NAME_MAX + 1];
	if (!parse_reverse(name, &rv))
		return false;
	return reverse_zone(src, &rv, zone, sizeof(zone)) || (rv.full && ptr_names(src, &rv, NULL) > 0);
}

/* Split the part of name before the domain into labels (in place in buf). */
static int split_labels(const char *name, const char *domain, char *buf, size_t n, char *lab[MAX_LABELS])
{
	size_t ln = strlen(name), ld = strlen(domain);
	if (ln && name[ln - 1] == '.')
		ln--;
	if (ln <= ld)
		return 0;
	size_t rest = ln - ld - 1;
	if (rest >= n)
		return -1;
	memcpy(buf, name, rest);
	buf[rest] = '\0';
	int nl = 0;
	for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		if (nl == MAX_LABELS)
			return -1;
		lab[nl++] = t;
	}
	return nl;
}

/* NAME.svc.DOMAIN: services, their endpoints and ports. */
static void answer_svc(Ans *a, char **lab, int nl)
{
	const char *ns = lab[nl - 2];
	if (nl == 2) {
		a->exists = true;  /* NS.svc.DOMAIN */
		return;
	}
	const char *name = lab[nl - 3];
	_cleanup_json_ json_t *svc = a->src->get_service(a->src->ud, ns, name);
	if (svc && nl == 3)
		answer_service(a, svc, ns, name);
	else if (svc && nl == 4)
		answer_endpoint(a, lab[0], ns, name);
	else if (svc && nl == 5 && lab[0][0] == '_' && lab[1][0] == '_')
		answer_srv(a, lab[0] + 1, lab[1] + 1, svc, ns, name);
}

static void answer_domain(Ans *a)
{
	char buf[DNS_NAME_MAX + 1];
	char *lab[MAX_LABELS];
	int nl = split_labels(a->q->name, a->src->domain, buf, sizeof(buf), lab);
	const char *top = nl > 0 ? lab[nl - 1] : "";
	if (nl == 0)
		answer_apex(a);
	else if (nl == 1 && !strcasecmp(top, "dns-version"))
		answer_version(a);
	else if (nl == 1 && (!strcasecmp(top, "svc") || !strcasecmp(top, "pod") || !strcasecmp(top, "dns")))
		a->exists = true;  /* svc.DOMAIN, pod.DOMAIN and dns.DOMAIN exist without records */
	else if (nl == 2 && !strcasecmp(top, "dns") && !strcasecmp(lab[0], "ns")) {
		a->exists = true;
		add_ns_addrs(a, a->r->an, &a->r->ancount, a->q->type);
	} else if (nl >= 2 && !strcasecmp(top, "svc"))
		answer_svc(a, lab, nl);
	else if (nl == 2 && !strcasecmp(top, "pod"))
		a->exists = true;  /* NS.pod.DOMAIN */
	else if (nl == 3 && !strcasecmp(top, "pod"))
		answer_pod(a, lab[0]);
}

void dns_answer(const DnsSource *src, const DnsMsg *q, DnsMsg *r)
{
	memset(r, 0, sizeof(*r));
	r->id = q->id;
	r->flags = DNS_F_QR | DNS_F_AA | DNS_F_RA | (q->flags & DNS_F_RD);
	if (q->qdcount < 1) {
		r->flags |= DNS_FORMERR;
		return;
	}
	r->qdcount = 1;
	r->qd[0] = q->qd[0];
	Ans a = { .src = src, .q = &q->qd[0], .r = r, .zone = src->domain };
	Rev rv;
	char zone[DNS_NAME_MAX + 1];
	if (!dns_name_in_zone(a.q->name, src->domain) && parse_reverse(a.q->name, &rv))
		answer_reverse(&a, &rv, zone, sizeof(zone));
	else
		answer_domain(&a);
	if (!a.exists)
		r->flags |= DNS_NXDOMAIN;
	if (!r->ancount)
		add_soa(&a, r->ns, &r->nscount);
}
