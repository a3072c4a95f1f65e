/* table.c - server-side printing: the meta.k8s.io/v1 Table `kubectl get`
 * asks for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with
 * Kubernetes' own columns per kind.  Priority-1 columns are the ones
 * `-o wide` adds.  Each row carries the object's metadata
 * (PartialObjectMetadata, or the whole object with includeObject=Object) so
 * that kubectl can add NAMESPACE and label columns.
 *
 * Lists from the watch cache do not build trees: a row's cells are computed
 * once per object version as JSON text (api_table_row) in which every
 * time-dependent cell (Age, Last Seen, a running Job's Duration) is a marker
 * \x01EPOCH\x02 that api_table_row_render turns into a duration at request
 * time; the Table is then a string concatenation.  CRDs print their
 * additionalPrinterColumns (simple JSONPath, typed as apiextensions does).
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* `now` that defers time-dependent cells to render time (age markers) */
#define TABLE_DEFER INT64_MIN
#define AGE_MARK "\001age"

typedef void (*RowFn)(const json_t *obj, json_t *cells, int64_t now);

typedef struct Printer {
	const char *resource;   /* plural; NULL group-agnostic */
	const char *columns;    /* "Name|Ready|Status|Restarts|Age|*IP|*Node" ('*' = wide) */
	RowFn row;
} Printer;

