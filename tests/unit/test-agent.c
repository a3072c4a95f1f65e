/* test-agent.c - the node agent's pure parts: command/args against the
 * image's Entrypoint/Cmd, $(VAR) expansion, env resolution (values,
 * fieldRef, resourceFieldRef, ConfigMap/Secret refs through a lookup map,
 * envFrom), quantities, the crash back-off schedule, probe parsing and the
 * pod phase as the kubelet derives it.  Pods really running are covered by
 * tests/integration/test_agent.py. */
#include "tap.h"
#include "../../src/agent/agent.h"
#include "../../src/base/cleanup.h"
#include "../../src/shared/json.h"
#include <errno.h>
#include <string.h>

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		tap_diag("bad test json: %s: %s", e.text, s);
	return j;
}

static char *args_str(json_t *a)
{
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static void test_command(void)
{
	json_t *img = J("{\"config\":{\"Entrypoint\":[\"/ep\",\"x\"],\"Cmd\":[\"c1\",\"c2\"]}}");
	json_t *none = J("{\"config\":{}}");
	char *env[] = { "NAME=world", "A=1", NULL };
	struct { const char *ctr; json_t *img; const char *want; } cases[] = {
		{ "{}", img, "[\"/ep\",\"x\",\"c1\",\"c2\"]" },
		{ "{\"command\":[\"/bin/sh\"]}", img, "[\"/bin/sh\"]" },
		{ "{\"args\":[\"a\",\"b\"]}", img, "[\"/ep\",\"x\",\"a\",\"b\"]" },
		{ "{\"command\":[\"/c\"],\"args\":[\"a\"]}", img, "[\"/c\",\"a\"]" },
		{ "{\"command\":[\"echo\",\"$(NAME)\",\"$$(NAME)\",\"$(NOPE)\"]}", img,
		  "[\"echo\",\"world\",\"$(NAME)\",\"$(NOPE)\"]" },
		{ "{\"args\":[\"x\"]}", none, "[\"x\"]" },
		{ "{}", none, "[]" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *c = J(cases[i].ctr);
		char *got = args_str(agent_command_resolve(c, cases[i].img, env));
		is_str(got, cases[i].want, "command: %s", cases[i].ctr);
		free(got);
		json_decref(c);
	}
	json_decref(img);
	json_decref(none);
	char *e = agent_expand("a$(A)b$$c$(A", env);
	is_str(e, "a1b$c$(A", "expand: vars, $$ and an unterminated reference");
	free(e);
}

static int lookup(void *ud, const char *kind, const char *ns, const char *name, json_t **ret)
{
	json_t *objs = ud;
	char key[256];
	snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name);
	json_t *o = json_object_get(objs, key);
	if (!o)
		return -ENOENT;
	*ret = json_incref(o);
	return 0;
}

static json_t *test_objects(void)
{
	return J("{\"ConfigMap/ns1/cm\":{\"data\":{\"color\":\"blue\",\"size\":\"L\"}},"
		 "\"Secret/ns1/sec\":{\"data\":{\"password\":\"czNjcjN0\"}}}");
}

static const char *env_of(char **env, const char *name)
{
	size_t n = strlen(name);
	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static void test_env(void)
{
	json_t *objs = test_objects();
	json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\",\"uid\":\"u-1\","
			"\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"annotations\":{\"a.b/c\":\"d\"}},"
			"\"spec\":{\"nodeName\":\"n1\"}}");
	json_t *ctr = J("{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"250m\"}},"
			"\"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"},\"prefix\":\"CM_\"}],"
			"\"env\":["
			"{\"name\":\"GREETING\",\"value\":\"hi\"},"
			"{\"name\":\"MSG\",\"value\":\"$(GREETING) there $(CM_color)\"},"
			"{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
			"{\"name\":\"NS\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.namespace\"}}},"
			"{\"name\":\"UID\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.uid\"}}},"
			"{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}}},"
			"{\"name\":\"ANN\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.annotations['a.b/c']\"}}},"
			"{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},"
			"{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"
			"{\"name\":\"MEM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}}},"
			"{\"name\":\"CPU\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\"}}},"
			"{\"name\":\"CPUM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\",\"divisor\":\"1m\"}}},"
			"{\"name\":\"SIZE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"size\"}}},"
			"{\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"password\"}}},"
			"{\"name\":\"OPT\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"nope\",\"key\":\"x\",\"optional\":true}}}"
			"]}");
	char **env = NULL;
	Error *e = NULL;
	int r = agent_env_resolve(pod, ctr, "10.89.0.7", "ignored", lookup, objs, &env, &e);
	is_int(r, 0, "env resolves");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	struct { const char *k, *v; } want[] = {
		{ "CM_color", "blue" }, { "CM_size", "L" }, { "GREETING", "hi" }, { "MSG", "hi there blue" },
		{ "POD", "p" }, { "NS", "ns1" }, { "UID", "u-1" }, { "APP", "web" }, { "ANN", "d" },
		{ "IP", "10.89.0.7" }, { "NODE", "n1" }, { "MEM", "64" }, { "CPU", "1" }, { "CPUM", "250" },
		{ "SIZE", "L" }, { "PW", "s3cr3t" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		is_str(env_of(env, want[i].k), want[i].v, "env %s", want[i].k);
	ok(env_of(env, "OPT") == NULL, "optional missing secret: variable left out");
	strv_free(env);
	err_free(e);
	e = NULL;

	json_t *bad = J("{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"gone\",\"key\":\"k\"}}}]}");
	is_int(agent_env_resolve(pod, bad, "", "n", lookup, objs, &env, &e), -ENOENT, "missing configmap fails");
	is_str(err_msg(e), "configmap \"gone\" not found", "... naming it as the kubelet does");
	err_free(e);
	e = NULL;
	json_decref(bad);
	bad = J("{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"k\"}}}]}");
	is_int(agent_env_resolve(pod, bad, "", "n", lookup, objs, &env, &e), -ENOENT, "missing key fails");
	is_str(err_msg(e), "couldn't find key k in ConfigMap ns1/cm", "... naming the key");
	err_free(e);
	json_decref(bad);
	json_decref(pod);
	json_decref(ctr);
	json_decref(objs);
}

static void test_quantity(void)
{
	struct { const char *s; int64_t milli; } cases[] = {
		{ "1", 1000 }, { "500m", 500 }, { "0.5", 500 }, { "64Mi", 67108864000LL }, { "1Gi", 1073741824000LL },
		{ "1k", 1000000 }, { "1e3", 1000000 }, { "1.5G", 1500000000000LL }, { "128974848", 128974848000LL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t v = -1;
		is_int(agent_quantity_milli(cases[i].s, &v), 0, "quantity %s parses", cases[i].s);
		is_int(v, cases[i].milli, "quantity %s", cases[i].s);
	}
	int64_t v;
	ok(agent_quantity_milli("12Q", &v) < 0 && agent_quantity_milli("", &v) < 0 && agent_quantity_milli("-1", &v) < 0,
	   "bad quantities refused");
}

static void test_backoff(void)
{
	int64_t want[] = { 0, 10000, 20000, 40000, 80000, 160000, 300000, 300000 };
	for (int i = 0; i < (int)ARRAY_SIZE(want); i++)
		is_int(agent_backoff_ms(i, 10000, 300000), want[i], "back-off before restart %d", i + 1);
	is_int(agent_backoff_ms(3, 200, 6000), 800, "a test base scales the same way");
	is_int(agent_backoff_ms(100, 200, 6000), 6000, "capped");
}

static void test_probe(void)
{
	json_t *ctr = J("{\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}");
	json_t *p = J("{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\",\"httpHeaders\":[{\"name\":\"X\",\"value\":\"y\"}]},"
		      "\"initialDelaySeconds\":3,\"periodSeconds\":2}");
	ProbeSpec s;
	is_int(agent_probe_parse(p, ctr, &s, NULL), 0, "httpGet probe parses");
	ok(s.kind == PROBE_HTTP && s.port == 8080 && !strcmp(s.path, "/healthz") && !strcmp(s.headers[0], "X: y"),
	   "named port resolved, path and headers");
	ok(s.initial_delay_s == 3 && s.period_s == 2 && s.timeout_s == 1 && s.success_threshold == 1 &&
	   s.failure_threshold == 3, "timings with Kubernetes' defaults");
	agent_probe_spec_release(&s);
	json_decref(p);
	p = J("{\"exec\":{\"command\":[\"cat\",\"/tmp/ok\"]},\"failureThreshold\":1,\"timeoutSeconds\":5}");
	is_int(agent_probe_parse(p, ctr, &s, NULL), 0, "exec probe parses");
	ok(s.kind == PROBE_EXEC && !strcmp(s.exec[1], "/tmp/ok") && s.failure_threshold == 1 && s.timeout_s == 5,
	   "exec command and thresholds");
	agent_probe_spec_release(&s);
	json_decref(p);
	p = J("{\"tcpSocket\":{\"port\":6379}}");
	is_int(agent_probe_parse(p, ctr, &s, NULL), 0, "tcpSocket probe parses");
	ok(s.kind == PROBE_TCP && s.port == 6379 && s.period_s == 10, "tcp port, default period");
	agent_probe_spec_release(&s);
	json_decref(p);
	p = J("{\"tcpSocket\":{\"port\":\"nope\"}}");
	ok(agent_probe_parse(p, ctr, &s, NULL) < 0, "unknown named port refused");
	agent_probe_spec_release(&s);
	json_decref(p);
	is_int(agent_probe_parse(NULL, ctr, &s, NULL), 0, "no probe");
	ok(s.kind == PROBE_NONE, "... is PROBE_NONE");
	json_decref(ctr);
}

static void test_phase(void)
{
	const char *run = "{\"state\":{\"running\":{}}}";
	const char *ok0 = "{\"state\":{\"terminated\":{\"exitCode\":0}}}";
	const char *bad = "{\"state\":{\"terminated\":{\"exitCode\":1}}}";
	const char *wait = "{\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}";
	const char *crash = "{\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":{\"exitCode\":1}}}";
	struct { const char *policy; int n_init; const char *init, *app; const char *want; } cases[] = {
		{ "Always", 0, "[]", "[R]", "Running" },
		{ "Always", 0, "[]", "[W]", "Pending" },
		{ "Always", 0, "[]", "[R,W]", "Pending" },
		{ "Always", 0, "[]", "[O]", "Running" },
		{ "Never", 0, "[]", "[O]", "Succeeded" },
		{ "Never", 0, "[]", "[O,B]", "Failed" },
		{ "OnFailure", 0, "[]", "[O]", "Succeeded" },
		{ "OnFailure", 0, "[]", "[C]", "Running" },
		{ "Always", 1, "[R]", "[W]", "Pending" },
		{ "Never", 1, "[B]", "[W]", "Failed" },
		{ "Always", 1, "[O]", "[R]", "Running" },
		{ "Always", 1, "[]", "[W]", "Pending" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "{\"spec\":{\"restartPolicy\":\"%s\",\"containers\":[],\"initContainers\":[%s]}}",
			 cases[i].policy, cases[i].n_init ? "{}" : "");
		json_t *pod = J(buf);
		/* expand the letters into statuses */
		json_t *lists[2];
		const char *src[2] = { cases[i].init, cases[i].app };
		for (int l = 0; l < 2; l++) {
			lists[l] = json_array();
			for (const char *c = src[l]; *c; c++) {
				const char *s = *c == 'R' ? run : *c == 'O' ? ok0 : *c == 'B' ? bad : *c == 'W' ? wait
					      : *c == 'C' ? crash : NULL;
				if (s)
					json_array_append_new(lists[l], J(s));
			}
		}
		json_t *ctrs = json_path(pod, "spec.containers");
		for (size_t k = 0; k < json_array_size(lists[1]); k++)
			json_array_append_new(ctrs, json_object());
		is_str(agent_pod_phase(pod, lists[0], lists[1]), cases[i].want, "phase %s init=%s app=%s",
		       cases[i].policy, cases[i].init, cases[i].app);
		json_decref(lists[0]);
		json_decref(lists[1]);
		json_decref(pod);
	}
}

int main(void)
{
	test_command();
	test_env();
	test_quantity();
	test_backoff();
	test_probe();
	test_phase();
	return tap_done();
}
