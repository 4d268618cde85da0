/*
 * session.c - `mamori-agent run`: keep one outbound mutually authenticated
 * TLS connection to the server, say hello, send the full inventory at each
 * connect and deltas when it changes, send heartbeats, and reconnect with
 * jittered exponential backoff when anything fails.
 *
 * This loop must never listen, never act on anything the server says
 * beyond acknowledgements - policies and tasks go to tasks.c, which acts
 * only on what the fleet's keys signed - and never trust a frame it did not
 * fully decode.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "agent.h"
#include "event.h"
#include "source.h"
#include "isolate.h"
#include "usbctl.h"
#include "spool.h"
#include "tasks.h"
#include "yara_policy.h"
#include "err.h"
#include "inventory.h"
#include "log.h"
#include "wire.h"

#define AGENT_HEARTBEAT_DEFAULT 30
#define AGENT_HEARTBEAT_MIN 1
#define AGENT_BATCH_BYTES (1024 * 1024)   /* events per frame, at most */
#define AGENT_INFLIGHT_BATCHES 4          /* unacknowledged frames */
#define AGENT_ACK_TIMEOUT 15              /* seconds before resending */
#define AGENT_MAX_SOURCES 16

struct agent {
	const struct mamori_agent_options *opt;
	struct mamori_agent_state st;
	struct event_base *base;
	SSL_CTX *ctx;
	struct bufferevent *bev;
	struct event *reconnect_ev, *heartbeat_ev, *inventory_ev;
	struct event *sig_int, *sig_term, *sig_usr1;
	uint64_t backoff_ms;
	unsigned heartbeat_s;
	int welcomed;
	Mamori__Inventory *acked;     /* what the server last acknowledged */
	Mamori__Inventory *pending;   /* sent, not yet acknowledged */
	/* Events: the spool, and how far the server has them. */
	struct mamori_spool *spool;
	struct event *sync_ev, *ack_timeout_ev;
	uint64_t sent_seq;            /* last seq written to the connection */
	uint64_t acked_seq;           /* last seq the server acknowledged */
	unsigned inflight;            /* batches sent, not acknowledged */
	/* The last seq of each batch in flight, oldest first: one
	 * acknowledgement may cover several (the server commits in groups). */
	uint64_t inflight_last[AGENT_INFLIGHT_BATCHES];
	int dirty;                    /* appended since the last sync */
	/* Remote management: the policy, tasks and results (tasks.h). */
	struct mamori_agent_tasks *tasks;
	/* The policy's YARA rules and the scanner of new executables. */
	struct mamori_agent_yara *yara;
	void *source_state[AGENT_MAX_SOURCES];
	const struct mamori_event_source *source[AGENT_MAX_SOURCES];
	size_t n_sources;
	struct mamori_usbctl *usbctl; /* USB device control, or NULL */
	int isolated;                 /* the saved isolation intent */
};

static void agent_connect(struct agent *a);
static void agent_send_events(struct agent *a);

static void
agent_schedule_reconnect(struct agent *a)
{
	uint64_t max_ms = a->opt->max_backoff * 1000, delay;
	struct timeval tv;

	if (a->backoff_ms < MAMORI_BACKOFF_MIN_MS)
		a->backoff_ms = MAMORI_BACKOFF_MIN_MS;
	/* Jitter over the upper half, so agents cut off together do not
	 * come back together. */
	delay = a->backoff_ms / 2 + mamori_random_below(a->backoff_ms / 2 + 1);
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)((delay % 1000) * 1000);
	log_info("reconnecting in %llu ms", (unsigned long long)delay);
	event_add(a->reconnect_ev, &tv);
	a->backoff_ms *= 2;
	if (a->backoff_ms > max_ms)
		a->backoff_ms = max_ms;
}

static void
agent_disconnect(struct agent *a, const char *why)
{
	if (why != NULL)
		log_warn("connection to %s lost: %s", a->st.server, why);
	if (a->bev != NULL) {
		bufferevent_free(a->bev);
		a->bev = NULL;
	}
	a->welcomed = 0;
	a->inflight = 0;
	a->sent_seq = a->acked_seq;
	event_del(a->heartbeat_ev);
	event_del(a->inventory_ev);
	if (a->ack_timeout_ev != NULL)
		event_del(a->ack_timeout_ev);
	mamori_inventory_free(a->pending);
	a->pending = NULL;
	agent_schedule_reconnect(a);
}