int64_t api_parse_time(const char *s)
{
	struct tm tm = { 0 };
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

void api_human_duration(char *buf, size_t n, int64_t s)
{
	if (s < -1) {
		snprintf(buf, n, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	int64_t m = s / 60, h = m / 60;
	if (s < 120)
		snprintf(buf, n, "%llds", (long long)s);
	else if (m < 10)
		s % 60 ? snprintf(buf, n, "%lldm%llds", (long long)m, (long long)(s % 60)) :
			 snprintf(buf, n, "%lldm", (long long)m);
	else if (m < 180)
		snprintf(buf, n, "%lldm", (long long)m);
	else if (h < 8)
		m % 60 ? snprintf(buf, n, "%lldh%lldm", (long long)h, (long long)(m % 60)) :
			 snprintf(buf, n, "%lldh", (long long)h);
	else if (h < 48)
		snprintf(buf, n, "%lldh", (long long)h);
	else if (h < 24 * 8)
		h % 24 ? snprintf(buf, n, "%lldd%lldh", (long long)(h / 24), (long long)(h % 24)) :
			 snprintf(buf, n, "%lldd", (long long)(h / 24));
	else if (h < 24 * 365 * 2)
		snprintf(buf, n, "%lldd", (long long)(h / 24));
	else if (h < 24 * 365 * 8)
		(h / 24) % 365 ? snprintf(buf, n, "%lldy%lldd", (long long)(h / 24 / 365), (long long)((h / 24) % 365)) :
				 snprintf(buf, n, "%lldy", (long long)(h / 24 / 365));
	else
		snprintf(buf, n, "%lldy", (long long)(h / 24 / 365));
}

static void cell_age(json_t *cells, const char *ts, int64_t now)
{
	char buf[32];
	if (!ts) {
		json_array_append_new(cells, json_string("<unknown>"));
		return;
	}
	if (now == TABLE_DEFER) {
		json_array_append_new(cells, json_pack("{s:I}", AGE_MARK, (json_int_t)api_parse_time(ts)));
		return;
	}
	api_human_duration(buf, sizeof(buf), now - api_parse_time(ts));
	json_array_append_new(cells, json_string(buf));
}

static void cell_s(json_t *cells, const char *s)
{
	json_array_append_new(cells, json_string(s && *s ? s : "<none>"));
}

static void cell_i(json_t *cells, json_int_t v)
{
	json_array_append_new(cells, json_integer(v));
}

static const char *age_ts(const json_t *obj)
{
	return api_meta_str(obj, "creationTimestamp");
}

/* "a,b" of a field of each container in the pod template */
static char *containers_field(const json_t *pspec, const char *field)
{
	StrBuf sb = STRBUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(pspec, "containers"), i, c)
		sb_addf(&sb, "%s%s", i ? "," : "", json_str(c, field) ?: "");
	return sb_detach(&sb);
}

static char *selector_text(const json_t *sel)
{
	StrBuf sb = STRBUF_INIT;
	const json_t *ml = json_object_get(sel, "matchLabels");
	if (!ml && json_is_object(sel) && !json_object_get(sel, "matchExpressions"))
		ml = sel; /* Service / RC: a plain map */
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ml, k, v)
		if (json_is_string(v))
			sb_addf(&sb, "%s%s=%s", sb.len ? "," : "", k, json_string_value(v));
	return sb_detach(&sb);
}

static void cells_template(json_t *cells, const json_t *obj, const char *tmpl_path, bool selector)
{
	const json_t *pspec = json_path(obj, tmpl_path);
	_cleanup_free_ char *names = containers_field(pspec, "name"), *images = containers_field(pspec, "image");
	cell_s(cells, names);
	cell_s(cells, images);
	if (selector) {
		_cleanup_free_ char *sel = selector_text(json_path(obj, "spec.selector"));
		cell_s(cells, sel);
	}
}

static void row_pod(const json_t *obj, json_t *cells, int64_t now)
{
	const json_t *st = json_object_get(obj, "status");
	size_t total = json_array_size(json_path(obj, "spec.containers")), ready = 0, i;
	json_int_t restarts = 0;
	const char *reason = json_str(st, "reason") ?: json_str(st, "phase") ?: "Pending";
	json_t *cs;
	json_array_foreach(json_object_get(st, "containerStatuses"), i, cs) {
		ready += json_bool(cs, "ready", false);
		restarts += json_int(cs, "restartCount", 0);
		const char *w = json_str(json_path(cs, "state.waiting"), "reason");
		const char *t = json_str(json_path(cs, "state.terminated"), "reason");
		if (w && *w)
			reason = w;
		else if (t && *t)
			reason = t;
	}
	if (api_meta_str(obj, "deletionTimestamp"))
		reason = "Terminating";
	char buf[32];
	snprintf(buf, sizeof(buf), "%zu/%zu", ready, total);
	cell_s(cells, buf);
	cell_s(cells, reason);
	cell_i(cells, restarts);
	cell_age(cells, age_ts(obj), now);
	cell_s(cells, json_str(st, "podIP"));
	cell_s(cells, json_path(obj, "spec.nodeName") ? json_string_value(json_path(obj, "spec.nodeName")) : NULL);
	cell_s(cells, json_str(st, "nominatedNodeName"));
	cell_s(cells, json_array_size(json_path(obj, "spec.readinessGates")) ? "0/1" : NULL);
}

static json_int_t st_int(const json_t *obj, const char *key)
{
	return json_int(json_object_get(obj, "status"), key, 0);
}

static json_int_t spec_int(const json_t *obj, const char *key, json_int_t def)
{
	return json_int(json_object_get(obj, "spec"), key, def);
}

static void row_deployment(const json_t *obj, json_t *cells, int64_t now)
{
	char buf[48];
	snprintf(buf, sizeof(buf), "%lld/%lld", (long long)st_int(obj, "readyReplicas"),
		 (long long)spec_int(obj, "replicas", 1));
	cell_s(cells, buf);
	cell_i(cells, st_int(obj, "updatedReplicas"));
	cell_i(cells, st_int(obj, "availableReplicas"));
	cell_age(cells, age_ts(obj), now);
	cells_template(cells, obj, "spec.template.spec", true);
}

static void row_replicaset(const json_t *obj, json_t *cells, int64_t now)
{
	cell_i(cells, spec_int(obj, "replicas", 1));
	cell_i(cells, st_int(obj, "replicas"));
	cell_i(cells, st_int(obj, "readyReplicas"));
	cell_age(cells, age_ts(obj), now);
	cells_template(cells, obj, "spec.template.spec", true);
}

static void row_daemonset(const json_t *obj, json_t *cells, int64_t now)
{
	cell_i(cells, st_int(obj, "desiredNumberScheduled"));
	cell_i(cells, st_int(obj, "currentNumberScheduled"));
	cell_i(cells, st_int(obj, "numberReady"));
	cell_i(cells, st_int(obj, "updatedNumberScheduled"));
	cell_i(cells, st_int(obj, "numberAvailable"));
	_cleanup_free_ char *ns = selector_text(json_path(obj, "spec.template.spec.nodeSelector"));
	cell_s(cells, ns);
	cell_age(cells, age_ts(obj), now);
	cells_template(cells, obj, "spec.template.spec", true);
}

static void row_statefulset(const json_t *obj, json_t *cells, int64_t now)
{
	char buf[48];
	snprintf(buf, sizeof(buf), "%lld/%lld", (long long)st_int(obj, "readyReplicas"),
		 (long long)spec_int(obj, "replicas", 1));
	cell_s(cells, buf);
	cell_age(cells, age_ts(obj), now);
	cells_template(cells, obj, "spec.template.spec", false);
}

static void row_job(const json_t *obj, json_t *cells, int64_t now)
{
	char buf[48];
	const json_t *st = json_object_get(obj, "status");
	json_t *comp = json_path(obj, "spec.completions");
	if (comp)
		snprintf(buf, sizeof(buf), "%lld/%lld", (long long)json_int(st, "succeeded", 0),
			 (long long)json_integer_value(comp));
	else
		snprintf(buf, sizeof(buf), "%lld/1 of %lld", (long long)json_int(st, "succeeded", 0),
			 (long long)spec_int(obj, "parallelism", 1));
	const char *status = "Running";
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
		if (!strcmp(json_str(c, "status") ?: "", "True") && json_str(c, "type"))
			status = !strcmp(json_str(c, "type"), "Complete") ? "Complete" :
				 !strcmp(json_str(c, "type"), "Failed") ? "Failed" :
				 !strcmp(json_str(c, "type"), "Suspended") && !strcmp(status, "Running") ? "Suspended" : status;
	cell_s(cells, status);
	cell_s(cells, buf);
	const char *start = json_str(st, "startTime"), *end = json_str(st, "completionTime");
	if (start && !end) {
		cell_age(cells, start, now); /* still running: now - start */
	} else if (start) {
		char d[32];
		api_human_duration(d, sizeof(d), api_parse_time(end) - api_parse_time(start));
		cell_s(cells, d);
	} else {
		cell_s(cells, "");
	}
	cell_age(cells, age_ts(obj), now);
	cells_template(cells, obj, "spec.template.spec", true);
}

static void row_cronjob(const json_t *obj, json_t *cells, int64_t now)
{
	cell_s(cells, json_str(json_object_get(obj, "spec"), "schedule"));
	cell_s(cells, json_str(json_object_get(obj, "spec"), "timeZone"));
	cell_s(cells, json_is_true(json_path(obj, "spec.suspend")) ? "True" : "False");
	cell_i(cells, (json_int_t)json_array_size(json_path(obj, "status.active")));
	const char *last = json_str(json_object_get(obj, "status"), "lastScheduleTime");
	if (last)
		cell_age(cells, last, now);
	else
		cell_s(cells, NULL);
	cell_age(cells, age_ts(obj), now);
	cells_template(cells, obj, "spec.jobTemplate.spec.template.spec", false);
	cell_s(cells, NULL);
}

static char *service_ports(const json_t *spec)
{
	StrBuf sb = STRBUF_INIT;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		sb_addf(&sb, "%s%lld", i ? "," : "", (long long)json_int(p, "port", 0));
		if (json_int(p, "nodePort", 0))
			sb_addf(&sb, ":%lld", (long long)json_int(p, "nodePort", 0));
		sb_addf(&sb, "/%s", json_str(p, "protocol") ?: "TCP");
	}
	return sb_detach(&sb);
}

