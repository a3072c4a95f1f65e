/* test-release.c - Helm release records (chart/release*.c): Go's JSON
 * encoding of a record written as Helm writes it (byte-for-byte symmetry),
 * gzip+base64 encoding and the hostile-input checks of the decoder, the
 * Secret shape, Helm's time formats, manifest splitting, install-order
 * sorting, hooks and rendering a chart into a release.
 */
#include "tap.h"
#include "../../src/base/cleanup.h"
#include "../../src/base/fs.h"
#include "../../src/base/strbuf.h"
#include "../../src/chart/release.h"
#include "../../src/shared/json.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CASES BERTH_SOURCE_ROOT "/tests/cases/release/"

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	Error *e = NULL;
	if (fs_read_file(path, 1 << 24, &buf, &n, &e) < 0) {
		tap_diag("%s", err_msg(e));
		err_free(e);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

static void test_base64(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		_cleanup_free_ char *e = release_b64_encode(vec[i][0], strlen(vec[i][0]));
		is_str(e, vec[i][1], "base64 encode '%s'", vec[i][0]);
		_cleanup_free_ char *d = NULL;
		size_t dl = 0;
		ok(release_b64_decode(vec[i][1], strlen(vec[i][1]), &d, &dl) == 0 && dl == strlen(vec[i][0]) &&
			   !memcmp(d, vec[i][0], dl), "base64 decode '%s'", vec[i][1]);
	}
	static const char *const bad[] = { "Zm9", "Zm9v!", "Zg==Zg==", "Z===", "Zm=v" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *d = NULL;
		size_t dl = 0;
		is_int(release_b64_decode(bad[i], strlen(bad[i]), &d, &dl), -EINVAL, "base64 rejects '%s'", bad[i]);
		free(d);
	}
}

static void json_is(const char *in, const char *want, const char *what)
{
	json_error_t je;
	_cleanup_json_ json_t *j = json_loads(in, JSON_DECODE_ANY, &je);
	_cleanup_free_ char *got = j ? release_to_json(j) : NULL;
	is_str(got, want, "Go JSON: %s", what);
}

static void test_go_json(void)
{
	json_is("[1.0, 0.1, 1e21, 1.5e-7, 123456789.0, -2.5, 100, 1e-6, 0.000001234]",
		"[1,0.1,1e+21,1.5e-07,123456789,-2.5,100,0.000001,0.000001234]", "float64 as strconv 'f'/'e' -1");
	json_is("[\"<a&b>\", \"tab\\tnl\\n\\u0001\", \"\\u2028x\\u2029\", \"q\\\"\\\\\"]",
		"[\"\\u003ca\\u0026b\\u003e\",\"tab\\tnl\\n\\u0001\",\"\\u2028x\\u2029\",\"q\\\"\\\\\"]", "HTML-safe escaping");
	json_is("{\"z\":1,\"a\":{\"y\":null,\"b\":true}}", "{\"z\":1,\"a\":{\"y\":null,\"b\":true}}",
		"struct order kept as read");
}

/* A record written as Helm writes it must come back byte for byte. */
static void test_helm_fixture(void)
{
	size_t jl = 0, bl = 0;
	_cleanup_free_ char *text = slurp(CASES "helm-v3-record.json", &jl);
	_cleanup_free_ char *b64 = slurp(CASES "helm-v3-record.b64", &bl);
	if (!ok(text && b64, "fixtures readable"))
		return;
	while (bl && (b64[bl - 1] == '\n'))
		b64[--bl] = 0;
	_cleanup_json_ json_t *rel = NULL;
	Error *e = NULL;
	if (!ok(release_decode(b64, bl, &rel, &e) == 0, "decode Helm's base64(gzip(json))"))
		tap_diag("%s", err_msg(e));
	err_free(e);
	e = NULL;
	_cleanup_free_ char *again = rel ? release_to_json(rel) : NULL;
	is_str(again, text, "re-encoded JSON is byte-identical to Helm's");
	is_str(release_name(rel), "web", "name");
	is_str(release_namespace(rel), "apps", "namespace");
	is_int(release_version(rel), 2, "version");
	is_str(release_status(rel), "deployed", "info.status");
	_cleanup_free_ char *label = release_chart_label(rel);
	is_str(label, "web-1.2.3", "chart label");
	is_str(release_app_version(rel), "2.0.0", "app version");
	/* exact field names of Helm's structs */
	static const char *const top[] = { "name", "info", "chart", "config", "manifest", "hooks", "version", "namespace" };
	const char *k;
	json_t *v;
	size_t i = 0;
	bool order = true;
	json_object_foreach(rel, k, v) order &= i < ARRAY_SIZE(top) && !strcmp(k, top[i++]);
	ok(order && i == ARRAY_SIZE(top), "release.Release field names and order");
	json_t *h = json_array_get(json_object_get(rel, "hooks"), 0);
	ok(json_is_integer(json_object_get(h, "weight")) && json_str(json_object_get(h, "last_run"), "phase"),
	   "hook weight and last_run.phase");
	/* our own encoding decodes to the same record */
	_cleanup_free_ char *enc = NULL;
	size_t el = 0;
	ok(release_encode(rel, &enc, &el, &e) == 0, "encode");
	ok(!strncmp(enc, "H4sI", 4), "encoded text is base64 of gzip (H4sI)");
	_cleanup_json_ json_t *back = NULL;
	ok(release_decode(enc, el, &back, &e) == 0 && json_equal(back, rel), "encode/decode round trip");
	err_free(e);
	/* plain (not gzipped) JSON is accepted too, as Helm's decoder does */
	_cleanup_free_ char *plain = release_b64_encode(text, jl);
	_cleanup_json_ json_t *p = NULL;
	ok(release_decode(plain, strlen(plain), &p, NULL) == 0 && json_equal(p, rel), "uncompressed record decodes");
}

