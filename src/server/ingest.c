/*
 * ingest.c - applying an agent's inventory to the store.
 *
 * The agent id comes from the session (its certificate); an id the agent
 * claims inside the inventory is only logged.  For each category the
 * current state is read back, compared with what arrived, each difference
 * recorded as a sealed history entry, and the new state written - all in
 * one transaction, so a failure leaves the previous state whole.  The first
 * snapshot of an agent records no per-item history (it is the baseline).
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "inventory.h"
#include "log.h"
#include "server.h"
#include "util.h"

struct change_ctx {
	struct mamori_store *store;
	const char *agent_id;
	uint64_t now;
	size_t count;
};

/* Serializes item into a ProtobufCBinaryData backed by buf. */
static int
item_bytes(const ProtobufCMessage *item, struct mamori_buf *buf,
    ProtobufCBinaryData *out)
{
	int r;

	out->data = NULL;
	out->len = 0;
	if (item == NULL)
		return 0;
	mamori_buf_reset(buf);
	if ((r = mamori_pb_encode(item, buf)) != 0)
		return r;
	out->data = buf->data;
	out->len = buf->len;
	return 0;
}

static int
record_change(void *arg, const struct mamori_inv_category *cat, int kind,
    const ProtobufCMessage *before, const ProtobufCMessage *after)
{
	struct change_ctx *ctx = arg;
	Mamori__InventoryChange ch = MAMORI__INVENTORY_CHANGE__INIT;
	struct mamori_buf b1, b2, out;
	int r;

	mamori_buf_init(&b1, MAMORI_FRAME_MAX);
	mamori_buf_init(&b2, MAMORI_FRAME_MAX);
	mamori_buf_init(&out, 2 * (size_t)MAMORI_FRAME_MAX);
	ch.category = cat->field_id;
	ch.kind = (uint32_t)kind;
	if ((r = item_bytes(before, &b1, &ch.before)) != 0 ||
	    (r = item_bytes(after, &b2, &ch.after)) != 0 ||
	    (r = mamori_pb_encode(&ch.base, &out)) != 0)
		goto out;
	r = mamori_store_history_add(ctx->store, ctx->agent_id, ctx->now,
	    cat->field_id, (uint32_t)kind, out.data, out.len);
	ctx->count++;
out:
	mamori_buf_free(&b1);
	mamori_buf_free(&b2);
	mamori_buf_free(&out);
	return r;
}

/* Reads the stored state of one category; *cur is NULL when none. */
static int
load_category(struct mamori_store *store, const char *agent_id,
    const struct mamori_inv_category *cat, Mamori__Inventory **cur)
{
	struct mamori_buf b;
	ProtobufCMessage *m = NULL;
	int r;

	*cur = NULL;
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX);
	r = mamori_store_inventory_get(store, agent_id, cat->field_id, &b);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if ((r = mamori_pb_decode(&mamori__inventory__descriptor, b.data,
	    b.len, MAMORI_DECODE_BUDGET, &m)) != 0) {
		log_error("stored inventory of agent %s (%s) does not decode",
		    agent_id, cat->name);
		goto out;
	}
	*cur = (Mamori__Inventory *)m;
out:
	mamori_buf_free(&b);
	return r;
}

/* Writes category cat of inv (only that category) as the current state. */
static int
save_category(struct mamori_store *store, const char *agent_id,
    const struct mamori_inv_category *cat, const Mamori__Inventory *inv,
    uint64_t now)
{
	Mamori__Inventory only = MAMORI__INVENTORY__INIT;
	ProtobufCMessage **items;
	struct mamori_buf b;
	size_t n;
	int r;

	n = mamori_inv_items(inv, cat, &items);
	mamori_inv_set_items(&only, cat, items, n);
	only.collected_at = inv->collected_at;
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX);
	if ((r = mamori_pb_encode(&only.base, &b)) == 0)
		r = mamori_store_inventory_put(store, agent_id, cat->field_id,
		    b.data, b.len, now);
	mamori_buf_free(&b);
	return r;
}

static void
check_claim(const char *agent_id, const char *claimed)
{
	char safe[80];

	if (claimed != NULL && claimed[0] != '\0' &&
	    strcmp(claimed, agent_id) != 0)
		log_warn("agent %s claims to be \"%s\" in its inventory; the "
		    "claim is ignored and only %s's records change", agent_id,
		    mamori_log_safe(claimed, safe, sizeof(safe)), agent_id);
}

/* Copies s into out cut at a UTF-8 character boundary. */
static const char *
utf8_cut(const char *s, char *out, size_t outlen)
{
	size_t n = mamori_strlcpy(out, s, outlen);

	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
		out[n] = '\0';
	}
	return out;
}

static void
update_info(struct mamori_store *store, const char *agent_id,
    const Mamori__OsInfo *os)
{
	char host[MAMORI_STORE_HOSTNAME_MAX], name[MAMORI_STORE_OS_MAX];
	int r;

	if (os == NULL)
		return;
	r = mamori_store_agent_set_info(store, agent_id,
	    utf8_cut(os->hostname, host, sizeof(host)),
	    utf8_cut(os->pretty_name[0] != '\0' ? os->pretty_name : os->name,
	    name, sizeof(name)));
	if (r != 0)
		log_warn("agent %s: cannot record its hostname: %s", agent_id,
		    mamori_strerror(r));
}