static void row_service(const json_t *obj, json_t *cells, int64_t now)
{
	const json_t *spec = json_object_get(obj, "spec");
	const char *type = json_str(spec, "type") ?: "ClusterIP";
	cell_s(cells, type);
	cell_s(cells, json_str(spec, "clusterIP"));
	StrBuf ext = STRBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(json_path(obj, "status.loadBalancer.ingress"), i, v)
		sb_addf(&ext, "%s%s", ext.len ? "," : "", json_str(v, "ip") ?: json_str(v, "hostname") ?: "");
	json_array_foreach(json_object_get(spec, "externalIPs"), i, v)
		sb_addf(&ext, "%s%s", ext.len ? "," : "", json_string_value(v) ?: "");
	if (!strcmp(type, "ExternalName"))
		cell_s(cells, json_str(spec, "externalName"));
	else if (!ext.len && !strcmp(type, "LoadBalancer"))
		cell_s(cells, "<pending>");
	else
		cell_s(cells, ext.buf);
	sb_release(&ext);
	_cleanup_free_ char *ports = service_ports(spec);
	cell_s(cells, ports);
	cell_age(cells, age_ts(obj), now);
	_cleanup_free_ char *sel = selector_text(json_object_get(spec, "selector"));
	cell_s(cells, sel);
}

static void row_namespace(const json_t *obj, json_t *cells, int64_t now)
{
	cell_s(cells, json_str(json_object_get(obj, "status"), "phase") ?: "Active");
	cell_age(cells, age_ts(obj), now);
}

