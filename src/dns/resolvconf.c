/* resolvconf.c - a pod's /etc/resolv.conf as the kubelet composes it (pure,
 * so the node agent can call it and the tests can check it):
 *
 *   ClusterFirst (default; ClusterFirstWithHostNet, or ClusterFirst without
 *   hostNetwork):  nameserver CLUSTER_DNS; search NS.svc.D svc.D D + the
 *                  host's search list; options ndots:5
 *   Default (and ClusterFirst with hostNetwork): the host's resolv.conf
 *   None:          nothing but dnsConfig
 *
 * dnsConfig is merged on top: nameservers and searches appended without
 * duplicates, options by name (the pod's value wins).  At most 3 nameservers
 * and 32 search domains, as the kubelet allows.
 */
#include "dns.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <string.h>

#define MAX_NS 3
#define MAX_SEARCH 32
#define MAX_OPTS 32

typedef struct {
	char *ns[MAX_NS + 8];
	int nns;
	char *search[MAX_SEARCH + 8];
	int nsearch;
	char *opt[MAX_OPTS];
	int nopt;
} Conf;

static void conf_free(Conf *c)
{
	for (int i = 0; i < c->nns; i++)
		free(c->ns[i]);
	for (int i = 0; i < c->nsearch; i++)
		free(c->search[i]);
	for (int i = 0; i < c->nopt; i++)
		free(c->opt[i]);
}

static void add_unique(char **v, int *n, int max, const char *s)
{
	if (!s || !*s || *n >= max)
		return;
	for (int i = 0; i < *n; i++)
		if (!strcmp(v[i], s))
			return;
	v[(*n)++] = xstrdup(s);
}

/* Options are "name" or "name:value"; a later one with the same name replaces. */
static void add_option(Conf *c, const char *o)
{
	if (!o || !*o)
		return;
	size_t nl = strcspn(o, ":");
	for (int i = 0; i < c->nopt; i++)
		if (strcspn(c->opt[i], ":") == nl && !strncmp(c->opt[i], o, nl)) {
			free(c->opt[i]);
			c->opt[i] = xstrdup(o);
			return;
		}
	if (c->nopt < MAX_OPTS)
		c->opt[c->nopt++] = xstrdup(o);
}

static void parse_host(Conf *c, const char *text, bool servers, bool search, bool options)
{
	if (!text)
		return;
	_cleanup_free_ char *copy = xstrdup(text);
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL;
		char *kw = strtok_r(line, " \t\r", &s2);
		if (!kw || *kw == '#' || *kw == ';')
			continue;
		bool is_search = !strcmp(kw, "search") || !strcmp(kw, "domain");
		for (char *w = strtok_r(NULL, " \t\r", &s2); w; w = strtok_r(NULL, " \t\r", &s2)) {
			if (!strcmp(kw, "nameserver") && servers)
				add_unique(c->ns, &c->nns, MAX_NS + 8, w);
			else if (is_search && search)
				add_unique(c->search, &c->nsearch, MAX_SEARCH + 8, w);
			else if (!strcmp(kw, "options") && options)
				add_option(c, w);
		}
	}
}

char *dns_pod_resolv_conf(const json_t *pod, const char *cluster_dns_ip, const char *domain,
			  const char *host_resolv_conf)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *policy = json_str(spec, "dnsPolicy") ?: "ClusterFirst";
	bool host_net = json_is_true(json_object_get(spec, "hostNetwork"));
	const char *ns = json_path(pod, "metadata.namespace") ? json_string_value(json_path(pod, "metadata.namespace"))
							     : "default";
	domain = domain && *domain ? domain : "cluster.local";
	bool cluster = (!strcmp(policy, "ClusterFirst") && !host_net) || !strcmp(policy, "ClusterFirstWithHostNet");
	if (cluster && (!cluster_dns_ip || !*cluster_dns_ip))
		cluster = false;  /* the kubelet falls back to Default without a cluster DNS */
	Conf c = { 0 };
	if (!strcmp(policy, "None")) {
		/* only dnsConfig */
	} else if (cluster) {
		add_unique(c.ns, &c.nns, MAX_NS + 8, cluster_dns_ip);
		char buf[512];
		snprintf(buf, sizeof(buf), "%s.svc.%s", ns ? ns : "default", domain);
		add_unique(c.search, &c.nsearch, MAX_SEARCH + 8, buf);
		snprintf(buf, sizeof(buf), "svc.%s", domain);
		add_unique(c.search, &c.nsearch, MAX_SEARCH + 8, buf);
		add_unique(c.search, &c.nsearch, MAX_SEARCH + 8, domain);
		parse_host(&c, host_resolv_conf, false, true, false);
		add_option(&c, "ndots:5");
	} else {
		parse_host(&c, host_resolv_conf, true, true, true);
	}
	const json_t *dc = json_object_get(spec, "dnsConfig");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(dc, "nameservers"), i, v)
		add_unique(c.ns, &c.nns, MAX_NS + 8, json_string_value(v));
	json_array_foreach(json_object_get(dc, "searches"), i, v)
		add_unique(c.search, &c.nsearch, MAX_SEARCH + 8, json_string_value(v));
	json_array_foreach(json_object_get(dc, "options"), i, v) {
		const char *name = json_str(v, "name");
		if (!name || !*name)
			continue;
		_cleanup_free_ char *o = json_str(v, "value") ? xasprintf("%s:%s", name, json_str(v, "value")) : xstrdup(name);
		add_option(&c, o);
	}
	_cleanup_(sb_releasep) StrBuf sb;
	sb_init(&sb);
	if (c.nsearch) {
		sb_adds(&sb, "search");
		for (int k = 0; k < c.nsearch && k < MAX_SEARCH; k++)
			sb_addf(&sb, " %s", c.search[k]);
		sb_addc(&sb, '\n');
	}
	for (int k = 0; k < c.nns && k < MAX_NS; k++)
		sb_addf(&sb, "nameserver %s\n", c.ns[k]);
	if (c.nopt) {
		sb_adds(&sb, "options");
		for (int k = 0; k < c.nopt; k++)
			sb_addf(&sb, " %s", c.opt[k]);
		sb_addc(&sb, '\n');
	}
	conf_free(&c);
	return sb_detach(&sb);
}
