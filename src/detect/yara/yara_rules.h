/*
 * yara_rules.h - mamori's wrapper around libyara: compile YARA rule source
 * text into a rule set, list what the rule set holds, and scan files and
 * memory with it.
 *
 * Rule *source* travels to agents inside the signed fleet policy and is
 * compiled where it is used; compiled rule blobs are never loaded
 * (libyara's loader trusts its input).  Everything here treats the rule
 * text and the scanned bytes as hostile: both are bounded by the named
 * limits below, `include` is refused (a rule set must never read other
 * files of the machine it runs on), and every string copied out of libyara
 * is owned by the caller's result.
 *
 * Threads: mamori_yara_init and mamori_yara_finish may be called from any
 * thread (they are serialised; libyara counts them).  A compiled
 * mamori_yara_rules is read-only after mamori_yara_compile returns and may
 * be used by up to MAMORI_YARA_SCAN_THREADS_MAX threads scanning at the same
 * time (libyara's own limit); compiling is independent per call.  Nothing
 * here keeps mutable global state besides libyara's own.
 */
#ifndef MAMORI_YARA_RULES_H
#define MAMORI_YARA_RULES_H

#include <stddef.h>
#include <stdint.h>

#define MAMORI_YARA_SOURCE_MAX (4u * 1024 * 1024) /* bytes of all rule text */
#define MAMORI_YARA_SOURCES_MAX 256       /* rule files in one rule set */
#define MAMORI_YARA_NAME_MAX 256          /* bytes of a source's name */
#define MAMORI_YARA_RULES_MAX 20000       /* rules in one rule set */
#define MAMORI_YARA_MESSAGES_MAX 64       /* compiler messages kept */
#define MAMORI_YARA_MESSAGE_MAX 512       /* bytes of one message */
#define MAMORI_YARA_SCAN_THREADS_MAX 32   /* libyara's YR_MAX_THREADS */
#define MAMORI_YARA_FILE_MAX_DEFAULT (64u * 1024 * 1024) /* bytes scanned */
#define MAMORI_YARA_FILE_MAX_LIMIT (1024u * 1024 * 1024) /* highest cap */
#define MAMORI_YARA_TIMEOUT_DEFAULT 30    /* seconds of one scan */
#define MAMORI_YARA_TIMEOUT_MAX 3600
#define MAMORI_YARA_MATCHES_MAX 256       /* matching rules kept per scan */
#define MAMORI_YARA_STRINGS_MAX 32        /* string matches kept per rule */
#define MAMORI_YARA_META_VALUE_MAX 1024   /* bytes of a meta value kept */

/*
 * Starts libyara for this process; every successful call is paired with
 * one mamori_yara_finish.  Returns 0 or MAMORI_ERR_YARA_SCAN / _ALLOC.
 */
int mamori_yara_init(void);
void mamori_yara_finish(void);

/* One piece of rule text to compile.  name (a file name, for messages) and
 * text are borrowed; text need not be NUL-terminated. */
struct mamori_yara_source {
	const char *name;
	const char *text;
	size_t len;
};

/* What the compiler said: an error (the rule set was refused) or a
 * warning.  line is 0 when the message is about no particular line. */
struct mamori_yara_message {
	char *source; /* name of the source it is about */
	int line;
	int is_warning;
	char *text;
};

struct mamori_yara_messages {
	struct mamori_yara_message *items;
	size_t n;
	size_t errors;   /* items with is_warning == 0 */
	size_t dropped;  /* not kept past MAMORI_YARA_MESSAGES_MAX */
};

/* Frees the messages' contents and zeroes *m; accepts NULL. */
void mamori_yara_messages_free(struct mamori_yara_messages *m);

typedef struct mamori_yara_rules mamori_yara_rules_t;

/*
 * Compiles n sources (in order, into one namespace) into *out.  Returns 0,
 * or MAMORI_ERR_YARA_COMPILE when the text does not compile (each error,
 * with its source name and line, is in *msgs), MAMORI_ERR_TOO_LARGE when
 * the text or the rule count exceeds its limit (one message says which),
 * MAMORI_ERR_BAD_STRING when a source holds a NUL byte, MAMORI_ERR_ALLOC.
 * msgs (may be NULL) is filled with warnings on success too; the caller
 * frees it with mamori_yara_messages_free in every case.  After a source
 * fails, the later ones are not compiled (libyara cannot go on).
 * mamori_yara_init must have been called.  *out is NULL on failure.
 */
int mamori_yara_compile(const struct mamori_yara_source *sources, size_t n,
    mamori_yara_rules_t **out, struct mamori_yara_messages *msgs);

/*
 * As mamori_yara_compile, but sources[i] goes into the YARA namespace
 * ns[i] (NULL, or ns NULL: libyara's "default"), so rules of the same name
 * in different sources do not collide and a match tells its source by its
 * namespace.  ns strings are borrowed for the call.
 */
