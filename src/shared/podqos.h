/* podqos.h - a pod's quality-of-service class (status.qosClass), as
 * Kubernetes derives it from the containers' cpu and memory requests and
 * limits: the API server sets it when the pod is created, the node agent
 * reports it, and the two must agree. */
#ifndef BERTH_SHARED_PODQOS_H
#define BERTH_SHARED_PODQOS_H
#include <jansson.h>

/* "Guaranteed": every container (init ones too) limits cpu and memory and
 * requests exactly that (an unset request is the limit); "BestEffort": no
 * container requests or limits either; else "Burstable". */
const char *pod_qos_class(const json_t *pod);

#endif
