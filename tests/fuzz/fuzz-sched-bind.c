/* fuzz-sched-bind.c - pods/binding's text edit of a stored pod
 * (apiserver/cache.c cache_json_bind_pod): the input is "NODE\nTEXT", the
 * node name as a Binding body may carry it and the pod text.  An edit made
 * must stay inside bounds (exact-size copies: ASan sees any overread), and
 * when the text is one JSON object the edit must equal decode, set
 * spec.nodeName and the PodScheduled condition, compact encode. */
#include "../../src/apiserver/cache.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *decoded(const char *text, size_t len, const char *node)
{
	json_t *pod = json_loadb(text, len, 0, NULL);
	if (!json_is_object(pod)) {
		json_decref(pod);
		return NULL;
	}
	json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(node));
	json_object_set_new(json_object_get(pod, "status"), "conditions",
			    json_pack("[{s:s, s:s, s:n, s:s}]", "type", "PodScheduled", "status", "True", "lastProbeTime",
				      "lastTransitionTime", "T"));
	char *s = json_dumps(pod, JSON_COMPACT);
	json_decref(pod);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t nlen = nl ? (size_t)(nl - data) : 0, tlen = nl ? size - nlen - 1 : size;
	char *node = malloc(nlen + 1), *text = malloc(tlen ? tlen : 1);
	memcpy(node, data, nlen);
	node[nlen] = 0;
	memcpy(text, nl ? nl + 1 : data, tlen);
	size_t n = 0;
	char *out = cache_json_bind_pod(text, tlen, node, "T", &n);
	if (out) {
		if (strlen(out) != n)
			abort();
		/* compact texts (what the server stores) come out byte for byte as the decoding path's */
		json_t *orig = json_loadb(text, tlen, 0, NULL);
		if (json_is_object(orig) && strlen(node) == nlen) {
			char *compact = json_dumps(orig, JSON_COMPACT);
			if (compact && strlen(compact) == tlen && !memcmp(compact, text, tlen)) {
				char *want = decoded(text, tlen, node);
				if (!want || strcmp(want, out))
					abort();
				free(want);
			}
			free(compact);
		}
		json_decref(orig);
		free(out);
	}
	free(node);
	free(text);
	return 0;
}
