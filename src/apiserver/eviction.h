/* eviction.h - the pods/eviction subresource (eviction.c), called from
 * special.c's action dispatch. */
#ifndef BERTH_APISERVER_EVICTION_H
#define BERTH_APISERVER_EVICTION_H
#include "api-internal.h"

/* POST pods/NAME/eviction: a policy/v1 Eviction checked against the pod's
 * PodDisruptionBudget, then a graceful delete; fills resp. */
void api_pod_eviction(Api *api, ApiRequest *req, ApiResponse *resp);

#endif
