/* limits.h - every cap on input that comes from outside, in one place.
 * A size read from a file, an archive or the network is checked against one
 * of these before anything is allocated for it. */
#ifndef BERTH_BASE_LIMITS_H
#define BERTH_BASE_LIMITS_H

#define BERTH_MAX_JSON_FILE      (64u << 20)   /* a config/manifest/state file */
#define BERTH_MAX_MANIFEST       (4u << 20)    /* OCI manifest or index */
#define BERTH_MAX_TAR_ENTRY_NAME 4096
#define BERTH_MAX_LAYERS         500           /* hard cap on image depth */
#define BERTH_MAX_ENV_FILE       (1u << 20)
#define BERTH_MAX_LOG_LINE       (16u << 10)   /* CRI log: longer lines are split (P) */
#define BERTH_MAX_NAME           253

#endif
