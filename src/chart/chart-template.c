/* chart-template.c - the `helm template` pipeline after rendering: values
 * (dependencies processed, defaults coalesced), render, then
 * releaseutil.SortManifests: NOTES.txt and partials dropped, each file split
 * into documents, documents with a helm.sh/hook annotation set apart as
 * hooks, the rest sorted stably by Helm's install order of kinds (unknown
 * kinds last, alphabetically).  Output: optional CRDs, manifests, hooks (test
 * hooks skipped with skip_tests), each as "---\n# Source: NAME\nDOC\n";
 * --show-only keeps the documents whose source matches a glob.
 */
#include "chart-internal.h"
#include "../base/cleanup.h"
#include "../shared/yaml.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const install_order[] = {
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
};

typedef struct Doc {
	const char *path;
	char *content;
	char *kind;
	int order;           /* index in install_order, -1 unknown */
	int weight;
	bool hook, test;
	size_t seq;
} Doc;

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static char *trim_dup(const char *s, size_t n)
{
	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* regexp (?:^|\s*\n)---\s* over the trimmed text. */
size_t chart_split_manifests(const char *text, char ***ret)
{
	_cleanup_free_ char *t = trim_dup(text, strlen(text));
	char **docs = NULL;
	size_t n = 0, len = strlen(t), start = 0, i = 0;
	while (i <= len) {
		size_t sep_start = 0, sep_end = 0;
		bool found = false;
		if (i == 0 && !strncmp(t, "---", 3)) {
			found = true;
			sep_start = 0;
			sep_end = 3;
		} else if (i < len && t[i] == '\n' && !strncmp(t + i + 1, "---", 3)) {
			found = true;
			sep_start = i;
			while (sep_start > start && is_space(t[sep_start - 1]))
				sep_start--;
			sep_end = i + 4;
		}
		if (found) {
			while (sep_end < len && is_space(t[sep_end]))
				sep_end++;
			if (sep_start > start || i > 0) {
				if (sep_start > start) {
					docs = xrealloc(docs, (n + 1) * sizeof *docs);
					docs[n++] = trim_dup(t + start, sep_start - start);
				}
			}
			start = sep_end;
			i = sep_end;
			continue;
		}
		i++;
	}
	if (start < len) {
		docs = xrealloc(docs, (n + 1) * sizeof *docs);
		docs[n++] = trim_dup(t + start, len - start);
	}
	*ret = docs;
	return n;
}

static int kind_order(const char *k)
{
	for (size_t i = 0; i < sizeof install_order / sizeof *install_order; i++)
		if (!strcmp(install_order[i], k))
			return (int)i;
	return -1;
}

static int cmp_docs(const void *x, const void *y)
{
	const Doc *a = x, *b = y;
	if (a->hook && a->weight != b->weight)
		return a->weight < b->weight ? -1 : 1;
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

static int cmp_rendered(const void *x, const void *y)
{
	return strcmp(((const RenderedFile *)x)->name, ((const RenderedFile *)y)->name);
}

static int parse_doc(Doc *d, Error **err)
{
	json_t *j = NULL;
	if (yaml_parse_buf(d->content, strlen(d->content), &j, err) < 0)
		return err_prefix(err, "YAML parse error on %s: error converting YAML to JSON", d->path);
	d->kind = xstrdup(json_string_value(json_object_get(j, "kind")) ?: "");
	d->order = kind_order(d->kind);
	json_t *ann = json_object_get(json_object_get(j, "metadata"), "annotations");
	const char *hook = json_string_value(json_object_get(ann, "helm.sh/hook"));
	if (hook) {
		d->hook = true;
		d->test = strstr(hook, "test") != NULL;
		const char *w = json_string_value(json_object_get(ann, "helm.sh/hook-weight"));
		d->weight = w ? atoi(w) : 0;
	}
	json_decref(j);
	return 0;
}

static void emit(StrBuf *sb, const char *path, const char *content)
{
	sb_addf(sb, "---\n# Source: %s\n%s\n", path, content);
}

static int show_only(const TemplateOptions *o, const char *all, StrBuf *out, Error **err)
{
	char **docs = NULL;
	size_t n = chart_split_manifests(all, &docs);
	int rc = 0;
	for (size_t f = 0; o->show_only[f] && rc == 0; f++) {
		bool missing = true;
		for (size_t i = 0; i < n; i++) {
			const char *s = strstr(docs[i], "# Source: ");
			if (!s)
				continue;
			s += 10;
			const char *slash = strchr(s, '/');
			if (!slash)
				continue;
			size_t l = strcspn(slash + 1, "\n");
			_cleanup_free_ char *name = xstrndup(slash + 1, l);
			if (!chart_path_match(o->show_only[f], name))
				continue;
			sb_addf(out, "---\n%s\n", docs[i]);
			missing = false;
		}
		if (missing)
			rc = err_set(err, ENOENT, "could not find template %s in chart", o->show_only[f]);
	}
	for (size_t i = 0; i < n; i++)
		free(docs[i]);
	free(docs);
	return rc;
}

/* *hint: the error came from the rendered manifests (Helm then has a release
 * and suggests --debug), not from --show-only. */
static int sort_and_print(const Chart *c, Rendered *r, const TemplateOptions *o, StrBuf *out, bool *hint,
			  Error **err)
{
	qsort(r->files, r->n, sizeof *r->files, cmp_rendered);
	Doc *docs = NULL;
	size_t nd = 0;
	int rc = 0;
	StrBuf all;
	sb_init(&all);
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		const char *b = strrchr(r->files[i].name, '/');
		b = b ? b + 1 : r->files[i].name;
		size_t nl = strlen(r->files[i].name);
		if (b[0] == '_' || (nl >= 9 && !strcmp(r->files[i].name + nl - 9, "NOTES.txt")))
			continue;
		_cleanup_free_ char *t = trim_dup(r->files[i].text, strlen(r->files[i].text));
		if (!*t)
			continue;
		char **parts = NULL;
		size_t np = chart_split_manifests(r->files[i].text, &parts);
		for (size_t k = 0; k < np; k++) {
			docs = xrealloc(docs, (nd + 1) * sizeof *docs);
			docs[nd] = (Doc){ .path = r->files[i].name, .content = parts[k], .seq = nd };
			if (rc == 0)
				rc = parse_doc(&docs[nd], err);
			nd++;
		}
		free(parts);
		*hint = rc < 0;
		if (rc < 0 && o->debug)
			for (size_t k = 0; k < nd; k++)
				emit(out, docs[k].path, docs[k].content);
	}
	if (rc == 0) {
		qsort(docs, nd, sizeof *docs, cmp_docs);
		if (o->include_crds)
			for (size_t i = 0; i < c->nfiles; i++)
				if (!strncmp(c->files[i].name, "crds/", 5))
					sb_addf(&all, "---\n# Source: %s/%s\n%s\n", c->name, c->files[i].name, c->files[i].data);
		for (size_t i = 0; i < nd; i++)
			if (!docs[i].hook)
				emit(&all, docs[i].path, docs[i].content);
		_cleanup_free_ char *man = trim_dup(all.buf ? all.buf : "", all.len);
		sb_reset(&all);
		sb_addf(&all, "%s\n", man);
		for (size_t i = 0; i < nd; i++)
			if (docs[i].hook && !(o->skip_tests && docs[i].test))
				emit(&all, docs[i].path, docs[i].content);
		if (o->show_only && o->show_only[0])
			rc = show_only(o, all.buf, out, err);
		else
			sb_add(out, all.buf, all.len);
	}
	for (size_t i = 0; i < nd; i++) {
		free(docs[i].content);
		free(docs[i].kind);
	}
	free(docs);
	sb_release(&all);
	return rc;
}

int chart_template(Chart *c, const TemplateOptions *o, StrBuf *out, Error **err)
{
	if (c->library)
		return err_set(err, EINVAL, "library charts are not installable");
	json_t *user = o->user_values ? o->user_values : NULL;
	if (chart_process_dependencies(c, user, err) < 0)
		return -EINVAL;
	json_t *vals = chart_coalesce_values(c, user, false);
	Rendered r = { 0 };
	int rc = chart_validate_values(c, vals, err);   /* values.schema.json (schema.c) */
	bool hint = rc == 0;               /* Helm's install has a release from here on */
	if (rc == 0)
		rc = chart_render(c, vals, &o->r, &r, err);
	json_decref(vals);
	if (rc == 0)
		rc = sort_and_print(c, &r, o, out, &hint, err);
	rendered_release(&r);
	if (rc < 0 && hint && !o->debug && err && *err) {
		/* helm template: fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err) */
		char *m = xasprintf("%s\n\nUse --debug flag to render out invalid YAML", (*err)->msg ? (*err)->msg : "");
		free((*err)->msg);
		(*err)->msg = m;
	}
	return rc;
}
