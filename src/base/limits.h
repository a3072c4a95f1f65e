/* limits.h - every cap on input that comes from outside, in one place.
 * A size read from a file, an archive or the network is checked against one
 * of these before anything is allocated for it. */
#ifndef BERTH_BASE_LIMITS_H
#define BERTH_BASE_LIMITS_H

#define BERTH_MAX_JSON_FILE      (64u << 20)   /* a config/manifest/state file */
#define BERTH_MAX_MANIFEST       (4u << 20)    /* OCI manifest or index */
#define BERTH_MAX_TAR_ENTRY_NAME 4096
#define BERTH_MAX_LAYERS         500           /* hard cap on image depth */
#define BERTH_MAX_IMAGE_CONFIG   (8u << 20)    /* an OCI image config blob */
#define BERTH_MAX_REPO_NAME      255           /* image repository name (docker's limit) */
#define BERTH_MAX_XATTR_VALUE    (64u << 10)   /* one extended attribute in a tar entry */
#define BERTH_MAX_ARCHIVE_IMAGES 1000          /* images in one docker-/oci-archive */
#define BERTH_MAX_IMAGE_CHANGE   (64u << 10)   /* one --change instruction */
#define BERTH_MAX_ENV_FILE       (1u << 20)
#define BERTH_MAX_LOG_LINE       (16u << 10)   /* CRI log: longer lines are split (P) */
#define BERTH_MAX_NAME           253
/* chart engine: one template text, one render's output and memory, nesting */
#define BERTH_MAX_TEMPLATE_SIZE    (16u << 20)
#define BERTH_MAX_TEMPLATE_OUTPUT  (64u << 20)
#define BERTH_MAX_TEMPLATE_MEMORY  (1u << 30)
#define BERTH_MAX_TEMPLATE_NESTING 10000     /* Go's maxStackDepth for ( ) */
#define BERTH_MAX_TEMPLATE_DEPTH   100000    /* Go's maxExecDepth for {{template}} */
/* charts: a .tgz decompressed (Helm's MaxDecompressedChartSize), one file in it, files, subchart nesting */
#define BERTH_MAX_CHART_SIZE       (100u << 20)
#define BERTH_MAX_CHART_FILE       (5u << 20)
#define BERTH_MAX_CHART_FILES      20000
#define BERTH_MAX_CHART_DEPTH      32
#define BERTH_MAX_CGROUP_PROCS   (4u << 20)    /* a cgroup.procs listing */
#define BERTH_MAX_SPEC_ITEMS     4096          /* mounts, devices, args, env entries... in one OCI spec */
#define BERTH_MAX_ACCOUNT_FILE   (8u << 20)    /* a container's /etc/passwd or /etc/group */
/* build: a Dockerfile, its instructions, .dockerignore, one variable expansion, COPY sources */
#define BERTH_MAX_DOCKERFILE        (4u << 20)
#define BERTH_MAX_DOCKERFILE_INSTRS 10000
#define BERTH_MAX_DOCKERIGNORE      (1u << 20)
#define BERTH_MAX_BUILD_WORD        (1u << 20)
#define BERTH_MAX_BUILD_STAGES      256
/* API server: one request body, one stored object (etcd's limit), patches, selectors, query */
#define BERTH_MAX_API_BODY       (3u << 20)
#define BERTH_MAX_API_OBJECT     (1536u << 10)
#define BERTH_MAX_PATCH_OPS      10000
#define BERTH_MAX_JSON_DEPTH     200
#define BERTH_MAX_SELECTOR       (16u << 10)
#define BERTH_MAX_API_PARAMS     64
#define BERTH_MAX_ETCD_RESPONSE  (512u << 20)  /* one etcd gateway answer (a whole list) */
/* controllers (src/controller, shared/kube.c) */
#define BERTH_MAX_KUBE_BODY      (64u << 20)   /* one API response or watch event line */
#define BERTH_MAX_CONTROLLER_BURST 500         /* pods created/deleted by one sync */
/* node agent: one static pod manifest file */
#define BERTH_MAX_POD_MANIFEST   (1u << 20)

#endif
