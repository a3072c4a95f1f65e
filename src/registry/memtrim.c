/* memtrim.c - give memory back while the registry is idle.
 *
 * An idle registry's resident set is mostly clean pages of the shared
 * libraries it touched while starting (libcrypto, libc, gnutls, curl's chain
 * ...), plus freed heap.  When nothing happened for a while, reg_server_idle
 * trims the heap and drops the clean, read-only, file-backed mappings with
 * MADV_DONTNEED: they are still in the page cache and fault back in on the
 * next request, so this costs a few page faults, never correctness.  Only
 * mappings with no dirty or anonymous pages are touched (the same rule as
 * the supervisor's trim in runtime/supervisor.c).
 */
#include "server-internal.h"
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define TRIM_MAPS_MAX 512

static void trim_clean_mappings(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return;
	char line[512];
	unsigned long start = 0, end = 0;
	bool file_backed = false, dirty = false, writable = false;
	static unsigned long todo_start[TRIM_MAPS_MAX], todo_end[TRIM_MAPS_MAX];
	size_t n = 0;
	for (;;) {
		bool have = fgets(line, sizeof(line), f) != NULL;
		unsigned long a, b, inode = 0;
		char perms[8] = "";
		unsigned long long off;
		unsigned maj, min;
		bool header = have && sscanf(line, "%lx-%lx %7s %llx %x:%x %lu", &a, &b, perms, &off, &maj, &min,
					     &inode) == 7;
		if (!have || header) {
			if (end > start && file_backed && !dirty && !writable && n < TRIM_MAPS_MAX) {
				todo_start[n] = start;
				todo_end[n++] = end;
			}
			if (!have)
				break;
			start = a;
			end = b;
			file_backed = inode != 0 && strchr(line, '/') != NULL && !strchr(line, '[');
			writable = perms[1] == 'w';
			dirty = false;
			continue;
		}
		unsigned long kb;
		if ((sscanf(line, "Private_Dirty: %lu kB", &kb) == 1 || sscanf(line, "Shared_Dirty: %lu kB", &kb) == 1 ||
		     sscanf(line, "Anonymous: %lu kB", &kb) == 1) && kb > 0)
			dirty = true;
	}
	fclose(f);
	for (size_t i = 0; i < n; i++)
		madvise((void *)todo_start[i], todo_end[i] - todo_start[i], MADV_DONTNEED);
}

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
	malloc_trim(0);
	trim_clean_mappings();
	s->trimmed = true;
	s->trim_mark = seen;
	return true;
}
