/* fuzz-strvals.c - the --set family parser (chart/strvals.c) on untrusted
 * argument text: the first byte picks the mode (--set, --set-string,
 * --set-json, --set-literal; --set-file is left out: it reads files), the
 * rest is the argument, parsed into a map that already holds a string, a
 * list and a map so type-conversion failures are exercised.  Inputs are
 * capped at 512 bytes: every index may allocate up to 65536 slots, as Helm's.
 */
#include "../../src/chart/helmchart.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 512)
		return 0;
	static const StrvalsMode modes[] = { STRVALS_TYPED, STRVALS_STRING, STRVALS_JSON, STRVALS_LITERAL };
	StrvalsMode mode = modes[data[0] % 4];
	json_t *dest = json_pack("{s:s, s:[i], s:{s:b}}", "s", "x", "l", 1, "m", "k", 1);
	Error *e = NULL;
	if (chart_strvals_parse(dest, (const char *)data + 1, size - 1, mode, &e) < 0 && !e)
		__builtin_trap();   /* a failure always says why */
	err_free(e);
	json_decref(dest);
	return 0;
}
