/*
 * detect.h - the server's detection at ingest: the Sigma rules and STIX
 * indicators of the server home, applied to every event the server stores,
 * each match raised as an alert in the same group transaction as its
 * event (mamori_store_alert_raise).
 *
 * Rules come from HOME/rules/sigma/ (*.yml, *.yaml, searched recursively)
 * and indicators from HOME/rules/intel/ (*.json STIX 2.1 bundles, searched
 * recursively), read when the server starts and rebuilt whole when an
 * administrator changes them (admin_content.c swaps the new detector in
 * between event batches).  A rule or indicator
 * that cannot be applied is logged with its reason and listed by
 * mamori_detect_rule_get(), never dropped in silence.
 *
 * What is evaluated: process START (process_creation), file events
 * (file_event, and file_change / file_delete / file_rename by action),
 * network CONNECT and LISTEN (network_connection); indicators against the
 * process sha256, file sha256_before and sha256_after, network destination
 * ip and destination_hostname.
 *
 * Matching allocates nothing per event beyond the slot array on the stack;
 * an alert's detail is built only when something matched.  Not
 * thread-safe: one matcher, used by the server's event loop.
 */
#ifndef MAMORI_DETECT_H
#define MAMORI_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "mamori.pb-c.h"
#include "store.h"

#define MAMORI_DETECT_BUNDLES_MAX 10000   /* bundle files read */
#define MAMORI_DETECT_DIR_DEPTH_MAX 16    /* directory recursion (intel) */
#define MAMORI_DETECT_MATCHES_MAX 64      /* indicator matches per value */
#define MAMORI_DETECT_VALUE_MAX 1024      /* bytes of a value in a detail */

struct mamori_detect;

/* What is known of one rule or indicator, loaded or not; strings belong
 * to the detector. */
struct mamori_detect_rule {
	uint32_t source;            /* enum mamori_alert_source */
	const char *key;            /* rule id / STIX id ("" when none) */
	const char *title;          /* title / indicator name ("" if none) */
	uint32_t severity;          /* enum mamori_alert_severity */
	const char *path;           /* file it came from */
	int loaded;
	const char *reason;         /* why not loaded, "" when loaded */
};

struct mamori_detect_stats {
	size_t sigma_loaded, sigma_unsupported;
	size_t indicators_loaded, indicators_unsupported;
	size_t bundles, bundles_unreadable; /* bundle files, not loaded */
	uint64_t events;            /* events evaluated */
	uint64_t alerts;            /* matches raised */
};

/* Loads the rules and indicators under home (missing directories mean
 * none), logging every one that cannot be applied and a summary line.
 * Fails only on running out of memory or a limit. */
int mamori_detect_load(const char *home, struct mamori_detect **out);
void mamori_detect_free(struct mamori_detect *d);

/* Evaluates one stored event of agent_id, raising an alert in store (the
 * open group) for each match; *raised (may be NULL) gets how many.
 * Errors are the store's: the caller must then roll the group back. */
int mamori_detect_event(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, size_t *raised);

/* An alert just written into the open group (not yet committed): the
 * strings are valid during the call only. */
struct mamori_detect_alert {
	uint64_t id;                /* the store's alert id */
	const char *agent_id;
	uint32_t source;            /* enum mamori_alert_source */
	const char *rule_key;
	uint32_t severity;
	uint64_t time_ns, seq;      /* the triggering event's */
	int created;                /* 0: a repeat inside the dedup window */
	const char *detail_json;
};
typedef void (*mamori_detect_sink_fn)(void *ctx,
    const struct mamori_detect_alert *a);
/* Calls fn for each alert the store took (NULL: none).  The server
 * collects them and hands them to its outputs once the group commits. */
void mamori_detect_set_sink(struct mamori_detect *d, mamori_detect_sink_fn fn,
    void *ctx);

size_t mamori_detect_rule_count(const struct mamori_detect *d);
int mamori_detect_rule_get(const struct mamori_detect *d, size_t i,
    struct mamori_detect_rule *out);
void mamori_detect_stats(const struct mamori_detect *d,
    struct mamori_detect_stats *out);

/* Carries the running counts (events evaluated, alerts raised) of from
 * (may be NULL) over to a detector that replaces it. */
void mamori_detect_take_counts(struct mamori_detect *to,
    const struct mamori_detect *from);

#endif
