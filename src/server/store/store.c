/*
 * store.c - dispatch from the store interface to its backend.  Nothing here
 * touches data: it only routes calls and lets a NULL store close quietly.
 */
#include <string.h>

#include "err.h"
#include "store_impl.h"

/* Ends an open event group before any other call touches the store. */
static void
store_enter(struct mamori_store *s)
{
	if (s->group_open && s->flush != NULL)
		s->flush(s->flush_ctx);
	if (s->group_open)  /* no hook, or it did not end the group */
		(void)mamori_store_group_end(s, 1);
}

void
mamori_store_set_flush_hook(struct mamori_store *s, mamori_store_flush_fn fn,
    void *ctx)
{
	s->flush = fn;
	s->flush_ctx = ctx;
}

int
mamori_store_group_begin(struct mamori_store *s)
{
	int r;

	if (s->group_open)
		return 0;
	if ((r = s->ops->begin(s)) != 0)
		return r;
	s->group_open = 1;
	return 0;
}

int
mamori_store_group_end(struct mamori_store *s, int commit)
{
	int r = MAMORI_ERR_STORE;

	if (!s->group_open)
		return commit ? 0 : MAMORI_ERR_STORE;
	s->group_open = 0;
	if (commit && (r = s->ops->commit(s)) == 0)
		return 0;
	(void)s->ops->rollback(s);
	return r;
}

int
mamori_store_group_is_open(const struct mamori_store *s)
{
	return s->group_open;
}

void
mamori_store_close(struct mamori_store *s)
{
	if (s == NULL)
		return;
	store_enter(s);
	s->ops->close(s);
}

int
mamori_store_begin(struct mamori_store *s)
{
	store_enter(s);
	return s->ops->begin(s);
}

int
mamori_store_commit(struct mamori_store *s)
{
	store_enter(s);
	return s->ops->commit(s);
}

int
mamori_store_rollback(struct mamori_store *s)
{
	store_enter(s);
	return s->ops->rollback(s);
}

int
mamori_store_token_add(struct mamori_store *s,
    const struct mamori_token_rec *t,
    const uint8_t secret_hash[MAMORI_SHA256_LEN])
{
	store_enter(s);
	return s->ops->token_add(s, t, secret_hash);
}

int
mamori_store_token_list(struct mamori_store *s, struct mamori_token_rec **out,
    size_t *n)
{
	store_enter(s);
	return s->ops->token_list(s, out, n);
}

int
mamori_store_token_revoke(struct mamori_store *s,
    const uint8_t id[MAMORI_TOKEN_ID_LEN], uint64_t now)
{
	store_enter(s);
	return s->ops->token_revoke(s, id, now);
}

int
mamori_store_token_consume(struct mamori_store *s,
    const uint8_t id[MAMORI_TOKEN_ID_LEN],
    const uint8_t secret_hash[MAMORI_SHA256_LEN], uint64_t now)
{
	store_enter(s);
	return s->ops->token_consume(s, id, secret_hash, now);
}

int
mamori_store_agent_add(struct mamori_store *s,
    const struct mamori_agent_rec *a)
{
	store_enter(s);
	return s->ops->agent_add(s, a);
}

int
mamori_store_agent_get(struct mamori_store *s, const char *id,
    struct mamori_agent_rec *out)
{
	store_enter(s);
	return s->ops->agent_get(s, id, out);
}

int
mamori_store_agent_list(struct mamori_store *s, struct mamori_agent_rec **out,
    size_t *n)
{
	store_enter(s);
	return s->ops->agent_list(s, out, n);
}

int
mamori_store_agent_seen(struct mamori_store *s, const char *id, uint64_t now,
    const char *address)
{
	store_enter(s);
	return s->ops->agent_seen(s, id, now, address);
}

int
mamori_store_agent_set_info(struct mamori_store *s, const char *id,
    const char *hostname, const char *os)
{
	store_enter(s);
	return s->ops->agent_set_info(s, id, hostname, os);
}

int
mamori_store_agent_revoke(struct mamori_store *s, const char *id, uint64_t now)
{
	store_enter(s);
	return s->ops->agent_revoke(s, id, now);
}

int
mamori_store_inventory_get(struct mamori_store *s, const char *agent_id,
    uint32_t category, struct mamori_buf *out)
{
	store_enter(s);
	return s->ops->inventory_get(s, agent_id, category, out);
}

