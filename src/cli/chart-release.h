/* chart-release.h - what the release subcommands of `berth chart` share
 * (cmd-chart-install.c, cmd-chart-release.c): the cluster connection flags,
 * Helm's status text, its uitable-style tables and -o json|yaml output. */
#ifndef BERTH_CLI_CHART_RELEASE_H
#define BERTH_CLI_CHART_RELEASE_H

#include <jansson.h>
#include <stdbool.h>
#include "../base/err.h"
#include "../shared/kube.h"

typedef struct RelConn {
	const char *kubeconfig;   /* --kubeconfig */
	const char *ns;           /* -n/--namespace (NULL: the context's, else "default") */
	char ctx_ns[254];         /* the kubeconfig's current context namespace (relcli_client) */
} RelConn;

/* getopt long-option ids shared by every release command */
enum { RELOPT_KUBECONFIG = 0x1000, RELOPT_OUTPUT = 'o', RELOPT_NAMESPACE = 'n' };

/* --kubeconfig, else $KUBECONFIG (first entry), else ~/.kube/config; also
 * reads the current context's namespace into c->ctx_ns. */
int relcli_client(RelConn *c, KubeClient **ret, Error **err);
const char *relcli_ns(const RelConn *c);

/* "Error: PREFIX" + message on stderr, frees e, returns 1 (Helm's exit code). */
int relcli_fail(const char *prefix, Error *e);

typedef enum { RELOUT_TABLE, RELOUT_JSON, RELOUT_YAML } RelOut;
int relcli_parse_output(const char *s, RelOut *ret);
/* Print j as JSON (Go's encoding: one line) or YAML. */
void relcli_print_data(const json_t *j, RelOut fmt);

typedef struct StatusFlags {
	bool debug;          /* values, hooks, manifest (get all) */
	bool metadata;       /* CHART/VERSION/APP_VERSION lines (get all) */
	bool show_desc;      /* DESCRIPTION line */
	bool hide_notes;
} StatusFlags;
/* Helm's statusPrinter, table form. */
void relcli_print_status(const json_t *rel, const StatusFlags *f);
void relcli_print_release(const json_t *rel, RelOut fmt, const StatusFlags *f);

/* uitable as Helm uses it: cells padded to the column width (at most 60),
 * columns joined by a tab, a newline at the end. */
typedef struct UiTable {
	size_t ncol, nrow;
	char **cells;
} UiTable;
void uitable_add(UiTable *t, size_t ncol, const char *const *cells);
void uitable_print(UiTable *t);

/* Go duration text ("5m0s", "300s", "1h", "90") to seconds; -1 when invalid. */
int relcli_duration(const char *s);
/* The chart's COMPUTED VALUES (chart values under the user config). */
json_t *relcli_computed_values(const json_t *rel);

#endif