static void row_data(const json_t *obj, json_t *cells, int64_t now)
{
	cell_i(cells, (json_int_t)(json_object_size(json_object_get(obj, "data")) +
				   json_object_size(json_object_get(obj, "binaryData"))));
	cell_age(cells, age_ts(obj), now);
}

static void row_secret(const json_t *obj, json_t *cells, int64_t now)
{
	cell_s(cells, json_str(obj, "type"));
	row_data(obj, cells, now);
}

static void row_serviceaccount(const json_t *obj, json_t *cells, int64_t now)
{
	cell_i(cells, (json_int_t)json_array_size(json_object_get(obj, "secrets")));
	cell_age(cells, age_ts(obj), now);
}

static void row_node(const json_t *obj, json_t *cells, int64_t now)
{
	const char *ready = "Unknown";
	size_t i;
	json_t *c;
	json_array_foreach(json_path(obj, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", "Ready"))
			ready = !strcmp(json_str(c, "status") ?: "", "True") ? "Ready" : "NotReady";
	cell_s(cells, ready);
	StrBuf roles = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(json_path(obj, "metadata.labels"), k, v)
		if (!strncmp(k, "node-role.kubernetes.io/", 24))
			sb_addf(&roles, "%s%s", roles.len ? "," : "", k + 24);
	cell_s(cells, roles.buf);
	sb_release(&roles);
	cell_age(cells, age_ts(obj), now);
	const json_t *info = json_path(obj, "status.nodeInfo");
	cell_s(cells, json_str(info, "kubeletVersion"));
	const char *internal = NULL, *external = NULL;
	json_array_foreach(json_path(obj, "status.addresses"), i, c) {
		if (!strcmp(json_str(c, "type") ?: "", "InternalIP"))
			internal = json_str(c, "address");
		if (!strcmp(json_str(c, "type") ?: "", "ExternalIP"))
			external = json_str(c, "address");
	}
	cell_s(cells, internal);
	cell_s(cells, external);
	cell_s(cells, json_str(info, "osImage"));
	cell_s(cells, json_str(info, "kernelVersion"));
	cell_s(cells, json_str(info, "containerRuntimeVersion"));
}

static void row_event(const json_t *obj, json_t *cells, int64_t now)
{
	const char *last = json_str(obj, "lastTimestamp") ?: json_str(obj, "eventTime") ?: age_ts(obj);
	cell_age(cells, last, now);
	cell_s(cells, json_str(obj, "type"));
	cell_s(cells, json_str(obj, "reason"));
	const json_t *io = json_object_get(obj, "involvedObject");
	char buf[512];
	const char *kind = json_str(io, "kind") ?: "";
	char lower[128];
	size_t i;
	for (i = 0; kind[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(kind[i] | 0x20);
	lower[i] = 0;
	snprintf(buf, sizeof(buf), "%s/%s", lower, json_str(io, "name") ?: "");
	cell_s(cells, buf);
	/* wide: Subobject, Source, then Message, First Seen, Count, Name */
	json_array_append_new(cells, json_string(json_str(io, "fieldPath") ?: ""));
	const json_t *src = json_object_get(obj, "source");
	const char *comp = json_str(src, "component") ?: json_str(obj, "reportingComponent") ?: "",
		   *host = json_str(src, "host") ?: "";
	snprintf(buf, sizeof(buf), "%s%s%s", comp, *host ? ", " : "", host);
	json_array_append_new(cells, json_string(buf));
	cell_s(cells, json_str(obj, "message"));
	cell_age(cells, json_str(obj, "firstTimestamp") ?: json_str(obj, "eventTime") ?: age_ts(obj), now);
	cell_i(cells, json_int(obj, "count", 1));
	json_array_append_new(cells, json_string(json_str(json_object_get(obj, "metadata"), "name") ?: ""));
}

static void row_endpoints(const json_t *obj, json_t *cells, int64_t now)
{
	StrBuf sb = STRBUF_INIT;
	size_t i, j, k;
	json_t *s, *a, *p;
	json_array_foreach(json_object_get(obj, "subsets"), i, s)
		json_array_foreach(json_object_get(s, "addresses"), j, a) {
			if (!json_array_size(json_object_get(s, "ports")))
				sb_addf(&sb, "%s%s", sb.len ? "," : "", json_str(a, "ip") ?: "");
			json_array_foreach(json_object_get(s, "ports"), k, p)
				sb_addf(&sb, "%s%s:%lld", sb.len ? "," : "", json_str(a, "ip") ?: "",
					(long long)json_int(p, "port", 0));
		}
	cell_s(cells, sb.buf);
	sb_release(&sb);
	cell_age(cells, age_ts(obj), now);
}

static void row_rc(const json_t *obj, json_t *cells, int64_t now)
{
	cell_i(cells, spec_int(obj, "replicas", 1));
	cell_i(cells, st_int(obj, "replicas"));
	cell_i(cells, st_int(obj, "readyReplicas"));
	cell_age(cells, age_ts(obj), now);
}

static void row_created_at(const json_t *obj, json_t *cells, int64_t now)
{
	(void)now;
	cell_s(cells, age_ts(obj));
}

static void row_rolebinding(const json_t *obj, json_t *cells, int64_t now)
{
	char buf[300];
	snprintf(buf, sizeof(buf), "%s/%s", json_str(json_object_get(obj, "roleRef"), "kind") ?: "",
		 json_str(json_object_get(obj, "roleRef"), "name") ?: "");
	cell_s(cells, buf);
	cell_age(cells, age_ts(obj), now);
}

/* Access modes as kubectl abbreviates them: "RWO,ROX" */
static void cell_modes(json_t *cells, const json_t *modes)
{
	static const char *const ab[][2] = { { "ReadWriteOnce", "RWO" }, { "ReadOnlyMany", "ROX" },
					     { "ReadWriteMany", "RWX" }, { "ReadWriteOncePod", "RWOP" } };
	char buf[64] = "";
	for (size_t k = 0; k < ARRAY_SIZE(ab); k++) {
		size_t i;
		json_t *m;
		json_array_foreach(modes, i, m)
			if (!strcmp(json_string_value(m) ?: "", ab[k][0])) {
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? "," : "", ab[k][1]);
				break;
			}
	}
	json_array_append_new(cells, json_string(buf));
}

static void cell_raw(json_t *cells, const char *s) { json_array_append_new(cells, json_string(s ?: "")); }

static void row_pvc(const json_t *obj, json_t *cells, int64_t now)
{
	const json_t *spec = json_object_get(obj, "spec");
	cell_s(cells, json_str(json_object_get(obj, "status"), "phase"));
	cell_raw(cells, json_str(spec, "volumeName"));
	cell_raw(cells, json_str(json_path(obj, "status.capacity"), "storage"));
	cell_modes(cells, json_path(obj, "status.accessModes"));
	cell_raw(cells, json_str(spec, "storageClassName"));
	cell_s(cells, json_str(spec, "volumeAttributesClassName") ?: "<unset>");
	cell_age(cells, age_ts(obj), now);
	cell_s(cells, json_str(spec, "volumeMode"));
}

static void row_pv(const json_t *obj, json_t *cells, int64_t now)
{
	const json_t *spec = json_object_get(obj, "spec"), *ref = json_object_get(spec, "claimRef");
	_cleanup_free_ char *claim = ref ? xasprintf("%s/%s", json_str(ref, "namespace") ?: "", json_str(ref, "name") ?: "")
					 : NULL;
	cell_raw(cells, json_str(json_object_get(spec, "capacity"), "storage"));
	cell_modes(cells, json_object_get(spec, "accessModes"));
	cell_raw(cells, json_str(spec, "persistentVolumeReclaimPolicy"));
	cell_raw(cells, json_str(json_object_get(obj, "status"), "phase"));
	cell_raw(cells, claim);
	cell_raw(cells, json_str(spec, "storageClassName"));
	cell_s(cells, json_str(spec, "volumeAttributesClassName") ?: "<unset>");
	cell_raw(cells, json_str(json_object_get(obj, "status"), "reason"));
	cell_age(cells, age_ts(obj), now);
	cell_s(cells, json_str(spec, "volumeMode"));
}

/* The default StorageClass's name shows " (default)", as kubectl's printer
 * marks it (the beta annotation counts too). */
static bool is_default_class(const json_t *obj)
{
	const json_t *ann = json_path(obj, "metadata.annotations");
	return !strcmp(json_str(ann, "storageclass.kubernetes.io/is-default-class") ?: "", "true") ||
	       !strcmp(json_str(ann, "storageclass.beta.kubernetes.io/is-default-class") ?: "", "true");
}

static void row_storageclass(const json_t *obj, json_t *cells, int64_t now)
{
	cell_raw(cells, json_str(obj, "provisioner"));
	cell_raw(cells, json_str(obj, "reclaimPolicy"));
	cell_raw(cells, json_str(obj, "volumeBindingMode"));
	cell_raw(cells, json_is_true(json_object_get(obj, "allowVolumeExpansion")) ? "true" : "false");
	cell_age(cells, age_ts(obj), now);
}

/* PodDisruptionBudget: an IntOrString as Kubernetes prints it, N/A when unset. */
static void cell_int_or_string(json_t *cells, const json_t *v)
{
	char buf[32];
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	cell_s(cells, json_is_integer(v) ? buf : json_is_string(v) ? json_string_value(v) : "N/A");
}

static void row_pdb(const json_t *obj, json_t *cells, int64_t now)
{
	cell_int_or_string(cells, json_path(obj, "spec.minAvailable"));
	cell_int_or_string(cells, json_path(obj, "spec.maxUnavailable"));
	cell_i(cells, json_int(json_object_get(obj, "status"), "disruptionsAllowed", 0));
	cell_age(cells, age_ts(obj), now);
}

static void row_age(const json_t *obj, json_t *cells, int64_t now)
{
	cell_age(cells, age_ts(obj), now);
}

static const Printer printers[] = {
	{ "pods", "Name|Ready|Status|Restarts|Age|*IP|*Node|*Nominated Node|*Readiness Gates", row_pod },
	{ "deployments", "Name|Ready|Up-to-date|Available|Age|*Containers|*Images|*Selector", row_deployment },
	{ "replicasets", "Name|Desired|Current|Ready|Age|*Containers|*Images|*Selector", row_replicaset },
	{ "daemonsets", "Name|Desired|Current|Ready|Up-to-date|Available|Node Selector|Age|*Containers|*Images|*Selector",
	  row_daemonset },
	{ "statefulsets", "Name|Ready|Age|*Containers|*Images", row_statefulset },
	{ "jobs", "Name|Status|Completions|Duration|Age|*Containers|*Images|*Selector", row_job },
	{ "cronjobs", "Name|Schedule|Timezone|Suspend|Active|Last Schedule|Age|*Containers|*Images|*Selector", row_cronjob },
	{ "services", "Name|Type|Cluster-IP|External-IP|Port(s)|Age|*Selector", row_service },
	{ "namespaces", "Name|Status|Age", row_namespace },
	{ "configmaps", "Name|Data|Age", row_data },
	{ "secrets", "Name|Type|Data|Age", row_secret },
	{ "serviceaccounts", "Name|Secrets|Age", row_serviceaccount },
	{ "nodes", "Name|Status|Roles|Age|Version|*Internal-IP|*External-IP|*OS-Image|*Kernel-Version|*Container-Runtime",
	  row_node },
	{ "events", "Last Seen|Type|Reason|Object|*Subobject|*Source|Message|*First Seen|*Count|*Name", row_event },
	{ "endpoints", "Name|Endpoints|Age", row_endpoints },
	{ "replicationcontrollers", "Name|Desired|Current|Ready|Age", row_rc },
	{ "roles", "Name|Created At", row_created_at },
	{ "clusterroles", "Name|Created At", row_created_at },
	{ "customresourcedefinitions", "Name|Created At", row_created_at },
	{ "rolebindings", "Name|Role|Age", row_rolebinding },
	{ "clusterrolebindings", "Name|Role|Age", row_rolebinding },
	{ "persistentvolumeclaims", "Name|Status|Volume|Capacity|Access Modes|StorageClass|VolumeAttributesClass|Age|*VolumeMode",
	  row_pvc },
	{ "persistentvolumes", "Name|Capacity|Access Modes|Reclaim Policy|Status|Claim|StorageClass|VolumeAttributesClass|"
	  "Reason|Age|*VolumeMode", row_pv },
	{ "storageclasses", "Name|Provisioner|ReclaimPolicy|VolumeBindingMode|AllowVolumeExpansion|Age", row_storageclass },
	{ "poddisruptionbudgets", "Name|Min Available|Max Unavailable|Allowed Disruptions|Age", row_pdb },
};

static const Printer default_printer = { NULL, "Name|Age", row_age };

static const Printer *printer_for(const ApiResource *r)
{
	if (!r->custom)
		for (size_t i = 0; i < ARRAY_SIZE(printers); i++)
			if (!strcmp(printers[i].resource, r->resource))
				return &printers[i];
	return &default_printer;
}

/* ---- CRD additionalPrinterColumns ---- */

static bool crd_columns(const ApiResource *r)
{
	return r->custom && json_array_size(r->printer_columns) > 0;
}

/* One [...] step of a JSONPath: an index or ?(@.key=="value"). */
static const json_t *jsonpath_bracket(const json_t *v, const char *in, size_t n)
{
	if (n && in[0] != '?') {
		char *end;
		long idx = strtol(in, &end, 10);
		if (end != in + n || !json_is_array(v))
			return NULL;
		if (idx < 0)
			idx += (long)json_array_size(v);
		return idx < 0 ? NULL : json_array_get(v, (size_t)idx);
	}
	/* ?(@.key=="value") or ?(@.key=='value') */
	if (n < 8 || strncmp(in, "?(@.", 4) || in[n - 1] != ')')
		return NULL;
	const char *k = in + 4, *eq = memchr(k, '=', n - 4);
	if (!eq || eq[1] != '=' || eq + 4 > in + n - 1)
		return NULL;
	const char *val = eq + 2, *vend = in + n - 1;
	if ((*val == '"' || *val == '\'') && vend > val + 1 && vend[-1] == *val) {
		val++;
		vend--;
	}
	_cleanup_free_ char *key = xstrndup(k, (size_t)(eq - k));
	size_t i;
	json_t *e;
	json_array_foreach((json_t *)v, i, e) {
		const char *s = json_str(e, key);
		if (s && strlen(s) == (size_t)(vend - val) && !memcmp(s, val, (size_t)(vend - val)))
			return e;
	}
	return NULL;
}

/* The value at a simple JSONPath (".a.b[0].c", "{.a}", filters by equality);
 * borrowed, NULL when absent or unsupported. */
const json_t *api_jsonpath_get(const json_t *obj, const char *path)
{
	const char *p = path, *e = path + strlen(path);
	if (p < e && *p == '{' && e[-1] == '}') {
		p++;
		e--;
	}
	const json_t *v = obj;
	while (p < e && v) {
		if (*p == '.') {
			p++;
			size_t n = strcspn(p, ".[");
			if ((size_t)(e - p) < n)
				n = (size_t)(e - p);
			if (!n)
				return NULL;
			_cleanup_free_ char *k = xstrndup(p, n);
			v = json_object_get(v, k);
			p += n;
		} else if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(e - p));
			if (!close)
				return NULL;
			v = jsonpath_bracket(v, p + 1, (size_t)(close - p - 1));
			p = close + 1;
		} else {
			return NULL;
		}
	}
	return v;
}

/* A cell as apiextensions' table convertor types it (nil when the value does not fit). */
static void cell_crd(json_t *cells, const char *type, const json_t *v, int64_t now)
{
	if (!v || json_is_null(v)) {
		json_array_append_new(cells, json_null());
	} else if (!strcmp(type, "string")) {
		if (json_is_string(v)) {
			cell_s(cells, json_string_value(v));
		} else {
			_cleanup_free_ char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			json_array_append_new(cells, json_string(t ?: ""));
		}
	} else if (!strcmp(type, "integer")) {
		json_array_append_new(cells, json_is_number(v) ? json_integer((json_int_t)json_number_value(v)) : json_null());
	} else if (!strcmp(type, "number")) {
		json_array_append_new(cells, json_is_number(v) ? json_real(json_number_value(v)) : json_null());
	} else if (!strcmp(type, "boolean")) {
		json_array_append_new(cells, json_is_boolean(v) ? json_incref((json_t *)v) : json_null());
	} else if (!strcmp(type, "date")) {
		if (!json_is_string(v))
			json_array_append_new(cells, json_null());
		else if (!api_parse_time(json_string_value(v)))
			json_array_append_new(cells, json_string("<invalid>"));
		else
			cell_age(cells, json_string_value(v), now);
	} else {
		json_array_append_new(cells, json_null());
	}
}

static void row_crd(const ApiResource *r, const json_t *obj, json_t *cells, int64_t now)
{
	size_t i;
	json_t *c;
	json_array_foreach(r->printer_columns, i, c)
		cell_crd(cells, json_str(c, "type") ?: "string", api_jsonpath_get(obj, json_str(c, "jsonPath") ?: ""), now);
}

static void add_column(json_t *cols, const char *name, const char *type, const char *format, const char *desc,
		       json_int_t priority)
{
	json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name, "type", type, "format",
					      format, "description", desc, "priority", priority));
}