static int
agent_send(struct agent *a, Mamori__Envelope *env)
{
	struct mamori_buf b;
	int r;

	if (a->bev == NULL)
		return MAMORI_ERR_CLOSED;
	mamori_buf_init(&b, MAMORI_FRAME_MAX + MAMORI_FRAME_HEADER);
	if ((r = mamori_frame_encode(env, &b)) == 0 &&
	    bufferevent_write(a->bev, b.data, b.len) != 0)
		r = MAMORI_ERR_IO;
	mamori_buf_free(&b);
	return r;
}

/* For tasks.c: only a connection that was welcomed carries its messages. */
static int
agent_send_ready(void *ctx, Mamori__Envelope *env)
{
	struct agent *a = ctx;

	if (!a->welcomed)
		return MAMORI_ERR_CLOSED;
	return agent_send(a, env);
}

/* For tasks.c: USB_BLOCK/USB_ALLOW through usbctl, ISOLATE_HOST and
 * RELEASE_HOST through isolate.c, on the loop that also runs the usb
 * source. */
static int
agent_device_task(void *ctx, const Mamori__TaskBody *b,
    Mamori__TaskResult *res)
{
	struct agent *a = ctx;
	char why[256], msg[300];
	size_t n = 0;
	int r;

	why[0] = '\0';
	if (b->type == MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK ||
	    b->type == MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW) {
		r = mamori_usbctl_task(a->usbctl, b, &n, why, sizeof(why));
		if (r == 0)
			snprintf(msg, sizeof(msg), "%s%s%zu device%s present "
			    "changed", why, why[0] != '\0' ? "; " : "", n,
			    n == 1 ? "" : "s");
		else
			snprintf(msg, sizeof(msg), "%s", why);
	} else {
		r = mamori_isolate_task(a->opt->state_dir, a->st.server, b, why,
		    sizeof(why));
		if (r == 0 && b->type ==
		    MAMORI__TASK_TYPE__TASK_TYPE_ISOLATE_HOST)
			a->isolated = 1;
		else if (r == 0)
			a->isolated = 0;
		snprintf(msg, sizeof(msg), "%s", why[0] != '\0' ? why :
		    r == 0 ? "done" : mamori_strerror(r));
	}
	res->status = r == 0 ? MAMORI__TASK_RESULT__STATUS__OK :
	    MAMORI__TASK_RESULT__STATUS__FAILED;
	res->message = strdup(msg);
	return r;
}

/* ---- inventory ------------------------------------------------------- */

/* Item pointers gathered per category while diffing. */
struct delta_build {
	Mamori__Inventory *upsert, *remove;
	ProtobufCMessage **up_items[MAMORI_INV_CODE_LIMIT];
	ProtobufCMessage **rm_items[MAMORI_INV_CODE_LIMIT];
	size_t up_n[MAMORI_INV_CODE_LIMIT], rm_n[MAMORI_INV_CODE_LIMIT];
	size_t up_cap[MAMORI_INV_CODE_LIMIT], rm_cap[MAMORI_INV_CODE_LIMIT];
	size_t total;
};

static int
delta_push(ProtobufCMessage ***arr, size_t *n, size_t *cap,
    const ProtobufCMessage *item)
{
	ProtobufCMessage **p;

	if (*n == *cap) {
		size_t nc = *cap == 0 ? 16 : *cap * 2;

		if ((p = realloc(*arr, nc * sizeof(*p))) == NULL)
			return MAMORI_ERR_ALLOC;
		*arr = p;
		*cap = nc;
	}
	(*arr)[(*n)++] = (ProtobufCMessage *)(uintptr_t)item;
	return 0;
}

static int
delta_change(void *arg, const struct mamori_inv_category *cat, int kind,
    const ProtobufCMessage *before, const ProtobufCMessage *after)
{
	struct delta_build *d = arg;
	unsigned i = cat->field_id;

	if (i >= MAMORI_INV_CODE_LIMIT)
		return MAMORI_ERR_INTERNAL;
	d->total++;
	if (kind == MAMORI_INV_REMOVED)
		return delta_push(&d->rm_items[i], &d->rm_n[i], &d->rm_cap[i],
		    before);
	return delta_push(&d->up_items[i], &d->up_n[i], &d->up_cap[i], after);
}

