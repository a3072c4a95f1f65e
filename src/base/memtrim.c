/* memtrim.c - see memtrim.h.  Reads /proc/self/smaps once: a mapping is
 * dropped only when it is file-backed, not writable, and has no dirty or
 * anonymous pages; at most MEMTRIM_MAPS_MAX mappings per call (the list is
 * on the stack so this is safe in a process that must not allocate much). */
#include "memtrim.h"
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MEMTRIM_MAPS_MAX 512

void mem_trim(void)
{
	malloc_trim(0);
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return;
	char line[512];
	unsigned long start = 0, end = 0;
	bool file_backed = false, dirty = false, writable = false;
	unsigned long todo_start[MEMTRIM_MAPS_MAX], todo_end[MEMTRIM_MAPS_MAX];
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
			if (end > start && file_backed && !dirty && !writable && n < MEMTRIM_MAPS_MAX) {
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
