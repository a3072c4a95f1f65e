/* test-schedbind.c - pods/binding without a decode (apiserver/cache.c
 * cache_json_bind_pod, what pod_binding does to a stored pod in the plain
 * case): the text it makes must be, byte for byte, what decoding the pod,
 * setting spec.nodeName and the PodScheduled=True condition and encoding it
 * compactly gives (the general path, done here with jansson as special.c
 * does), and every case it does not take must be refused so the caller
 * decodes. */
#include "tap.h"
#include "../../src/apiserver/cache.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NOW "2026-11-22T12:00:00Z"

/* The general path: decode, change, compact encode (NULL if not an object). */
static char *bind_decoded(const char *text, const char *node)
{
	json_t *pod = json_loads(text, 0, NULL);
	if (!json_is_object(pod)) {
		json_decref(pod);
		return NULL;
	}
	json_t *spec = json_object_get(pod, "spec"), *status = json_object_get(pod, "status");
	json_object_set_new(spec, "nodeName", json_string(node));
	json_t *cond = json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status", "True", "lastProbeTime",
				 "lastTransitionTime", NOW);
	json_object_set_new(status, "conditions", json_pack("[o]", cond));
	char *s = json_dumps(pod, JSON_COMPACT);
	json_decref(pod);
	return s;
}

static void same_as_decoded(const char *text, const char *node, const char *what)
{
	size_t n = 0;
	char *fast = cache_json_bind_pod(text, strlen(text), node, NOW, &n), *slow = bind_decoded(text, node);
	ok(fast != NULL, "%s: taken without a decode", what);
	is_str(fast ? fast : "(null)", slow ? slow : "(null)", "%s: the same bytes as decode + encode", what);
	is_int(n, fast ? strlen(fast) : 0, "%s: its length", what);
	free(fast);
	free(slow);
}

static void refused(const char *text, const char *node, const char *what)
{
	size_t n = 0;
	char *s = cache_json_bind_pod(text, strlen(text), node, NOW, &n);
	ok(s == NULL, "%s: left to the decoding path", what);
	free(s);
}

int main(void)
{
	/* a pod as the API server stores it (compact, no resourceVersion) */
	const char *pod =
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"labels\":{\"app\":\"bench\"},"
		"\"namespace\":\"default\",\"uid\":\"0e17\",\"managedFields\":[{\"manager\":\"curl\",\"fieldsV1\":"
		"{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{}}}}}}]},\"spec\":{\"containers\":"
		"[{\"name\":\"c\",\"image\":\"busybox:1\",\"resources\":{\"requests\":{\"cpu\":\"10m\"}}}],"
		"\"schedulerName\":\"default-scheduler\",\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}]},"
		"\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}";
	same_as_decoded(pod, "node-0001", "a stored pod");
	same_as_decoded("{\"spec\":{},\"status\":{}}", "n", "empty spec and status");
	same_as_decoded("{\"status\":{\"phase\":\"Pending\"},\"metadata\":{\"name\":\"x\"},\"spec\":{\"a\":1}}", "n",
			"status before spec");
	same_as_decoded("{\"metadata\":{\"annotations\":{\"x\":\"\\\"spec\\\":{\\\"nodeName\\\":\\\"evil\\\"}\"}},"
			"\"spec\":{\"s\":\"}\"},\"status\":{\"m\":\"{\\\"conditions\\\":[\"}}",
			"n", "braces and member names inside strings");
	same_as_decoded("{\"spec\":{\"x\":[{\"nodeName\":\"nested\"}]},\"status\":{\"y\":{\"conditions\":[]}}}", "n",
			"the same names deeper down are not the pod's");
	same_as_decoded(pod, "nöde-ü", "a node name beyond ASCII (valid UTF-8, as the body decoder checked)");

	refused("{\"spec\":{\"nodeName\":\"other\"},\"status\":{}}", "n", "a pod already bound (409 there)");
	refused("{\"spec\":{},\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\"}]}}", "n",
		"a pod with conditions (PodScheduled is replaced there)");
	refused("{\"spec\":{}}", "n", "no status object");
	refused("{\"status\":{}}", "n", "no spec object");
	refused("{\"spec\":null,\"status\":{}}", "n", "spec not an object");
	refused(pod, "a\"b", "a node name that needs escaping (quote)");
	refused(pod, "a\\b", "a node name that needs escaping (backslash)");
	refused(pod, "a\nb", "a node name that needs escaping (control)");
	refused("{\"spec\":{},\"status\":{", "n", "truncated text");
	refused("[1,2]", "n", "not an object");

	/* the text parses to what the general path gives, whitespace and all */
	const char *pretty = "{ \"spec\" : { \"a\" : 1 } ,\n \"status\" : { }\n}";
	size_t n;
	char *fast = cache_json_bind_pod(pretty, strlen(pretty), "n", NOW, &n), *slow = bind_decoded(pretty, "n");
	json_t *a = fast ? json_loads(fast, 0, NULL) : NULL, *b = json_loads(slow, 0, NULL);
	ok(a && b && json_equal(a, b), "spaced-out text: the same object");
	json_decref(a);
	json_decref(b);
	free(fast);
	free(slow);
	return tap_done();
}
