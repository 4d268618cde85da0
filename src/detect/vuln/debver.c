/*
 * debver.c - Debian version ordering and validation (deb-version(7)).
 *
 * The comparison follows dpkg's verrevcmp on spans of the input rather than
 * copies, so comparing allocates nothing and reads nothing past either
 * string.  Digit runs are compared as strings (leading zeros skipped, then
 * the first differing digit of equally long runs), never converted to
 * integers.  This file must never allocate, and never read past a string's
 * terminating NUL.
 */
#include <string.h>

#include "debver.h"
#include "err.h"

/* A part of a version: len bytes at p (not NUL-terminated). */
struct span {
	const char *p;
	size_t len;
};

/* The three parts of a version, as dpkg splits it. */
struct parts {
	struct span epoch, upstream, revision;
};

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Weight of one character in a non-digit run; 0 is the end of the run. */
static int
order(unsigned char c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c != 0)
		return c + 256;
	return 0;
}

/* The character at i of s, or 0 past its end. */
static unsigned char
at(const struct span *s, size_t i)
{
	return i < s->len ? (unsigned char)s->p[i] : 0;
}

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

/* dpkg's verrevcmp over two spans. */
static int
span_cmp(const struct span *a, const struct span *b)
{
	size_t i = 0, j = 0;

	while (i < a->len || j < b->len) {
		int first_diff = 0;

		while ((i < a->len && !is_digit(at(a, i))) ||
		    (j < b->len && !is_digit(at(b, j)))) {
			int ac = order(at(a, i)), bc = order(at(b, j));

			if (ac != bc)
				return sign(ac - bc);
			i++;
			j++;
		}
		while (at(a, i) == '0')
			i++;
		while (at(b, j) == '0')
			j++;
		while (is_digit(at(a, i)) && is_digit(at(b, j))) {
			if (first_diff == 0)
				first_diff = (int)at(a, i) - (int)at(b, j);
			i++;
			j++;
		}
		if (is_digit(at(a, i)))
			return 1;
		if (is_digit(at(b, j)))
			return -1;
		if (first_diff != 0)
			return sign(first_diff);
	}
	return 0;
}

/*
 * Splits v as dpkg does: the epoch before the first ':', the revision after
 * the last '-' of what follows, the upstream version in between.  No epoch
 * reads as "0" and no revision as "" (which compares equal to "0").
 */
static void
split(const char *v, struct parts *out)
{
	const char *colon = strchr(v, ':'), *rest, *hyphen;
	size_t n;

	if (colon != NULL) {
		out->epoch.p = v;
		out->epoch.len = (size_t)(colon - v);
		rest = colon + 1;
	} else {
		out->epoch.p = "0";
		out->epoch.len = 1;
		rest = v;
	}
	n = strlen(rest);
	hyphen = memrchr(rest, '-', n);
	out->upstream.p = rest;
	if (hyphen != NULL) {
		out->upstream.len = (size_t)(hyphen - rest);
		out->revision.p = hyphen + 1;
		out->revision.len = n - out->upstream.len - 1;
	} else {
		out->upstream.len = n;
		out->revision.p = "";
		out->revision.len = 0;
	}
}

int
mamori_debver_cmp(const char *a, const char *b)
{
	struct parts pa, pb;
	int r;

	split(a, &pa);
	split(b, &pb);
	/* An epoch is all digits in a valid version, where span_cmp is a
	 * numeric comparison of any length. */
	if ((r = span_cmp(&pa.epoch, &pb.epoch)) != 0)
		return r;
	if ((r = span_cmp(&pa.upstream, &pb.upstream)) != 0)
		return r;
	return span_cmp(&pa.revision, &pb.revision);
}

static int
fail(const char **reason, const char *why)
{
	if (reason != NULL)
		*reason = why;
	return MAMORI_ERR_BAD_DEBVER;
}

/* 1 when every character of s is a letter, a digit or one of extra. */
static int
span_chars_ok(const struct span *s, const char *extra)
{
	size_t i;

	for (i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->p[i];

		if (!is_digit(c) && !is_alpha(c) && strchr(extra, c) == NULL)
			return 0;
	}
	return 1;
}

int
mamori_debver_check(const char *v, const char **reason)
{
	static const char max_epoch[] = MAMORI_DEBVER_EPOCH_MAX;
	struct parts p;
	struct span e;
	size_t n, i;

	if (reason != NULL)
		*reason = NULL;
	if (v == NULL || v[0] == '\0')
		return fail(reason, "version is empty");
	n = strnlen(v, MAMORI_DEBVER_MAX + 1);
	if (n > MAMORI_DEBVER_MAX)
		return fail(reason, "version is longer than 256 bytes");
	split(v, &p);
	if (strchr(v, ':') != NULL) {
		if (p.epoch.len == 0)
			return fail(reason, "epoch before ':' is empty");
		for (i = 0; i < p.epoch.len; i++)
			if (!is_digit((unsigned char)p.epoch.p[i]))
				return fail(reason, "epoch before ':' is not "
				    "a number");
		e = p.epoch;
		while (e.len > 1 && e.p[0] == '0') {
			e.p++;
			e.len--;
		}
		if (e.len > sizeof(max_epoch) - 1 ||
		    (e.len == sizeof(max_epoch) - 1 &&
		    memcmp(e.p, max_epoch, e.len) > 0))
			return fail(reason, "epoch is too big");
		if (v[n - 1] == ':')
			return fail(reason, "nothing after the epoch's ':'");
	}
	if (p.upstream.len == 0)
		return fail(reason, "upstream version is empty");
	if (!is_digit((unsigned char)p.upstream.p[0]))
		return fail(reason, "upstream version does not start with a "
		    "digit");
	if (!span_chars_ok(&p.upstream, ".+~-"))
		return fail(reason, "upstream version holds a character "
		    "other than letters, digits and . + ~ -");
	if (v[n - 1] == '-')
		return fail(reason, "revision after the last '-' is empty");
	if (!span_chars_ok(&p.revision, ".+~"))
		return fail(reason, "revision holds a character other than "
		    "letters, digits and . + ~");
	return 0;
}
