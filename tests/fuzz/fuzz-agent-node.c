/* fuzz-agent-node.c - the agent's API-side parsing: --labels and --taints
 * text, and a pod object from the API (any user who can create pods writes
 * it) turned into an Event and its aggregation key.  The same bytes feed
 * all three. */
#include "../../src/agent/agent.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	json_t *j = NULL;
	Error *e = NULL;
	if (agent_labels_parse(text, &j, &e) == 0)
		json_decref(j);
	err_free(e);
	e = NULL;
	j = NULL;
	if (agent_taints_parse(text, &j, &e) == 0)
		json_decref(j);
	err_free(e);
	json_t *pod = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_object(pod)) {
		json_t *ev = agent_event_new(pod, "spec.containers{x}", "Normal", "Started", text, "node",
					     "2026-01-01T00:00:00Z");
		free(agent_event_key(ev));
		json_decref(ev);
	}
	json_decref(pod);
	free(text);
	return 0;
}