static void test_hostile(void)
{
	Error *e = NULL;
	json_t *r = NULL;
	ok(release_decode("!!!!", 4, &r, &e) == -EINVAL && e && strstr(e->msg, "base64"), "bad base64: error");
	err_free(e);
	e = NULL;
	_cleanup_free_ char *arr = release_b64_encode("[1,2]", 5);
	ok(release_decode(arr, strlen(arr), &r, &e) == -EINVAL && e && strstr(e->msg, "release.Release"),
	   "JSON array is not a release");
	err_free(e);
	e = NULL;
	/* truncated gzip */
	static const char gz_head[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\xab";
	_cleanup_free_ char *trunc = release_b64_encode(gz_head, sizeof gz_head - 1);
	ok(release_decode(trunc, strlen(trunc), &r, &e) == -EINVAL && e, "truncated gzip: error");
	err_free(e);
	e = NULL;
	/* a gzip bomb: 80 MiB of zeros stops at the cap */
	size_t big = 80u << 20;
	_cleanup_free_ char *zeros = xcalloc(1, big);
	uLongf cl = compressBound(big) + 64;
	_cleanup_free_ unsigned char *gz = xmalloc(cl);
	z_stream z = { 0 };
	deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)zeros;
	z.avail_in = (uInt)big;
	z.next_out = gz;
	z.avail_out = (uInt)cl;
	deflate(&z, Z_FINISH);
	size_t glen = z.total_out;
	deflateEnd(&z);
	_cleanup_free_ char *bomb = release_b64_encode(gz, glen);
	int brc = release_decode(bomb, strlen(bomb), &r, &e);
	if (e)
		tap_diag("%s", e->msg);
	ok(brc == -EINVAL && e && strstr(e->msg, "exceeds"),
	   "gzip bomb stops at the decoded-size cap");
	err_free(e);
	e = NULL;
	/* a Secret with a wrong payload */
	_cleanup_json_ json_t *s = json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", "sh.helm.release.v1.x.v1", "data",
					     "release", "%%%");
	ok(release_from_secret(s, &r, &e) < 0 && e && strstr(e->msg, "sh.helm.release.v1.x.v1"),
	   "bad Secret: error names the Secret");
	err_free(e);
}

static json_t *sample_release(const char *manifest)
{
	json_t *chart = json_pack("{s:{s:s,s:s,s:s},s:n,s:[],s:{},s:n,s:[]}", "metadata", "name", "demo", "version",
				  "0.1.0", "appVersion", "1.0", "lock", "templates", "values", "schema", "files");
	return release_new("demo", "ns1", 3, chart, json_pack("{s:i}", "a", 1), manifest, NULL, "notes");
}

