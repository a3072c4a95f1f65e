/* fuzz-schema.c - the values.schema.json validator (chart/schema.c) on an
 * untrusted schema and values.  Input layout: SCHEMA '\0' VALUES (JSON).
 * A failure must come with a report; $ref loops and deep nesting end in an
 * error line, never in a crash.
 */
#include "../../src/chart/helmchart.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	const char *p = (const char *)data;
	const char *sep = memchr(p, 0, size);
	size_t slen = sep ? (size_t)(sep - p) : size;
	json_t *vals = sep ? json_loadb(sep + 1, size - slen - 1, JSON_DECODE_ANY, NULL) : json_object();
	if (!vals)
		return 0;
	char *rep = NULL;
	Error *e = NULL;
	chart_schema_validate(p, slen, vals, &rep, &e);
	if (rep && !strstr(rep, "- "))
		__builtin_trap();
	free(rep);
	err_free(e);
	json_decref(vals);
	return 0;
}