int
mamori_ingest_snapshot(struct mamori_store *store, const char *agent_id,
    const Mamori__Inventory *inv, uint64_t now)
{
	struct change_ctx ctx = {store, agent_id, now, 0};
	const struct mamori_inv_category *cats;
	Mamori__Inventory *cur = NULL;
	size_t ncat, i;
	int r, first = 1;

	check_claim(agent_id, inv->claimed_agent_id);
	cats = mamori_inv_categories(&ncat);
	if ((r = mamori_store_begin(store)) != 0)
		return r;
	for (i = 0; i < ncat; i++) {
		if ((r = load_category(store, agent_id, &cats[i], &cur)) != 0)
			goto fail;
		if (cur != NULL) {
			first = 0;
			if ((r = mamori_inv_diff(cur, inv, &cats[i],
			    record_change, &ctx)) != 0)
				goto fail;
		}
		mamori_pb_free(cur ? &cur->base : NULL);
		cur = NULL;
		if ((r = save_category(store, agent_id, &cats[i], inv,
		    now)) != 0)
			goto fail;
	}
	update_info(store, agent_id, inv->os);
	if ((r = mamori_store_commit(store)) != 0)
		goto fail;
	log_info("agent %s: inventory snapshot stored (%zu packages, %zu "
	    "changes%s)", agent_id, inv->n_packages, ctx.count,
	    first ? ", baseline" : "");
	return 0;
fail:
	mamori_pb_free(cur ? &cur->base : NULL);
	mamori_store_rollback(store);
	log_error("agent %s: inventory snapshot not stored: %s", agent_id,
	    mamori_strerror(r));
	return r;
}

int
mamori_ingest_delta(struct mamori_store *store, const char *agent_id,
    const Mamori__InventoryDelta *delta, uint64_t now)
{
	static const Mamori__Inventory empty = MAMORI__INVENTORY__INIT;
	struct change_ctx ctx = {store, agent_id, now, 0};
	const struct mamori_inv_category *cats;
	const Mamori__Inventory *up, *rm;
	Mamori__Inventory *cur = NULL, next = MAMORI__INVENTORY__INIT;
	ProtobufCMessage **arr = NULL, **items;
	size_t ncat, i;
	int r;

	up = delta->upsert != NULL ? delta->upsert : &empty;
	rm = delta->remove != NULL ? delta->remove : &empty;
	if (up->claimed_agent_id != NULL)
		check_claim(agent_id, up->claimed_agent_id);
	cats = mamori_inv_categories(&ncat);
	if ((r = mamori_store_begin(store)) != 0)
		return r;
	for (i = 0; i < ncat; i++) {
		if (mamori_inv_items(up, &cats[i], &items) == 0 &&
		    mamori_inv_items(rm, &cats[i], &items) == 0)
			continue;
		if ((r = load_category(store, agent_id, &cats[i], &cur)) != 0)
			goto fail;
		mamori__inventory__init(&next);
		if ((r = mamori_inv_apply(cur, up, rm, &cats[i], &next,
		    &arr)) != 0)
			goto fail;
		next.collected_at = delta->collected_at;
		if ((r = mamori_inv_diff(cur, &next, &cats[i], record_change,
		    &ctx)) != 0)
			goto fail;
		if ((r = save_category(store, agent_id, &cats[i], &next,
		    now)) != 0)
			goto fail;
		if (cats[i].field_id == MAMORI_INV_OS)
			update_info(store, agent_id, next.os);
		free(arr);
		arr = NULL;
		mamori_pb_free(cur ? &cur->base : NULL);
		cur = NULL;
	}
	if ((r = mamori_store_commit(store)) != 0)
		goto fail;
	log_info("agent %s: inventory delta stored (%zu changes)", agent_id,
	    ctx.count);
	return 0;
fail:
	free(arr);
	mamori_pb_free(cur ? &cur->base : NULL);
	mamori_store_rollback(store);
	log_error("agent %s: inventory delta not stored: %s", agent_id,
	    mamori_strerror(r));
	return r;
}

int
mamori_ingest_events_check(const Mamori__EventBatch *batch)
{
	uint64_t prev = 0;
	size_t i;

	if (batch->n_events == 0 || batch->n_events > MAMORI_MAX_EVENT_BATCH)
		return MAMORI_ERR_BAD_MESSAGE;
	for (i = 0; i < batch->n_events; i++) {
		const Mamori__Event *ev = batch->events[i];

		/* In order, numbered, with a body: anything else is a broken
		 * or hostile agent, not a storage problem. */
		if (ev->seq == 0 || ev->seq <= prev ||
		    ev->body_case == MAMORI__EVENT__BODY__NOT_SET)
			return MAMORI_ERR_BAD_MESSAGE;
		prev = ev->seq;
	}
	if (batch->after_seq >= batch->events[0]->seq)
		return MAMORI_ERR_BAD_MESSAGE;
	return 0;
}

int
mamori_ingest_events_write(struct mamori_store *store, const char *agent_id,
    const Mamori__EventBatch *batch, struct mamori_detect *detect,
    size_t *added)
{
	struct mamori_buf b;
	size_t i;
	int r = 0, inserted;

	*added = 0;
	mamori_buf_init(&b, MAMORI_FRAME_MAX);
	for (i = 0; i < batch->n_events; i++) {
		const Mamori__Event *ev = batch->events[i];

		mamori_buf_reset(&b);
		if ((r = mamori_pb_encode(&ev->base, &b)) != 0 ||
		    (r = mamori_store_event_add(store, agent_id, ev->seq,
		    ev->time_ns, (uint32_t)ev->body_case, b.data, b.len,
		    &inserted)) != 0)
			break;
		*added += (size_t)inserted;
		/* Only events stored now: one sent again raised its alerts
		 * when it was first stored. */
		if (inserted && (r = mamori_detect_event(detect, store,
		    agent_id, ev, NULL)) != 0)
			break;
	}
	mamori_buf_free(&b);
	return r;
}
