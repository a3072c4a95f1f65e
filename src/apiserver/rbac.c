/* rbac.c - authorization of every request by Role, ClusterRole, RoleBinding
 * and ClusterRoleBinding, as Kubernetes' RBAC authorizer decides it.
 *
 * A request becomes attributes (verb, API group, resource, subresource,
 * name, namespace, or a non-resource path) the way apiserver's RequestInfo
 * derives them.  It is allowed when some ClusterRoleBinding, or a
 * RoleBinding in the request's namespace, names the user, one of its groups
 * or its ServiceAccount, and the role it refers to has a rule that covers
 * the attributes (verbs and "*", apiGroups, resources with "res/sub",
 * "*\/sub" and "*", resourceNames, nonResourceURLs with a trailing "*").
 * ClusterRoles with an aggregationRule also carry the rules of the
 * ClusterRoles their selectors match (matchLabels).
 *
 * Roles and bindings are read from the store on each decision: no cache to
 * go stale, and two API servers over one etcd decide alike.  The group
 * system:masters is allowed everything without a lookup (the cluster-admin
 * binding says the same), so the admin's requests cost nothing here.
 * Denials answer 403 with apimachinery's wording, e.g.
 *   pods is forbidden: User "u" cannot list resource "pods" in API group ""
 *   in the namespace "default"
 */
#include "api-internal.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <string.h>

#define RBAC_GROUP "rbac.authorization.k8s.io"

static bool in_groups(char *const *groups, const char *g)
{
	for (size_t i = 0; groups && groups[i]; i++)
		if (!strcmp(groups[i], g))
			return true;
	return false;
}

static const char *verb_of(const ApiRequest *req)
{
	const char *m = req->method ? req->method : "GET";
	if (req->sub && (!strcmp(req->sub, "exec") || !strcmp(req->sub, "attach") || !strcmp(req->sub, "portforward")))
		return "create"; /* websocket upgrades are GETs; Kubernetes asks for create */
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		if (req->name)
			return "get";
		const char *w = api_param(req, "watch");
		return w && (!strcmp(w, "true") || !strcmp(w, "1")) ? "watch" : "list";
	}
	if (!strcmp(m, "POST"))
		return "create";
	if (!strcmp(m, "PUT"))
		return "update";
	if (!strcmp(m, "PATCH"))
		return "patch";
	if (!strcmp(m, "DELETE"))
		return req->name ? "delete" : "deletecollection";
	return "unknown";
}

static const char *nonresource_verb(const char *m)
{
	static const char *const map[][2] = { { "GET", "get" }, { "HEAD", "head" }, { "POST", "post" },
					      { "PUT", "put" }, { "PATCH", "patch" }, { "DELETE", "delete" } };
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (m && !strcmp(m, map[i][0]))
			return map[i][1];
	return "unknown";
}

void api_rbac_attrs(const ApiRequest *req, ApiAttrs *a)
{
	memset(a, 0, sizeof(*a));
	a->path = req->path;
	if (!req->resource || !req->version) {
		a->verb = nonresource_verb(req->method);
		return;
	}
	a->resource_request = true;
	a->verb = verb_of(req);
	a->group = req->group ? req->group : "";
	a->resource = req->resource;
	a->sub = req->sub;
	a->name = req->name;
	a->ns = req->ns;
	if (!req->ns && req->name && !strcmp(req->resource, "namespaces") && !*a->group)
		a->ns = req->name; /* a namespace is in itself, as RequestInfo says */
}

/* ---- rule matching ---- */

static bool has(const json_t *arr, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
		if (json_is_string(x) && (!strcmp(json_string_value(x), "*") || (v && !strcmp(json_string_value(x), v))))
			return true;
	return false;
}

static bool resource_matches(const json_t *arr, const char *res, const char *sub)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) {
		const char *r = json_string_value(x);
		if (!r)
			continue;
		if (!strcmp(r, "*"))
			return true;
		if (!sub || !*sub) {
			if (!strcmp(r, res))
				return true;
			continue;
		}
		const char *slash = strchr(r, '/');
		if (!slash || strcmp(slash + 1, sub))
			continue;
		size_t n = (size_t)(slash - r);
		if ((n == 1 && r[0] == '*') || (n == strlen(res) && !strncmp(r, res, n)))
			return true;
	}
	return false;
}

static bool url_matches(const json_t *arr, const char *path)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) {
		const char *u = json_string_value(x);
		if (!u)
			continue;
		size_t n = strlen(u);
		if (!strcmp(u, "*") || !strcmp(u, path) || (n && u[n - 1] == '*' && !strncmp(u, path, n - 1)))
			return true;
	}
	return false;
}

