/* parse.h - parsers for the small user-facing value syntaxes (sizes, durations,
 * CPU counts, signals, ids).  Each returns -EINVAL on bad input and never
 * allocates. */
#ifndef BERTH_BASE_PARSE_H
#define BERTH_BASE_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* "512", "64k", "12m", "1g", "1.5g", "100b" (docker's units: b k m g t, 1024-based) */
int parse_size(const char *s, int64_t *ret);
/* "1", "0.5", "2.25" -> milli-CPUs */
int parse_cpus(const char *s, int64_t *ret_milli);
/* "10s", "500ms", "1m30s", "1h", plain seconds "10" -> milliseconds */
int parse_duration_ms(const char *s, int64_t *ret);
int parse_int64(const char *s, int64_t *ret);
/* "TERM", "SIGTERM", "15" -> 15 */
int parse_signal(const char *s, int *ret);
const char *signal_name(int sig);
/* 64 hex chars of randomness (from getrandom) into out[65] */
void random_hex_id(char out[65]);
/* Go's RFC3339Nano, UTC, into buf (>= 40 bytes) from a realtime timespec. */
void format_rfc3339nano(char *buf, size_t n, int64_t sec, long nsec);
/* "2 minutes ago" style age for tables */
void format_age(char *buf, size_t n, int64_t seconds);
/* "1.2MB" style sizes as docker prints them (1000-based) */
void format_size_human(char *buf, size_t n, int64_t bytes);
/* exactly len lowercase hex digits (ids, digests without the algorithm) */
bool str_is_hex(const char *s, size_t len);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

#endif
