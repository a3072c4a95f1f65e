/* kubeletapi-internal.h - what the node agent's kubelet API files share:
 * the server's state, its answers and argument helpers (kubeletapi.c), and
 * finding a pod's container files and serving its logs (kubeletapi-logs.c).
 */
#ifndef BERTH_AGENT_KUBELETAPI_INTERNAL_H
#define BERTH_AGENT_KUBELETAPI_INTERNAL_H
#include "kubeletapi.h"
#include "../shared/mhd-lazy.h"
#include <stdbool.h>

struct KubeletApi {
	char *root;          /* the agent's state root: <root>/pods/... */
	struct MHD_Daemon *d;
	char *cert, *key, *ca;
};

/* An answer with this body and Content-Type. */
enum MHD_Result kl_reply(struct MHD_Connection *mc, unsigned code, const char *ctype, const char *body);
enum MHD_Result kl_reply_error(struct MHD_Connection *mc, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A query argument (NULL when absent); _true: "1" or "true". */
const char *kl_arg(struct MHD_Connection *mc, const char *key);
bool kl_arg_true(struct MHD_Connection *mc, const char *key);

/* The newest <root>/pods/<ns>_<pod>_<uid> directory that has CTR (caller
 * frees), or NULL. */
char *kl_pod_ctr_dir(const KubeletApi *k, const char *ns, const char *pod, const char *ctr);
/* The instance numbers of a container directory's logs: the highest in
 * *cur, the one before in *prev (-1 when none). */
void kl_log_instances(const char *ctrdir, int *cur, int *prev);
/* GET /containerLogs/NS/POD/CTR (follow, previous, tailLines, sinceTime,
 * sinceSeconds, limitBytes, timestamps), as the kubelet answers it. */
enum MHD_Result kl_serve_logs(KubeletApi *k, struct MHD_Connection *mc, const char *ns, const char *pod,
			      const char *ctr);

#endif
