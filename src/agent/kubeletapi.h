/* kubeletapi.h - the node agent's HTTPS endpoint for the API server
 * (`kubectl logs` and `kubectl exec` reach the node through it): see
 * kubeletapi.c for the routes and who may call them. */
#ifndef BERTH_AGENT_KUBELETAPI_H
#define BERTH_AGENT_KUBELETAPI_H
#include "../base/err.h"

typedef struct KubeletApi KubeletApi;

/* Serve on listen ("IP:PORT"; port 0 picks one) the pods under root
 * (<root>/pods/...), trusting client certificates of ca_pem with
 * organisation system:masters.  The serving certificate is self-signed,
 * made at start. */
int kubelet_api_start(const char *root, const char *listen, const char *ca_pem, KubeletApi **ret, Error **err);
/* The port it listens on. */
int kubelet_api_port(const KubeletApi *k);
void kubelet_api_stop(KubeletApi *k);

#endif
