/* archive-lazy.h - libarchive, loaded on first use.
 *
 * Only image import/load/save/commit/export need libarchive, but linking it
 * makes every berth process load it and its chain (libxml2, ICU, libstdc++):
 * 1.3 ms of start-up for `berth run`, `ps`, everything.  So the image
 * component calls libarchive through a table filled by dlopen/dlsym the first
 * time it is needed.  The prototypes and types still come from libarchive's
 * own headers (the table's members are declared with __typeof__ of the real
 * functions), and the names below become calls through the table, so the
 * code reads as plain libarchive.  Add a function here when you start using it.
 */
#ifndef BERTH_IMAGE_ARCHIVE_LAZY_H
#define BERTH_IMAGE_ARCHIVE_LAZY_H

#include <archive.h>
#include <archive_entry.h>

#define ARCHIVE_LAZY_FUNCS(X) \
	X(archive_entry_atime) \
	X(archive_entry_atime_is_set) \
	X(archive_entry_atime_nsec) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_linkify) \
	X(archive_entry_linkresolver_free) \
	X(archive_entry_linkresolver_new) \
	X(archive_entry_linkresolver_set_strategy) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_perm) \
	X(archive_entry_rdev) \
	X(archive_entry_set_dev) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_hardlink) \
	X(archive_entry_set_ino64) \
	X(archive_entry_set_mode) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_nlink) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_rdev) \
	X(archive_entry_set_size) \
	X(archive_entry_set_symlink) \
	X(archive_entry_set_uid) \
	X(archive_entry_size) \
	X(archive_entry_symlink) \
	X(archive_entry_uid) \
	X(archive_entry_xattr_add_entry) \
	X(archive_entry_xattr_next) \
	X(archive_entry_xattr_reset) \
	X(archive_error_string) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open) \
	X(archive_read_open_fd) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_filter_bzip2) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_none) \
	X(archive_read_support_filter_xz) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_empty) \
	X(archive_read_support_format_raw) \
	X(archive_read_support_format_tar) \
	X(archive_set_error) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_add_filter_none) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_bytes_per_block) \
	X(archive_write_set_filter_option) \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_set_format_raw)

typedef struct ArchiveApi {
#define X(name) __typeof__(&name) name;
	ARCHIVE_LAZY_FUNCS(X)
#undef X
} ArchiveApi;

/* The table; loads libarchive on the first call (shared/lazy.h). */
const ArchiveApi *archive_api(void);

#ifndef ARCHIVE_LAZY_NO_REDIRECT
#define archive_entry_atime (archive_api()->archive_entry_atime)
#define archive_entry_atime_is_set (archive_api()->archive_entry_atime_is_set)
#define archive_entry_atime_nsec (archive_api()->archive_entry_atime_nsec)
#define archive_entry_filetype (archive_api()->archive_entry_filetype)
#define archive_entry_free (archive_api()->archive_entry_free)
#define archive_entry_gid (archive_api()->archive_entry_gid)
#define archive_entry_hardlink (archive_api()->archive_entry_hardlink)
#define archive_entry_linkify (archive_api()->archive_entry_linkify)
#define archive_entry_linkresolver_free (archive_api()->archive_entry_linkresolver_free)
#define archive_entry_linkresolver_new (archive_api()->archive_entry_linkresolver_new)
#define archive_entry_linkresolver_set_strategy (archive_api()->archive_entry_linkresolver_set_strategy)
#define archive_entry_mtime (archive_api()->archive_entry_mtime)
#define archive_entry_mtime_nsec (archive_api()->archive_entry_mtime_nsec)
#define archive_entry_new (archive_api()->archive_entry_new)
#define archive_entry_pathname (archive_api()->archive_entry_pathname)
#define archive_entry_perm (archive_api()->archive_entry_perm)
#define archive_entry_rdev (archive_api()->archive_entry_rdev)
#define archive_entry_set_dev (archive_api()->archive_entry_set_dev)
#define archive_entry_set_filetype (archive_api()->archive_entry_set_filetype)
#define archive_entry_set_gid (archive_api()->archive_entry_set_gid)
#define archive_entry_set_hardlink (archive_api()->archive_entry_set_hardlink)
#define archive_entry_set_ino64 (archive_api()->archive_entry_set_ino64)
#define archive_entry_set_mode (archive_api()->archive_entry_set_mode)
#define archive_entry_set_mtime (archive_api()->archive_entry_set_mtime)
#define archive_entry_set_nlink (archive_api()->archive_entry_set_nlink)
#define archive_entry_set_pathname (archive_api()->archive_entry_set_pathname)
#define archive_entry_set_perm (archive_api()->archive_entry_set_perm)
#define archive_entry_set_rdev (archive_api()->archive_entry_set_rdev)
#define archive_entry_set_size (archive_api()->archive_entry_set_size)
#define archive_entry_set_symlink (archive_api()->archive_entry_set_symlink)
#define archive_entry_set_uid (archive_api()->archive_entry_set_uid)
#define archive_entry_size (archive_api()->archive_entry_size)
#define archive_entry_symlink (archive_api()->archive_entry_symlink)
#define archive_entry_uid (archive_api()->archive_entry_uid)
#define archive_entry_xattr_add_entry (archive_api()->archive_entry_xattr_add_entry)
#define archive_entry_xattr_next (archive_api()->archive_entry_xattr_next)
#define archive_entry_xattr_reset (archive_api()->archive_entry_xattr_reset)
#define archive_error_string (archive_api()->archive_error_string)
#define archive_read_data (archive_api()->archive_read_data)
#define archive_read_data_block (archive_api()->archive_read_data_block)
#define archive_read_free (archive_api()->archive_read_free)
#define archive_read_new (archive_api()->archive_read_new)
#define archive_read_next_header (archive_api()->archive_read_next_header)
#define archive_read_open (archive_api()->archive_read_open)
#define archive_read_open_fd (archive_api()->archive_read_open_fd)
#define archive_read_support_filter_all (archive_api()->archive_read_support_filter_all)
#define archive_read_support_filter_bzip2 (archive_api()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (archive_api()->archive_read_support_filter_gzip)
#define archive_read_support_filter_none (archive_api()->archive_read_support_filter_none)
#define archive_read_support_filter_xz (archive_api()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (archive_api()->archive_read_support_filter_zstd)
#define archive_read_support_format_empty (archive_api()->archive_read_support_format_empty)
#define archive_read_support_format_raw (archive_api()->archive_read_support_format_raw)
#define archive_read_support_format_tar (archive_api()->archive_read_support_format_tar)
#define archive_set_error (archive_api()->archive_set_error)
#define archive_write_add_filter_gzip (archive_api()->archive_write_add_filter_gzip)
#define archive_write_add_filter_none (archive_api()->archive_write_add_filter_none)
#define archive_write_close (archive_api()->archive_write_close)
#define archive_write_data (archive_api()->archive_write_data)
#define archive_write_free (archive_api()->archive_write_free)
#define archive_write_header (archive_api()->archive_write_header)
#define archive_write_new (archive_api()->archive_write_new)
#define archive_write_open (archive_api()->archive_write_open)
#define archive_write_set_bytes_in_last_block (archive_api()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (archive_api()->archive_write_set_bytes_per_block)
#define archive_write_set_filter_option (archive_api()->archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted (archive_api()->archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw (archive_api()->archive_write_set_format_raw)

#endif

#endif
