/* replay-main.c - runs a fuzz target's LLVMFuzzerTestOneInput on each file
 * named on the command line, without libFuzzer: the normal build links it
 * with every tests/fuzz/fuzz-<name>.c so tests/fuzz/replay.sh can replay the
 * corpora as regression tests. */
#include "../../src/base/fs.h"
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *buf = NULL;
		size_t len = 0;
		Error *e = NULL;
		if (fs_read_file(argv[i], 64u << 20, &buf, &len, &e) < 0) {
			fprintf(stderr, "replay: %s\n", err_msg(e));
			err_free(e);
			return 2;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		free(buf);
	}
	return 0;
}