/* Sends inv as a snapshot, or as a delta against what was acknowledged. */
static int
agent_send_inventory(struct agent *a, Mamori__Inventory *inv, int full)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__InventoryDelta delta = MAMORI__INVENTORY_DELTA__INIT;
	Mamori__Inventory up = MAMORI__INVENTORY__INIT;
	Mamori__Inventory rm = MAMORI__INVENTORY__INIT;
	const struct mamori_inv_category *cats;
	struct delta_build d;
	size_t ncat, i;
	int r = 0;

	if (full || a->acked == NULL) {
		env.body_case = MAMORI__ENVELOPE__BODY_INVENTORY;
		env.inventory = inv;
		return agent_send(a, &env);
	}
	memset(&d, 0, sizeof(d));
	cats = mamori_inv_categories(&ncat);
	for (i = 0; i < ncat && r == 0; i++)
		r = mamori_inv_diff(a->acked, inv, &cats[i], delta_change, &d);
	if (r == 0 && d.total == 0) {
		r = 1; /* nothing changed */
		goto out;
	}
	for (i = 0; r == 0 && i < ncat; i++) {
		unsigned id = cats[i].field_id;

		if (d.up_n[id] > 0)
			mamori_inv_set_items(&up, &cats[i], d.up_items[id],
			    d.up_n[id]);
		if (d.rm_n[id] > 0)
			mamori_inv_set_items(&rm, &cats[i], d.rm_items[id],
			    d.rm_n[id]);
	}
	if (r == 0) {
		delta.collected_at = inv->collected_at;
		delta.upsert = &up;
		delta.remove = &rm;
		env.body_case = MAMORI__ENVELOPE__BODY_INVENTORY_DELTA;
		env.inventory_delta = &delta;
		log_info("inventory changed: sending %zu changes", d.total);
		r = agent_send(a, &env);
	}
out:
	for (i = 0; i < MAMORI_INV_CODE_LIMIT; i++) {
		free(d.up_items[i]);
		free(d.rm_items[i]);
	}
	return r;
}

static void
agent_collect_and_send(struct agent *a, int full)
{
	Mamori__Inventory *inv = NULL;
	int r;

	if (!a->welcomed || a->pending != NULL)
		return; /* one inventory in flight at a time */
	if ((r = mamori_inventory_collect(&a->opt->collect, &inv)) != 0) {
		log_error("cannot collect the inventory: %s",
		    mamori_strerror(r));
		return;
	}
	r = agent_send_inventory(a, inv, full);
	if (r == 0) {
		a->pending = inv;
	} else {
		if (r < 0)
			log_error("cannot send the inventory: %s",
			    mamori_strerror(r));
		mamori_inventory_free(inv);
	}
}

static void
on_inventory_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	agent_collect_and_send(arg, 0);
}

static void
on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__Heartbeat hb = MAMORI__HEARTBEAT__INIT;

	(void)fd;
	(void)what;
	hb.time = mamori_now();
	env.body_case = MAMORI__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	if (agent_send(a, &env) != 0)
		agent_disconnect(a, "cannot send a heartbeat");
}

/* ---- events ------------------------------------------------------------ */

/* Sources hand their events here: into the spool, then to the server. */
static int
agent_emit(void *sink, Mamori__Event *ev)
{
	struct agent *a = sink;
	uint64_t seq;
	int r;

	r = mamori_spool_append(a->spool, ev, &seq);
	mamori_event_free(ev);
	if (r != 0) {
		log_error("cannot spool an event: %s", mamori_strerror(r));
		return r;
	}
	/* Sent at the next sync tick: the spool hands out only what is on
	 * disk, so sending per event would cost one fdatasync per event. */
	a->dirty = 1;
	return 0;
}

static void
on_sync_timer(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int r;

	(void)fd;
	(void)what;
	if (!a->dirty)
		return;
	if ((r = mamori_spool_sync(a->spool)) != 0) {
		log_error("cannot sync the spool: %s", mamori_strerror(r));
		return;
	}
	a->dirty = 0;
	agent_send_events(a);
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return n;
}

