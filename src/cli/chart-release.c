/* chart-release.c - shared pieces of the release commands: connecting to
 * the cluster from a kubeconfig, and printing as helm prints (statusPrinter,
 * uitable tables, -o json|yaml). */
#include "chart-release.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/strbuf.h"
#include "../chart/release.h"
#include "../shared/json.h"
#include "../shared/yaml.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* contexts[current-context].context.namespace, as kubectl and helm default to it */
static void context_namespace(const char *path, char *buf, size_t n)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_json_ json_t *cfg = NULL;
	buf[0] = 0;
	if (fs_read_file(path, 1 << 20, &text, &len, NULL) < 0 || yaml_parse_buf(text, len, &cfg, NULL) < 0)
		return;
	const char *cur = json_str(cfg, "current-context");
	json_t *ctxs = json_object_get(cfg, "contexts");
	for (size_t i = 0; cur && i < json_array_size(ctxs); i++) {
		json_t *c = json_array_get(ctxs, i);
		const char *ns = json_str(json_object_get(c, "context"), "namespace");
		if (!strcmp(json_str(c, "name") ?: "", cur) && ns && strlen(ns) < n)
			snprintf(buf, n, "%s", ns);
	}
}

int relcli_client(RelConn *c, KubeClient **ret, Error **err)
{
	_cleanup_free_ char *path = NULL;
	const char *env = getenv("KUBECONFIG");
	if (c->kubeconfig && *c->kubeconfig)
		path = xstrdup(c->kubeconfig);
	else if (env && *env)
		path = xstrndup(env, strcspn(env, ":"));
	else
		path = xasprintf("%s/.kube/config", getenv("HOME") ?: "");
	if (kube_client_new_from_file(path, ret, err) < 0)
		return err_prefix(err, "Kubernetes cluster unreachable: kubeconfig %s", path);
	context_namespace(path, c->ctx_ns, sizeof c->ctx_ns);
	return 0;
}

const char *relcli_ns(const RelConn *c)
{
	return c->ns && *c->ns ? c->ns : c->ctx_ns[0] ? c->ctx_ns : "default";
}

int relcli_fail(const char *prefix, Error *e)
{
	fprintf(stderr, "Error: %s%s\n", prefix ? prefix : "", err_msg(e));
	err_free(e);
	return 1;
}

int relcli_parse_output(const char *s, RelOut *ret)
{
	if (!strcmp(s, "table"))
		*ret = RELOUT_TABLE;
	else if (!strcmp(s, "json"))
		*ret = RELOUT_JSON;
	else if (!strcmp(s, "yaml"))
		*ret = RELOUT_YAML;
	else
		return -EINVAL;
	return 0;
}

static void print_yaml(const json_t *j)
{
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	Error *e = NULL;
	if (yaml_emit(j, 0, &sb, &e) < 0) {
		fprintf(stderr, "Error: %s\n", err_msg(e));
		err_free(e);
		return;
	}
	fwrite(sb.buf, 1, sb.len, stdout);
}

void relcli_print_data(const json_t *j, RelOut fmt)
{
	if (fmt == RELOUT_YAML) {
		print_yaml(j);
		return;
	}
	_cleanup_free_ char *s = release_to_json(j);
	printf("%s\n", s);
}

json_t *relcli_computed_values(const json_t *rel)
{
	json_t *cfg = json_object_get(rel, "config");
	json_t *out = json_is_object(cfg) ? json_deep_copy(cfg) : json_object();
	json_t *defs = json_object_get(json_object_get(rel, "chart"), "values");
	if (json_is_object(defs)) {
		_cleanup_json_ json_t *d = json_deep_copy(defs);
		chart_coalesce_tables(out, d, false);
	}
	return out;
}

static void print_time(const char *label, const char *rfc)
{
	char buf[64];
	release_time_ansic(rfc, buf, sizeof buf);
	printf("%s%s\n", label, buf);
}

