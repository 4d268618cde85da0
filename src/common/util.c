/*
 * util.c - see util.h.  Nothing here reads beyond a NUL or writes beyond the
 * length it was given.
 */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

size_t
mamori_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);

	if (dstlen > 0) {
		size_t c = n < dstlen - 1 ? n : dstlen - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
mamori_memdup_str(const void *p, size_t n)
{
	char *s;

	if (n == SIZE_MAX || (s = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
mamori_path_join(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= outlen)
		return MAMORI_ERR_TOO_LARGE;
	return 0;
}

int
mamori_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	*out = 0;
	if (s == NULL || *s == '\0' || strlen(s) > 20)
		return MAMORI_ERR_INVALID;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return MAMORI_ERR_INVALID;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return MAMORI_ERR_INVALID;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return MAMORI_ERR_INVALID;
	*out = v;
	return 0;
}

int
mamori_parse_duration(const char *s, uint64_t *seconds)
{
	uint64_t total = 0, v, unit;
	const char *p = s;
	int parts = 0;

	*seconds = 0;
	if (s == NULL || *s == '\0' || strlen(s) > 32)
		return MAMORI_ERR_INVALID;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return MAMORI_ERR_INVALID;
		v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v > 1000000000ULL)
				return MAMORI_ERR_INVALID;
			v = v * 10 + (uint64_t)(*p++ - '0');
		}
		switch (*p) {
		case '\0':
			if (parts > 0)
				return MAMORI_ERR_INVALID;
			unit = 1;
			break;
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = 86400; p++; break;
		case 'w': unit = 7 * 86400; p++; break;
		default:
			return MAMORI_ERR_INVALID;
		}
		total += v * unit;
		parts++;
	}
	*seconds = total;
	return 0;
}

int
mamori_parse_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t p;

	host[0] = '\0';
	*port = 0;
	if (s == NULL || *s == '\0')
		return MAMORI_ERR_INVALID;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return MAMORI_ERR_INVALID;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon)
			return MAMORI_ERR_INVALID;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || hl > MAMORI_HOST_MAX)
		return MAMORI_ERR_INVALID;
	if (mamori_parse_u64(colon + 1, 1, 65535, &p) != 0)
		return MAMORI_ERR_INVALID;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (strpbrk(host, " /\\@") != NULL) {
		host[0] = '\0';
		return MAMORI_ERR_INVALID;
	}
	*port = (uint16_t)p;
	return 0;
}

uint64_t
mamori_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t
mamori_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
mamori_time_str(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		memcpy(out, "-", 2);
		return out;
	}
	strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
	return out;
}

const char *
mamori_size_str(uint64_t bytes, char out[32])
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, 32, "%.1f %s", v, units[u]);
	return out;
}

const char *
mamori_span_str(uint64_t s, char out[32])
{
	if (s < 60)
		snprintf(out, 32, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, 32, "%llum", (unsigned long long)(s / 60));
	else if (s < 86400)
		snprintf(out, 32, "%lluh %llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, 32, "%llud %lluh", (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
	return out;
}

size_t
mamori_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}
