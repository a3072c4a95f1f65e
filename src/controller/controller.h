/* controller.h - the workload controllers (kube-controller-manager's role):
 * ReplicaSet, ReplicationController and Deployment, each a watch -> work
 * queue -> sync(key) loop over informer caches, talking to the API server
 * only through the shared/kube.h client, so they run in-process (started by
 * `berth server`) or remotely (`berth controller --kubeconfig F`) alike.
 */
#ifndef BERTH_CONTROLLER_H
#define BERTH_CONTROLLER_H
#include "../base/err.h"
#include "../shared/kube.h"

typedef struct ControllerManager ControllerManager;

/* Start every controller against kc (owned by the manager from now on):
 * informers are listed before workers start.  Returns once running. */
int controller_manager_start(KubeClient *kc, ControllerManager **ret, Error **err);
/* For `berth server`: a background thread waits for DATA/kubeconfig.yaml and
 * /readyz on the listen address (loopback), then starts the controllers with
 * the admin credentials.  Never fails after returning 0; problems are logged. */
int controller_manager_start_when_ready(const char *data_dir, const char *listen, ControllerManager **ret,
					Error **err);
/* Stop workers and informers and free everything (NULL is fine). */
void controller_manager_stop(ControllerManager *m);

/* The node lifecycle controller's grace period (default 40 s; tests shorten it). */
void controller_set_node_grace_ms(int64_t ms);
/* The cluster CIDR nodes' podCIDRs (/24 each) come from (default
 * 10.42.0.0/16; nodeipam.c).  -EINVAL unless an IPv4 CIDR of /24 or larger. */
int controller_set_cluster_cidr(const char *cidr);

#endif
