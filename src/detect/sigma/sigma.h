/*
 * sigma.h - mamori's Sigma rule engine: load Sigma rules (YAML), compile
 * them into a matcher, and match events against every loaded rule.
 *
 * Rules are compiled against a *field schema*: a resolver callback maps
 * each Sigma field name a rule uses onto a slot index, and accepts or
 * refuses the rule's logsource.  An event is then presented as an array of
 * slots (value bytes + present flag; numbers as their decimal text), so
 * matching never looks a name up per event.  Two schemas come with the
 * engine: the ingest schema (one mapping table from Sigma's field names to
 * mamori's event fields, per logsource category; sigma_fields.c) and the
 * dynamic schema for offline scans (a slot for every distinct field name
 * the rules use).
 *
 * A rule that cannot be supported (unknown logsource or field, unsupported
 * modifier, bad condition) is kept in the ruleset's list with the reason,
 * never dropped in silence; mamori_sigma_rule_info() reports it.
 *
 * Matching: every string value (equals, contains, startswith, endswith,
 * wildcards, base64, windash) becomes a Vectorscan expression in one
 * database per slot; an event is scanned once per present slot, and only
 * the rules whose patterns hit, plus the few whose condition can be true
 * without any hit (negations, re, cidr, numbers, exists, null), have their
 * condition evaluated.  re, cidr, numeric, exists and null values are
 * checked only when a condition asks for them.
 *
 * A compiled ruleset is read-only and may be shared by threads; each
 * thread matches with its own mamori_sigma_matcher.
 *
 * This engine must never crash or loop without bound on a hostile rule or
 * event: every bound on rule input has a named limit below, and regular
 * expressions run with a match limit.
 */
#ifndef MAMORI_SIGMA_H
#define MAMORI_SIGMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MAMORI_SIGMA_FILE_MAX (256 * 1024)    /* bytes of one rule file */
#define MAMORI_SIGMA_YAML_DEPTH_MAX 16        /* nesting of YAML nodes */
#define MAMORI_SIGMA_YAML_NODES_MAX 20000     /* YAML nodes of one file */
#define MAMORI_SIGMA_VALUES_MAX 1024          /* values of one rule */
#define MAMORI_SIGMA_PATTERNS_MAX 2048        /* patterns of one rule
                                                 (windash, base64offset
                                                 make several a value) */
#define MAMORI_SIGMA_PATTERN_MAX 4096         /* bytes of one value */
#define MAMORI_SIGMA_SEARCHES_MAX 256         /* search identifiers/rule */
#define MAMORI_SIGMA_CONDITION_MAX 4096       /* bytes of a condition */
#define MAMORI_SIGMA_CONDITION_DEPTH_MAX 32   /* nesting of a condition */
#define MAMORI_SIGMA_CONDITION_NODES_MAX 1024 /* nodes of one condition */
#define MAMORI_SIGMA_RULES_MAX 100000         /* rules of one ruleset */
#define MAMORI_SIGMA_SLOTS_MAX 1024           /* slots of a schema */
#define MAMORI_SIGMA_CATEGORIES_MAX 32        /* categories of a schema */
#define MAMORI_SIGMA_DIR_DEPTH_MAX 16         /* directory recursion */
#define MAMORI_SIGMA_REGEX_MATCH_LIMIT 100000 /* PCRE2 match limit */
#define MAMORI_SIGMA_TEXT_MAX 1024            /* title, id, tags, ... */
#define MAMORI_SIGMA_TAGS_MAX 64
#define MAMORI_SIGMA_REASON_MAX 256

/* The field name a keyword search (values without a field) asks the
 * resolver for; no Sigma field can be spelled so. */
#define MAMORI_SIGMA_KEYWORDS "|keywords"

/* The category id the dynamic schema gives every rule: "matches events of
 * any category". */
#define MAMORI_SIGMA_ANY_CATEGORY 0

struct mamori_sigma_logsource {
	const char *product;  /* NULL when the rule does not say */
	const char *category;
	const char *service;
};

/*
 * The schema rules are compiled against.
 *  - logsource: accepts the rule's logsource, setting *category (the id
 *    events of that logsource carry, MAMORI_SIGMA_ANY_CATEGORY for all),
 *    or returns MAMORI_ERR_NOT_FOUND with a static reason in *reason.
 *  - field: maps a Sigma field name (MAMORI_SIGMA_KEYWORDS for keyword
 *    searches) used under category onto *slot < MAMORI_SIGMA_SLOTS_MAX,
 *    or returns MAMORI_ERR_NOT_FOUND with a static reason.
 *  - nslots: the number of slots, read after every rule is added (the
 *    dynamic schema grows while rules load).
 */
struct mamori_sigma_schema {
	void *arg;
	int (*logsource)(void *arg, const struct mamori_sigma_logsource *ls,
	    uint32_t *category, const char **reason);
	int (*field)(void *arg, uint32_t category, const char *name,
	    uint32_t *slot, const char **reason);
	size_t (*nslots)(void *arg);
};