json_t *api_table_new(const ApiResource *r, bool with_columns)
{
	json_t *t = json_pack("{s:s, s:s, s:{}, s:[], s:[]}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
			      "metadata", "columnDefinitions", "rows");
	if (!with_columns)
		return t;
	json_t *cols = json_object_get(t, "columnDefinitions");
	if (crd_columns(r)) {
		add_column(cols, "Name", "string", "name", "Name must be unique within a namespace.", 0);
		size_t i;
		json_t *c;
		json_array_foreach(r->printer_columns, i, c)
			add_column(cols, json_str(c, "name") ?: "", json_str(c, "type") ?: "string", json_str(c, "format") ?: "",
				   json_str(c, "description") ?: "", json_int(c, "priority", 0));
		return t;
	}
	const char *spec = printer_for(r)->columns;
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, "|");
		bool wide = *p == '*';
		_cleanup_free_ char *name = xstrndup(p + wide, n - wide);
		const char *type = !strcmp(name, "Restarts") || !strcmp(name, "Desired") || !strcmp(name, "Current") ||
				   !strcmp(name, "Up-to-date") || !strcmp(name, "Available") || !strcmp(name, "Data") ||
				   !strcmp(name, "Secrets") || !strcmp(name, "Active") || !strcmp(name, "Count") ||
				   !strcmp(name, "Allowed Disruptions") ||
				   (!strcmp(name, "Ready") && strcmp(r->resource, "pods") && strcmp(r->resource, "deployments") &&
				    strcmp(r->resource, "statefulsets")) ? "integer" : "string";
		add_column(cols, name, type, !strcmp(name, "Name") ? "name" : "", name, wide ? 1 : 0);
		p += n;
		if (*p == '|')
			p++;
	}
	return t;
}

