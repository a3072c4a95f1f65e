/* funcs-helm.c - placeholder while the engine grows. */
#include "tmpl.h"

const FuncDef funcs_helm[] = {
	{ NULL, NULL, NULL, 0 },
};
