#ifndef CASELLA_LOG_H
#define CASELLA_LOG_H

#include <stddef.h>

/*
 * One line per event on stderr, key=value, with a level.  Untrusted text
 * (user names, mailbox names) must go through log_escape() first.
 */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * Copies untrusted text into buf (size bytes) with control characters,
 * quotes, backslashes and non-ASCII bytes escaped as \xNN; truncates.
 * Returns buf.
 */
const char *log_escape(char *buf, size_t size, const char *s, size_t len);

#endif