static bool rule_allows(const json_t *rule, const ApiAttrs *a)
{
	if (!has(json_object_get(rule, "verbs"), a->verb))
		return false;
	if (!a->resource_request)
		return url_matches(json_object_get(rule, "nonResourceURLs"), a->path ? a->path : "");
	if (!has(json_object_get(rule, "apiGroups"), a->group))
		return false;
	if (!resource_matches(json_object_get(rule, "resources"), a->resource, a->sub))
		return false;
	const json_t *names = json_object_get(rule, "resourceNames");
	if (json_array_size(names) == 0)
		return true;
	if (!a->name)
		return false;
	size_t i;
	json_t *x;
	json_array_foreach(names, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), a->name))
			return true;
	return false;
}

/* ---- roles and bindings from the store ---- */

static const ApiResource *rbac_res(Api *api, const char *plural)
{
	return api_resource_find(api, RBAC_GROUP, NULL, plural);
}

static json_t *list_all(Api *api, const char *plural, const char *ns)
{
	json_t *items = json_array();
	const ApiResource *r = rbac_res(api, plural);
	if (!r)
		return items;
	_cleanup_free_ char *prefix = api_resource_key(r, ns, NULL);
	int64_t rev;
	bool more;
	api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more);
	return items;
}

static bool labels_match(const json_t *obj, const json_t *match)
{
	const json_t *labels = json_path(obj, "metadata.labels");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)match, k, v)
		if (!json_is_string(v) || !json_str(labels, k) || strcmp(json_str(labels, k), json_string_value(v)))
			return false;
	return true;
}

/* The rules of a role (a new array): its own, plus what its aggregationRule collects. */
static json_t *role_rules(Api *api, const json_t *ref, const char *binding_ns)
{
	const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");
	json_t *rules = json_array();
	if (!kind || !name)
		return rules;
	bool cluster = !strcmp(kind, "ClusterRole");
	if (!cluster && (strcmp(kind, "Role") || !binding_ns))
		return rules;
	json_t *role;
	if (api_load(api, rbac_res(api, cluster ? "clusterroles" : "roles"), cluster ? NULL : binding_ns, name, &role,
		     NULL) < 0)
		return rules;
	json_array_extend(rules, json_object_get(role, "rules"));
	const json_t *sels = json_path(role, "aggregationRule.clusterRoleSelectors");
	if (cluster && json_array_size(sels)) {
		_cleanup_json_ json_t *all = list_all(api, "clusterroles", NULL);
		size_t i, j;
		json_t *o, *sel;
		json_array_foreach(all, i, o) {
			if (!strcmp(api_meta_str(o, "name") ?: "", name))
				continue;
			json_array_foreach(sels, j, sel) {
				const json_t *ml = json_object_get(sel, "matchLabels");
				if (json_is_object(ml) && json_object_size(ml) && labels_match(o, ml)) {
					json_array_extend(rules, json_object_get(o, "rules"));
					break;
				}
			}
		}
	}
	json_decref(role);
	return rules;
}

static bool subject_matches(const json_t *s, const char *user, char *const *groups, const char *binding_ns)
{
	const char *kind = json_str(s, "kind"), *name = json_str(s, "name");
	if (!kind || !name)
		return false;
	if (!strcmp(kind, "User"))
		return user && !strcmp(name, user);
	if (!strcmp(kind, "Group"))
		return in_groups(groups, name);
	if (!strcmp(kind, "ServiceAccount")) {
		const char *ns = json_str(s, "namespace");
		if (!ns || !*ns)
			ns = binding_ns;
		if (!ns || !user)
			return false;
		_cleanup_free_ char *want = xasprintf("system:serviceaccount:%s:%s", ns, name);
		return !strcmp(want, user);
	}
	return false;
}

static bool binding_applies(const json_t *b, const char *user, char *const *groups)
{
	const char *ns = api_meta_str(b, "namespace");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(b, "subjects"), i, s)
		if (subject_matches(s, user, groups, ns))
			return true;
	return false;
}

/* Call fn(rules) for the rules of every binding that applies; stop when fn returns true. */
typedef bool (*RulesFn)(const json_t *rules, void *ctx);

static bool for_each_rules(Api *api, const char *user, char *const *groups, const char *ns, RulesFn fn, void *ctx)
{
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && !ns)
			break;
		_cleanup_json_ json_t *bindings = pass == 0 ? list_all(api, "clusterrolebindings", NULL) :
							      list_all(api, "rolebindings", ns);
		size_t i;
		json_t *b;
		json_array_foreach(bindings, i, b) {
			if (!binding_applies(b, user, groups))
				continue;
			_cleanup_json_ json_t *rules = role_rules(api, json_object_get(b, "roleRef"),
								  api_meta_str(b, "namespace"));
			if (fn(rules, ctx))
				return true;
		}
	}
	return false;
}

