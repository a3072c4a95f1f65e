/* release.h - Helm releases: the release record in Helm v3's storage format
 * (release.c), the manifests and hooks of a release applied to a cluster
 * through the Kubernetes API (release-kube.c), and the actions install,
 * upgrade, rollback, uninstall and test (release-action.c).
 *
 * A release is a jansson object in exactly the shape Helm's Go structs
 * marshal (release.Release: name, info, chart, config, manifest, hooks,
 * version, namespace), so a record written by Helm is read, printed and
 * written back without losing a field.  It is stored as Helm stores it: a
 * Secret sh.helm.release.v1.NAME.vN of type helm.sh/release.v1 whose
 * data.release is base64(gzip(json)), labelled owner=helm, name, status,
 * version (and createdAt / modifiedAt).
 *
 * Ownership: functions returning json_t give a new reference; strings are
 * malloc'd and freed by the caller.
 */
#ifndef BERTH_CHART_RELEASE_H
#define BERTH_CHART_RELEASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "helmchart.h"
#include "../base/err.h"
#include "../base/strbuf.h"
#include "../shared/kube.h"

#define RELEASE_SECRET_TYPE   "helm.sh/release.v1"
#define RELEASE_SECRET_PREFIX "sh.helm.release.v1."
/* Kubernetes refuses Secrets whose data exceeds 1 MiB. */
#define RELEASE_MAX_SECRET_DATA (1u << 20)
/* A decoded record is capped (hostile Secrets: gzip bombs). */
#define RELEASE_MAX_DECODED   (64u << 20)

/* ---- record encoding (release.c) ---- */
/* Go's encoding/json text of a release (struct fields in Helm's order, map
 * keys sorted, HTML characters escaped, float64 as Go prints it). */
char *release_to_json(const json_t *rel);
/* base64(gzip(json)) as Helm's encodeRelease; *ret is NUL-terminated. */
int release_encode(const json_t *rel, char **ret, size_t *ret_len, Error **err);
/* Helm's decodeRelease: base64, gunzip when gzip magic, JSON object. */
int release_decode(const char *data, size_t len, json_t **ret, Error **err);
/* Standard base64 (used for Secret data and chart file bytes). */
char *release_b64_encode(const void *data, size_t len);
int release_b64_decode(const char *s, size_t len, char **ret, size_t *ret_len);

/* The Secret object storing rel (create: createdAt label, else modifiedAt). */
int release_secret(const json_t *rel, bool create, json_t **ret, Error **err);
/* The release held by a Secret object (checks type and data). */
int release_from_secret(const json_t *secret, json_t **ret, Error **err);

/* ---- fields ---- */
const char *release_name(const json_t *rel);
const char *release_namespace(const json_t *rel);
int release_version(const json_t *rel);
const char *release_status(const json_t *rel);
void release_set_status(json_t *rel, const char *status, const char *description);
/* "NAME-VERSION" of the release's chart and its appVersion ("" when none). */
char *release_chart_label(const json_t *rel);
const char *release_app_version(const json_t *rel);

/* ---- time (Go's time.Time as Helm marshals and prints it) ---- */
/* Now in RFC 3339 with nanoseconds (UTC, trailing zeros trimmed). */
char *release_time_now(void);
#define RELEASE_TIME_ZERO "0001-01-01T00:00:00Z"
/* Go's time.ANSIC ("Mon Jan _2 15:04:05 2006") and Time.String()
 * ("2006-01-02 15:04:05.999999999 -0700 MST") of an RFC 3339 text. */
void release_time_ansic(const char *rfc3339, char *buf, size_t n);
void release_time_string(const char *rfc3339, char *buf, size_t n);

/* ---- building a record ---- */
/* Helm's chart.Chart JSON (metadata, lock, templates, values, schema, files). */
json_t *release_chart_json(const Chart *c);
/* A new record: status/description set, times now, deleted zero. */
json_t *release_new(const char *name, const char *ns, int version, json_t *chart, json_t *config,
		    const char *manifest, json_t *hooks, const char *notes);

/* ---- storage in Secrets (release.c) ---- */
/* Every revision of NAME in ns (NULL name: every release; NULL ns: all
 * namespaces), as a JSON array sorted by (namespace, name, version). */
int release_store_list(KubeClient *kc, const char *ns, const char *name, json_t **ret, Error **err);
/* Highest revision of NAME, -ENOENT "release: not found" when none. */
int release_store_last(KubeClient *kc, const char *ns, const char *name, json_t **ret, Error **err);
int release_store_get(KubeClient *kc, const char *ns, const char *name, int version, json_t **ret, Error **err);
int release_store_create(KubeClient *kc, const json_t *rel, Error **err);
int release_store_update(KubeClient *kc, const json_t *rel, Error **err);
int release_store_delete(KubeClient *kc, const char *ns, const char *name, int version, Error **err);

/* ---- manifests (release-manifest.c) ---- */
typedef struct RelDoc {
	char *path;          /* chart/templates/x.yaml */
	char *text;          /* the YAML document */
	json_t *obj;         /* parsed */
	const char *kind;    /* view into obj */
	int order;           /* index in Helm's InstallOrder, -1 unknown */
	size_t seq;
} RelDoc;
void reldocs_free(RelDoc *d, size_t n);
/* Split a manifest stream ("---\n# Source: P\n..." documents) into parsed
 * documents; empty documents skipped. */
