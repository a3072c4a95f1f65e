/* funcs-date.c - placeholder while the engine grows. */
#include "tmpl.h"

const FuncDef funcs_date[] = {
	{ NULL, NULL, NULL, 0 },
};
