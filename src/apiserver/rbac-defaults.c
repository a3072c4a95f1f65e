/* rbac-defaults.c - the ClusterRoles and ClusterRoleBindings every cluster
 * starts with, created at start-up when absent (so an administrator's edits
 * survive restarts):
 *
 *   cluster-admin            everything; bound to the group system:masters
 *   admin / edit / view      the user-facing roles, with the aggregation
 *                            labels and aggregationRules Kubernetes gives them
 *                            (view aggregates into edit, edit into admin)
 *   system:discovery         discovery, OpenAPI, version, health: every
 *   system:basic-user        authenticated user (`kubectl auth can-i` and
 *   system:public-info-viewer `whoami` work for anyone who logged in)
 *   system:node              what berth's node agent does with a node token
 *
 * Written as data (JSON) so the policy reads like the YAML a user would write.
 */
#include "api-internal.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include <string.h>

#define READ "\"get\",\"list\",\"watch\""
#define WRITE "\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\""
#define CORE_RES "\"pods\",\"pods/log\",\"pods/status\",\"services\",\"services/status\",\"endpoints\"," \
		 "\"configmaps\",\"persistentvolumeclaims\",\"persistentvolumeclaims/status\",\"replicationcontrollers\"," \
		 "\"replicationcontrollers/scale\",\"replicationcontrollers/status\",\"serviceaccounts\",\"events\"," \
		 "\"limitranges\",\"resourcequotas\",\"resourcequotas/status\",\"namespaces\",\"namespaces/status\"," \
		 "\"podtemplates\""
#define APPS_RES "\"deployments\",\"deployments/scale\",\"deployments/status\",\"replicasets\",\"replicasets/scale\"," \
		 "\"replicasets/status\",\"statefulsets\",\"statefulsets/scale\",\"statefulsets/status\",\"daemonsets\"," \
		 "\"daemonsets/status\",\"controllerrevisions\""
#define AGG(x) "\"rbac.authorization.k8s.io/aggregate-to-" x "\":\"true\""

