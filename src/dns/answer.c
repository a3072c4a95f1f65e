/* answer.c - answers for names in the cluster domain, as CoreDNS's
 * kubernetes plugin gives them, computed from Services and EndpointSlices:
 *
 *   SVC.NS.svc.DOMAIN               A: the ClusterIP; headless: every ready
 *                                   endpoint address; ExternalName: CNAME
 *   HOST.SVC.NS.svc.DOMAIN          A: the endpoint whose hostname is HOST (or
 *                                   whose address is HOST written a-b-c-d)
 *   _PORT._PROTO.SVC.NS.svc.DOMAIN  SRV for the named port (ClusterIP: the
 *                                   service name; headless: one per endpoint),
 *                                   with the targets' A records as additional
 *
 * A name that does not exist is NXDOMAIN, an existing name without records
 * of the asked type NODATA; both carry the zone's SOA in authority.
 */
#include "dns.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_LABELS 8

typedef struct {
	const DnsSource *src;
	const DnsQuestion *q;
	DnsMsg *r;
	bool exists;
} Ans;

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

static void add_a(DnsRR *sec, int *n, const char *name, const char *ip)
{
	struct in_addr a;
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return;
	for (int i = 0; i < *n; i++)  /* no duplicates */
		if (sec[i].type == DNS_A && dns_name_eq(sec[i].name, name) && !memcmp(sec[i].rd.a, &a, 4))
			return;
	DnsRR *rr = add_rr(sec, n, name, DNS_A);
	if (rr)
		memcpy(rr->rd.a, &a, 4);
}

static bool wants(const Ans *a, uint16_t type) { return a->q->type == type || a->q->type == DNS_ANY; }

static bool ep_ready(const json_t *ep)
{
	const json_t *r = json_path(ep, "conditions.ready");
	return !r || json_is_null(r) || json_is_true(r);
}

/* Slices of service svc in ns (new array). */
static json_t *slices_of(const DnsSource *src, const char *ns, const char *svc)
{
	json_t *all = src->list_slices(src->ud, ns);
	json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(all, i, s)
		if (!strcmp(json_str(json_path(s, "metadata.labels"), "kubernetes.io/service-name") ?: "", svc))
			json_array_append(out, s);
	json_decref(all);
	return out;
}

/* "10-1-2-3" form of an IPv4 address. */
static void dashed(const char *ip, char *buf, size_t n)
{
	snprintf(buf, n, "%s", ip);
	for (char *p = buf; *p; p++)
		if (*p == '.')
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

static void answer_service(Ans *a, const json_t *svc, const char *ns, const char *name)
{
	a->exists = true;
	const char *type = json_str(json_object_get(svc, "spec"), "type") ?: "ClusterIP";
	if (!strcmp(type, "ExternalName")) {
		const char *ext = json_str(json_object_get(svc, "spec"), "externalName");
		DnsRR *rr = ext ? add_rr(a->r->an, &a->r->ancount, a->q->name, DNS_CNAME) : NULL;
		if (rr)
			snprintf(rr->rd.target, sizeof(rr->rd.target), "%s", ext);
		return;
	}
	if (!wants(a, DNS_A))
		return;
	const char *cip = json_str(json_object_get(svc, "spec"), "clusterIP");
	if (cip && strcmp(cip, "None")) {
		add_a(a->r->an, &a->r->ancount, a->q->name, cip);
		return;
	}
	_cleanup_json_ json_t *slices = slices_of(a->src, ns, name);
	size_t i, j, k;
	json_t *s, *ep, *ip;
	json_array_foreach(slices, i, s)
		json_array_foreach(json_object_get(s, "endpoints"), j, ep)
			if (ep_ready(ep))
				json_array_foreach(json_object_get(ep, "addresses"), k, ip)
					add_a(a->r->an, &a->r->ancount, a->q->name, json_string_value(ip));
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
				if (wants(a, DNS_A))
					add_a(a->r->an, &a->r->ancount, a->q->name, addr);
			}
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
	const char *cip = json_str(json_object_get(svc, "spec"), "clusterIP");
	if (cip && strcmp(cip, "None")) {
		snprintf(target, sizeof(target), "%s.%s.svc.%s", name, ns, a->src->domain);
		DnsRR *rr = add_rr(a->r->an, &a->r->ancount, a->q->name, DNS_SRV);
		if (!rr)
			return;
		rr->rd.srv.prio = 0;
		rr->rd.srv.weight = 100;
		rr->rd.srv.port = (uint16_t)json_int(sp, "port", 0);
		snprintf(rr->rd.srv.target, sizeof(rr->rd.srv.target), "%s", target);
		add_a(a->r->ar, &a->r->arcount, target, cip);
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
				DnsRR *rr = add_rr(a->r->an, &a->r->ancount, a->q->name, DNS_SRV);
				if (!rr)
					return;
				rr->rd.srv.weight = (uint16_t)(n ? 100 / n : 100);
				rr->rd.srv.port = (uint16_t)eport;
				snprintf(rr->rd.srv.target, sizeof(rr->rd.srv.target), "%s", target);
				add_a(a->r->ar, &a->r->arcount, target, json_string_value(ip));
			}
		}
	}
}

static void add_soa(Ans *a)
{
	DnsRR *rr = add_rr(a->r->ns, &a->r->nscount, a->src->domain, DNS_SOA);
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

bool dns_is_cluster_name(const DnsSource *src, const char *name) { return dns_name_in_zone(name, src->domain); }

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
	Ans a = { .src = src, .q = &q->qd[0], .r = r };
	char buf[DNS_NAME_MAX + 1];
	char *lab[MAX_LABELS];
	int nl = split_labels(a.q->name, src->domain, buf, sizeof(buf), lab);
	if (nl == 0 || (nl == 1 && !strcasecmp(lab[0], "svc")))
		a.exists = true;  /* the zone apex and svc.DOMAIN exist without records */
	else if (nl >= 2 && !strcasecmp(lab[nl - 1], "svc")) {
		const char *ns = lab[nl - 2];
		if (nl == 2)
			a.exists = true;  /* NS.svc.DOMAIN */
		else {
			const char *name = lab[nl - 3];
			_cleanup_json_ json_t *svc = src->get_service(src->ud, ns, name);
			if (svc && nl == 3)
				answer_service(&a, svc, ns, name);
			else if (svc && nl == 4)
				answer_endpoint(&a, lab[0], ns, name);
			else if (svc && nl == 5 && lab[0][0] == '_' && lab[1][0] == '_')
				answer_srv(&a, lab[0] + 1, lab[1] + 1, svc, ns, name);
		}
	}
	if (!a.exists)
		r->flags |= DNS_NXDOMAIN;
	if (!r->ancount)
		add_soa(&a);
}
