/* fuzz-scheduler.c - what the scheduler reads from API objects, fed
 * arbitrary bytes: the bytes as a resource quantity, and (when they parse as
 * JSON) as a pod and a node run through every filter, the scores and the
 * FitError message, plus the node's accounting added and removed again.
 * Beyond sanitizer findings it checks that quantities are never negative and
 * that removing a pod restores the node's accounting exactly. */
#include "../../src/scheduler/sched-internal.h"
#include "../../src/base/cleanup.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	int64_t v;
	if (sched_quantity_milli(s, &v) == 0 && v < 0)
		abort();
	if (sched_quantity_value(s, &v) == 0 && v < 0)
		abort();
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_object(j)) {
		/* the same document as a pod and as a node (or {"pod":..,"node":..}) */
		json_t *pj = json_object_get(j, "pod") ?: j, *nj = json_object_get(j, "node") ?: j;
		SchedPod *p = sched_pod_new(pj);
		SchedNode *n = sched_node_new(nj);
		SchedReasons r;
		memset(&r, 0, sizeof(r));
		sched_filter(p, n, &r);
		char *m = sched_fit_message(&r, 1);
		free(m);
		SchedRes before = n->used;
		int64_t npods = n->npods;
		sched_node_add_pod(n, p);
		int64_t score;
		sched_score(p, &n, 1, &score);
		sched_node_remove_pod(n, p);
		if (n->npods != npods || (p->req.milli_cpu != INT64_MAX && n->used.milli_cpu != before.milli_cpu))
			abort();
		sched_node_free(n);
		sched_pod_free(p);
	}
	json_decref(j);
	free(s);
	return 0;
}
