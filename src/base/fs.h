/* fs.h - small filesystem helpers shared by every component. */
#ifndef BERTH_BASE_FS_H
#define BERTH_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/* mkdir -p with mode for created directories. */
int fs_mkdir_p(const char *path, mode_t mode, Error **err);
/* Read a whole file, refusing files larger than max; *ret is NUL-terminated, caller frees. */
int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len, Error **err);
/* Write data to path atomically (temp file in the same dir, fsync, rename). */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, Error **err);
/* Atomic replace without fsync: readers never see a partial file, but after a
 * crash the old content (or none) may come back.  For runtime state that is
 * rewritten often (container state), where an fsync per write would dominate. */
int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode, Error **err);
/* rm -rf that does not cross mount points and never follows symlinks. */
int fs_rm_rf(const char *path, Error **err);
/* rm -rf of `name` in the directory dirfd, the same way (never follows a
 * symlink, never descends into another mount); -errno. */
int fs_rm_rf_at(int dirfd, const char *name);
bool fs_exists(const char *path);
bool fs_is_dir(const char *path);
/* Write all bytes, retrying on EINTR/short writes; -errno. */
int fs_write_all(int fd, const void *buf, size_t n);
/* Read exactly n bytes or until EOF; returns bytes read or -errno. */
ssize_t fs_read_full(int fd, void *buf, size_t n);
/* Join two path pieces with one '/'; caller frees. */
char *fs_join(const char *a, const char *b);
/* Copy a file's bytes (regular file) from src fd to dst fd. */
int fs_copy_fd(int in, int out);

#endif