static json_t *partial_metadata(const json_t *obj)
{
	json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
	return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1",
			 "metadata", meta ? meta : json_object());
}

/* The cells of obj's row (now: TABLE_DEFER leaves age markers). */
static json_t *row_cells(const ApiResource *r, const json_t *obj, int64_t now)
{
	json_t *cells = json_array();
	if (!strcmp(r->resource, "storageclasses") && !r->custom && is_default_class(obj))
		json_array_append_new(cells, json_sprintf("%s (default)", api_meta_str(obj, "name") ?: ""));
	else if (strcmp(r->resource, "events") || r->custom)
		cell_s(cells, api_meta_str(obj, "name"));
	if (crd_columns(r))
		row_crd(r, obj, cells, now);
	else
		printer_for(r)->row(obj, cells, now);
	return cells;
}

void api_table_add(json_t *table, const ApiResource *r, const json_t *obj, const ApiRequest *req)
{
	json_t *cells = row_cells(r, obj, (int64_t)time(NULL));
	const char *inc = api_param(req, "includeObject");
	json_t *o = inc && !strcmp(inc, "Object") ? json_deep_copy(obj) :
		    inc && !strcmp(inc, "None") ? NULL : partial_metadata(obj);
	json_t *row = json_pack("{s:o}", "cells", cells);
	if (o)
		json_object_set_new(row, "object", o);
	json_array_append_new(json_object_get(table, "rows"), row);
}

