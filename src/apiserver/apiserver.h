/* apiserver.h - the Kubernetes API server: the one public interface.
 *
 * `apiserver_run` opens the store, makes sure the data dir holds a CA, a
 * serving certificate and admin credentials (writing DATA/kubeconfig.yaml on
 * first start, as k3s does) and serves HTTPS until apiserver_stop() is called
 * (from a signal handler: it only sets a flag).  Everything the server prints
 * goes through base/log.
 */
#ifndef BERTH_APISERVER_H
#define BERTH_APISERVER_H
#include <stdint.h>
#include "../base/err.h"

typedef struct ApiServerConfig {
	const char *data_dir;      /* certs, kubeconfig.yaml, state.db */
	const char *listen;        /* "127.0.0.1:6443" */
	const char *datastore;     /* "sqlite:PATH" (NULL: DATA/state.db) */
	const char *service_cidr;  /* "10.43.0.0/16" */
	const char *token_file;    /* extra "token,user,uid[,groups]" lines (optional) */
} ApiServerConfig;

int apiserver_run(const ApiServerConfig *cfg, Error **err);
void apiserver_stop(void);

/* Make sure DATA has ca.crt/ca.key, serving cert/key, admin token and
 * kubeconfig.yaml for server URL (https://HOST:PORT).  Idempotent. */
int apiserver_certs_ensure(const char *data_dir, const char *server_url, Error **err);
/* DATA/kubeconfig.yaml as text; caller frees. */
int apiserver_kubeconfig_read(const char *data_dir, char **ret, Error **err);
/* A new bearer token for user (written to DATA/tokens); caller frees. */
int apiserver_token_create(const char *data_dir, const char *user, char **ret, Error **err);

#endif
