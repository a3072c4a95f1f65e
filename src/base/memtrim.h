/* memtrim.h - give memory back to the kernel while a long-lived process idles.
 *
 * mem_trim() trims the malloc heap (every arena) and drops the clean,
 * read-only, file-backed mappings (shared library text touched at start-up)
 * with MADV_DONTNEED: they stay in the page cache and fault back in on next
 * use, so it costs a few page faults, never correctness.  Mappings with any
 * dirty or anonymous page are left alone.  One implementation for the
 * container supervisor, the registry and the API server.
 */
#ifndef BERTH_BASE_MEMTRIM_H
#define BERTH_BASE_MEMTRIM_H

void mem_trim(void);

#endif
