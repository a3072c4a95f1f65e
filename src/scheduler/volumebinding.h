/* volumebinding.h - the scheduler's VolumeBinding step (volumebinding.c). */
#ifndef BERTH_SCHEDULER_VOLUMEBINDING_H
#define BERTH_SCHEDULER_VOLUMEBINDING_H
#include <jansson.h>
#include "../base/err.h"
#include "../shared/kube.h"

/* PreFilter for the pod's persistentVolumeClaim volumes (nothing is read for
 * a pod without any).  NULL: schedulable; *constrained (new ref, or NULL
 * when nothing is pinned) is then a copy of pod whose nodeSelector carries
 * the node its volumes need (a bound PV's nodeAffinity, or a pending
 * claim's selected-node).  Otherwise the reason, in kube-scheduler's words
 * (caller frees): `persistentvolumeclaim "x" not found`, ... */
char *sched_volumes_prefilter(KubeClient *kc, const json_t *pod, json_t **constrained);
/* Does pod have persistentVolumeClaim volumes (the only pods the two steps
 * around this one read anything for)? */
bool sched_volumes_has_claims(const json_t *pod);
/* The FitError message of a PreFilter failure on nnodes nodes (caller frees). */
char *sched_volumes_fit_message(const char *why, size_t nnodes);
/* Before binding pod to node: annotate its unbound WaitForFirstConsumer
 * claims volume.kubernetes.io/selected-node=node (the provisioner's cue). */
int sched_volumes_assume(KubeClient *kc, const json_t *pod, const char *node, Error **err);
/* Pure: fold a PV's nodeAffinity (single-valued In expressions of its
 * first term) into the nodeSelector object sel.  false if a key conflicts. */
bool sched_volumes_pin(json_t *sel, const json_t *pv);

#endif