static void test_secret(void)
{
	_cleanup_json_ json_t *rel = sample_release("---\n# Source: demo/templates/a.yaml\nkind: ConfigMap\n");
	release_set_status(rel, "deployed", "Install complete");
	_cleanup_json_ json_t *s = NULL;
	Error *e = NULL;
	ok(release_secret(rel, true, &s, &e) == 0, "secret built");
	json_t *m = json_object_get(s, "metadata"), *l = json_object_get(m, "labels");
	is_str(json_str(m, "name"), "sh.helm.release.v1.demo.v3", "secret name");
	is_str(json_str(m, "namespace"), "ns1", "secret namespace");
	is_str(json_str(s, "type"), "helm.sh/release.v1", "secret type");
	is_str(json_str(l, "owner"), "helm", "label owner");
	is_str(json_str(l, "name"), "demo", "label name");
	is_str(json_str(l, "status"), "deployed", "label status");
	is_str(json_str(l, "version"), "3", "label version");
	ok(json_str(l, "createdAt") && !json_str(l, "modifiedAt"), "create sets createdAt");
	_cleanup_json_ json_t *s2 = NULL, *back = NULL;
	release_secret(rel, false, &s2, NULL);
	ok(json_str(json_object_get(json_object_get(s2, "metadata"), "labels"), "modifiedAt") != NULL, "update sets modifiedAt");
	/* data.release is base64 of Helm's base64(gzip(json)) */
	const char *wire = json_str(json_object_get(s, "data"), "release");
	_cleanup_free_ char *inner = NULL;
	size_t il = 0;
	ok(wire && release_b64_decode(wire, strlen(wire), &inner, &il) == 0 && !strncmp(inner, "H4sI", 4),
	   "Secret data is base64(base64(gzip))");
	ok(release_from_secret(s, &back, &e) == 0 && json_equal(back, rel), "release_from_secret round trip");
	err_free(e);
	e = NULL;
	/* too big for a Secret: a clear error (random bytes do not compress) */
	StrBuf sb;
	sb_init(&sb);
	unsigned x = 12345;
	for (size_t i = 0; i < (3u << 19); i++) {
		x = x * 1103515245 + 12345;
		sb_addc(&sb, "abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) % 36]);
	}
	_cleanup_json_ json_t *bigrel = sample_release(sb.buf);
	sb_release(&sb);
	_cleanup_json_ json_t *bs = NULL;
	ok(release_secret(bigrel, true, &bs, &e) == -EFBIG && e && strstr(e->msg, "1048576"),
	   "1 MiB Secret limit reported");
	if (e)
		tap_diag("%s", e->msg);
	err_free(e);
}

static void test_times(void)
{
	char b[96];
	release_time_ansic("2024-01-02T03:04:05.5Z", b, sizeof b);
	is_str(b, "Tue Jan  2 03:04:05 2024", "time.ANSIC");
	release_time_ansic("2023-12-25T23:59:59+02:00", b, sizeof b);
	is_str(b, "Mon Dec 25 23:59:59 2023", "time.ANSIC keeps the zone's clock");
	release_time_string("2024-01-02T03:04:05.500Z", b, sizeof b);
	is_str(b, "2024-01-02 03:04:05.5 +0000 UTC", "Time.String() UTC");
	release_time_string("2024-01-02T03:04:05-07:00", b, sizeof b);
	is_str(b, "2024-01-02 03:04:05 -0700 -0700", "Time.String() fixed zone");
	_cleanup_free_ char *now = release_time_now();
	ok(strlen(now) >= 20 && now[4] == '-' && now[10] == 'T' && now[strlen(now) - 1] == 'Z', "now is RFC 3339 UTC");
}

static void test_split_sort(void)
{
	const char *m = "---\n# Source: c/templates/d.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"
			"---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
			"---\n# Source: c/templates/empty.yaml\n# only a comment\n"
			"---\n# Source: c/templates/x.yaml\napiVersion: x.io/v1\nkind: Zeta\nmetadata:\n  name: z\n"
			"---\n# Source: c/templates/n.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"
			"---\n# Source: c/templates/y.yaml\napiVersion: x.io/v1\nkind: Alpha\nmetadata:\n  name: a\n"
			"---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\n"
			"---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm2\n";
	RelDoc *d = NULL;
	size_t n = 0;
	Error *e = NULL;
	ok(release_split(m, &d, &n, &e) == 0, "split");
	is_int(n, 7, "comment-only document skipped");
	is_str(n ? d[0].path : NULL, "c/templates/d.yaml", "source path kept");
	release_sort_install(d, n);
	const char *want[] = { "ns1", "cm1", "cm2", "s", "d", "a", "z" };
	bool good = n == 7;
	for (size_t i = 0; good && i < n; i++)
		good = !strcmp(json_str(json_object_get(d[i].obj, "metadata"), "name") ?: "", want[i]);
	ok(good, "InstallOrder: Namespace, ConfigMaps (stable), Service, Deployment, unknown kinds by name");
	reldocs_free(d, n);
	is_int(release_kind_order("PriorityClass"), 0, "PriorityClass first");
	ok(release_kind_order("Job") > release_kind_order("Deployment"), "Job after Deployment");
	is_int(release_kind_order("Widget"), -1, "unknown kind");
	ok(release_split("---\n# Source: x\nkey: [unclosed\n", &d, &n, &e) < 0 && e &&
		   strstr(e->msg, "YAML parse error on x"), "bad YAML names the source");
	err_free(e);
}

static void test_hooks(void)
{
	_cleanup_json_ json_t *obj = json_pack(
		"{s:s,s:{s:s,s:{s:s,s:s,s:s}}}", "kind", "Job", "metadata", "name", "db-init", "annotations", "helm.sh/hook",
		"pre-install, post-upgrade,bogus", "helm.sh/hook-weight", "-3", "helm.sh/hook-delete-policy",
		"hook-succeeded,before-hook-creation");
	_cleanup_json_ json_t *h = release_hook_new("c/templates/job.yaml", "kind: Job", obj);
	_cleanup_free_ char *s = release_to_json(h);
	is_str(s, "{\"name\":\"db-init\",\"kind\":\"Job\",\"path\":\"c/templates/job.yaml\",\"manifest\":\"kind: Job\","
		  "\"events\":[\"pre-install\",\"post-upgrade\"],\"last_run\":{\"started_at\":\"0001-01-01T00:00:00Z\","
		  "\"completed_at\":\"0001-01-01T00:00:00Z\",\"phase\":\"\"},\"weight\":-3,"
		  "\"delete_policies\":[\"hook-succeeded\",\"before-hook-creation\"]}", "release.Hook JSON");
}

static int write_file(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	Error *e = NULL;
	int rc = fs_write_replace(p, text, strlen(text), 0644, &e);
	err_free(e);
	return rc;
}

static void test_render(void)
{
	char dir[] = "/tmp/test-release-XXXXXX";
	if (!ok(mkdtemp(dir) != NULL, "temp chart dir"))
		return;
	_cleanup_free_ char *tdir = xasprintf("%s/templates", dir);
	mkdir(tdir, 0755);
	write_file(dir, "Chart.yaml", "version: 0.2.0\nname: app\nappVersion: \"3.1\"\napiVersion: v2\n"
				      "keywords: [a, b]\ndescription: demo\n");
	write_file(dir, "values.yaml", "count: 2\nname: x\n");
	write_file(dir, "templates/NOTES.txt", "Hello {{ .Release.Name }} rev {{ .Release.Revision }}\n");
	write_file(dir, "templates/_helpers.tpl", "{{ define \"app.n\" }}{{ .Values.name }}{{ end }}");
	write_file(dir, "templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"app.n\" . }}\n");
	write_file(dir, "templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ .Values.count }}\n");
	write_file(dir, "templates/hook.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: h\n  annotations:\n"
					       "    helm.sh/hook: post-install\n");
	_cleanup_chart_ Chart *c = NULL;
	Error *e = NULL;
	if (!ok(chart_load(dir, &c, &e) == 0, "chart loads")) {
		tap_diag("%s", err_msg(e));
		err_free(e);
		return;
	}
	_cleanup_json_ json_t *user = json_pack("{s:s}", "name", "web");
	RenderOptions ro = { .release_name = "r", .namespace = "default", .revision = 4 };
	RelRender rr;
	ok(release_render(c, user, &ro, &rr, &e) == 0, "render");
	is_str(rr.manifest, "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\n"
			    "---\n# Source: app/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
			    "  name: web\n", "manifest: sorted, no hooks, no partials, no notes");
	is_str(rr.notes, "Hello r rev 4\n", "notes rendered");
	is_int(json_array_size(rr.hooks), 1, "one hook");
	is_str(json_str(json_array_get(rr.hooks, 0), "path"), "app/templates/hook.yaml", "hook path");
	relrender_release(&rr);
	_cleanup_json_ json_t *cj = release_chart_json(c);
	_cleanup_free_ char *meta = release_to_json(json_object_get(cj, "metadata"));
	is_str(meta, "{\"name\":\"app\",\"version\":\"0.2.0\",\"description\":\"demo\",\"keywords\":[\"a\",\"b\"],"
		     "\"apiVersion\":\"v2\",\"appVersion\":\"3.1\"}", "chart.Metadata in Helm's field order");
	ok(json_is_null(json_object_get(cj, "lock")) && json_array_size(json_object_get(cj, "templates")) == 5,
	   "chart lock and templates");
	/* a template error renders nothing and reads as Helm's */
	write_file(dir, "templates/bad.yaml", "{{ required \"name is required\" .Values.missing }}");
	_cleanup_chart_ Chart *c2 = NULL;
	chart_load(dir, &c2, NULL);
	ok(c2 && release_render(c2, user, &ro, &rr, &e) < 0 && e &&
		   !strcmp(e->msg, "execution error at (app/templates/bad.yaml:1:3): name is required"),
	   "template error as Helm words it");
	if (e)
		tap_diag("%s", e->msg);
	err_free(e);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("cleanup failed");
}

static void test_names(void)
{
	ok(release_check_name("my-app.v1", NULL) == 0, "valid name");
	ok(release_check_name("My-App", NULL) < 0, "uppercase refused");
	ok(release_check_name("-a", NULL) < 0, "leading dash refused");
	ok(release_check_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL) < 0, "54 chars refused");
}

int main(void)
{
	test_base64();
	test_go_json();
	test_helm_fixture();
	test_hostile();
	test_secret();
	test_times();
	test_split_sort();
	test_hooks();
	test_render();
	test_names();
	return tap_done();
}