/* One field of an event: len bytes at value (need not be NUL-terminated;
 * borrowed for the call).  present = 0 means the event has no such field. */
struct mamori_sigma_slot {
	const char *value;
	size_t len;
	int present;
};

enum mamori_sigma_level {
	MAMORI_SIGMA_LEVEL_UNKNOWN = 0,
	MAMORI_SIGMA_LEVEL_INFORMATIONAL,
	MAMORI_SIGMA_LEVEL_LOW,
	MAMORI_SIGMA_LEVEL_MEDIUM,
	MAMORI_SIGMA_LEVEL_HIGH,
	MAMORI_SIGMA_LEVEL_CRITICAL,
};

/* What is known of one rule, loaded or not.  Strings are owned by the
 * ruleset and valid until it is freed; absent ones are "". */
struct mamori_sigma_rule_info {
	const char *path;      /* file (or name given) it came from */
	const char *title;
	const char *id;
	const char *status;
	const char *level_text;
	enum mamori_sigma_level level;
	const char *product, *category, *service;
	const char *const *tags; /* ntags strings, e.g. "attack.t1059" */
	size_t ntags;
	const char *const *falsepositives;
	size_t nfalsepositives;
	int loaded;            /* 1: compiled and matched; 0: unsupported */
	const char *reason;    /* why not loaded, "" when loaded */
};

struct mamori_sigma_ruleset;
struct mamori_sigma_matcher;

/* Starts an empty ruleset compiled against schema (copied; schema->arg
 * must outlive the ruleset).  Free with mamori_sigma_ruleset_free(). */
int mamori_sigma_ruleset_new(const struct mamori_sigma_schema *schema,
    struct mamori_sigma_ruleset **out);

/* Frees rs; NULL is fine. */
void mamori_sigma_ruleset_free(struct mamori_sigma_ruleset *rs);

/*
 * Parses one rule from len bytes of YAML (name: where it came from, for
 * the report).  A rule the engine cannot support is recorded as
 * unsupported with its reason and 0 is returned: only running out of
 * memory or the ruleset's limits fail.  Not after compile.
 */
int mamori_sigma_ruleset_add_yaml(struct mamori_sigma_ruleset *rs,
    const char *name, const char *yaml, size_t len);

/* Reads path: a rule file, or a directory searched recursively for .yml
 * and .yaml files (in name order).  An unreadable or oversized file is
 * recorded as an unsupported rule; a path that does not exist returns
 * MAMORI_ERR_NOT_FOUND. */
int mamori_sigma_ruleset_add_path(struct mamori_sigma_ruleset *rs,
    const char *path);

/* Builds the matcher from every loaded rule.  A rule whose patterns the
 * pattern compiler refuses is marked unsupported with its reason.  After
 * this, no rule may be added. */
int mamori_sigma_ruleset_compile(struct mamori_sigma_ruleset *rs);

/* Rules recorded, loaded or not; and how many of them are loaded. */
size_t mamori_sigma_ruleset_count(const struct mamori_sigma_ruleset *rs);
size_t mamori_sigma_ruleset_loaded(const struct mamori_sigma_ruleset *rs);

/* Rule i (< count) or NULL; valid until rs is freed. */
const struct mamori_sigma_rule_info *mamori_sigma_rule_info(
    const struct mamori_sigma_ruleset *rs, size_t i);

/* A matcher for one thread over compiled rs (which must outlive it). */
int mamori_sigma_matcher_new(const struct mamori_sigma_ruleset *rs,
    struct mamori_sigma_matcher **out);
void mamori_sigma_matcher_free(struct mamori_sigma_matcher *m);

/*
 * Matches one event of category (its slots: nslots entries indexed by
 * slot; missing trailing slots count as absent) against every loaded rule
 * of that category or of MAMORI_SIGMA_ANY_CATEGORY.  *rules gets the
 * indices (for mamori_sigma_rule_info) of the matching rules in ascending
 * order, *nrules their number; the array belongs to m and is valid until
 * the next call.
 */
int mamori_sigma_match(struct mamori_sigma_matcher *m, uint32_t category,
    const struct mamori_sigma_slot *slots, size_t nslots,
    const uint32_t **rules, size_t *nrules);

/* Text of a level ("high"). */
const char *mamori_sigma_level_name(enum mamori_sigma_level level);

/*
 * The dynamic schema for offline scans: any logsource (category
 * MAMORI_SIGMA_ANY_CATEGORY), a new slot for each distinct field name.
 */
struct mamori_sigma_dynamic;
int mamori_sigma_dynamic_new(struct mamori_sigma_dynamic **out);
void mamori_sigma_dynamic_free(struct mamori_sigma_dynamic *d);
/* Fills *schema to use d (which must outlive the ruleset). */
void mamori_sigma_dynamic_schema(struct mamori_sigma_dynamic *d,
    struct mamori_sigma_schema *schema);
