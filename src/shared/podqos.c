/* podqos.c - status.qosClass from a pod's spec (see podqos.h). */
#include "podqos.h"
#include "json.h"
#include <stdbool.h>
#include <string.h>

static const char *const qos_resources[] = { "cpu", "memory" };

/* One container: does it ask for anything, and is it guaranteed? */
static void container_qos(const json_t *c, bool *any, bool *guaranteed)
{
	const json_t *lim = json_path(c, "resources.limits"), *req = json_path(c, "resources.requests");
	for (size_t k = 0; k < 2; k++) {
		const char *l = json_str(lim, qos_resources[k]), *r = json_str(req, qos_resources[k]);
		if (l || r)
			*any = true;
		if (!l || (r && strcmp(l, r)))
			*guaranteed = false;
	}
}

const char *pod_qos_class(const json_t *pod)
{
	bool any = false, guaranteed = true;
	static const char *const lists[] = { "spec.initContainers", "spec.containers" };
	for (size_t i = 0; i < 2; i++) {
		size_t j;
		json_t *c;
		json_array_foreach(json_path(pod, lists[i]), j, c)
			container_qos(c, &any, &guaranteed);
	}
	return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}
