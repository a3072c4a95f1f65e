/* funcs-crypto.c - placeholder while the engine grows. */
#include "tmpl.h"

const FuncDef funcs_crypto[] = {
	{ NULL, NULL, NULL, 0 },
};
