/*
 * intel.h - the threat-intelligence matcher: compiled STIX indicators from
 * any number of bundles, indexed so that one event is checked with a few
 * hash lookups whatever the number of indicators.
 *
 * What matches (decided here, the same for every caller):
 *  - hashes: SHA-256, SHA-1, MD5, hex in either case;
 *  - addresses: exactly, or inside a CIDR; IPv4 and IPv6 (an IPv4-mapped
 *    IPv6 address is the IPv4 address).  Every CIDR containing the address
 *    matches, longest prefix first;
 *  - domains: case-insensitive, a trailing dot ignored; an indicator
 *    domain matches itself and every subdomain ("evil.example" matches
 *    "a.b.evil.example", not "notevil.example");
 *  - URLs: exactly, after mamori_stix_url_normalise on both sides.
 * An alternative of AND'ed terms matches only when every term matches the
 * same event's observables.  The set never scans indicators one by one.
 */
#ifndef MAMORI_INTEL_H
#define MAMORI_INTEL_H

#include <stddef.h>
#include <stdint.h>

#include "stix_bundle.h"
#include "stix_pattern.h"

#define MAMORI_INTEL_INDICATORS_MAX 10000000 /* in one set */
#define MAMORI_INTEL_HITS_MAX 4096 /* term hits looked at for one event */

struct mamori_intel; /* the set, opaque */

/* What one event carries; any member may be NULL (ip_len 0). */
struct mamori_intel_obs {
	const char *sha256;        /* hex */
	const char *sha1;          /* hex */
	const char *md5;           /* hex */
	const char *ip;            /* "203.0.113.5", "2001:db8::1" */
	const uint8_t *ip_bytes;   /* used when ip is NULL: 4 or 16 bytes */
	size_t ip_len;
	const char *host;          /* a host or domain name */
	const char *url;
};

/* One matching indicator.  Pointers stay valid as long as the set. */
struct mamori_intel_match {
	const char *id;            /* STIX id */
	const char *name;          /* may be NULL */
	const char *pattern;
	const char *source;        /* the bundle's source; may be NULL */
	enum mamori_stix_kind kind; /* of the term that matched */
	const char *value;         /* the indicator's value that matched */
};

/* A new empty set in *out (free with mamori_intel_free). */
int mamori_intel_new(struct mamori_intel **out);

void mamori_intel_free(struct mamori_intel *s);

/*
 * Adds one indicator (copied; ind may be freed afterwards).  Indicators
 * without a compiled pattern are refused with MAMORI_ERR_STIX_UNSUPPORTED;
 * ind->reason says why.  source names where it came from (copied; may be
 * NULL).
 */
int mamori_intel_add(struct mamori_intel *s,
    const struct mamori_stix_indicator *ind, const char *source);

/* Adds every supported indicator of b, with b->source; *added (when not
 * NULL) gets how many. */
int mamori_intel_add_bundle(struct mamori_intel *s,
    const struct mamori_stix_bundle *b, size_t *added);

/* Indicators in the set. */
size_t mamori_intel_count(const struct mamori_intel *s);

/*
 * Matches one event's observables.  Writes at most max matches to out,
 * each indicator once, and their number to *n.  Returns 0;
 * MAMORI_ERR_TOO_LARGE when more matched than max (out is full) or when
 * the event's values are used by more than MAMORI_INTEL_HITS_MAX terms
 * (out holds the matches found among the first of them);
 * MAMORI_ERR_INVALID when an observable is malformed (a hash of the wrong
 * length, an unparsable address, host or URL), with *n 0.
 */
int mamori_intel_match(const struct mamori_intel *s,
    const struct mamori_intel_obs *obs, struct mamori_intel_match *out,
    size_t max, size_t *n);

#endif
