/*
 * store_impl.h - what a storage backend provides: the operations table
 * behind struct mamori_store.  Only store.c and the backends include this.
 */
#ifndef MAMORI_STORE_IMPL_H
#define MAMORI_STORE_IMPL_H

#include "store.h"

struct mamori_store_ops {
	const char *name;
	void (*close)(struct mamori_store *s);
	int (*begin)(struct mamori_store *s);
	int (*commit)(struct mamori_store *s);
	int (*rollback)(struct mamori_store *s);
	int (*token_add)(struct mamori_store *s,
	    const struct mamori_token_rec *t, const uint8_t *secret_hash);
	int (*token_list)(struct mamori_store *s,
	    struct mamori_token_rec **out, size_t *n);
	int (*token_revoke)(struct mamori_store *s, const uint8_t *id,
	    uint64_t now);
	int (*token_consume)(struct mamori_store *s, const uint8_t *id,
	    const uint8_t *secret_hash, uint64_t now);
	int (*agent_add)(struct mamori_store *s,
	    const struct mamori_agent_rec *a);
	int (*agent_get)(struct mamori_store *s, const char *id,
	    struct mamori_agent_rec *out);
	int (*agent_list)(struct mamori_store *s,
	    struct mamori_agent_rec **out, size_t *n);
	int (*agent_seen)(struct mamori_store *s, const char *id,
	    uint64_t now, const char *address);
	int (*agent_set_info)(struct mamori_store *s, const char *id,
	    const char *hostname, const char *os);
	int (*agent_revoke)(struct mamori_store *s, const char *id,
	    uint64_t now);
	int (*inventory_get)(struct mamori_store *s, const char *agent_id,
	    uint32_t category, struct mamori_buf *out);
	int (*inventory_put)(struct mamori_store *s, const char *agent_id,
	    uint32_t category, const uint8_t *value, size_t len,
	    uint64_t now);
	int (*inventory_time)(struct mamori_store *s, const char *agent_id,
	    uint64_t *time);
	int (*history_add)(struct mamori_store *s, const char *agent_id,
	    uint64_t time, uint32_t category, uint32_t kind,
	    const uint8_t *detail, size_t len);
	int (*history_list)(struct mamori_store *s, const char *agent_id,
	    uint64_t since, size_t limit, mamori_history_fn fn, void *ctx);
	int (*event_add)(struct mamori_store *s, const char *agent_id,
	    uint64_t seq, uint64_t time_ns, uint32_t type,
	    const uint8_t *payload, size_t len, int *inserted);
	int (*event_list)(struct mamori_store *s,
	    const struct mamori_event_query *q, mamori_event_fn fn,
	    void *ctx);
	int (*alert_raise)(struct mamori_store *s,
	    const struct mamori_alert_raise *a, int *created);
	int (*alert_list)(struct mamori_store *s,
	    const struct mamori_alert_query *q, mamori_alert_fn fn,
	    void *ctx);
	int (*object_put)(struct mamori_store *s,
	    const struct mamori_object_rec *o, int replace, int *inserted);
	int (*object_get)(struct mamori_store *s, const char *kind,
	    const char *key, struct mamori_buf *out, uint64_t *time);
	int (*object_list)(struct mamori_store *s, const char *kind,
	    const char *prefix, uint64_t expires_min, size_t limit,
	    mamori_object_fn fn, void *ctx);
};

/* Every backend's handle starts with this. */
struct mamori_store {
	const struct mamori_store_ops *ops;
	/* Group commit (store.c): set while a group transaction is open. */
	int group_open;
	mamori_store_flush_fn flush;
	void *flush_ctx;
};

#endif
