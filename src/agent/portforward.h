/* portforward.h - the node agent's side of `kubectl port-forward`
 * (portforward.c), reached through the kubelet endpoint (kubeletapi.c). */
#ifndef BERTH_AGENT_PORTFORWARD_H
#define BERTH_AGENT_PORTFORWARD_H
#include <stdbool.h>

/* Serve the portforward.k8s.io protocol over SPDY/3.1 on sock (the upgraded
 * connection, plaintext) until the client leaves: every pair of streams
 * (streamtype error and data) with the same requestid header is one TCP
 * connection to 127.0.0.1:<port header> inside the network namespace
 * netns_fd (not closed here); what names the pod in log lines.  peer is
 * the client's TCP socket (watched for a hang-up only, -1: none).  ws: the
 * SPDY bytes come and go in WebSocket binary messages (the subprotocol
 * SPDY/3.1+portforward.k8s.io of kubectl >= 1.31). */
void portforward_serve(int sock, int netns_fd, const char *what, int peer, bool ws);

#endif
