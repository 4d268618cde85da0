/*
 * store.h - the server's storage interface.
 *
 * One interface, several backends (store/sqlite.c now; store/pg.c later),
 * each a table of operations behind struct mamori_store.  Every backend
 * seals sensitive fields (seal.h) before they reach the database: hostnames,
 * addresses, OS descriptions, inventories and their history are stored only
 * as AEAD ciphertext bound to their row.  Ids, timestamps, counters and type
 * codes are stored in clear so the server can index and select on them.
 *
 * Opening checks the storage key: a key that does not unwrap the data key
 * fails with MAMORI_ERR_WRONG_KEY and changes nothing on disk.
 *
 * Not thread-safe: one thread uses a store at a time.
 */
#ifndef MAMORI_STORE_H
#define MAMORI_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "enroll_string.h"

struct mamori_store;

#define MAMORI_AGENT_ID_STRLEN 33     /* 32 hex + NUL */
#define MAMORI_STORE_HOSTNAME_MAX 256
#define MAMORI_STORE_OS_MAX 256
#define MAMORI_STORE_ADDRESS_MAX 64
#define MAMORI_STORE_LABEL_MAX 128
/* Largest sealed value read back (an inventory category). */
#define MAMORI_STORE_VALUE_MAX (16 * 1024 * 1024)

struct mamori_token_rec {
	uint8_t id[MAMORI_TOKEN_ID_LEN];
	uint64_t created_at;
	uint64_t expires_at;
	uint32_t uses_max;
	uint32_t uses;
	uint64_t revoked_at;                  /* 0: not revoked */
	char label[MAMORI_STORE_LABEL_MAX];   /* sealed */
};

struct mamori_agent_rec {
	char id[MAMORI_AGENT_ID_STRLEN];
	char cert_serial[33];                 /* hex; the one valid cert */
	uint64_t enrolled_at;
	uint64_t last_seen;
	uint64_t revoked_at;                  /* 0: not revoked */
	char hostname[MAMORI_STORE_HOSTNAME_MAX]; /* sealed */
	char os[MAMORI_STORE_OS_MAX];         /* sealed */
	char address[MAMORI_STORE_ADDRESS_MAX]; /* sealed: last peer addr */
};

/* One inventory history entry; detail is a serialized
 * mamori.InventoryChange (plaintext, owned by the callback's caller and
 * valid only during the call). */
struct mamori_history_rec {
	uint64_t id;
	uint64_t time;
	uint32_t category;
	uint32_t kind;
	const uint8_t *detail;
	size_t detail_len;
};

typedef int (*mamori_history_fn)(void *ctx,
    const struct mamori_history_rec *rec);

/*
 * Opens (creating when create is set and nothing is there) the SQLite store
 * at path in WAL mode, with the 32-byte storage key.  A new store gets a new
 * random data key wrapped by the storage key.  Errors: MAMORI_ERR_WRONG_KEY
 * (key does not unwrap), MAMORI_ERR_NOT_FOUND (no store and !create),
 * MAMORI_ERR_STORE.  *out is freed with mamori_store_close().
 */
int mamori_store_open_sqlite(const char *path,
    const uint8_t storage_key[MAMORI_KEY_LEN], int create,
    struct mamori_store **out);

void mamori_store_close(struct mamori_store *s);

/* Transactions group writes; nesting is not supported. */
int mamori_store_begin(struct mamori_store *s);
int mamori_store_commit(struct mamori_store *s);
int mamori_store_rollback(struct mamori_store *s);

/*
 * Group commit.  Event batches from many agents go into one open
 * transaction, committed once per pass of the server's event loop (one
 * commit instead of one per batch is most of the ingest rate).  While a
 * group is open, every other store call first calls the flush hook, which
 * must end the group (mamori_store_group_end), so no other write ever joins
 * a group and a group that fails cannot take an unrelated write with it.
 * Only mamori_store_event_add and mamori_store_alert_raise may run inside
 * a group.
 */
typedef void (*mamori_store_flush_fn)(void *ctx);
void mamori_store_set_flush_hook(struct mamori_store *s,
    mamori_store_flush_fn fn, void *ctx);
/* Opens the group's transaction unless it is open already. */
int mamori_store_group_begin(struct mamori_store *s);
/* Commits (commit != 0) or rolls back the group; 0 when it was committed.
 * After a failed commit the group is rolled back: nothing of it is stored. */
int mamori_store_group_end(struct mamori_store *s, int commit);
int mamori_store_group_is_open(const struct mamori_store *s);

/* Tokens.  The secret itself is never stored: only its SHA-256. */
int mamori_store_token_add(struct mamori_store *s,
    const struct mamori_token_rec *t,
    const uint8_t secret_hash[MAMORI_SHA256_LEN]);
/* *out is a malloc'ed array of *n records, newest first; free(). */
int mamori_store_token_list(struct mamori_store *s,
    struct mamori_token_rec **out, size_t *n);
