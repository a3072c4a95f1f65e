/* fuzz-agent-pull.c - the agent's image pull secrets (src/agent/pull.c):
 * whoever can create a Secret writes the docker config the agent parses.
 * The first line of the input is an image repository, the rest a docker
 * config: put into Secrets of both types (base64 as the API holds it) and
 * parsed for that repository; every key of it is also matched against the
 * repository, and the whole input is tried as a Secret object itself. */
#include "../../src/agent/agent-internal.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *b64(const uint8_t *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(n / 3 * 4 + 8);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

static void parse(json_t *secret, const char *repo)
{
	json_t *creds = json_array();
	Error *e = NULL;
	agent_pull_secret_creds(secret, repo, creds, &e);
	err_free(e);
	json_decref(creds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rl = nl ? (size_t)(nl - data) : size;
	char *repo = strndup((const char *)data, rl);
	const uint8_t *cfg = nl ? nl + 1 : data + size;
	size_t cl = size - (size_t)(cfg - data);
	char *enc = b64(cfg, cl);
	static const char *const types[][2] = { { "kubernetes.io/dockerconfigjson", ".dockerconfigjson" },
						 { "kubernetes.io/dockercfg", ".dockercfg" } };
	for (size_t i = 0; i < 2; i++) {
		json_t *s = json_pack("{s:s, s:{s:s}}", "type", types[i][0], "data", types[i][1], enc);
		parse(s, repo);
		json_decref(s);
	}
	json_t *j = json_loadb((const char *)cfg, cl, 0, NULL);
	json_t *auths = json_object_get(j, "auths") ? json_object_get(j, "auths") : j;
	const char *key;
	json_t *v;
	if (json_is_object(auths))
		json_object_foreach(auths, key, v)
			(void)agent_registry_key_match(key, repo);
	json_decref(j);
	(void)agent_registry_key_match(repo, repo);
	json_t *whole = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_object(whole))
		parse(whole, repo);
	json_decref(whole);
	free(agent_image_repo(repo));
	free(enc);
	free(repo);
	return 0;
}