/* Sends spooled events past sent_seq, a batch at a time, keeping at most
 * AGENT_INFLIGHT_BATCHES unacknowledged. */
static void
agent_send_events(struct agent *a)
{
	struct mamori_buf batch;
	uint8_t head[MAMORI_FRAME_HEADER + 16]; /* header, version, key, length */
	uint8_t tail[1 + 10];                   /* after_seq */
	struct timeval tv = {AGENT_ACK_TIMEOUT, 0};
	uint64_t last;
	size_t count, h, t;
	int r;

	if (!a->welcomed || a->spool == NULL)
		return;
	mamori_buf_init(&batch, AGENT_BATCH_BYTES + 64 * 1024);
	while (a->inflight < AGENT_INFLIGHT_BATCHES) {
		mamori_buf_reset(&batch);
		r = mamori_spool_read(a->spool, a->sent_seq, AGENT_BATCH_BYTES,
		    &batch, &count, &last);
		if (r != 0) {
			log_error("cannot read the spool: %s",
			    mamori_strerror(r));
			break;
		}
		if (count == 0)
			break;
		/* Envelope{version = 1, event_batch = batch}, by hand: the
		 * spool already holds the batch's serialized elements. */
		h = 4;
		head[h++] = 0x08;
		head[h++] = MAMORI_WIRE_VERSION;
		head[h++] = 0xa2;  /* field 20, length-delimited */
		head[h++] = 0x01;
		/* EventBatch.after_seq (field 2, varint) after the events. */
		tail[0] = 0x10;
		t = 1 + put_varint(tail + 1, a->sent_seq);
		h += put_varint(head + h, batch.len + t);
		if (h - 4 + batch.len + t > MAMORI_FRAME_MAX)
			break;
		head[0] = (uint8_t)((h - 4 + batch.len + t) >> 24);
		head[1] = (uint8_t)((h - 4 + batch.len + t) >> 16);
		head[2] = (uint8_t)((h - 4 + batch.len + t) >> 8);
		head[3] = (uint8_t)(h - 4 + batch.len + t);
		if (bufferevent_write(a->bev, head, h) != 0 ||
		    bufferevent_write(a->bev, batch.data, batch.len) != 0 ||
		    bufferevent_write(a->bev, tail, t) != 0) {
			log_error("cannot queue events for sending");
			break;
		}
		a->sent_seq = last;
		a->inflight_last[a->inflight++] = last;
		event_add(a->ack_timeout_ev, &tv);
	}
	mamori_buf_free(&batch);
}

/* The server withheld its acknowledgement (its store is slow or full):
 * send everything unacknowledged again; it stores each event once. */
static void
on_ack_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (!a->welcomed || a->sent_seq == a->acked_seq)
		return;
	log_warn("no acknowledgement for events after %llu in %ds; sending "
	    "again", (unsigned long long)a->acked_seq, AGENT_ACK_TIMEOUT);
	a->sent_seq = a->acked_seq;
	a->inflight = 0;
	agent_send_events(a);
}

static void
agent_acked(struct agent *a, uint64_t acked)
{
	struct timeval tv = {AGENT_ACK_TIMEOUT, 0};
	unsigned done;
	int r;

	if (acked <= a->acked_seq || acked > a->sent_seq)
		return; /* stale or nonsense: ignore, do not trust */
	if ((r = mamori_spool_ack(a->spool, acked)) != 0)
		log_error("cannot trim the spool: %s", mamori_strerror(r));
	a->acked_seq = acked;
	for (done = 0; done < a->inflight && a->inflight_last[done] <= acked;
	    done++)
		;
	memmove(a->inflight_last, a->inflight_last + done,
	    (a->inflight - done) * sizeof(a->inflight_last[0]));
	a->inflight -= done;
	if (a->sent_seq > a->acked_seq)
		event_add(a->ack_timeout_ev, &tv);
	else
		event_del(a->ack_timeout_ev);
	agent_send_events(a);
}

int
mamori_agent_source_enabled(const struct mamori_agent_options *opt,
    const char *name)
{
	const char *p = opt->sources_enabled, *end;
	size_t n = strlen(name);

	if (p == NULL)
		return 1;
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == n && strncmp(p, name, n) == 0)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* USB device control: the saved rules, enforced on the devices present
 * now and, through the usb source, on each device attached later.  A
 * damaged rule file leaves it off (usbctl logs why). */