/* MAMORI_ERR_NOT_FOUND when no token has that id. */
int mamori_store_token_revoke(struct mamori_store *s,
    const uint8_t id[MAMORI_TOKEN_ID_LEN], uint64_t now);
/*
 * Checks a presented token and, only when every check passes, counts one
 * use, atomically.  Returns 0, or MAMORI_ERR_NOT_FOUND, MAMORI_ERR_AUTH
 * (secret does not match), MAMORI_ERR_REVOKED, MAMORI_ERR_EXPIRED,
 * MAMORI_ERR_USED_UP.
 */
int mamori_store_token_consume(struct mamori_store *s,
    const uint8_t id[MAMORI_TOKEN_ID_LEN],
    const uint8_t secret_hash[MAMORI_SHA256_LEN], uint64_t now);

/* Agents. */
int mamori_store_agent_add(struct mamori_store *s,
    const struct mamori_agent_rec *a);
/* MAMORI_ERR_NOT_FOUND when unknown. */
int mamori_store_agent_get(struct mamori_store *s, const char *id,
    struct mamori_agent_rec *out);
/* *out is a malloc'ed array sorted by id; free(). */
int mamori_store_agent_list(struct mamori_store *s,
    struct mamori_agent_rec **out, size_t *n);
int mamori_store_agent_seen(struct mamori_store *s, const char *id,
    uint64_t now, const char *address);
int mamori_store_agent_set_info(struct mamori_store *s, const char *id,
    const char *hostname, const char *os);
/* MAMORI_ERR_NOT_FOUND when unknown; revoking twice keeps the first time. */
int mamori_store_agent_revoke(struct mamori_store *s, const char *id,
    uint64_t now);

/*
 * Current inventory, one sealed value per (agent, category): the serialized
 * mamori.Inventory holding that category only.  get appends the plaintext
 * to out, or returns MAMORI_ERR_NOT_FOUND.
 */
int mamori_store_inventory_get(struct mamori_store *s, const char *agent_id,
    uint32_t category, struct mamori_buf *out);
int mamori_store_inventory_put(struct mamori_store *s, const char *agent_id,
    uint32_t category, const uint8_t *value, size_t len, uint64_t now);
/* Time of the agent's last inventory put, 0 when none. */
int mamori_store_inventory_time(struct mamori_store *s, const char *agent_id,
    uint64_t *time);

/* History of changes: detail sealed, time/category/kind clear. */
int mamori_store_history_add(struct mamori_store *s, const char *agent_id,
    uint64_t time, uint32_t category, uint32_t kind, const uint8_t *detail,
    size_t len);
/* Calls fn for each entry of the agent at or after since, oldest first, up
 * to limit entries (0: no limit); stops when fn returns non-zero and
 * returns that value. */
int mamori_store_history_list(struct mamori_store *s, const char *agent_id,
    uint64_t since, size_t limit, mamori_history_fn fn, void *ctx);

/*
 * Events (operation logs).  Each (agent, seq) is stored once: adding one
 * already there succeeds with *inserted = 0, so redelivery is harmless.
 * The payload (a serialized mamori.Event) is sealed, bound to agent and
 * seq; id (order of arrival), agent, seq, time and type are clear.
 */
struct mamori_event_rec {
	uint64_t id;
	const char *agent_id;
	uint64_t seq;
	uint64_t time_ns;
	uint32_t type;                 /* Event body case */
	const uint8_t *payload;        /* valid during the callback only */
	size_t payload_len;
};

typedef int (*mamori_event_fn)(void *ctx, const struct mamori_event_rec *rec);

struct mamori_event_query {
	const char *agent_id;          /* NULL: every agent */
	uint32_t type;                 /* 0: every type */
	uint64_t since_ns;             /* 0: no lower bound */
	uint64_t until_ns;             /* 0: no upper bound */
	uint64_t after_id;             /* only ids above this (--follow) */
	int newest_first;
	size_t limit;                  /* 0: no limit */
};

int mamori_store_event_add(struct mamori_store *s, const char *agent_id,
    uint64_t seq, uint64_t time_ns, uint32_t type, const uint8_t *payload,
    size_t len, int *inserted);
/* Calls fn for each matching event; stops when fn returns non-zero and
 * returns that value. */
int mamori_store_event_list(struct mamori_store *s,
    const struct mamori_event_query *q, mamori_event_fn fn, void *ctx);

/*
 * Alerts: what the server's detection (Sigma rules, STIX indicators) found
 * in an agent's events.  One row per (agent, rule key) and dedup window:
 * a match less than window_ns after the first_seen of the agent's latest
 * alert for that key bumps its count and last_seen and records the event's
 * seq; a later one starts a new alert.  Times are the events' own times.
 * The agent, source, severity, rule key (a Sigma rule id or STIX indicator
 * id - public identifiers of the rule, not of the endpoint), times and
 * count are clear; the detail is sealed.  The detail is the caller's JSON
 * object (title, level, tags, matched value, ...), to which the store adds
 * "seqs": the triggering events' seqs, the first MAMORI_ALERT_SEQS_MAX.
 * mamori_store_alert_raise may run inside an open event group.
 */
