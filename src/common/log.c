/*
 * log.c - stderr logger (see log.h).  Must never use a caller's data as a
 * format string.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_program = "mamori";
static enum mamori_log_level log_level = MAMORI_LOG_INFO;

void
mamori_log_init(const char *program, enum mamori_log_level level)
{
	log_program = program;
	log_level = level;
}

void
mamori_log(enum mamori_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	char stamp[32], line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
	    log_program, names[level], line);
	fflush(stderr);
}

const char *
mamori_log_safe(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (o + 1 >= outlen)
				goto trunc;
			out[o++] = (char)ch;
		} else {
			if (o + 4 >= outlen)
				goto trunc;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
trunc:
	if (outlen >= 4) {
		o = outlen - 4;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
	return out;
}