static void
agent_usbctl_start(struct agent *a)
{
	char sysfs[PATH_MAX];
	size_t n = 0;
	int r = 0;

	if ((size_t)snprintf(sysfs, sizeof(sysfs), "%s/sys",
	    a->opt->collect.root) >= sizeof(sysfs) ||
	    mamori_usbctl_open(a->opt->state_dir, sysfs, &a->usbctl) != 0) {
		log_warn("USB device control is off");
		return;
	}
	if (a->opt->usb_default_deny ||
	    mamori_usbctl_default_deny_was_on(a->usbctl))
		r = mamori_usbctl_set_default_deny(a->usbctl,
		    a->opt->usb_default_deny, &n);
	if (r == 0 && (r = mamori_usbctl_apply(a->usbctl, &n)) != 0)
		log_warn("USB rules not fully enforced: %s",
		    mamori_strerror(r));
	else if (r != 0)
		log_warn("USB default-deny could not be set: %s",
		    mamori_strerror(r));
	if (n > 0)
		log_info("USB rules: %zu present device%s (de)authorized", n,
		    n == 1 ? "" : "s");
}

static void
agent_sources_start(struct agent *a)
{
	const struct mamori_event_source *const *all;
	struct mamori_source_ctx ctx;
	size_t n, i;
	void *state;

	all = mamori_event_sources(&n);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = a->base;
	ctx.root = a->opt->collect.root;
	ctx.state_dir = a->opt->state_dir;
	ctx.opt = &a->opt->sources;
	ctx.emit = agent_emit;
	ctx.sink = a;
	if (mamori_agent_source_enabled(a->opt, "usb"))
		agent_usbctl_start(a);
	ctx.usbctl = a->usbctl;
	ctx.yara = a->yara;
	for (i = 0; i < n && a->n_sources < AGENT_MAX_SOURCES; i++) {
		if (!mamori_agent_source_enabled(a->opt, all[i]->name))
			continue;
		state = NULL;
		if (all[i]->start(&ctx, &state) != 0) {
			log_warn("event source %s did not start; running "
			    "without it", all[i]->name);
			continue;
		}
		log_info("event source %s started", all[i]->name);
		a->source[a->n_sources] = all[i];
		a->source_state[a->n_sources++] = state;
	}
}

static void
agent_sources_stop(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->n_sources; i++)
		a->source[i]->stop(a->source_state[i]);
	a->n_sources = 0;
	mamori_usbctl_free(a->usbctl);
	a->usbctl = NULL;
}

/* ---- protocol ---------------------------------------------------------- */

static void
agent_welcomed(struct agent *a, const Mamori__Welcome *w)
{
	struct timeval hb, inv, rt;
	char id[80];

	if (strcmp(w->agent_id, a->st.agent_id) != 0)
		log_warn("the server knows this agent as %s, its certificate "
		    "says %s", mamori_log_safe(w->agent_id, id, sizeof(id)),
		    a->st.agent_id);
	a->welcomed = 1;
	a->heartbeat_s = w->heartbeat_seconds >= AGENT_HEARTBEAT_MIN &&
	    w->heartbeat_seconds <= 3600 ? w->heartbeat_seconds :
	    AGENT_HEARTBEAT_DEFAULT;
	log_info("connected to %s as agent %s (heartbeat %us)", a->st.server,
	    a->st.agent_id, a->heartbeat_s);
	hb.tv_sec = (time_t)a->heartbeat_s;
	hb.tv_usec = 0;
	event_add(a->heartbeat_ev, &hb);
	inv.tv_sec = (time_t)a->opt->inventory_interval;
	inv.tv_usec = 0;
	event_add(a->inventory_ev, &inv);
	rt.tv_sec = (time_t)(3 * a->heartbeat_s + 10);
	rt.tv_usec = 0;
	bufferevent_set_timeouts(a->bev, &rt, NULL);
	agent_collect_and_send(a, 1);
	a->sent_seq = a->acked_seq;
	a->inflight = 0;
	agent_send_events(a);
	if (a->tasks != NULL)
		mamori_agent_tasks_connected(a->tasks);
}