#define MAMORI_ALERT_WINDOW_NS (3600ULL * 1000000000ULL) /* 1 hour */
#define MAMORI_ALERT_SEQS_MAX 32       /* seqs kept in one alert's detail */
#define MAMORI_ALERT_KEY_MAX 256       /* bytes of a rule key */
#define MAMORI_ALERT_DETAIL_MAX (64 * 1024) /* bytes of a detail */

enum mamori_alert_source {
	MAMORI_ALERT_SIGMA = 1,
	MAMORI_ALERT_INDICATOR = 2,
	MAMORI_ALERT_YARA = 3,         /* an agent's YaraEvent */
};

/* Severities share the Sigma levels' codes. */
enum mamori_alert_severity {
	MAMORI_SEVERITY_INFORMATIONAL = 1,
	MAMORI_SEVERITY_LOW,
	MAMORI_SEVERITY_MEDIUM,
	MAMORI_SEVERITY_HIGH,
	MAMORI_SEVERITY_CRITICAL,
};

struct mamori_alert_raise {
	const char *agent_id;
	uint32_t source;               /* enum mamori_alert_source */
	const char *rule_key;
	uint32_t severity;             /* enum mamori_alert_severity */
	uint64_t time_ns;              /* the triggering event's time */
	uint64_t seq;                  /* the triggering event's seq */
	const char *detail_json;       /* a JSON object; NULL: {} */
	uint64_t window_ns;            /* 0: MAMORI_ALERT_WINDOW_NS */
	uint64_t *id_out;              /* NULL, or gets the id of the alert
	                                * raised or bumped (0 on failure) */
};

struct mamori_alert_rec {
	uint64_t id;
	const char *agent_id;
	uint32_t source;
	const char *rule_key;
	uint32_t severity;
	uint64_t first_seen;           /* ns */
	uint64_t last_seen;            /* ns */
	uint64_t count;
	const char *detail;            /* JSON text, valid during the call */
};

typedef int (*mamori_alert_fn)(void *ctx, const struct mamori_alert_rec *rec);

struct mamori_alert_query {
	const char *agent_id;          /* NULL: every agent */
	uint64_t since_ns;             /* last_seen at or after; 0: any */
	uint32_t severity_min;         /* 0: any */
	size_t limit;                  /* 0: no limit */
};

/* Raises (or bumps) an alert; *created (may be NULL) is 1 for a new one. */
int mamori_store_alert_raise(struct mamori_store *s,
    const struct mamori_alert_raise *a, int *created);
/* Calls fn for each matching alert, newest last_seen first; stops when fn
 * returns non-zero and returns that value. */
int mamori_store_alert_list(struct mamori_store *s,
    const struct mamori_alert_query *q, mamori_alert_fn fn, void *ctx);
/* Text of a severity ("high"; "?" when unknown) and its code from text
 * (MAMORI_ERR_INVALID when none). */
const char *mamori_alert_severity_name(uint32_t severity);
int mamori_alert_severity_parse(const char *text, uint32_t *severity);
const char *mamori_alert_source_name(uint32_t source);

/*
 * Objects: what remote management keeps - the fleet policy, tasks and
 * hunts, their results - as sealed values under (kind, key).  Kinds and
 * keys are printable ASCII without spaces, ':' or '~'; the value is sealed
 * and bound to both.  time and expires (seconds) are clear, for listing
 * and for dropping what is no longer valid.
 * mamori_store_object_put may run inside an open event group (results
 * arriving with events are stored in the same commit).
 */
#define MAMORI_OBJECT_KIND_MAX 32
#define MAMORI_OBJECT_KEY_MAX 128

struct mamori_object_rec {
	const char *kind;
	const char *key;
	uint64_t time;
	uint64_t expires;
	const uint8_t *value;          /* valid during the call */
	size_t len;
};

typedef int (*mamori_object_fn)(void *ctx,
    const struct mamori_object_rec *rec);

/* Stores o; replace 0 keeps an existing value (then *inserted is 0). */
int mamori_store_object_put(struct mamori_store *s,
    const struct mamori_object_rec *o, int replace, int *inserted);
/* Appends the value to out; MAMORI_ERR_NOT_FOUND when there is none. */
int mamori_store_object_get(struct mamori_store *s, const char *kind,
    const char *key, struct mamori_buf *out, uint64_t *time);
/* Calls fn for each object of kind whose key starts with prefix and whose
 * expires is at least expires_min, oldest first, at most limit (0: all). */
int mamori_store_object_list(struct mamori_store *s, const char *kind,
    const char *prefix, uint64_t expires_min, size_t limit,
    mamori_object_fn fn, void *ctx);

#endif