/* The slot of name, or MAMORI_ERR_NOT_FOUND when no rule uses it.
 * Field names compare case-sensitively, as in Sigma. */
int mamori_sigma_dynamic_slot(const struct mamori_sigma_dynamic *d,
    const char *name, uint32_t *slot);
/* Slots assigned so far, and the field name of one (NULL past the end;
 * MAMORI_SIGMA_KEYWORDS for the keyword slot). */
size_t mamori_sigma_dynamic_count(const struct mamori_sigma_dynamic *d);
const char *mamori_sigma_dynamic_name(const struct mamori_sigma_dynamic *d,
    uint32_t slot);

/*
 * The ingest schema: the one table mapping Sigma field names onto
 * mamori's event fields.  Categories and slots are below; the server fills
 * a slot array of MAMORI_SIGMA_INGEST_NSLOTS from each event.
 */
enum mamori_sigma_ingest_category {
	MAMORI_SIGMA_CAT_PROCESS_CREATION = 1,
	MAMORI_SIGMA_CAT_FILE_EVENT,
	MAMORI_SIGMA_CAT_FILE_CHANGE,
	MAMORI_SIGMA_CAT_FILE_DELETE,
	MAMORI_SIGMA_CAT_FILE_RENAME,
	MAMORI_SIGMA_CAT_NETWORK_CONNECTION,
};

enum mamori_sigma_ingest_slot {
	MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE,        /* process.executable */
	MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE,      /* process.command_line */
	MAMORI_SIGMA_SLOT_PROCESS_PID,               /* process.pid */
	MAMORI_SIGMA_SLOT_PROCESS_WORKING_DIRECTORY, /* .working_directory */
	MAMORI_SIGMA_SLOT_PROCESS_HASH_SHA256,       /* process.hash.sha256 */
	MAMORI_SIGMA_SLOT_PARENT_EXECUTABLE,  /* process.parent.executable */
	MAMORI_SIGMA_SLOT_PARENT_COMMAND_LINE, /* process.parent.command_line */
	MAMORI_SIGMA_SLOT_PARENT_PID,                /* process.parent.pid */
	MAMORI_SIGMA_SLOT_USER_NAME,                 /* user.name */
	MAMORI_SIGMA_SLOT_USER_ID,                   /* user.id */
	MAMORI_SIGMA_SLOT_FILE_PATH,                 /* file.path */
	MAMORI_SIGMA_SLOT_FILE_OLD_PATH,             /* renamed from */
	MAMORI_SIGMA_SLOT_SOURCE_IP,                 /* source.ip */
	MAMORI_SIGMA_SLOT_SOURCE_PORT,               /* source.port */
	MAMORI_SIGMA_SLOT_DESTINATION_IP,            /* destination.ip */
	MAMORI_SIGMA_SLOT_DESTINATION_PORT,          /* destination.port */
	MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN,        /* destination.domain */
	MAMORI_SIGMA_SLOT_NETWORK_TRANSPORT,         /* network.transport */
	MAMORI_SIGMA_SLOT_INITIATED, /* "true" for CONNECT, "false" LISTEN */
	MAMORI_SIGMA_INGEST_NSLOTS
};

/* The ingest schema (static; arg unused). */
void mamori_sigma_ingest_schema(struct mamori_sigma_schema *schema);

/* The ECS name of an ingest slot ("process.executable"), or "?". */
const char *mamori_sigma_ingest_slot_name(uint32_t slot);

/*
 * Offline scan of a JSON-lines file: each line one flat JSON object whose
 * keys are the rules' own field names (strings as they are, numbers as
 * decimal text, true/false as "true"/"false", null and nested values as
 * absent; keyword searches look at every value, one per line).  rs must
 * be compiled against the dynamic schema d.  on_match is called for each
 * match (line numbers count from 1; a non-zero return stops the scan and
 * is returned); on_bad for each line that is not a JSON object, with the
 * reason, and the scan goes on.  Empty lines are skipped.
 */
#define MAMORI_SIGMA_SCAN_LINE_MAX (1024 * 1024) /* bytes of one event */
#define MAMORI_SIGMA_NUMBER_TEXT_MAX 32

struct mamori_sigma_scan_stats {
	uint64_t lines;     /* lines read */
	uint64_t events;    /* events matched against the rules */
	uint64_t bad;       /* lines refused */
	uint64_t matches;
};

struct mamori_sigma_scan_cb {
	void *arg;
	int (*on_match)(void *arg, uint64_t line, uint32_t rule);
	void (*on_bad)(void *arg, uint64_t line, const char *reason);
};

int mamori_sigma_scan_jsonl(const struct mamori_sigma_ruleset *rs,
    const struct mamori_sigma_dynamic *d, FILE *in,
    const struct mamori_sigma_scan_cb *cb,
    struct mamori_sigma_scan_stats *stats);

#endif
