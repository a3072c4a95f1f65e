/* log.h - leveled logging to stderr.  Library code does not log (it returns
 * errors); only boundaries and long-running loops (supervisor, servers) do. */
#ifndef BERTH_BASE_LOG_H
#define BERTH_BASE_LOG_H

enum { LOG_ERR_ = 0, LOG_WARN_ = 1, LOG_INFO_ = 2, LOG_DEBUG_ = 3 };

void log_set_level(int level);
int log_get_level(void);
/* Parses "error|warn|info|debug"; returns -EINVAL if unknown. */
int log_parse_level(const char *s);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERR_, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN_, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO_, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG_, __VA_ARGS__)

#endif
