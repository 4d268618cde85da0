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
 * Only mamori_store_event_add may run inside a group.
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

#endif