int
mamori_store_inventory_put(struct mamori_store *s, const char *agent_id,
    uint32_t category, const uint8_t *value, size_t len, uint64_t now)
{
	store_enter(s);
	return s->ops->inventory_put(s, agent_id, category, value, len, now);
}

int
mamori_store_inventory_time(struct mamori_store *s, const char *agent_id,
    uint64_t *time)
{
	store_enter(s);
	return s->ops->inventory_time(s, agent_id, time);
}

int
mamori_store_history_add(struct mamori_store *s, const char *agent_id,
    uint64_t time, uint32_t category, uint32_t kind, const uint8_t *detail,
    size_t len)
{
	store_enter(s);
	return s->ops->history_add(s, agent_id, time, category, kind, detail,
	    len);
}

int
mamori_store_history_list(struct mamori_store *s, const char *agent_id,
    uint64_t since, size_t limit, mamori_history_fn fn, void *ctx)
{
	store_enter(s);
	return s->ops->history_list(s, agent_id, since, limit, fn, ctx);
}

int
mamori_store_event_add(struct mamori_store *s, const char *agent_id,
    uint64_t seq, uint64_t time_ns, uint32_t type, const uint8_t *payload,
    size_t len, int *inserted)
{
	return s->ops->event_add(s, agent_id, seq, time_ns, type, payload, len,
	    inserted);
}

int
mamori_store_event_list(struct mamori_store *s,
    const struct mamori_event_query *q, mamori_event_fn fn, void *ctx)
{
	store_enter(s);
	return s->ops->event_list(s, q, fn, ctx);
}

/* Runs inside the open group, like event_add: an alert is stored in the
 * same transaction as its event. */
int
mamori_store_alert_raise(struct mamori_store *s,
    const struct mamori_alert_raise *a, int *created)
{
	if (a->id_out != NULL)
		*a->id_out = 0;
	return s->ops->alert_raise(s, a, created);
}

int
mamori_store_alert_list(struct mamori_store *s,
    const struct mamori_alert_query *q, mamori_alert_fn fn, void *ctx)
{
	store_enter(s);
	return s->ops->alert_list(s, q, fn, ctx);
}

/* May run inside the open group: task results arrive between events. */
int
mamori_store_object_put(struct mamori_store *s,
    const struct mamori_object_rec *o, int replace, int *inserted)
{
	return s->ops->object_put(s, o, replace, inserted);
}

int
mamori_store_object_get(struct mamori_store *s, const char *kind,
    const char *key, struct mamori_buf *out, uint64_t *time)
{
	store_enter(s);
	return s->ops->object_get(s, kind, key, out, time);
}

int
mamori_store_object_list(struct mamori_store *s, const char *kind,
    const char *prefix, uint64_t expires_min, size_t limit,
    mamori_object_fn fn, void *ctx)
{
	store_enter(s);
	return s->ops->object_list(s, kind, prefix, expires_min, limit, fn,
	    ctx);
}

static const char *const severity_names[] = {
	[MAMORI_SEVERITY_INFORMATIONAL] = "informational",
	[MAMORI_SEVERITY_LOW] = "low",
	[MAMORI_SEVERITY_MEDIUM] = "medium",
	[MAMORI_SEVERITY_HIGH] = "high",
	[MAMORI_SEVERITY_CRITICAL] = "critical",
};

const char *
mamori_alert_severity_name(uint32_t severity)
{
	if (severity < MAMORI_SEVERITY_INFORMATIONAL ||
	    severity > MAMORI_SEVERITY_CRITICAL)
		return "?";
	return severity_names[severity];
}

int
mamori_alert_severity_parse(const char *text, uint32_t *severity)
{
	uint32_t i;

	*severity = 0;
	if (text == NULL)
		return MAMORI_ERR_INVALID;
	for (i = MAMORI_SEVERITY_INFORMATIONAL; i <= MAMORI_SEVERITY_CRITICAL;
	    i++) {
		if (strcmp(text, severity_names[i]) == 0) {
			*severity = i;
			return 0;
		}
	}
	return MAMORI_ERR_INVALID;
}

const char *
mamori_alert_source_name(uint32_t source)
{
	switch (source) {
	case MAMORI_ALERT_SIGMA:
		return "sigma";
	case MAMORI_ALERT_INDICATOR:
		return "indicator";
	case MAMORI_ALERT_YARA:
		return "yara";
	default:
		return "?";
	}
}
