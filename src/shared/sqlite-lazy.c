/* sqlite-lazy.c - the libsqlite3.so.0 function table (see lazy.h). */
#define SQLITE_LAZY_NO_REDIRECT /* here the names are the real functions */
#include "sqlite-lazy.h"

LAZY_DEFINE(SqliteApi, sqlite_api, "libsqlite3.so.0", SQLITE_LAZY_FUNCS)
