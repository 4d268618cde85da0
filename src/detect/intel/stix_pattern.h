/*
 * stix_pattern.h - the STIX 2.1 patterning language: a parser for the whole
 * grammar (oasis-open STIXPattern.g4) and a compiler from a parsed pattern
 * to what mamori can match against one event's observables.
 *
 * The parser accepts every pattern the grammar accepts and rejects the rest
 * with the byte offset of the problem.  The compiler is deliberately
 * narrower: file hashes, IPv4/IPv6 addresses and CIDRs, domain names and
 * URLs compared with = (or IN, or ISSUBSET for a network), joined by AND and
 * OR inside one observation and by OR between observations.  Anything else
 * (FOLLOWEDBY, qualifiers, AND between observations, other object types,
 * other operators, NOT) is refused with a precise reason; it is never
 * dropped silently.  Pattern text is untrusted: every bound has a name.
 */
#ifndef MAMORI_STIX_PATTERN_H
#define MAMORI_STIX_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define MAMORI_STIX_PATTERN_MAX (64 * 1024) /* bytes of a pattern */
#define MAMORI_STIX_DEPTH_MAX 64      /* nested brackets and parentheses */
#define MAMORI_STIX_NODES_MAX 16384   /* tree nodes of one pattern */
#define MAMORI_STIX_PATH_MAX 32       /* components of an object path */
#define MAMORI_STIX_SET_MAX 4096      /* members of an IN (...) set */
#define MAMORI_STIX_DNF_MAX 4096      /* alternatives after compiling */
#define MAMORI_STIX_CONJ_TERMS_MAX 32 /* terms AND'ed in one alternative */
#define MAMORI_STIX_REASON_MAX 256    /* bytes of a reason or error text */

/* Where and why a pattern was refused by the parser. */
struct mamori_stix_error {
	size_t pos;                            /* byte offset in the text */
	char msg[MAMORI_STIX_REASON_MAX];
};

struct mamori_stix_pattern; /* a parsed pattern, opaque */

/*
 * Parses len bytes of pattern text.  On success *out gets the tree (free
 * with mamori_stix_pattern_free).  On failure returns
 * MAMORI_ERR_STIX_SYNTAX (or TOO_LARGE past a limit, ALLOC), *out is NULL,
 * and err (when not NULL) says where and what.
 */
int mamori_stix_pattern_parse(const char *text, size_t len,
    struct mamori_stix_pattern **out, struct mamori_stix_error *err);

void mamori_stix_pattern_free(struct mamori_stix_pattern *p);

/*
 * Writes p fully parenthesised in canonical spelling into out (NUL
 * terminated, cut to outlen): "[(a:b = 'x' OR (c:d = 1 AND e:f = 2))]".
 * Shows how the parser grouped a pattern; returns MAMORI_ERR_TOO_LARGE
 * when cut.
 */
int mamori_stix_pattern_dump(const struct mamori_stix_pattern *p, char *out,
    size_t outlen);

/* What a compiled term compares with. */
enum mamori_stix_kind {
	MAMORI_STIX_SHA256 = 0,
	MAMORI_STIX_SHA1,
	MAMORI_STIX_MD5,
	MAMORI_STIX_IPV4,   /* address or CIDR */
	MAMORI_STIX_IPV6,   /* address or CIDR */
	MAMORI_STIX_DOMAIN, /* the name and its subdomains */
	MAMORI_STIX_URL,
	MAMORI_STIX_KIND_COUNT
};

/* "sha256", "ipv4", "domain", ... */
const char *mamori_stix_kind_name(enum mamori_stix_kind kind);

/*
 * One comparison mamori can match.  value is the normalised text:
 * lower-case hex for hashes; "a.b.c.d" or "a.b.c.d/n" (host bits cleared)
 * for addresses; a lower-case name without trailing dot for domains; the
 * normalised URL (see mamori_stix_url_normalise).  For addresses, addr
 * holds the 16 bytes (IPv4 as ::ffff:a.b.c.d) and prefix the prefix length
 * over those 128 bits; for hashes addr holds the digest and addr_len its
 * length.
 */
struct mamori_stix_term {
	enum mamori_stix_kind kind;
	char *value;
	uint8_t addr[32];
	uint8_t addr_len;
	uint8_t prefix;
};

/* Terms first..first+count-1 must all hold for the same event. */
struct mamori_stix_conj {
	size_t first;
	size_t count;
};

/*
 * A compiled pattern: it matches an event when any alternative does.
 * note, when not NULL, says what the matcher cannot see (for example an
 * MD5 that mamori's own events never carry).
 */
struct mamori_stix_compiled {
	struct mamori_stix_term *terms;
	size_t nterms;
	struct mamori_stix_conj *conj;
	size_t nconj;
	char *note;
};

/*
 * Compiles p.  Returns 0 with *out set (free with
 * mamori_stix_compiled_free); MAMORI_ERR_STIX_UNSUPPORTED with *out NULL
 * and the reason in reason (cut to reasonlen) when mamori cannot match the
 * pattern; MAMORI_ERR_ALLOC.
 */
int mamori_stix_pattern_compile(const struct mamori_stix_pattern *p,
    struct mamori_stix_compiled **out, char *reason, size_t reasonlen);

void mamori_stix_compiled_free(struct mamori_stix_compiled *c);

/*
 * Minimal URL normalisation, shared by indicators and events: scheme and
 * host lower-cased, the fragment removed, an empty path written "/".
 * Everything else (case of the path, percent escapes, query order) is kept
 * as is.  Writes into out (outlen bytes); MAMORI_ERR_INVALID when s has no
 * "scheme://host", MAMORI_ERR_TOO_LARGE when it does not fit.
 */
#define MAMORI_STIX_URL_MAX 4096
int mamori_stix_url_normalise(const char *s, char *out, size_t outlen);

/*
 * Domain normalisation, shared by indicators and events: lower-case, one
 * trailing dot removed, then checked as a host name (labels of letters,
 * digits, '-' and '_', 1..63 bytes, 253 bytes in all).  MAMORI_ERR_INVALID
 * when it is not one.
 */
int mamori_stix_domain_normalise(const char *s, char *out, size_t outlen);

#endif
