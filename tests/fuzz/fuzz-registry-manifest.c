/* fuzz-registry-manifest.c - the manifest parser the registry runs on
 * every pushed manifest, fed arbitrary bytes with each Content-Type it
 * meets.  A manifest it accepts must list only valid digests. */
#include "../../src/registry/reg-internal.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *types[] = { NULL, REG_MT_OCI_MANIFEST, REG_MT_OCI_INDEX, REG_MT_DOCKER_MANIFEST,
				       REG_MT_DOCKER_LIST };
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		RegManifest m;
		if (reg_manifest_parse((const char *)data, size, types[t], &m, NULL) < 0)
			continue;
		for (char **b = m.blobs; *b; b++)
			if (!digest_valid(*b))
				abort();
		for (char **c = m.children; *c; c++)
			if (!digest_valid(*c))
				abort();
		if (m.subject && !digest_valid(m.subject))
			abort();
		reg_manifest_release(&m);
	}
	return 0;
}