int mamori_yara_compile_ns(const struct mamori_yara_source *sources,
    const char *const *ns, size_t n, mamori_yara_rules_t **out,
    struct mamori_yara_messages *msgs);

/* Frees a rule set; accepts NULL. */
void mamori_yara_rules_free(mamori_yara_rules_t *rules);

/* A meta value of a rule; integers and booleans are written as text
 * ("42", "true"), strings are cut at MAMORI_YARA_META_VALUE_MAX bytes. */
struct mamori_yara_meta {
	char *key;
	char *value;
};

/* A rule's description, all strings owned by the struct. */
struct mamori_yara_rule_info {
	char *name;
	char *ns;
	char **tags;
	size_t ntags;
	struct mamori_yara_meta *meta;
	size_t nmeta;
};

/* The value of meta key in info, or NULL (valid as long as info). */
const char *mamori_yara_rule_meta(const struct mamori_yara_rule_info *info,
    const char *key);

/*
 * The rules of a rule set in source order, into *infos (a new array of
 * *n entries the caller frees with mamori_yara_rule_infos_free).  Returns
 * 0 or MAMORI_ERR_ALLOC (then *infos is NULL and *n 0).
 */
int mamori_yara_rules_list(const mamori_yara_rules_t *rules,
    struct mamori_yara_rule_info **infos, size_t *n);
void mamori_yara_rule_infos_free(struct mamori_yara_rule_info *infos,
    size_t n);

/* Rules in the rule set. */
size_t mamori_yara_rules_count(const mamori_yara_rules_t *rules);

struct mamori_yara_scan_options {
	uint64_t file_max;   /* bytes; 0: MAMORI_YARA_FILE_MAX_DEFAULT */
	int timeout;         /* seconds; 0: MAMORI_YARA_TIMEOUT_DEFAULT */
	int all_matches;     /* 0: libyara's fast mode (each string reported
	                      * once; conditions are evaluated the same) */
};

/* One occurrence of a rule's string. */
struct mamori_yara_string_match {
	char *identifier; /* "$a" */
	uint64_t offset;
	uint32_t length;
};

struct mamori_yara_match {
	struct mamori_yara_rule_info rule;
	struct mamori_yara_string_match *strings;
	size_t nstrings;
	size_t strings_dropped; /* past MAMORI_YARA_STRINGS_MAX */
};

struct mamori_yara_result {
	struct mamori_yara_match *matches;
	size_t n;
	size_t dropped;       /* matching rules past MAMORI_YARA_MATCHES_MAX */
	uint64_t scanned;     /* bytes scanned */
};

/* Frees a result's contents and zeroes it; accepts NULL. */
void mamori_yara_result_free(struct mamori_yara_result *res);

/*
 * Scans len bytes at data (borrowed) with rules into *res (zeroed first;
 * the caller frees it with mamori_yara_result_free whatever the return).
 * data must be ordinary memory, not a mapping of a file that may shrink:
 * libyara's fault catching is off (it installs process-wide signal
 * handlers), so a fault while reading data ends the process.
 * opts may be NULL for the defaults.  Returns 0, MAMORI_ERR_TIMEOUT when
 * the scan ran past the timeout, MAMORI_ERR_TOO_LARGE when len exceeds the
 * file cap, MAMORI_ERR_YARA_SCAN for another libyara failure,
 * MAMORI_ERR_ALLOC; on failure *res holds no matches.
 */
int mamori_yara_scan_mem(const mamori_yara_rules_t *rules,
    const void *data, size_t len,
    const struct mamori_yara_scan_options *opts,
    struct mamori_yara_result *res);

/*
 * Scans the file at path.  The file is opened with O_NOFOLLOW and
 * O_NONBLOCK (a symbolic link or a FIFO never blocks or redirects the
 * scan), checked with fstat to be a regular file no larger than the cap,
 * and its first st_size bytes (as fstat saw them) are read into memory
 * (not mapped: a file truncated while it is scanned must not kill the
 * process with SIGBUS; bytes appended meanwhile are not read).  Returns as mamori_yara_scan_mem,
 * and also MAMORI_ERR_NOT_REGULAR (directory, device, FIFO, socket, or a
 * symbolic link), MAMORI_ERR_NOT_FOUND, MAMORI_ERR_PERMISSION,
 * MAMORI_ERR_TOO_LARGE (larger than the cap), MAMORI_ERR_IO.
 */
int mamori_yara_scan_file(const mamori_yara_rules_t *rules,
    const char *path, const struct mamori_yara_scan_options *opts,
    struct mamori_yara_result *res);

/* As mamori_yara_scan_file, for path relative to the directory open as
 * dirfd (AT_FDCWD: the working directory), so a tree walker that holds
 * each directory open is not redirected by a directory swapped for a
 * link. */
int mamori_yara_scan_at(const mamori_yara_rules_t *rules, int dirfd,
    const char *path, const struct mamori_yara_scan_options *opts,
    struct mamori_yara_result *res);

#endif