static const char *const roles[] = {
	"{\"metadata\":{\"name\":\"cluster-admin\"},\"rules\":["
	"{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]},"
	"{\"nonResourceURLs\":[\"*\"],\"verbs\":[\"*\"]}]}",

	"{\"metadata\":{\"name\":\"view\",\"labels\":{" AGG("edit") "}},"
	"\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{" AGG("view") "}}]},\"rules\":["
	"{\"apiGroups\":[\"\"],\"resources\":[" CORE_RES ",\"bindings\",\"nodes\"],\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"apps\"],\"resources\":[" APPS_RES "],\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"batch\"],\"resources\":[\"jobs\",\"jobs/status\",\"cronjobs\",\"cronjobs/status\"],"
	"\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"autoscaling\"],\"resources\":[\"horizontalpodautoscalers\"],\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"networking.k8s.io\"],\"resources\":[\"ingresses\",\"ingresses/status\",\"networkpolicies\"],"
	"\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"policy\"],\"resources\":[\"poddisruptionbudgets\",\"poddisruptionbudgets/status\"],"
	"\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"discovery.k8s.io\"],\"resources\":[\"endpointslices\"],\"verbs\":[" READ "]},"
	"{\"apiGroups\":[\"events.k8s.io\"],\"resources\":[\"events\"],\"verbs\":[" READ "]}]}",

	"{\"metadata\":{\"name\":\"edit\",\"labels\":{" AGG("admin") "}},"
	"\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{" AGG("edit") "}}]},\"rules\":["
	"{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/attach\",\"pods/exec\",\"pods/portforward\",\"pods/proxy\","
	"\"pods/eviction\",\"services\",\"services/proxy\",\"endpoints\",\"configmaps\",\"secrets\","
	"\"persistentvolumeclaims\",\"replicationcontrollers\",\"replicationcontrollers/scale\",\"serviceaccounts\","
	"\"serviceaccounts/token\",\"events\"],\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"apps\"],\"resources\":[\"deployments\",\"deployments/scale\",\"deployments/rollback\","
	"\"replicasets\",\"replicasets/scale\",\"statefulsets\",\"statefulsets/scale\",\"daemonsets\"],"
	"\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"batch\"],\"resources\":[\"jobs\",\"cronjobs\"],\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"autoscaling\"],\"resources\":[\"horizontalpodautoscalers\"],\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"networking.k8s.io\"],\"resources\":[\"ingresses\",\"networkpolicies\"],"
	"\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"policy\"],\"resources\":[\"poddisruptionbudgets\"],\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[" READ "," WRITE "]}]}",

	"{\"metadata\":{\"name\":\"admin\"},"
	"\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{" AGG("admin") "}}]},\"rules\":["
	"{\"apiGroups\":[\"rbac.authorization.k8s.io\"],\"resources\":[\"roles\",\"rolebindings\"],"
	"\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"authorization.k8s.io\"],\"resources\":[\"localsubjectaccessreviews\"],\"verbs\":[\"create\"]}]}",

	"{\"metadata\":{\"name\":\"system:discovery\"},\"rules\":[{\"nonResourceURLs\":[\"/api\",\"/api/*\",\"/apis\","
	"\"/apis/*\",\"/healthz\",\"/livez\",\"/openapi\",\"/openapi/*\",\"/readyz\",\"/version\",\"/version/\"],"
	"\"verbs\":[\"get\"]}]}",

	"{\"metadata\":{\"name\":\"system:basic-user\"},\"rules\":["
	"{\"apiGroups\":[\"authorization.k8s.io\"],\"resources\":[\"selfsubjectaccessreviews\","
	"\"selfsubjectrulesreviews\"],\"verbs\":[\"create\"]},"
	"{\"apiGroups\":[\"authentication.k8s.io\"],\"resources\":[\"selfsubjectreviews\"],\"verbs\":[\"create\"]}]}",

	"{\"metadata\":{\"name\":\"system:public-info-viewer\"},\"rules\":[{\"nonResourceURLs\":[\"/healthz\","
	"\"/livez\",\"/readyz\",\"/version\",\"/version/\"],\"verbs\":[\"get\"]}]}",

	"{\"metadata\":{\"name\":\"system:node\"},\"rules\":["
	"{\"apiGroups\":[\"\"],\"resources\":[\"nodes\",\"nodes/status\"],\"verbs\":[" READ "," WRITE "]},"
	"{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/status\",\"pods/eviction\",\"services\",\"endpoints\","
	"\"configmaps\",\"secrets\",\"persistentvolumeclaims\",\"persistentvolumes\",\"serviceaccounts/token\"],"
	"\"verbs\":[" READ ",\"create\",\"delete\",\"patch\",\"update\"]},"
	"{\"apiGroups\":[\"\",\"events.k8s.io\"],\"resources\":[\"events\"],\"verbs\":[\"create\",\"patch\",\"update\"]},"
	"{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[" READ "," WRITE "]}]}",
};

/* name, role, subjects */
static const char *const bindings[][3] = {
	{ "cluster-admin", "cluster-admin", "[{\"kind\":\"Group\",\"name\":\"system:masters\"}]" },
	{ "system:discovery", "system:discovery", "[{\"kind\":\"Group\",\"name\":\"system:authenticated\"}]" },
	{ "system:basic-user", "system:basic-user", "[{\"kind\":\"Group\",\"name\":\"system:authenticated\"}]" },
	{ "system:public-info-viewer", "system:public-info-viewer",
	  "[{\"kind\":\"Group\",\"name\":\"system:authenticated\"},{\"kind\":\"Group\",\"name\":\"system:unauthenticated\"}]" },
	{ "system:node", "system:node", "[{\"kind\":\"Group\",\"name\":\"system:nodes\"}]" },
};

static void defaults_meta(json_t *obj)
{
	json_t *meta = json_obj_ensure(obj, "metadata");
	json_object_set_new(json_obj_ensure(meta, "labels"), "kubernetes.io/bootstrapping", json_string("rbac-defaults"));
	json_object_set_new(json_obj_ensure(meta, "annotations"), "rbac.authorization.kubernetes.io/autoupdate",
			    json_string("true"));
}

void api_rbac_bootstrap(Api *api)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
		json_t *role = json_loads(roles[i], 0, NULL);
		if (!role) {
			log_error("rbac: default role %zu does not parse", i);
			continue;
		}
		defaults_meta(role);
		api_ensure_object(api, "clusterroles", "rbac.authorization.k8s.io", NULL, role);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bindings); i++) {
		json_t *b = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}, s:o}", "metadata", "name", bindings[i][0], "roleRef",
				      "apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole", "name", bindings[i][1],
				      "subjects", json_loads(bindings[i][2], 0, NULL));
		defaults_meta(b);
		api_ensure_object(api, "clusterrolebindings", "rbac.authorization.k8s.io", NULL, b);
	}
}
