/*
 * log.h - one line per event on stderr: time, program, level, message.
 * Agent-supplied text must be passed as an argument ("%s"), never as the
 * format; mamori_log_safe() quotes control characters so a hostile string
 * cannot forge a log line.
 */
#ifndef MAMORI_LOG_H
#define MAMORI_LOG_H

#include <stddef.h>

enum mamori_log_level {
	MAMORI_LOG_ERROR = 0,
	MAMORI_LOG_WARN = 1,
	MAMORI_LOG_INFO = 2,
	MAMORI_LOG_DEBUG = 3,
};

/* Sets the program name printed on every line and the most verbose level
 * printed.  Not thread-safe; call once at start. */
void mamori_log_init(const char *program, enum mamori_log_level level);

void mamori_log(enum mamori_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) mamori_log(MAMORI_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) mamori_log(MAMORI_LOG_WARN, __VA_ARGS__)
#define log_info(...) mamori_log(MAMORI_LOG_INFO, __VA_ARGS__)
#define log_debug(...) mamori_log(MAMORI_LOG_DEBUG, __VA_ARGS__)

/* Copies s into out (size outlen, NUL-terminated, truncated with "...")
 * with every byte outside printable ASCII written as \xNN.  Returns out. */
const char *mamori_log_safe(const char *s, char *out, size_t outlen);

#endif
