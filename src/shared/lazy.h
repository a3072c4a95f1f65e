/* lazy.h - libraries loaded on first use.
 *
 * Most berth commands never touch libcurl, libmicrohttpd (and GnuTLS behind
 * it), SQLite or libarchive, yet linking them makes every process load ~40
 * shared objects: 4 ms of start-up on `berth run`, and resident pages in each
 * container's supervisor.  So these libraries are called through a table of
 * function pointers filled by dlopen/dlsym the first time one is needed.  The
 * prototypes still come from each library's own header (members are declared
 * with __typeof__ of the real functions) and a generated header per library
 * (shared/curl-lazy.h, shared/mhd-lazy.h, shared/sqlite-lazy.h,
 * image/archive-lazy.h) turns the usual names into table calls, so code reads
 * as plain library code.  A missing library is a broken installation: the
 * loader aborts with one line naming it (like out-of-memory, in one place).
 */
#ifndef BERTH_SHARED_LAZY_H
#define BERTH_SHARED_LAZY_H

#include <pthread.h>

/* dlopen(soname) or abort with "berth: fatal: cannot load SONAME: why". */
void *lazy_open(const char *soname);
/* dlsym or abort naming the function and the library. */
void *lazy_sym(void *handle, const char *soname, const char *name);

#define LAZY_MEMBER(name) __typeof__(&name) name;
#define LAZY_LOAD_ONE(name) *(void **)&lazy_table_->name = lazy_sym(lazy_handle_, lazy_soname_, #name);

/* In the library's lazy .c (with its redirects off): the table, filled once. */
#define LAZY_DEFINE(Type, getter, soname, FUNCS)                                 \
	static Type getter##_table;                                             \
	static pthread_once_t getter##_once = PTHREAD_ONCE_INIT;                \
	static void getter##_load(void)                                         \
	{                                                                       \
		const char *lazy_soname_ = soname;                              \
		void *lazy_handle_ = lazy_open(lazy_soname_);                   \
		Type *lazy_table_ = &getter##_table;                            \
		FUNCS(LAZY_LOAD_ONE)                                            \
	}                                                                       \
	const Type *getter(void)                                                \
	{                                                                       \
		pthread_once(&getter##_once, getter##_load);                    \
		return &getter##_table;                                         \
	}

#endif
