/* build-internal.h - what the files of src/build/ share (see build.h for
 * the split of concerns).  Nothing outside the component includes it. */
#ifndef BERTH_BUILD_INTERNAL_H
#define BERTH_BUILD_INTERNAL_H

#include "build.h"
#include "../image/image.h"
#include <jansson.h>
#include <sys/stat.h>

/* ---- plan.c ---- */
typedef struct BuildStage {
	char *name;          /* "AS name" lower-cased, or NULL */
	size_t first, end;   /* instruction indexes: FROM at first, up to end (exclusive) */
	char *base;          /* the FROM argument after expansion */
	int base_stage;      /* index of the stage FROM names, or -1 */
	bool needed;
	char *image_id;      /* the stage's result once built */
} BuildStage;

typedef struct BuildPlan {
	BuildStage *stages;
	size_t n;
	size_t target;       /* index of the target stage */
	json_t *global_args; /* ARGs before the first FROM: name -> string or null */
	size_t n_steps;      /* instructions in the needed stages */
	size_t *order;       /* the needed stages, dependencies first */
	size_t n_order;
} BuildPlan;

/* Split into stages, expand FROM lines with the global args, find the
 * target and mark the stages it needs (FROM <stage>, COPY --from=<stage>);
 * errors (unknown stage, cycles, no FROM) name the line. */
int build_plan_make(const BuildDockerfile *df, const BuildOptions *o, json_t *build_args, BuildPlan *ret,
		    Error **err);
void build_plan_release(BuildPlan *p);
/* The stage a --from / FROM word names (by name or index), or -1. */
int build_plan_find_stage(const BuildPlan *p, const char *word, size_t before);

/* ---- cache.c ---- */
typedef struct BuildCache BuildCache;
int build_cache_open(const char *root, BuildCache **ret, Error **err);
void build_cache_free(BuildCache *c);
/* The image id stored for key, verified against the store (NULL on a miss). */
char *build_cache_get(BuildCache *c, ImgStore *s, const char *key);
void build_cache_put(BuildCache *c, const char *key, const char *id);
/* The content digest of an open regular file, remembered by (dev, inode,
 * size, mtime, ctime) so an unchanged file is not read again. */
int build_cache_file_digest(BuildCache *c, int fd, const struct stat *st, char out[72], Error **err);

/* ---- step-run.c ---- */
typedef struct BuildRunSpec {
	ImgStore *store;
	const ImgInfo *parent;   /* NULL: scratch */
	char **args;             /* argv */
	char **env;              /* KEY=VALUE */
	const char *cwd;
	const char *user;        /* may be NULL */
	const char *network;     /* "host" or "none" */
	const char *workdir;     /* a fresh directory for upper/, work/, merged/, init/ */
	void (*output)(const char *buf, size_t n, void *ud);
	void *ud;
} BuildRunSpec;
/* Run the command; 0 and *ret_status its exit status (or 128+signal). */
int build_step_run(const BuildRunSpec *rs, int *ret_status, Error **err);

/* ---- step-copy.c ---- */
typedef struct BuildCopySource {
	char *path;          /* as written (glob, relative to the context or the --from root) */
	char *heredoc;       /* inline content (COPY <<EOF); path is then the file name */
} BuildCopySource;

typedef struct BuildCopySpec {
	ImgStore *store;
	const ImgInfo *parent;       /* the image written to (NULL: scratch) */
	const ImgInfo *from;         /* --from image, or NULL for the context */
	int context_fd;              /* the context directory (when from is NULL) */
	const BuildIgnore *ignore;
	BuildCopySource *src;
	size_t n_src;
	const char *dest;            /* absolute (WORKDIR applied) */
	bool dest_is_dir;            /* ended in '/' or several sources */
	const char *chown;           /* "user[:group]" or NULL */
	int chmod;                   /* -1: keep */
	bool add;                    /* ADD: local tar archives are extracted */
	const char *workdir;         /* a fresh directory for upper/, work/, merged/ */
} BuildCopySpec;
/* Resolve the context sources and hash them (paths, modes, contents) into
 * *ret_digest for the cache key; errors for missing or escaping sources. */
int build_copy_hash(const BuildCopySpec *cs, BuildCache *cache, char ret_digest[72], Error **err);
/* Do the copy into workdir/upper through an overlay of parent. */
int build_step_copy(const BuildCopySpec *cs, Error **err);

/* ---- exec.c: the builder and the state of the stage being built ---- */
typedef struct Builder {
	const BuildOptions *o;
	BuildDockerfile *df;
	ImgStore *store;
	BuildCache *cache;
	BuildIgnore *ignore;
	int ctx_fd;              /* -1 without a context */
	BuildPlan plan;
	json_t *build_args;      /* --build-arg: name -> string */
	json_t *used_args;       /* names a stage declared: name -> true */
	size_t step;             /* steps logged so far */
	char *tmp;               /* <root>/build-tmp */
} Builder;

typedef struct StageState {
	ImgInfo *img;            /* the current image; NULL while on scratch */
	json_t *config;          /* the current image config's "config" object (owned) */
	json_t *args;            /* ARGs declared in the stage: name -> string or null */
	bool cmd_set;            /* CMD given in this stage (ENTRYPOINT then keeps it) */
} StageState;

void build_log(Builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Variable lookup for substitution: ENV of the config first, then ARGs. */
const char *build_state_lookup(const char *name, void *state);
/* Expand one word with the stage's variables; errors name the line. */
int build_expand(Builder *b, StageState *s, const BuildInstr *in, const char *word, char **ret, Error **err);
/* The step's result: a cache hit, or a commit of upperdir (NULL: config only)
 * with `config` as the new .config; the state moves to the new image. */
int build_step_finish(Builder *b, StageState *s, const char *key, const char *upperdir, const json_t *config,
		      const char *created_by, Error **err);
/* The cached image for key (NULL: miss or --no-cache); logs the hit and moves the state. */
bool build_step_cached(Builder *b, StageState *s, const char *key);
/* A fresh directory under <root>/build-tmp; caller removes it. */
int build_tmpdir(Builder *b, char **ret, Error **err);
/* "/a/b/../c" -> "/a/c"; relative paths are joined to base first. */
char *build_path_join_clean(const char *base, const char *path);

/* ---- instr.c: one instruction of a stage ---- */
int build_instr_exec(Builder *b, StageState *s, const BuildInstr *in, Error **err);

#endif
