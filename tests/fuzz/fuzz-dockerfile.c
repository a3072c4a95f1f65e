/* fuzz-dockerfile.c - the Dockerfile parser, the word expander on every
 * instruction's arguments and heredoc bodies, and the .dockerignore matcher,
 * all fed the same arbitrary bytes (the build's untrusted text inputs). */
#include "../../src/build/build.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *ud)
{
	(void)ud;
	return name[0] == 'A' ? "value with spaces" : NULL;
}

static void words(const char *text, char escape)
{
	Error *e = NULL;
	char **w = NULL;
	if (build_words_split(text, escape, &w, &e) == 0) {
		for (char **p = w; *p; p++) {
			char *out = NULL;
			if (build_word_expand(*p, escape, lookup, NULL, &out, &e) == 0)
				free(out);
			err_free(e);
			e = NULL;
		}
		strv_free(w);
	}
	err_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Error *e = NULL;
	BuildDockerfile *df = NULL;
	if (build_dockerfile_parse("Dockerfile", (const char *)data, size, &df, &e) == 0) {
		for (size_t i = 0; i < df->n; i++) {
			const BuildInstr *in = &df->instrs[i];
			words(in->rest, df->escape);
			for (size_t k = 0; k < in->n_heredocs; k++) {
				char *out = NULL;
				if (build_text_expand(in->heredocs[k].content, lookup, NULL, &out, &e) == 0)
					free(out);
				err_free(e);
				e = NULL;
			}
		}
		build_dockerfile_free(df);
	}
	err_free(e);
	e = NULL;
	BuildIgnore *ig = NULL;
	if (build_ignore_parse((const char *)data, size, &ig, &e) == 0) {
		char *path = strndup((const char *)data, size < 256 ? size : 256);
		build_ignore_match(ig, path);
		build_ignore_match(ig, "a/b/c.txt");
		free(path);
		build_ignore_free(ig);
	}
	err_free(e);
	return 0;
}
