/* lazy.c - see lazy.h: the loader shared by every lazily loaded library. */
#include "lazy.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void __attribute__((noreturn)) lazy_fatal(const char *what, const char *soname, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "berth: fatal: %s %s: %s\n", what, soname, why ? why : "");
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	abort();
}

void *lazy_open(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		lazy_fatal("cannot load", soname, dlerror());
	return h;
}

void *lazy_sym(void *handle, const char *soname, const char *name)
{
	void *p = dlsym(handle, name);
	if (!p) {
		char what[160];
		snprintf(what, sizeof(what), "missing function %s in", name);
		lazy_fatal(what, soname, dlerror());
	}
	return p;
}
