/* archive-lazy.c - the libarchive function table (see archive-lazy.h and
 * shared/lazy.h). */
#define ARCHIVE_LAZY_NO_REDIRECT /* here the names are the real functions */
#include "archive-lazy.h"
#include "../shared/lazy.h"

LAZY_DEFINE(ArchiveApi, archive_api, "libarchive.so.13", ARCHIVE_LAZY_FUNCS)
