/*
 * stix_bundle.h - reading STIX 2.1 bundles: the indicator objects, each with
 * its pattern parsed and compiled for mamori's matcher.
 *
 * A bundle is untrusted JSON from outside the fleet.  It is refused whole
 * only when it is not a bundle or breaks a named limit; one bad indicator
 * (no pattern, a syntax error, a pattern_type other than "stix", a pattern
 * mamori cannot match) stays in the result, marked unsupported with its
 * reason, so that nothing is dropped without a word.  Objects of other types
 * are counted.
 */
#ifndef MAMORI_STIX_BUNDLE_H
#define MAMORI_STIX_BUNDLE_H

#include <stddef.h>

#include "stix_pattern.h"

#define MAMORI_STIX_BUNDLE_MAX_BYTES (64 * 1024 * 1024) /* one file */
#define MAMORI_STIX_OBJECTS_MAX 1000000   /* objects in one bundle */
#define MAMORI_STIX_JSON_DEPTH_MAX 32     /* nesting of arrays/objects */
#define MAMORI_STIX_LIST_MAX 256          /* labels, phases, ATT&CK ids */
#define MAMORI_STIX_TEXT_MAX (64 * 1024)  /* id, name, description, ... */

struct mamori_stix_indicator {
	char *id;               /* "indicator--<uuid>" */
	char *name;             /* may be NULL */
	char *description;      /* may be NULL */
	char *pattern;          /* may be NULL when missing */
	char *pattern_type;     /* may be NULL when missing */
	char *valid_from;       /* may be NULL */
	char *valid_until;      /* may be NULL */
	char **labels;          /* labels and indicator_types together */
	size_t nlabels;
	char **kill_chain;      /* "kill_chain_name:phase_name" */
	size_t nkill_chain;
	char **attack_ids;      /* external_id of mitre-attack references */
	size_t nattack_ids;
	/* Compiled pattern when mamori can match it, else NULL and reason
	 * says why (syntax errors with their offset). */
	struct mamori_stix_compiled *compiled;
	char reason[MAMORI_STIX_REASON_MAX];
};

struct mamori_stix_bundle {
	char *id;                /* the bundle's id; may be NULL */
	char *source;            /* where it came from (a file name) */
	struct mamori_stix_indicator *ind;
	size_t nind;
	size_t nsupported;       /* indicators with compiled != NULL */
	size_t nother;           /* objects that are not indicators */
};

/*
 * Parses len bytes of JSON as a STIX 2.1 bundle; source is copied into the
 * result to say where it came from.  Returns 0 with *out set (free with
 * mamori_stix_bundle_free); MAMORI_ERR_STIX_BUNDLE (not JSON, not a
 * bundle), MAMORI_ERR_TOO_LARGE (a limit above) or MAMORI_ERR_ALLOC with
 * *out NULL and the problem in err (cut to errlen).
 */
int mamori_stix_bundle_parse(const char *json, size_t len, const char *source,
    struct mamori_stix_bundle **out, char *err, size_t errlen);

/* Reads the file at path and parses it as above (source = path);
 * MAMORI_ERR_IO when it cannot be read. */
int mamori_stix_bundle_load(const char *path, struct mamori_stix_bundle **out,
    char *err, size_t errlen);

void mamori_stix_bundle_free(struct mamori_stix_bundle *b);

#endif
