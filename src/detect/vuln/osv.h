/*
 * osv.h - OSV advisories (https://ossf.github.io/osv-schema/) read for
 * Debian: the fields the matcher and people need, with every list bounded.
 *
 * Only affected entries of ecosystem "Debian:<release>" (Debian:7,
 * Debian:12, ...) and ranges of type ECOSYSTEM are kept; the rest are
 * counted and reported as skipped, with the reason.  An advisory that
 * breaks the schema in a part we read (a wrong type, a bad version, a list
 * over its limit) is rejected whole, with one line naming the file, the
 * advisory and the problem; the other advisories of the file are kept.
 */
#ifndef MAMORI_OSV_H
#define MAMORI_OSV_H

#include <stddef.h>

#define MAMORI_OSV_FILE_MAX (64 * 1024 * 1024) /* bytes of one file */
#define MAMORI_OSV_ADVISORIES_MAX 1000000      /* advisories in one set */
#define MAMORI_OSV_DIR_FILES_MAX 1000000       /* .json files in a dir */
#define MAMORI_OSV_AFFECTED_MAX 1024           /* affected[] of one */
#define MAMORI_OSV_RANGES_MAX 64               /* ranges[] of an affected */
#define MAMORI_OSV_EVENTS_MAX 256              /* events[] of a range */
#define MAMORI_OSV_VERSIONS_MAX 16384          /* versions[] of an affected */
#define MAMORI_OSV_ALIASES_MAX 256             /* aliases[] of one */
#define MAMORI_OSV_SEVERITY_MAX 16             /* severity[] of one */
#define MAMORI_OSV_STRING_MAX 1024    /* bytes of an id, name, date, score */
#define MAMORI_OSV_TEXT_MAX (256 * 1024) /* bytes of a summary or details */
#define MAMORI_OSV_MESSAGE_MAX 512    /* bytes of one reported problem */

enum mamori_osv_event_kind {
	MAMORI_OSV_INTRODUCED = 1,
	MAMORI_OSV_LAST_AFFECTED = 2,
	MAMORI_OSV_FIXED = 3,
	MAMORI_OSV_LIMIT = 4,
};

struct mamori_osv_event {
	int kind;              /* enum mamori_osv_event_kind */
	char *version;         /* a valid Debian version, or "0" */
};

/* A range of type ECOSYSTEM; its events sorted by version (introduced
 * "0" first; on equal versions introduced, last_affected, fixed, limit). */
struct mamori_osv_range {
	struct mamori_osv_event *events;
	size_t n_events;
};

struct mamori_osv_affected {
	char *release;         /* "12" of "Debian:12" */
	char *package;         /* the Debian source package */
	struct mamori_osv_range *ranges;
	size_t n_ranges;
	char **versions;       /* affected versions listed one by one */
	size_t n_versions;
};

struct mamori_osv_severity {
	char *type;            /* "CVSS_V3", ... */
	char *score;
};

struct mamori_osv_advisory {
	char *id;
	char *modified;
	char *published;       /* NULL when absent; so are summary, details */
	char *summary;
	char *details;
	char **aliases;        /* CVE ids and others */
	size_t n_aliases;
	struct mamori_osv_severity *severity;
	size_t n_severity;
	struct mamori_osv_affected *affected;   /* Debian entries only */
	size_t n_affected;
	char *file;            /* the file it came from */
};

/* Advisories read from files, with counts of what was left out. */
struct mamori_osv_set {
	struct mamori_osv_advisory **items;
	size_t n;
	size_t priv_cap;
	size_t n_files;            /* files read */
	size_t n_rejected;         /* advisories or files refused */
	size_t n_withdrawn;        /* advisories withdrawn: not kept */
	size_t n_skipped_affected; /* affected entries of other ecosystems */
	size_t n_skipped_ranges;   /* ranges of type SEMVER or GIT */
};

enum mamori_osv_report_kind {
	MAMORI_OSV_REJECTED = 1,   /* a problem: input refused */
	MAMORI_OSV_SKIPPED = 2,    /* valid, but nothing mamori matches */
};

/* Called once per problem or skip: file is the file's path, message one
 * line without a newline (untrusted text in it is cut, not escaped: print
 * it through an escaper).  Both valid only during the call. */
typedef void (*mamori_osv_report_fn)(void *arg, int kind, const char *file,
    const char *message);

/* Starts an empty set.  Allocates nothing. */
void mamori_osv_set_init(struct mamori_osv_set *set);

/* Frees every advisory of set; set is left empty and reusable. */
void mamori_osv_set_free(struct mamori_osv_set *set);

/*
 * Parses len bytes of JSON - one advisory or an array of them - named file
 * in reports, adding the advisories kept to set.  Returns 0 when the JSON
 * itself was read (even if advisories in it were rejected: see
 * set->n_rejected and the reports); MAMORI_ERR_BAD_ADVISORY when it is not
 * JSON or neither an object nor an array; MAMORI_ERR_TOO_LARGE past
 * MAMORI_OSV_ADVISORIES_MAX; MAMORI_ERR_ALLOC.  report may be NULL.
 */
int mamori_osv_parse(const char *data, size_t len, const char *file,
    struct mamori_osv_set *set, mamori_osv_report_fn report, void *arg);

/*
 * Reads path: a file, or a directory whose every *.json file (not
 * recursing, in name order) is read.  Files that cannot be read or parsed
 * are reported and counted in set->n_rejected, and the rest still read.
 * Returns 0, MAMORI_ERR_NOT_FOUND/PERMISSION/IO/SYSTEM when path itself
 * cannot be opened, MAMORI_ERR_TOO_LARGE or MAMORI_ERR_ALLOC.
 */
int mamori_osv_load(const char *path, struct mamori_osv_set *set,
    mamori_osv_report_fn report, void *arg);

#endif