char *api_table_row(const ApiResource *r, const json_t *obj)
{
	_cleanup_json_ json_t *cells = row_cells(r, obj, TABLE_DEFER);
	StrBuf sb = STRBUF_INIT;
	sb_addc(&sb, '[');
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		if (i)
			sb_addc(&sb, ',');
		json_t *mark = json_object_get(c, AGE_MARK);
		if (mark) {
			sb_addf(&sb, "\001%lld\002", (long long)json_integer_value(mark));
			continue;
		}
		_cleanup_free_ char *t = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
		sb_adds(&sb, t ?: "null");
	}
	sb_addc(&sb, ']');
	return sb_detach(&sb);
}

void api_table_row_render(StrBuf *sb, const char *row, int64_t now)
{
	for (;;) {
		const char *m = strchr(row, '\001');
		if (!m) {
			sb_adds(sb, row);
			return;
		}
		sb_add(sb, row, (size_t)(m - row));
		char *end;
		long long t = strtoll(m + 1, &end, 10);
		char buf[32];
		api_human_duration(buf, sizeof(buf), now - t);
		sb_addf(sb, "\"%s\"", buf);
		row = *end == '\002' ? end + 1 : end;
	}
}

char *api_table_head(const ApiResource *r, json_t *meta)
{
	_cleanup_json_ json_t *t = api_table_new(r, true);
	json_object_set(t, "metadata", meta);
	json_object_del(t, "rows");
	char *s = json_dumps(t, JSON_COMPACT);
	size_t n = strlen(s);
	/* "...}" -> "...,\"rows\":[" */
	s = xrealloc(s, n + 16);
	memcpy(s + n - 1, ",\"rows\":[", 10);
	return s;
}
