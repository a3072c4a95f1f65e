/* json.h - glue around jansson, the one in-memory object model for JSON (and
 * for YAML, which is parsed into the same json_t trees by shared/yaml.c).
 * Reads are size-capped; writes are atomic. */
#ifndef BERTH_SHARED_JSON_H
#define BERTH_SHARED_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include "../base/err.h"

#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* Parse a JSON file (capped at max bytes); *ret is a new reference. */
int json_load_path(const char *path, size_t max, json_t **ret, Error **err);
/* Parse a buffer; `what` names the input in the error ("manifest 'x'"). */
int json_parse_buf(const char *buf, size_t len, const char *what, json_t **ret, Error **err);
/* Write compactly (flags as json_dumps) to path atomically. */
int json_save_path(const char *path, const json_t *j, size_t flags, Error **err);
/* The same without fsync (fs_write_replace): for frequently rewritten runtime state. */
int json_save_path_volatile(const char *path, const json_t *j, size_t flags, Error **err);
/* Borrowed string member or NULL (also NULL when not a string). */
const char *json_str(const json_t *obj, const char *key);
/* Integer member or def. */
json_int_t json_int(const json_t *obj, const char *key, json_int_t def);
bool json_bool(const json_t *obj, const char *key, bool def);
/* Dotted path lookup ("config.Env"); borrowed or NULL. */
json_t *json_path(const json_t *obj, const char *dotted);
/* Get or create an object member. Borrowed. */
json_t *json_obj_ensure(json_t *obj, const char *key);
/* Kubernetes status conditions: the member of status.conditions whose type
 * is type (borrowed, NULL when absent); _ensure appends {"type": type}
 * (creating the array) when it is absent. */
json_t *json_condition(const json_t *status, const char *type);
json_t *json_condition_ensure(json_t *status, const char *type);
/* A json array of strings from a NULL-terminated vector (new ref). */
json_t *json_strv(char *const *v);
/* NULL-terminated owned vector from a json array of strings (non-strings skipped). */
char **json_to_strv(const json_t *arr);

#endif
