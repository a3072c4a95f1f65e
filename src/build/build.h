/* build.h - `berth build`: the public interface of src/build/.
 *
 * Split of concerns:
 *   dockerfile.c  lexer/parser: directives (escape, syntax), continuations,
 *                 comments, heredocs, flags, exec-form JSON; line numbers
 *   words.c       Docker's shell-word rules: quotes, escapes, ${VAR} forms
 *   ignore.c      .dockerignore patterns (`!` exceptions, `**`)
 *   plan.c        stages, ARG scoping, --target, the stages a target needs
 *   exec.c        the executor: one step after another, config changes,
 *                 the progress log through a callback
 *   step-run.c    RUN: a container of the runtime on the step's overlay
 *   step-copy.c   COPY/ADD: sources from the context or another stage,
 *                 written through the step's overlay in a private mount ns
 *   cache.c       cache keys and the key -> image index under
 *                 <root>/build-cache/, content hashes of context files
 *
 * Every step produces an image in the store (a layer for RUN/COPY/ADD, a
 * config-only image for metadata steps), so the cache is made of images:
 * `rmi` removing one simply makes its cache entry miss.
 */
#ifndef BERTH_BUILD_H
#define BERTH_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../base/err.h"

/* ------------------------------------------------------------ Dockerfile */

typedef struct BuildHeredoc {
	char *name;     /* the terminator word */
	char *content;  /* the lines between, each ending in '\n' */
	bool expand;    /* unquoted word: variables are expanded in the content */
} BuildHeredoc;

typedef struct BuildInstr {
	char *cmd;            /* lower case: "from", "run", ... */
	char *original;       /* the instruction as written, continuations joined */
	char **flags;         /* leading "--name=value" / "--name" words, NULL-terminated */
	char *rest;           /* the arguments after the flags */
	char **json;          /* exec form: the JSON array of strings, else NULL */
	BuildHeredoc *heredocs;
	size_t n_heredocs;
	int line;             /* 1-based line of the instruction word */
} BuildInstr;

typedef struct BuildDockerfile {
	BuildInstr *instrs;
	size_t n;
	char escape;          /* '\\' or '`' (the escape directive) */
	char *name;           /* for messages: "Dockerfile" */
} BuildDockerfile;

/* Parse Dockerfile text.  Errors name the line: "Dockerfile:7: unknown
 * instruction: COPPY".  Caller frees with build_dockerfile_free. */
int build_dockerfile_parse(const char *name, const char *text, size_t len, BuildDockerfile **ret,
			   Error **err);
void build_dockerfile_free(BuildDockerfile *df);
static inline void build_dockerfile_freep(BuildDockerfile **p) { build_dockerfile_free(*p); }
/* Is `cmd` (lower case) an instruction Docker knows? */
bool build_instr_known(const char *cmd);
/* The value of flag `name` ("from" for --from=x); NULL when absent, "" for a
 * bare --name. *ret_found tells them apart when non-NULL. */
const char *build_instr_flag(const BuildInstr *in, const char *name);

/* ------------------------------------------------------------ words */

/* Look a variable up: its value, or NULL when unset. */
typedef const char *(*BuildLookup)(const char *name, void *ud);

/* Docker's word processing: quotes removed ('...' literal, "..." expands),
 * the escape char escapes the next char, $VAR ${VAR} ${VAR:-w} ${VAR-w}
 * ${VAR:+w} ${VAR+w} ${VAR:?msg} ${VAR?msg} expanded.  Caller frees *ret. */
int build_word_expand(const char *word, char escape, BuildLookup lookup, void *ud, char **ret,
		      Error **err);
/* Only the $ forms expanded (quotes and escapes kept): heredoc bodies. */
int build_text_expand(const char *text, BuildLookup lookup, void *ud, char **ret, Error **err);
/* Split text on unquoted, unescaped whitespace, keeping quotes and escapes
 * in the words (expand each afterwards).  NULL-terminated, caller frees. */
int build_words_split(const char *text, char escape, char ***ret, Error **err);

/* ------------------------------------------------------------ .dockerignore */

typedef struct BuildIgnore BuildIgnore;
/* Parse .dockerignore text (NULL/0: nothing ignored).  Caller frees. */
int build_ignore_parse(const char *text, size_t len, BuildIgnore **ret, Error **err);
void build_ignore_free(BuildIgnore *ig);
static inline void build_ignore_freep(BuildIgnore **p) { build_ignore_free(*p); }
/* Is the context-relative path ("a/b.txt", no leading "/") excluded?  The
 * last pattern that matches the path or one of its parent dirs decides. */
bool build_ignore_match(const BuildIgnore *ig, const char *path);
/* Any `!` patterns (a walk must then enter excluded directories)? */
bool build_ignore_has_exceptions(const BuildIgnore *ig);
/* Glob match with Docker's rules: '*' and '?' stop at '/', "**" crosses
 * directories, [classes], the escape '\\'. */
bool build_glob_match(const char *pattern, const char *path);

/* ------------------------------------------------------------ building */

typedef enum BuildProgress { BUILD_PROGRESS_PLAIN, BUILD_PROGRESS_QUIET } BuildProgress;

typedef struct BuildOptions {
	const char *root;            /* the store root (--root) */
	const char *runroot;         /* runtime state (--runroot) */
	const char *context_dir;     /* the context directory; NULL: no context (Dockerfile from stdin) */
	const char *dockerfile_name; /* for messages ("Dockerfile") */
	const char *dockerfile_text; /* the Dockerfile */
	size_t dockerfile_len;
	char **tags;                 /* names to tag, NULL-terminated (may be NULL) */
	char **build_args;           /* "K=V" or "K" (from the environment), NULL-terminated */
	char **labels;               /* "K=V", NULL-terminated */
	const char *target;          /* stage name, or NULL for the last */
	bool no_cache;
	const char *network;         /* "host" (default) or "none" */
	bool zstd;                   /* compress layers with zstd */
	int64_t timestamp;           /* >= 0: created times and file mtimes clamped (reproducible) */
	/* The progress log, one line at a time without the newline ("Step 1/6 : FROM bb",
	 * " ---> Using cache"); the output of RUN steps comes through `output`. */
	void (*log)(const char *line, void *ud);
	void (*output)(const char *buf, size_t n, void *ud);
	void *ud;
	/* Fetch a FROM image that is not in the store (the CLI pulls it through
	 * the registry client); NULL: a missing base image is an error. */
	int (*pull)(const char *ref, void *ud, Error **err);
} BuildOptions;

/* Build; *ret_id the final image id ("sha256:..."), caller frees.  On
 * failure nothing is tagged; errors name the Dockerfile line. */
int build_run(const BuildOptions *opts, char **ret_id, Error **err);

#endif