static bool any_rule_allows(const json_t *rules, void *ctx)
{
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
		if (rule_allows(rule, ctx))
			return true;
	return false;
}

bool api_rbac_allowed(Api *api, const char *user, char *const *groups, const ApiAttrs *a)
{
	if (in_groups(groups, "system:masters"))
		return true;
	char *anon[] = { (char *)"system:unauthenticated", NULL };
	if (!user) {
		user = "system:anonymous";
		groups = anon;
	}
	return for_each_rules(api, user, groups, a->resource_request ? a->ns : NULL, any_rule_allows, (void *)a);
}

static char *forbidden_reason(const char *user, const ApiAttrs *a)
{
	if (!a->resource_request)
		return xasprintf("User \"%s\" cannot %s path \"%s\"", user, a->verb, a->path ? a->path : "");
	_cleanup_free_ char *res = a->sub ? xasprintf("%s/%s", a->resource, a->sub) : xstrdup(a->resource);
	if (a->ns)
		return xasprintf("User \"%s\" cannot %s resource \"%s\" in API group \"%s\" in the namespace \"%s\"", user,
				 a->verb, res, a->group, a->ns);
	return xasprintf("User \"%s\" cannot %s resource \"%s\" in API group \"%s\" at the cluster scope", user,
			 a->verb, res, a->group);
}

int api_authorize(Api *api, const ApiRequest *req, ApiResponse *resp)
{
	if (!req->authorize)
		return 0;
	ApiAttrs a;
	api_rbac_attrs(req, &a);
	if (api_rbac_allowed(api, req->user, req->groups, &a))
		return 0;
	const char *user = req->user ? req->user : "system:anonymous";
	_cleanup_free_ char *why = forbidden_reason(user, &a);
	_cleanup_free_ char *msg = NULL;
	json_t *details = json_object();
	if (!a.resource_request) {
		msg = xasprintf("forbidden: %s", why);
	} else {
		_cleanup_free_ char *gr = *a.group ? xasprintf("%s.%s", a.resource, a.group) : xstrdup(a.resource);
		msg = a.name ? xasprintf("%s \"%s\" is forbidden: %s", gr, a.name, why) :
			       xasprintf("%s is forbidden: %s", gr, why);
		if (a.name)
			json_object_set_new(details, "name", json_string(a.name));
		if (*a.group)
			json_object_set_new(details, "group", json_string(a.group));
		json_object_set_new(details, "kind", json_string(a.resource));
	}
	api_respond_json(resp, 403, api_status(403, "Forbidden", msg, details));
	return -EPERM;
}

/* ---- SelfSubjectRulesReview ---- */

typedef struct RulesCollect {
	json_t *resource_rules, *nonresource_rules;
} RulesCollect;

static bool collect_rules(const json_t *rules, void *ctx)
{
	RulesCollect *c = ctx;
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule) {
		if (json_object_get(rule, "nonResourceURLs")) {
			json_array_append_new(c->nonresource_rules,
					      json_pack("{s:O, s:O}", "verbs", json_object_get(rule, "verbs"),
							"nonResourceURLs", json_object_get(rule, "nonResourceURLs")));
			continue;
		}
		json_t *r = json_pack("{s:O?, s:O?, s:O?}", "verbs", json_object_get(rule, "verbs"), "apiGroups",
				      json_object_get(rule, "apiGroups"), "resources", json_object_get(rule, "resources"));
		if (json_object_get(rule, "resourceNames"))
			json_object_set(r, "resourceNames", json_object_get(rule, "resourceNames"));
		json_array_append_new(c->resource_rules, r);
	}
	return false;
}

json_t *api_rbac_rules_review(Api *api, const char *user, char *const *groups, const char *ns)
{
	RulesCollect c = { json_array(), json_array() };
	if (in_groups(groups, "system:masters")) {
		json_array_append_new(c.resource_rules, json_pack("{s:[s], s:[s], s:[s]}", "verbs", "*", "apiGroups", "*",
								  "resources", "*"));
		json_array_append_new(c.nonresource_rules, json_pack("{s:[s], s:[s]}", "verbs", "*", "nonResourceURLs", "*"));
	}
	for_each_rules(api, user, groups, ns, collect_rules, &c);
	return json_pack("{s:o, s:o, s:b}", "resourceRules", c.resource_rules, "nonResourceRules", c.nonresource_rules,
			 "incomplete", 0);
}
