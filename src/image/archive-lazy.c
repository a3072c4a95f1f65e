/* archive-lazy.c - the libarchive function table (see archive-lazy.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#define ARCHIVE_LAZY_NO_REDIRECT /* here the names are the real functions */
#include "archive-lazy.h"

#define ARCHIVE_SONAME "libarchive.so.13"

static ArchiveApi api;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void __attribute__((noreturn)) fatal(const char *what, const char *detail)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "berth: fatal: %s %s: %s\n", what, ARCHIVE_SONAME, detail ? detail : "");
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	abort();
}

static void load(void)
{
	void *h = dlopen(ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fatal("cannot load", dlerror());
#undef X
#define X(fn) \
	*(void **)&api.fn = dlsym(h, #fn); \
	if (!api.fn) \
		fatal("missing function " #fn " in", dlerror());
	ARCHIVE_LAZY_FUNCS(X)
#undef X
}

const ArchiveApi *archive_api(void)
{
	pthread_once(&once, load);
	return &api;
}