/* Returns 0 to keep the connection. */
static int
agent_dispatch(struct agent *a, const Mamori__Envelope *env)
{
	char msg[256];

	switch (env->body_case) {
	case MAMORI__ENVELOPE__BODY_WELCOME:
		if (a->welcomed)
			break;
		agent_welcomed(a, env->welcome);
		return 0;
	case MAMORI__ENVELOPE__BODY_HEARTBEAT_ACK:
		if (!a->welcomed)
			break;
		a->backoff_ms = MAMORI_BACKOFF_MIN_MS;
		return 0;
	case MAMORI__ENVELOPE__BODY_INVENTORY_ACK:
		if (!a->welcomed || a->pending == NULL)
			break;
		/* The server took real work: the connection is healthy, so
		 * the next failure starts the backoff from the bottom. */
		a->backoff_ms = MAMORI_BACKOFF_MIN_MS;
		mamori_inventory_free(a->acked);
		a->acked = a->pending;
		a->pending = NULL;
		log_debug("inventory acknowledged");
		return 0;
	case MAMORI__ENVELOPE__BODY_EVENT_ACK:
		if (!a->welcomed)
			break;
		agent_acked(a, env->event_ack->acked_seq);
		return 0;
	case MAMORI__ENVELOPE__BODY_POLICY_UPDATE:
		if (!a->welcomed || a->tasks == NULL)
			break;
		mamori_agent_tasks_policy(a->tasks, env->policy_update);
		return 0;
	case MAMORI__ENVELOPE__BODY_TASK_DELIVERY:
		if (!a->welcomed || a->tasks == NULL)
			break;
		/* Verified there before anything is done with it. */
		mamori_agent_tasks_deliver(a->tasks, env->task_delivery);
		return 0;
	case MAMORI__ENVELOPE__BODY_ERROR:
		log_warn("the server says: %s", mamori_log_safe(
		    env->error->message, msg, sizeof(msg)));
		return MAMORI_ERR_CLOSED;
	default:
		break;
	}
	log_warn("unexpected %s message from the server",
	    mamori_envelope_kind(env));
	return MAMORI_ERR_PROTOCOL;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct agent *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	Mamori__Envelope *env;
	uint8_t hdr[MAMORI_FRAME_HEADER], *p;
	uint32_t len;
	int r;

	for (;;) {
		if (evbuffer_get_length(in) < MAMORI_FRAME_HEADER)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		if ((r = mamori_frame_length(hdr, MAMORI_FRAME_MAX, &len)) !=
		    0) {
			agent_disconnect(a, "bad frame from the server");
			return;
		}
		if (evbuffer_get_length(in) < MAMORI_FRAME_HEADER + len)
			return;
		if ((p = evbuffer_pullup(in, MAMORI_FRAME_HEADER + len)) ==
		    NULL) {
			agent_disconnect(a, "out of memory");
			return;
		}
		r = mamori_envelope_decode(p + MAMORI_FRAME_HEADER, len,
		    MAMORI_DECODE_BUDGET, &env);
		evbuffer_drain(in, MAMORI_FRAME_HEADER + len);
		if (r != 0) {
			agent_disconnect(a, "malformed frame from the server");
			return;
		}
		r = agent_dispatch(a, env);
		mamori_envelope_free(env);
		if (r != 0) {
			agent_disconnect(a, r == MAMORI_ERR_CLOSED ?
			    "closed by the server" : "protocol violation");
			return;
		}
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct agent *a = arg;
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__Hello hello = MAMORI__HELLO__INIT;
	char why[300];
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		hello.agent_version = (char *)(uintptr_t)MAMORI_VERSION;
		env.body_case = MAMORI__ENVELOPE__BODY_HELLO;
		env.hello = &hello;
		if (agent_send(a, &env) != 0)
			agent_disconnect(a, "cannot send hello");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		agent_disconnect(a, "the server went silent");
		return;
	}
	/* A reset shows as a bare SSL_ERROR_SYSCALL (library 0). */
	if ((e = bufferevent_get_openssl_error(bev)) != 0 &&
	    (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	    ERR_GET_LIB(e) == 0)) {
		agent_disconnect(a, "closed by the server");
		return;
	}
	if (e != 0) {
		char ebuf[200];

		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(why, sizeof(why), "TLS: %s", ebuf);
		if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
			snprintf(why, sizeof(why), "the server's certificate "
			    "does not chain to the pinned fleet CA; refusing "
			    "it");
		agent_disconnect(a, why);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		agent_disconnect(a, "closed by the server");
		return;
	}
	snprintf(why, sizeof(why), "%s", strerror(EVUTIL_SOCKET_ERROR()));
	agent_disconnect(a, why);
}

