/* scheduler.h - the scheduler (kube-scheduler's role): pods of
 * schedulerName "default-scheduler" without a node are queued, filtered and
 * scored against the nodes, and bound through pods/binding; a pod no node
 * fits gets PodScheduled=False/Unschedulable and a FailedScheduling Event.
 * It talks to the API server through the shared/kube.h client, so it runs
 * in-process (started by `berth server`) or remotely
 * (`berth scheduler --kubeconfig F`) alike; in-process, bindings and Events
 * may take the server's direct path instead (scheduler_set_local).
 * Details: docs/scheduler.md.
 */
#ifndef BERTH_SCHEDULER_H
#define BERTH_SCHEDULER_H
#include <stddef.h>
#include "../base/err.h"
#include "../shared/kube.h"

typedef struct Scheduler Scheduler;

/* Start against kc (owned by the scheduler from now on): pods and nodes are
 * listed before the first pod is scheduled.  Returns once running. */
int scheduler_start(KubeClient *kc, Scheduler **ret, Error **err);
/* For `berth server`: a background thread waits for DATA/kubeconfig.yaml and
 * /readyz on the listen address (loopback), then starts with the admin
 * credentials.  Never fails after returning 0; problems are logged. */
int scheduler_start_when_ready(const char *data_dir, const char *listen, Scheduler **ret, Error **err);
/* Stop and free everything (NULL is fine). */
void scheduler_stop(Scheduler *s);

/* An in-process way to the API server, as apiserver/local.h's
 * apiserver_local_request: 0 with the HTTP status and body (caller frees),
 * -ENOTCONN when no server runs in the process.  `berth server` hands it to
 * its scheduler: bindings, Events and conditions then skip loopback HTTPS
 * (falling back to it on -ENOTCONN); the informers' watches stay on HTTP. */
typedef int (*SchedulerLocalFn)(const char *method, const char *path, const char *content_type, const char *body,
				size_t len, int *ret_status, char **ret_body, size_t *ret_len);
void scheduler_set_local(Scheduler *s, SchedulerLocalFn fn);

#endif
