/* fuzz-podnet.c - the agent's pod network inputs, which come from Node
 * objects on the API server: podCIDR strings (agent_cidr_parse,
 * agent_cidr_contains, net_bridge_name, the conflist built on them) and a
 * nodes map (name -> {"cidr","ip"}) turned into routes. */
#include "../../src/agent/agent.h"
#include "../../src/runtime/network.h"
#include "../../src/shared/json.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	json_t *nodes = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_object(nodes)) {
		json_t *w = agent_routes_wanted(nodes, "self", "10.0.0.1", "10.42.0.0/24");
		json_decref(w);
	}
	json_decref(nodes);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint32_t net;
		unsigned prefix;
		char bridge[16];
		if (agent_cidr_parse(line, &net, &prefix) == 0)
			(void)agent_cidr_contains("10.42.0.0/16", line);
		if (net_bridge_name(line, bridge) == 0) {
			NetConfig cfg = { .name = "berth-pods", .bridge = bridge, .subnet = line, .data_dir = "/x" };
			json_decref(net_conflist_of(&cfg));
		}
	}
	free(text);
	return 0;
}