int release_split(const char *manifest, RelDoc **ret, size_t *ret_n, Error **err);
/* Stable sort by Helm's InstallOrder of kinds (unknown kinds last, by kind). */
void release_sort_install(RelDoc *d, size_t n);
int release_kind_order(const char *kind);

/* The rendered release: manifest text, hooks (Helm's release.Hook JSON) and
 * notes, from a chart and the user's values (releaseutil.SortManifests). */
typedef struct RelRender {
	char *manifest;
	json_t *hooks;       /* array */
	char *notes;
} RelRender;
void relrender_release(RelRender *r);
int release_render(Chart *c, const json_t *user_vals, const RenderOptions *o, RelRender *ret, Error **err);
/* Helm's hook events / delete policies of an object's annotations. */
json_t *release_hook_new(const char *path, const char *text, const json_t *obj);

/* ---- the cluster side (release-kube.c) ---- */
typedef struct RelKube RelKube;
int relkube_new(KubeClient *kc, RelKube **ret);
void relkube_free(RelKube *k);
DEFINE_CLEANUP(RelKube, relkube_free)
/* The REST path of an object (collection when name is NULL); ns defaults
 * to the release namespace for namespaced kinds. */
int relkube_path(RelKube *k, const char *api_version, const char *kind, const char *ns, const char *name,
		 char **ret, bool *namespaced, Error **err);
/* Create every object of manifest (install order); label/annotate as Helm. */
int relkube_create(RelKube *k, const char *manifest, const char *ns, const char *rel_name, bool adopt_owned,
		   Error **err);
/* Existing objects of manifest not owned by the release: an error as Helm's. */
int relkube_check_conflicts(RelKube *k, const char *manifest, const char *ns, const char *rel_name, Error **err);
/* Three-way update: old manifest -> new manifest, merge patch applied to
 * live objects, created when new, deleted when gone. */
int relkube_update(RelKube *k, const char *old_manifest, const char *new_manifest, const char *ns,
		   const char *rel_name, Error **err);
/* Delete every object of manifest in reverse install order (not the ones
 * annotated helm.sh/resource-policy: keep); missing objects are fine. */
int relkube_delete(RelKube *k, const char *manifest, const char *ns, StrBuf *kept, Error **err);
/* Wait until the objects are ready (Deployments available, Pods ready,
 * Jobs complete, PVCs bound) or timeout_s elapsed. */
int relkube_wait(RelKube *k, const char *manifest, const char *ns, int timeout_s, Error **err);
/* Run the hooks of event (weight, then name order) and their delete
 * policies; updates each hook's last_run.  Job and Pod hooks are waited for. */
int relkube_run_hooks(RelKube *k, json_t *rel, const char *event, int timeout_s, Error **err);
int relkube_ensure_namespace(RelKube *k, const char *ns, Error **err);
/* Create the CRDs of a crds/ file (documents that exist are left alone). */
int relkube_install_crds(RelKube *k, const char *text, Error **err);

/* The `lookup` template function during install/upgrade. */
int relkube_lookup(void *ctx, const char *api_version, const char *kind, const char *ns, const char *name,
		   json_t **ret, Error **err);
/* funcs-helm.c calls this when set (NULL: lookup returns an empty map). */
typedef int (*ChartLookupFn)(void *ctx, const char *api_version, const char *kind, const char *ns,
			     const char *name, json_t **ret, Error **err);
void chart_set_lookup(ChartLookupFn fn, void *ctx);

/* ---- actions (release-action.c) ---- */
typedef struct RelOptions {
	const char *name, *ns;           /* release name and namespace */
	Chart *chart;                    /* install/upgrade: the chart (processed in place) */
	json_t *values;                  /* install/upgrade: user values (-f, --set), borrowed */
	const char *description;         /* --description */
	int timeout_s;                   /* hooks and --wait (default 300) */
	int history_max;                 /* upgrade: revisions kept, 0 = unlimited */
	bool dry_run, wait, atomic, create_namespace, no_hooks, no_crds;
	bool install;                    /* upgrade --install */
	bool reuse_values, reset_values; /* upgrade */
	bool keep_history;               /* uninstall */
} RelOptions;

/* Each returns the resulting release in *ret (also on most failures, with
 * status failed) and an error worded as Helm's. */
int release_install(KubeClient *kc, const RelOptions *o, json_t **ret, Error **err);
/* *installed: upgrade --install found no release and installed it. */
int release_upgrade(KubeClient *kc, const RelOptions *o, json_t **ret, bool *installed, Error **err);
/* revision 0: the one before the current. */
int release_rollback(KubeClient *kc, const RelOptions *o, int revision, json_t **ret, Error **err);
/* kept: "[Kind] name" lines of objects kept by resource policy. */
int release_uninstall(KubeClient *kc, const RelOptions *o, json_t **ret, StrBuf *kept, Error **err);
int release_test(KubeClient *kc, const RelOptions *o, json_t **ret, Error **err);
/* Helm's release name rule (DNS-1123 subdomain, at most 53 characters). */
int release_check_name(const char *name, Error **err);

#endif