void relcli_print_status(const json_t *rel, const StatusFlags *f)
{
	json_t *info = json_object_get(rel, "info");
	const char *ld = json_str(info, "last_deployed");
	printf("NAME: %s\n", release_name(rel));
	if (ld && strcmp(ld, RELEASE_TIME_ZERO))
		print_time("LAST DEPLOYED: ", ld);
	printf("NAMESPACE: %s\n", release_namespace(rel));
	printf("STATUS: %s\n", release_status(rel));
	printf("REVISION: %d\n", release_version(rel));
	if (f->show_desc)
		printf("DESCRIPTION: %s\n", json_str(info, "description") ?: "");
	if (f->metadata) {
		json_t *m = json_object_get(json_object_get(rel, "chart"), "metadata");
		printf("CHART: %s\nVERSION: %s\nAPP_VERSION: %s\n", json_str(m, "name") ?: "", json_str(m, "version") ?: "",
		       json_str(m, "appVersion") ?: "");
	}
	json_t *hooks = json_object_get(rel, "hooks");
	bool any_test = false;
	for (size_t i = 0; i < json_array_size(hooks); i++) {
		json_t *h = json_array_get(hooks, i), *ev = json_object_get(h, "events");
		for (size_t k = 0; k < json_array_size(ev); k++)
			if (!strcmp(json_string_value(json_array_get(ev, k)) ?: "", "test"))
				any_test = true;
	}
	if (!any_test) {
		printf("TEST SUITE: None\n");
	} else {
		for (size_t i = 0; i < json_array_size(hooks); i++) {
			json_t *h = json_array_get(hooks, i), *ev = json_object_get(h, "events"), *lr = json_object_get(h, "last_run");
			bool test = false;
			for (size_t k = 0; k < json_array_size(ev); k++)
				test |= !strcmp(json_string_value(json_array_get(ev, k)) ?: "", "test");
			const char *st = json_str(lr, "started_at");
			if (!test || !st || !strcmp(st, RELEASE_TIME_ZERO))
				continue;
			printf("TEST SUITE:     %s\n", json_str(h, "name") ?: "");
			print_time("Last Started:   ", st);
			print_time("Last Completed: ", json_str(lr, "completed_at") ?: RELEASE_TIME_ZERO);
			printf("Phase:          %s\n", json_str(lr, "phase") ?: "");
		}
	}
	if (f->debug) {
		printf("USER-SUPPLIED VALUES:\n");
		print_yaml(json_object_get(rel, "config") ?: json_null());
		printf("\n");
		_cleanup_json_ json_t *cv = relcli_computed_values(rel);
		printf("COMPUTED VALUES:\n");
		print_yaml(cv);
		printf("\n");
	}
	if (f->debug || !strcasecmp(json_str(info, "description") ?: "", "Dry run complete")) {
		printf("HOOKS:\n");
		for (size_t i = 0; i < json_array_size(hooks); i++) {
			json_t *h = json_array_get(hooks, i);
			printf("---\n# Source: %s\n%s\n", json_str(h, "path") ?: "", json_str(h, "manifest") ?: "");
		}
		printf("MANIFEST:\n%s\n", json_str(rel, "manifest") ?: "");
	}
	const char *notes = json_str(info, "notes");
	if (!f->hide_notes && notes && *notes) {
		size_t a = 0, b = strlen(notes);
		while (a < b && strchr(" \t\r\n\v\f", notes[a]))
			a++;
		while (b > a && strchr(" \t\r\n\v\f", notes[b - 1]))
			b--;
		printf("NOTES:\n%.*s\n", (int)(b - a), notes + a);
	}
}

void relcli_print_release(const json_t *rel, RelOut fmt, const StatusFlags *f)
{
	if (fmt == RELOUT_TABLE)
		relcli_print_status(rel, f);
	else
		relcli_print_data(rel, fmt);
}

/* ---- uitable --------------------------------------------------------------------------------------- */
void uitable_add(UiTable *t, size_t ncol, const char *const *cells)
{
	t->ncol = ncol;
	t->cells = xrealloc(t->cells, (t->nrow + 1) * ncol * sizeof *t->cells);
	for (size_t i = 0; i < ncol; i++)
		t->cells[t->nrow * ncol + i] = xstrdup(cells[i] ? cells[i] : "");
	t->nrow++;
}

/* display width: UTF-8 code points (no East Asian wide forms in release data) */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

void uitable_print(UiTable *t)
{
	enum { MAXW = 60 };
	size_t *w = xcalloc(t->ncol + 1, sizeof *w);
	for (size_t r = 0; r < t->nrow; r++)
		for (size_t c = 0; c < t->ncol; c++) {
			size_t x = width(t->cells[r * t->ncol + c]);
			if (x > MAXW)
				x = MAXW;
			if (x > w[c])
				w[c] = x;
		}
	for (size_t r = 0; r < t->nrow; r++) {
		for (size_t c = 0; c < t->ncol; c++) {
			const char *s = t->cells[r * t->ncol + c];
			size_t x = width(s);
			if (c)
				putchar('\t');
			if (x > w[c]) {     /* strutil.Resize: cut to width-3 and "..." */
				printf("%.*s...", (int)(w[c] - 3), s);
			} else {
				fputs(s, stdout);
				for (size_t k = x; k < w[c]; k++)
					putchar(' ');
			}
		}
		putchar('\n');
	}
	for (size_t i = 0; i < t->nrow * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
	t->cells = NULL;
	t->nrow = 0;
}

int relcli_duration(const char *s)
{
	if (!s || !*s)
		return -1;
	double total = 0;
	const char *p = s;
	bool any = false;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		if (!strncmp(p, "ms", 2)) {
			v /= 1000;
			p += 2;
		} else if (*p == 'h') {
			v *= 3600;
			p++;
		} else if (*p == 'm') {
			v *= 60;
			p++;
		} else if (*p == 's') {
			p++;
		} else if (*p) {
			return -1;
		}
		total += v;
		any = true;
	}
	if (!any || total < 0 || total > 1e7)
		return -1;
	return total > 0 && total < 1 ? 1 : (int)total;
}
