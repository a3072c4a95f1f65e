/* yaml.h - YAML <-> json_t the way Kubernetes and Helm's Go code does it.
 *
 * Parsing follows sigs.k8s.io/yaml: go-yaml v2 (YAML 1.1 scalars: yes/no/on,
 * 0777 octal, 1_000, ...) into generic values, then through JSON, so map
 * keys become strings and timestamps stay strings.  Integers come back as
 * JSON integers, floats as reals; callers that want Go's float64-for-every-
 * number semantics convert.  Errors read like go-yaml's ("yaml: line 3: did
 * not find expected key").
 *
 * Emitting reproduces go-yaml v2's Marshal output byte for byte (Helm's
 * toYaml): sorted keys in go-yaml's natural order, its quoting decisions,
 * literal blocks for multi-line strings, folding past 80 columns.  The v3
 * flag gives go-yaml v3's style instead (indented sequences; Helm's
 * toYamlPretty).
 */
#ifndef BERTH_SHARED_YAML_H
#define BERTH_SHARED_YAML_H

#include <jansson.h>
#include <stddef.h>
#include "../base/err.h"
#include "../base/strbuf.h"

/* The first document of buf (null for an empty stream).  New reference. */
int yaml_parse_buf(const char *buf, size_t len, json_t **ret, Error **err);
/* Every document, as a JSON array (empty documents are null). */
int yaml_parse_all(const char *buf, size_t len, json_t **ret, Error **err);

enum {
	YAML_EMIT_V3 = 1,          /* go-yaml v3 style: sequences indented under keys */
};
/* Append v as one YAML document (ending in "\n") to out. */
int yaml_emit(const json_t *v, int flags, StrBuf *out, Error **err);

/* strconv.FormatFloat(f, 'g', -1, 64) with YAML's .inf/.nan: buf >= 32. */
void yaml_format_float(double f, char *buf, size_t n);

#endif
