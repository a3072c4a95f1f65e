/* release-manifest.c - what a release stores of a rendered chart, as Helm's
 * releaseutil.SortManifests and action.renderResources make it: the
 * manifest (every non-hook document, stably sorted by Helm's InstallOrder
 * of kinds, written "---\n# Source: PATH\nDOC\n"), the hooks (documents with
 * a helm.sh/hook annotation, as release.Hook records) and the top-level
 * chart's NOTES.txt.  Also the reverse: splitting a stored manifest back
 * into parsed documents for the cluster side (release-kube.c).
 */
#include "release.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include "../shared/yaml.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Helm's releaseutil.InstallOrder (the same list `chart template` sorts by). */
static const char *const install_order[] = {
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
};

int release_kind_order(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(install_order); i++)
		if (!strcmp(install_order[i], kind))
			return (int)i;
	return -1;
}

void reldocs_free(RelDoc *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].path);
		free(d[i].text);
		json_decref(d[i].obj);
	}
	free(d);
}

static int cmp_docs(const void *x, const void *y)
{
	const RelDoc *a = x, *b = y;
	if (a->order < 0 && b->order < 0) {
		int c = strcmp(a->kind, b->kind);
		if (c)
			return c;
	} else if (a->order < 0 || b->order < 0) {
		return a->order < 0 ? 1 : -1;
	} else if (a->order != b->order) {
		return a->order < b->order ? -1 : 1;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void release_sort_install(RelDoc *d, size_t n) { qsort(d, n, sizeof *d, cmp_docs); }

static int parse_doc(RelDoc *d, Error **err)
{
	if (yaml_parse_buf(d->text, strlen(d->text), &d->obj, err) < 0)
		return err_prefix(err, "YAML parse error on %s", d->path);
	if (!json_is_object(d->obj)) {
		json_decref(d->obj);
		d->obj = json_object();
	}
	d->kind = json_str(d->obj, "kind") ?: "";
	d->order = release_kind_order(d->kind);
	return 0;
}

static bool blank(const char *s)
{
	for (; *s; s++) {
		if (*s == '#') {         /* a comment-only line */
			s += strcspn(s, "\n");
			if (!*s)
				break;
			continue;
		}
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	}
	return true;
}

int release_split(const char *manifest, RelDoc **ret, size_t *ret_n, Error **err)
{
	char **parts = NULL;
	size_t np = chart_split_manifests(manifest ? manifest : "", &parts), n = 0;
	RelDoc *d = xcalloc(np ? np : 1, sizeof *d);
	int rc = 0;
	for (size_t i = 0; i < np; i++) {
		char *t = parts[i];
		if (rc < 0 || blank(t)) {
			free(t);
			continue;
		}
		const char *path = "";
		size_t plen = 0;
		if (!strncmp(t, "# Source: ", 10)) {
			path = t + 10;
			plen = strcspn(path, "\n");
		}
		d[n] = (RelDoc){ .path = xstrndup(path, plen), .text = t, .seq = n };
		rc = parse_doc(&d[n], err);
		n++;
	}
	free(parts);
	if (rc < 0) {
		reldocs_free(d, n);
		return rc;
	}
	*ret = d;
	*ret_n = n;
	return 0;
}

/* ---- hooks ---------------------------------------------------------------------------------- */
static const char *const hook_events[] = {
	"pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade", "post-upgrade",
	"pre-rollback", "post-rollback", "test",
};

static void add_list(json_t *arr, const char *csv, const char *const *valid, size_t nvalid)
{
	_cleanup_free_ char *s = xstrdup(csv);
	for (char *save = NULL, *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t l = strlen(p);
		while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			p[--l] = 0;
		if (!strcmp(p, "test-success"))
			p = "test";
		for (size_t i = 0; i < nvalid; i++)
			if (!strcmp(valid[i], p)) {
				json_array_append_new(arr, json_string(p));
				break;
			}
	}
}

json_t *release_hook_new(const char *path, const char *text, const json_t *obj)
{
	static const char *const policies[] = { "before-hook-creation", "hook-succeeded", "hook-failed" };
	json_t *meta = json_object_get(obj, "metadata"), *ann = json_object_get(meta, "annotations");
	json_t *h = json_object();
	const char *name = json_str(meta, "name");
	if (name && *name)
		json_object_set_new(h, "name", json_string(name));
	const char *kind = json_str(obj, "kind");
	if (kind && *kind)
		json_object_set_new(h, "kind", json_string(kind));
	json_object_set_new(h, "path", json_string(path));
	json_object_set_new(h, "manifest", json_string(text));
	json_t *ev = json_array();
	add_list(ev, json_str(ann, "helm.sh/hook") ?: "", hook_events, ARRAY_SIZE(hook_events));
	if (json_array_size(ev))
		json_object_set_new(h, "events", ev);
	else
		json_decref(ev);
	json_object_set_new(h, "last_run", json_pack("{s:s,s:s,s:s}", "started_at", RELEASE_TIME_ZERO,
						     "completed_at", RELEASE_TIME_ZERO, "phase", ""));
	const char *w = json_str(ann, "helm.sh/hook-weight");
	int weight = w ? atoi(w) : 0;
	if (weight)
		json_object_set_new(h, "weight", json_integer(weight));
	json_t *dp = json_array();
	add_list(dp, json_str(ann, "helm.sh/hook-delete-policy") ?: "", policies, ARRAY_SIZE(policies));
	if (json_array_size(dp))
		json_object_set_new(h, "delete_policies", dp);
	else
		json_decref(dp);
	return h;
}

/* ---- rendering a release ---------------------------------------------------------------------- */
void relrender_release(RelRender *r)
{
	free(r->manifest);
	free(r->notes);
	json_decref(r->hooks);
	memset(r, 0, sizeof *r);
}

static int cmp_rendered(const void *x, const void *y)
{
	return strcmp(((const RenderedFile *)x)->name, ((const RenderedFile *)y)->name);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int sort_rendered(const Chart *c, Rendered *r, RelRender *out, Error **err)
{
	qsort(r->files, r->n, sizeof *r->files, cmp_rendered);
	_cleanup_free_ char *notes_name = xasprintf("%s/templates/NOTES.txt", c->name);
	RelDoc *docs = NULL, *hooks = NULL;
	size_t nd = 0, nh = 0;
	int rc = 0;
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		const char *name = r->files[i].name, *b = strrchr(name, '/');
		if ((b ? b[1] : name[0]) == '_')
			continue;
		if (ends_with(name, "NOTES.txt")) {
			if (!strcmp(name, notes_name)) {
				free(out->notes);
				out->notes = xstrdup(r->files[i].text);
			}
			continue;
		}
		char **parts = NULL;
		size_t np = chart_split_manifests(r->files[i].text, &parts);
		for (size_t k = 0; k < np; k++) {
			if (rc < 0 || blank(parts[k])) {
				free(parts[k]);
				continue;
			}
			RelDoc d = { .path = xstrdup(name), .text = parts[k] };
			rc = parse_doc(&d, err);
			json_t *ann = json_object_get(json_object_get(d.obj, "metadata"), "annotations");
			bool is_hook = rc == 0 && json_str(ann, "helm.sh/hook");
			RelDoc **arr = is_hook ? &hooks : &docs;
			size_t *an = is_hook ? &nh : &nd;
			*arr = xrealloc(*arr, (*an + 1) * sizeof **arr);
			d.seq = *an;
			(*arr)[(*an)++] = d;
		}
		free(parts);
	}
	if (rc == 0) {
		release_sort_install(docs, nd);
		release_sort_install(hooks, nh);
		StrBuf sb;
		sb_init(&sb);
		for (size_t i = 0; i < nd; i++)
			sb_addf(&sb, "---\n# Source: %s\n%s\n", docs[i].path, docs[i].text);
		out->manifest = sb_detach(&sb);
		out->hooks = json_array();
		for (size_t i = 0; i < nh; i++)
			json_array_append_new(out->hooks, release_hook_new(hooks[i].path, hooks[i].text, hooks[i].obj));
	}
	reldocs_free(docs, nd);
	reldocs_free(hooks, nh);
	return rc;
}

int release_render(Chart *c, const json_t *user_vals, const RenderOptions *o, RelRender *ret, Error **err)
{
	memset(ret, 0, sizeof *ret);
	if (c->library)
		return err_set(err, EINVAL, "validation: chart.metadata.type: library charts are not installable");
	_cleanup_json_ json_t *user = user_vals ? json_deep_copy(user_vals) : json_object();
	if (chart_process_dependencies(c, user, err) < 0)
		return -EINVAL;
	_cleanup_json_ json_t *vals = chart_coalesce_values(c, user, false);
	Rendered r = { 0 };
	int rc = chart_render(c, vals, o, &r, err);   /* errors worded as Helm's engine */
	if (rc == 0)
		rc = sort_rendered(c, &r, ret, err);
	rendered_release(&r);
	if (rc < 0)
		relrender_release(ret);
	return rc;
}