static void
agent_connect(struct agent *a)
{
	struct addrinfo hints, *ai = NULL;
	char host[MAMORI_HOST_MAX + 1], port_s[8];
	struct timeval tv = {MAMORI_CONNECT_TIMEOUT, 0};
	uint16_t port;
	SSL *ssl;
	int gai;

	if (mamori_parse_hostport(a->st.server, host, sizeof(host), &port) !=
	    0) {
		log_error("bad server address %s", a->st.server);
		agent_schedule_reconnect(a);
		return;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port_s, &hints, &ai)) != 0) {
		log_warn("cannot resolve %s: %s", host, gai_strerror(gai));
		agent_schedule_reconnect(a);
		return;
	}
	if ((ssl = SSL_new(a->ctx)) == NULL ||
	    mamori_tls_client_setup(ssl) != 0) {
		SSL_free(ssl);
		freeaddrinfo(ai);
		agent_schedule_reconnect(a);
		return;
	}
	a->bev = bufferevent_openssl_socket_new(a->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (a->bev == NULL) {
		SSL_free(ssl);
		freeaddrinfo(ai);
		agent_schedule_reconnect(a);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(a->bev, 1);
	bufferevent_setcb(a->bev, on_read, NULL, on_event, a);
	bufferevent_setwatermark(a->bev, EV_READ, 0,
	    MAMORI_FRAME_MAX + MAMORI_FRAME_HEADER);
	bufferevent_set_timeouts(a->bev, &tv, &tv);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	log_debug("connecting to %s", a->st.server);
	if (bufferevent_socket_connect(a->bev, ai->ai_addr,
	    (int)ai->ai_addrlen) != 0) {
		freeaddrinfo(ai);
		agent_disconnect(a, strerror(errno));
		return;
	}
	freeaddrinfo(ai);
}

static void
on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	agent_connect(arg);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	if (sig == SIGUSR1) {
		log_info("SIGUSR1: collecting the inventory now");
		agent_collect_and_send(a, 0);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(a->base, NULL);
}

static int
agent_events_init(struct agent *a)
{
	struct mamori_spool_stats st;
	struct timeval tv = {0, MAMORI_SPOOL_SYNC_MS * 1000};
	char dir[PATH_MAX];
	int r;

	if ((r = mamori_path_join(dir, sizeof(dir), a->opt->state_dir,
	    "spool")) != 0)
		return r;
	if ((r = mamori_spool_open(dir, a->opt->spool_max, &a->spool)) != 0) {
		fprintf(stderr, "mamori-agent: cannot open the event spool %s: "
		    "%s\n", dir, mamori_strerror(r));
		return r;
	}
	mamori_spool_stats(a->spool, &st);
	a->acked_seq = st.first_seq > 0 ? st.first_seq - 1 : st.next_seq - 1;
	a->sent_seq = a->acked_seq;
	a->sync_ev = event_new(a->base, -1, EV_PERSIST, on_sync_timer, a);
	a->ack_timeout_ev = evtimer_new(a->base, on_ack_timeout, a);
	if (a->sync_ev == NULL || a->ack_timeout_ev == NULL)
		return MAMORI_ERR_ALLOC;
	event_add(a->sync_ev, &tv);
	log_info("event spool %s: %llu events waiting, next seq %llu", dir,
	    (unsigned long long)st.records, (unsigned long long)st.next_seq);
	return 0;
}

int
mamori_agent_run(const struct mamori_agent_options *opt)
{
	struct mamori_agent_tasks_config tc;
	struct agent a;
	char why[512];
	int r;

	memset(&a, 0, sizeof(a));
	a.opt = opt;
	a.backoff_ms = MAMORI_BACKOFF_MIN_MS;
	signal(SIGPIPE, SIG_IGN);
	if ((r = mamori_state_load(opt->state_dir, &a.st, why,
	    sizeof(why))) != 0) {
		fprintf(stderr, "mamori-agent: %s\n", why);
		return r;
	}
	/* Isolation first: a host isolated before a restart or a reboot is
	 * isolated again before anything else talks to the network. */
	if (mamori_isolate_restore(opt->state_dir, &a.isolated, why,
	    sizeof(why)) != 0)
		log_error("host isolation could not be restored: %s", why);
	else if (a.isolated)
		log_warn("this host is isolated: only the mamori server is "
		    "reachable until a RELEASE_HOST task");
	if ((r = mamori_tls_run_ctx(&a.st, &a.ctx)) != 0) {
		fprintf(stderr, "mamori-agent: cannot set up TLS with the "
		    "state in %s\n", opt->state_dir);
		goto out;
	}
	r = MAMORI_ERR_ALLOC;
	if ((a.base = event_base_new()) == NULL)
		goto out;
	a.reconnect_ev = evtimer_new(a.base, on_reconnect, &a);
	a.heartbeat_ev = event_new(a.base, -1, EV_PERSIST, on_heartbeat_timer,
	    &a);
	a.inventory_ev = event_new(a.base, -1, EV_PERSIST, on_inventory_timer,
	    &a);
	a.sig_int = evsignal_new(a.base, SIGINT, on_signal, &a);
	a.sig_term = evsignal_new(a.base, SIGTERM, on_signal, &a);
	a.sig_usr1 = evsignal_new(a.base, SIGUSR1, on_signal, &a);
	if (a.reconnect_ev == NULL || a.heartbeat_ev == NULL ||
	    a.inventory_ev == NULL || a.sig_int == NULL ||
	    a.sig_term == NULL || a.sig_usr1 == NULL)
		goto out;
	event_add(a.sig_int, NULL);
	event_add(a.sig_term, NULL);
	event_add(a.sig_usr1, NULL);
	if ((r = agent_events_init(&a)) != 0)
		goto out;
	memset(&tc, 0, sizeof(tc));
	tc.state_dir = opt->state_dir;
	tc.agent_id = a.st.agent_id;
	tc.owner_fp = a.st.owner_fp;
	tc.base = a.base;
	tc.send = agent_send_ready;
	tc.emit = agent_emit;
	tc.ctx = &a;
	tc.query_root = "";
	tc.device = agent_device_task;
	tc.device_ctx = &a;
	if ((r = mamori_agent_yara_new(a.base, agent_emit, &a,
	    &a.yara)) != 0)
		log_error("YARA rules cannot be used: %s", mamori_strerror(r));
	tc.yara = a.yara;
	if ((r = mamori_agent_tasks_new(&tc, &a.tasks)) != 0) {
		fprintf(stderr, "mamori-agent: cannot start the task workers: "
		    "%s\n", mamori_strerror(r));
		goto out;
	}
	agent_sources_start(&a);
	log_info("agent %s starting; server %s", a.st.agent_id, a.st.server);
	agent_connect(&a);
	event_base_dispatch(a.base);
	r = 0;
out:
	agent_sources_stop(&a);
	/* Before the spool closes: finished tasks still emit events. */
	mamori_agent_tasks_free(a.tasks);
	/* After the task workers, which may hold its rules. */
	mamori_agent_yara_free(a.yara);
	if (a.spool != NULL) {
		(void)mamori_spool_sync(a.spool);
		mamori_spool_close(a.spool);
	}
	if (a.sync_ev != NULL)
		event_free(a.sync_ev);
	if (a.ack_timeout_ev != NULL)
		event_free(a.ack_timeout_ev);
	if (a.bev != NULL)
		bufferevent_free(a.bev);
	if (a.reconnect_ev != NULL)
		event_free(a.reconnect_ev);
	if (a.heartbeat_ev != NULL)
		event_free(a.heartbeat_ev);
	if (a.inventory_ev != NULL)
		event_free(a.inventory_ev);
	if (a.sig_int != NULL)
		event_free(a.sig_int);
	if (a.sig_term != NULL)
		event_free(a.sig_term);
	if (a.sig_usr1 != NULL)
		event_free(a.sig_usr1);
	if (a.base != NULL)
		event_base_free(a.base);
	mamori_inventory_free(a.acked);
	mamori_inventory_free(a.pending);
	SSL_CTX_free(a.ctx);
	mamori_state_free(&a.st);
	return r;
}
