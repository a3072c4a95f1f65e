/* memtrim.c - give memory back while the registry is idle.
 *
 * An idle registry's resident set is mostly clean pages of the shared
 * libraries it touched while starting (libcrypto, libc, gnutls, curl's chain
 * ...), plus freed heap.  When nothing happened for a while, reg_server_idle
 * trims the heap and drops the clean, read-only, file-backed mappings with
 * MADV_DONTNEED: they are still in the page cache and fault back in on the
 * next request, so this costs a few page faults, never correctness.  Only
 * mappings with no dirty or anonymous pages are touched (the same rule as
 * the supervisor's and the API server's: one helper, base/memtrim.c).
 */
#include "server-internal.h"
#include "../base/memtrim.h"

bool reg_server_idle(RegServer *s)
{
	uint64_t seen = __atomic_load_n(&s->n_started, __ATOMIC_RELAXED);
	bool busy = __atomic_load_n(&s->in_flight, __ATOMIC_RELAXED) != 0;
	if (busy || (s->trimmed && seen == s->trim_mark)) {
		return false;
	}
	if (seen != s->idle_mark) {
		/* something happened since the last look: wait for a quiet period */
		s->idle_mark = seen;
		s->trimmed = false;
		return false;
	}
	mem_trim();
	s->trimmed = true;
	s->trim_mark = seen;
	return true;
}
