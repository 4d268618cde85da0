/*
 * util.h - small checked helpers every program needs: bounded string copy
 * and path joining, number, duration and address parsing, time formatting.
 * Parsers reject anything they do not fully consume.
 */
#ifndef MAMORI_UTIL_H
#define MAMORI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define MAMORI_HOST_MAX 255

/* Copies src into dst (size dstlen, NUL-terminated); returns strlen(src),
 * so a result >= dstlen means it was truncated. */
size_t mamori_strlcpy(char *dst, const char *src, size_t dstlen);

/* A NUL-terminated malloc'ed copy of the n bytes at p (which need not be
 * terminated: unlike strndup, nothing past p + n is read); NULL when out of
 * memory. */
char *mamori_memdup_str(const void *p, size_t n);

/* out = a "/" b; MAMORI_ERR_TOO_LARGE when it does not fit. */
int mamori_path_join(char *out, size_t outlen, const char *a, const char *b);

/* Parses a decimal integer in [min, max]; no sign, no spaces, no suffix. */
int mamori_parse_u64(const char *s, uint64_t min, uint64_t max,
    uint64_t *out);

/* Parses a duration such as "90s", "15m", "24h", "7d", "2w" or "1h30m"
 * (a bare number means seconds) into seconds. */
int mamori_parse_duration(const char *s, uint64_t *seconds);

/* Splits "host:port", "[v6]:port" into host (without brackets) and port. */
int mamori_parse_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port);

/* Length of the well-formed UTF-8 sequence at s (n >= 1 bytes left), or
 * 0 when there is none there (RFC 3629: overlong forms, surrogates and
 * code points past U+10FFFF are not UTF-8). */
size_t mamori_utf8_seq(const unsigned char *s, size_t n);

/* Seconds since the epoch. */
uint64_t mamori_now(void);
/* Milliseconds of a monotonic clock. */
uint64_t mamori_monotonic_ms(void);

/* "2026-11-28 10:15:00Z" (out holds 32 bytes); "-" for 0. */
const char *mamori_time_str(uint64_t t, char out[32]);

/* "1.5 GiB"-style size (out holds 32 bytes). */
const char *mamori_size_str(uint64_t bytes, char out[32]);

/* "3d 4h"-style span (out holds 32 bytes). */
const char *mamori_span_str(uint64_t seconds, char out[32]);

#endif
