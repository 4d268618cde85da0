/*
 * fleet.c - the fleet policy, tasks, hunts and results on the server
 * (fleet.h says what the server may and may not do here).
 *
 * Every task the server holds - a live query, a hunt, a signed task an
 * administrator submitted - is one record: the SignedTask bytes exactly as
 * they will travel, and the agents it reaches, fixed when it is submitted
 * (a group that lists "*" reaches the agents enrolled then).  Each agent
 * gets the task when it is connected or the next time it connects while
 * the task is valid, until its result is in.  Tasks and results are sealed
 * in the store (objects "task" and "result"); the policy is object
 * "policy"/"current".
 *
 * Never: sign or alter a task, trust a result for a task or agent it did
 * not send, or let one administrator's stream block the event loop (results
 * are written to the admin socket's buffer, which the CLI drains).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "crypto.h"
#include "err.h"
#include "fleet.h"
#include "log.h"
#include "pbjson.h"
#include "policy.h"
#include "server.h"
#include "task.h"

#define FLEET_KIND_TASK "task"
#define FLEET_KIND_RESULT "result"
#define FLEET_KIND_POLICY "policy"
#define FLEET_POLICY_KEY "current"
#define FLEET_PREFIX_MIN 4            /* shortest agent or task id prefix */
#define FLEET_QUERY_SKEW 5            /* seconds added to a query's wait */
#define FLEET_BY_MAX 64               /* "uid 1000" and the like */
#define FLEET_LINE_MAX (8 * 1024 * 1024) /* one streamed result, as JSON */
#define FLEET_HOST_MAX 64             /* hostname shown with a result */

enum target_state { T_PENDING = 0, T_SENT, T_DONE };

struct fleet_target {
	char id[MAMORI_AGENT_ID_STRLEN];
	char host[FLEET_HOST_MAX];
	uint8_t state;
	uint8_t status;               /* Mamori__TaskResult__Status, T_DONE */
	char message[160];            /* T_DONE: error or refusal */
};

struct fleet_waiter;

struct fleet_task {
	struct fleet_task *next;
	uint8_t id[MAMORI_TASK_ID_LEN];
	char hex[2 * MAMORI_TASK_ID_LEN + 1];
	uint8_t *bytes;               /* the SignedTask */
	size_t len;
	struct mamori_task *t;        /* opened, never verified here */
	char kind[16];                /* query, hunt, task */
	char by[FLEET_BY_MAX];
	uint64_t created, not_after;
	struct fleet_target *targets; /* sorted by id */
	size_t n_targets, n_done;
	/* An expired task's outcome, kept with it when it left memory, so
	 * listing it needs none of its results read back. */
	int counted;
	size_t count_ok, count_failed;
	struct fleet_waiter *waiter;
};

struct fleet_waiter {
	struct mamori_fleet *f;
	struct bufferevent *bev;
	struct fleet_task *task;
	struct event *deadline;
};

struct mamori_fleet {
	struct mamori_server *srv;
	struct mamori_policy *policy;
	struct fleet_task *tasks;
	size_t n_tasks;
	struct event *sweep;
	int closing;                  /* the server stops: no more writing */
};

static void waiter_finish(struct fleet_waiter *w);

/* ---- tasks in memory --------------------------------------------------- */

static void
task_free(struct fleet_task *t)
{
	if (t == NULL)
		return;
	if (t->waiter != NULL)
		waiter_finish(t->waiter);
	free(t->bytes);
	mamori_task_free(t->t);
	free(t->targets);
	free(t);
}

static int
target_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fleet_target *)a)->id,
	    ((const struct fleet_target *)b)->id);
}

static struct fleet_target *
task_target(struct fleet_task *t, const char *agent_id)
{
	struct fleet_target key;

	if (strlen(agent_id) >= sizeof(key.id))
		return NULL;
	memset(&key, 0, sizeof(key));
	mamori_strlcpy(key.id, agent_id, sizeof(key.id));
	return bsearch(&key, t->targets, t->n_targets, sizeof(key),
	    target_cmp);
}

static struct fleet_task *
task_find(struct mamori_fleet *f, const uint8_t *id, size_t len)
{
	struct fleet_task *t;

	if (len != MAMORI_TASK_ID_LEN)
		return NULL;
	for (t = f->tasks; t != NULL; t = t->next)
		if (memcmp(t->id, id, MAMORI_TASK_ID_LEN) == 0)
			return t;
	return NULL;
}

/* Sorts and drops duplicates. */
static void
targets_settle(struct fleet_task *t)
{
	size_t i, n = 0;

	if (t->n_targets == 0)
		return;
	qsort(t->targets, t->n_targets, sizeof(*t->targets), target_cmp);
	for (i = 0; i < t->n_targets; i++)
		if (n == 0 || strcmp(t->targets[n - 1].id,
		    t->targets[i].id) != 0)
			t->targets[n++] = t->targets[i];
	t->n_targets = n;
}

static int
targets_push(struct fleet_task *t, size_t *cap, const char *id,
    const char *host)
{
	struct fleet_target *n;

	if (strlen(id) >= sizeof(t->targets[0].id))
		return MAMORI_ERR_INVALID;
	if (t->n_targets == *cap) {
		size_t nc = *cap == 0 ? 64 : *cap * 2;

		if ((n = realloc(t->targets, nc * sizeof(*n))) == NULL)
			return MAMORI_ERR_ALLOC;
		t->targets = n;
		*cap = nc;
	}
	n = &t->targets[t->n_targets++];
	memset(n, 0, sizeof(*n));
	mamori_strlcpy(n->id, id, sizeof(n->id));
	mamori_strlcpy(n->host, host != NULL ? host : "", sizeof(n->host));
	return 0;
}

/*
 * The agents a body reaches, as the server can tell: the agents it names,
 * and the members of the groups it names in the current policy ("*": every
 * agent not revoked).  Agents decide for themselves; this is who the
 * server sends the task to and waits for.
 */
static int
task_expand(struct mamori_fleet *f, struct fleet_task *t)
{
	const Mamori__TaskBody *b = t->t->body;
	struct mamori_agent_rec *all = NULL;
	const struct mamori_agent_rec *a;
	const Mamori__PolicyGroup *g;
	size_t n = 0, cap = 0, i, j, k;
	int r, every;

	if ((r = mamori_store_agent_list(f->srv->store, &all, &n)) != 0)
		goto out;
	for (i = 0; i < b->n_target_agents; i++) {
		struct mamori_agent_rec key;

		memset(&key, 0, sizeof(key));
		mamori_strlcpy(key.id, b->target_agents[i], sizeof(key.id));
		a = bsearch(&key, all, n, sizeof(*all),
		    (int (*)(const void *, const void *))strcmp);
		if ((r = targets_push(t, &cap, b->target_agents[i],
		    a != NULL ? a->hostname : "")) != 0)
			goto out;
	}
	for (i = 0; f->policy != NULL && i < b->n_target_groups; i++) {
		for (j = 0; j < f->policy->body->n_groups; j++) {
			g = f->policy->body->groups[j];
			if (strcmp(g->name, b->target_groups[i]) != 0)
				continue;
			every = 0;
			for (k = 0; k < g->n_agent_ids; k++)
				if (strcmp(g->agent_ids[k],
				    MAMORI_POLICY_EVERY_AGENT) == 0)
					every = 1;
			for (k = 0; k < n; k++) {
				if (all[k].revoked_at != 0 || (!every &&
				    !mamori_policy_group_has(g, all[k].id)))
					continue;
				if ((r = targets_push(t, &cap, all[k].id,
				    all[k].hostname)) != 0)
					goto out;
			}
		}
	}
	targets_settle(t);
	r = 0;
out:
	if (all != NULL) {
		OPENSSL_cleanse(all, n * sizeof(*all));
		free(all);
	}
	return r;
}

/* ---- the store --------------------------------------------------------- */

/* A task as stored: {"kind", "by", "task": hex of the SignedTask,
 * "targets": [ids]}, and once it expired "counts": {"ok", "failed"}
 * (final: the record is rewritten with them). */
static int
task_save(struct mamori_fleet *f, struct fleet_task *t, int final)
{
	struct mamori_object_rec o;
	json_t *doc = NULL, *ids = NULL;
	char *hex = NULL, *text = NULL;
	size_t i;
	int r = MAMORI_ERR_ALLOC;

	if ((hex = malloc(2 * t->len + 1)) == NULL)
		goto out;
	mamori_hex(t->bytes, t->len, hex);
	if ((ids = json_array()) == NULL)
		goto out;
	for (i = 0; i < t->n_targets; i++)
		if (json_array_append_new(ids, json_string(t->targets[i].id))
		    != 0)
			goto out;
	if ((doc = json_pack("{s:s, s:s, s:s, s:O}", "kind", t->kind, "by",
	    t->by, "task", hex, "targets", ids)) == NULL)
		goto out;
	if (final) {
		size_t ok = 0, failed = 0;

		for (i = 0; i < t->n_targets; i++) {
			if (t->targets[i].state != T_DONE)
				continue;
			if (t->targets[i].status ==
			    MAMORI__TASK_RESULT__STATUS__OK)
				ok++;
			else
				failed++;
		}
		if (json_object_set_new(doc, "counts", json_pack("{s:I, s:I}",
		    "ok", (json_int_t)ok, "failed", (json_int_t)failed)) != 0)
			goto out;
	}
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto out;
	memset(&o, 0, sizeof(o));
	o.kind = FLEET_KIND_TASK;
	o.key = t->hex;
	o.time = t->created;
	o.expires = t->not_after;
	o.value = (const uint8_t *)text;
	o.len = strlen(text);
	r = mamori_store_object_put(f->srv->store, &o, final, NULL);
out:
	free(hex);
	free(text);
	json_decref(ids);
	json_decref(doc);
	return r;
}

/* Reads a stored task record back; hosts come from the store's agents. */
static int
task_parse(struct mamori_fleet *f, const struct mamori_object_rec *rec,
    struct mamori_agent_rec *all, size_t n_all, struct fleet_task **out)
{
	struct fleet_task *t = NULL;
	json_t *doc = NULL, *ids, *v, *counts;
	const char *kind, *by, *hex;
	char why[256];
	size_t i, cap = 0, hl;
	int r = MAMORI_ERR_BAD_MESSAGE;

	(void)f;
	*out = NULL;
	if ((doc = json_loadb((const char *)rec->value, rec->len, 0,
	    NULL)) == NULL ||
	    json_unpack(doc, "{s:s, s:s, s:s, s:o}", "kind", &kind, "by", &by,
	    "task", &hex, "targets", &ids) != 0 || !json_is_array(ids))
		goto out;
	hl = strlen(hex);
	if (hl == 0 || hl % 2 != 0 || hl / 2 > MAMORI_TASK_MAX_BYTES)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->bytes = malloc(hl / 2)) == NULL)
		goto out;
	t->len = hl / 2;
	r = MAMORI_ERR_BAD_MESSAGE;
	if (mamori_unhex(hex, t->bytes, t->len) != 0 ||
	    mamori_task_open(t->bytes, t->len, &t->t, why, sizeof(why)) != 0)
		goto out;
	memcpy(t->id, t->t->body->task_id.data, MAMORI_TASK_ID_LEN);
	mamori_hex(t->id, MAMORI_TASK_ID_LEN, t->hex);
	mamori_strlcpy(t->kind, kind, sizeof(t->kind));
	mamori_strlcpy(t->by, by, sizeof(t->by));
	t->created = rec->time;
	t->not_after = t->t->body->not_after;
	json_array_foreach(ids, i, v) {
		struct mamori_agent_rec key;
		const struct mamori_agent_rec *a;

		if (!json_is_string(v))
			goto out;
		memset(&key, 0, sizeof(key));
		mamori_strlcpy(key.id, json_string_value(v), sizeof(key.id));
		a = bsearch(&key, all, n_all, sizeof(*all),
		    (int (*)(const void *, const void *))strcmp);
		if ((r = targets_push(t, &cap, key.id, a != NULL ?
		    a->hostname : "")) != 0)
			goto out;
	}
	targets_settle(t);
	if ((counts = json_object_get(doc, "counts")) != NULL) {
		json_int_t ok = json_integer_value(json_object_get(counts, "ok"));
		json_int_t failed = json_integer_value(json_object_get(counts,
		    "failed"));

		if (ok < 0 || failed < 0 || (size_t)ok + (size_t)failed >
		    t->n_targets)
			goto out;
		t->counted = 1;
		t->count_ok = (size_t)ok;
		t->count_failed = (size_t)failed;
	}
	*out = t;
	t = NULL;
	r = 0;
out:
	task_free(t);
	json_decref(doc);
	return r;
}

/* Objects copied out of a listing, so each can be worked on with more
 * store calls (the store's statements do not nest). */
struct obj_copy {
	char key[MAMORI_OBJECT_KEY_MAX + 1];
	uint64_t time;
	uint8_t *value;
	size_t len;
};

struct obj_list {
	struct obj_copy *v;
	size_t n, cap;
};

static int
obj_collect_cb(void *ctx, const struct mamori_object_rec *rec)
{
	struct obj_list *l = ctx;
	struct obj_copy *c;

	if (l->n == l->cap) {
		size_t nc = l->cap == 0 ? 16 : l->cap * 2;

		if ((c = realloc(l->v, nc * sizeof(*c))) == NULL)
			return MAMORI_ERR_ALLOC;
		l->v = c;
		l->cap = nc;
	}
	c = &l->v[l->n];
	memset(c, 0, sizeof(*c));
	mamori_strlcpy(c->key, rec->key, sizeof(c->key));
	c->time = rec->time;
	if ((c->value = malloc(rec->len > 0 ? rec->len : 1)) == NULL)
		return MAMORI_ERR_ALLOC;
	memcpy(c->value, rec->value, rec->len);
	c->len = rec->len;
	l->n++;
	return 0;
}

static void
obj_list_free(struct obj_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		OPENSSL_cleanse(l->v[i].value, l->v[i].len);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
obj_collect(struct mamori_fleet *f, const char *kind, const char *prefix,
    uint64_t expires_min, struct obj_list *out)
{
	memset(out, 0, sizeof(*out));
	return mamori_store_object_list(f->srv->store, kind, prefix,
	    expires_min, 0, obj_collect_cb, out);
}

static void
obj_rec(const char *kind, const struct obj_copy *c,
    struct mamori_object_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->key = c->key;
	rec->time = c->time;
	rec->value = c->value;
	rec->len = c->len;
}

struct load_ctx {
	struct mamori_fleet *f;
	struct mamori_agent_rec *all;
	size_t n_all;
	struct fleet_task *t;
};

static int
load_result_cb(void *ctx, const struct mamori_object_rec *rec)
{
	struct load_ctx *l = ctx;
	struct fleet_target *tg;
	Mamori__TaskResult *res;
	const char *slash = strchr(rec->key, '/');

	if (slash == NULL || (tg = task_target(l->t, slash + 1)) == NULL ||
	    tg->state == T_DONE)
		return 0;
	tg->state = T_DONE;
	l->t->n_done++;
	res = mamori__task_result__unpack(NULL, rec->len, rec->value);
	if (res != NULL) {
		tg->status = (uint8_t)res->status;
		mamori_strlcpy(tg->message, res->message, sizeof(tg->message));
		mamori__task_result__free_unpacked(res, NULL);
	}
	return 0;
}

/* Marks the targets of t that have a stored result. */
static int
task_load_results(struct mamori_fleet *f, struct fleet_task *t)
{
	struct mamori_object_rec rec;
	struct obj_list res;
	struct load_ctx l;
	char prefix[2 * MAMORI_TASK_ID_LEN + 2];
	size_t i;
	int r;

	memset(&l, 0, sizeof(l));
	l.t = t;
	snprintf(prefix, sizeof(prefix), "%s/", t->hex);
	if ((r = obj_collect(f, FLEET_KIND_RESULT, prefix, 0, &res)) == 0)
		for (i = 0; i < res.n; i++) {
			obj_rec(FLEET_KIND_RESULT, &res.v[i], &rec);
			(void)load_result_cb(&l, &rec);
		}
	obj_list_free(&res);
	return r;
}

static int
policy_load(struct mamori_fleet *f)
{
	struct mamori_decision d;
	struct mamori_buf b;
	int r;

	mamori_buf_init(&b, MAMORI_POLICY_MAX_BYTES);
	r = mamori_store_object_get(f->srv->store, FLEET_KIND_POLICY,
	    FLEET_POLICY_KEY, &b, NULL);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if (mamori_policy_verify(b.data, b.len, f->srv->fp.owner, 0,
	    &f->policy, &d) != 0) {
		log_error("fleet: the stored policy does not verify against "
		    "the owner key (%s); push a policy again", d.detail);
		r = 0;
		goto out;
	}
	log_info("fleet: policy version %" PRIu64 " with %zu admins and %zu "
	    "groups", f->policy->body->version, f->policy->body->n_admins,
	    f->policy->body->n_groups);
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

/* ---- expiry ------------------------------------------------------------ */

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mamori_fleet *f = arg;
	struct fleet_task **p = &f->tasks, *t;
	uint64_t now = mamori_now();

	(void)fd;
	(void)what;
	while ((t = *p) != NULL) {
		if (t->not_after + MAMORI_FLEET_EXPIRE_GRACE < now &&
		    t->waiter == NULL) {
			int r;

			/* Its outcome goes with it; no result can arrive now
			 * (results for tasks not in memory are ignored). */
			if ((r = task_save(f, t, 1)) != 0)
				log_warn("fleet: cannot keep the outcome of task "
				    "%s: %s; listing it will read its results",
				    t->hex, mamori_strerror(r));
			*p = t->next;
			f->n_tasks--;
			task_free(t);
			continue;
		}
		p = &t->next;
	}
}

int
mamori_fleet_new(struct mamori_server *srv, struct mamori_fleet **out)
{
	struct mamori_fleet *f;
	struct load_ctx l;
	struct obj_list tasks;
	struct timeval tv = {MAMORI_FLEET_SWEEP_SECONDS, 0};
	size_t i;
	uint64_t now = mamori_now();
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	memset(&tasks, 0, sizeof(tasks));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return MAMORI_ERR_ALLOC;
	f->srv = srv;
	if ((r = policy_load(f)) != 0)
		goto out;
	if ((r = mamori_store_agent_list(srv->store, &l.all, &l.n_all)) != 0)
		goto out;
	l.f = f;
	if ((r = obj_collect(f, FLEET_KIND_TASK, "", now >
	    MAMORI_TASK_CLOCK_SKEW ? now - MAMORI_TASK_CLOCK_SKEW : 0,
	    &tasks)) != 0)
		goto out;
	for (i = 0; i < tasks.n && f->n_tasks < MAMORI_FLEET_TASKS_MAX; i++) {
		struct mamori_object_rec rec;
		struct fleet_task *t = NULL;

		obj_rec(FLEET_KIND_TASK, &tasks.v[i], &rec);
		if (task_parse(f, &rec, l.all, l.n_all, &t) != 0) {
			log_error("fleet: stored task %s does not read back; "
			    "skipped", rec.key);
			continue;
		}
		t->next = f->tasks;
		f->tasks = t;
		f->n_tasks++;
		if ((r = task_load_results(f, t)) != 0)
			goto out;
	}
	if (f->n_tasks > 0)
		log_info("fleet: %zu tasks still valid", f->n_tasks);
	r = MAMORI_ERR_ALLOC;
	if ((f->sweep = event_new(srv->base, -1, EV_PERSIST, sweep_cb,
	    f)) == NULL || event_add(f->sweep, &tv) != 0)
		goto out;
	*out = f;
	f = NULL;
	r = 0;
out:
	obj_list_free(&tasks);
	if (l.all != NULL) {
		OPENSSL_cleanse(l.all, l.n_all * sizeof(*l.all));
		free(l.all);
	}
	mamori_fleet_free(f);
	return r;
}

void
mamori_fleet_free(struct mamori_fleet *f)
{
	struct fleet_task *t;

	if (f == NULL)
		return;
	f->closing = 1;
	while ((t = f->tasks) != NULL) {
		f->tasks = t->next;
		task_free(t);
	}
	if (f->sweep != NULL)
		event_free(f->sweep);
	mamori_policy_free(f->policy);
	free(f);
}

/* ---- to agents --------------------------------------------------------- */

static int
send_policy(struct mamori_fleet *f, const char *agent_id)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__PolicyUpdate pu = MAMORI__POLICY_UPDATE__INIT;

	pu.signed_policy.data = f->policy->signed_bytes;
	pu.signed_policy.len = f->policy->signed_len;
	env.body_case = MAMORI__ENVELOPE__BODY_POLICY_UPDATE;
	env.policy_update = &pu;
	return mamori_session_send_to(f->srv, agent_id, &env);
}

static int
send_task(struct mamori_fleet *f, struct fleet_task *t,
    struct fleet_target *tg)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__TaskDelivery td = MAMORI__TASK_DELIVERY__INIT;
	int r;

	td.signed_task.data = t->bytes;
	td.signed_task.len = t->len;
	env.body_case = MAMORI__ENVELOPE__BODY_TASK_DELIVERY;
	env.task_delivery = &td;
	if ((r = mamori_session_send_to(f->srv, tg->id, &env)) == 0)
		tg->state = T_SENT;
	return r;
}

int
mamori_fleet_agent_ready(struct mamori_server *srv, const char *agent_id,
    const Mamori__PolicyStatus *st)
{
	struct mamori_fleet *f = srv->fleet;
	struct fleet_task *t;
	struct fleet_target *tg;
	uint64_t now = mamori_now();
	char why[160];

	if (st->refused != NULL && st->refused[0] != '\0')
		log_warn("fleet: agent %s refused the policy: %s", agent_id,
		    mamori_log_safe(st->refused, why, sizeof(why)));
	if (f->policy != NULL && st->version < f->policy->body->version &&
	    (st->refused == NULL || st->refused[0] == '\0') &&
	    send_policy(f, agent_id) != 0)
		return 0;
	for (t = f->tasks; t != NULL; t = t->next) {
		if (t->not_after + MAMORI_TASK_CLOCK_SKEW < now ||
		    (tg = task_target(t, agent_id)) == NULL ||
		    tg->state == T_DONE)
			continue;
		(void)send_task(f, t, tg);
	}
	return 0;
}

/* ---- results ----------------------------------------------------------- */

static const char *
status_name(unsigned status)
{
	switch (status) {
	case MAMORI__TASK_RESULT__STATUS__OK:
		return "ok";
	case MAMORI__TASK_RESULT__STATUS__FAILED:
		return "failed";
	case MAMORI__TASK_RESULT__STATUS__REFUSED:
		return "refused";
	case MAMORI__TASK_RESULT__STATUS__TIMED_OUT:
		return "timed out";
	default:
		return "?";
	}
}

/* The result as JSON for people's tools: the query's rows parsed, output
 * as text when it is UTF-8 (hex otherwise, as pbjson gives bytes). */
static json_t *
result_json(const struct fleet_target *tg, const Mamori__TaskResult *res)
{
	json_t *j, *q;
	json_t *text;

	if ((j = mamori_pb_to_json(&res->base)) == NULL)
		return NULL;
	json_object_del(j, "task_id");
	if (json_object_set_new(j, "agent", json_string(tg->id)) != 0 ||
	    json_object_set_new(j, "hostname", json_string(tg->host)) != 0 ||
	    json_object_set_new(j, "status", json_string(status_name(
	    (unsigned)res->status))) != 0)
		goto fail;
	if (res->query_json != NULL && res->query_json[0] != '\0') {
		q = json_loads(res->query_json, JSON_REJECT_DUPLICATES, NULL);
		json_object_del(j, "query_json");
		if (q != NULL && json_object_set_new(j, "query", q) != 0)
			goto fail;
	}
	if (res->output.len > 0 && (text = json_stringn((const char *)
	    res->output.data, res->output.len)) != NULL &&
	    json_object_set_new(j, "output", text) != 0)
		goto fail;
	return j;
fail:
	json_decref(j);
	return NULL;
}

static void
waiter_line(struct fleet_waiter *w, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	if (text == NULL)
		return;
	if (strlen(text) <= FLEET_LINE_MAX) {
		bufferevent_write(w->bev, text, strlen(text));
		bufferevent_write(w->bev, "\n", 1);
	}
	free(text);
}

static const char *
target_status(struct mamori_fleet *f, const struct fleet_target *tg)
{
	if (tg->state == T_DONE)
		return status_name(tg->status);
	if (tg->state == T_SENT && mamori_session_is_connected(f->srv, tg->id))
		return "timed out";
	return tg->state == T_SENT ? "disconnected" : "offline";
}

static json_t *
task_summary(struct mamori_fleet *f, struct fleet_task *t, int per_agent)
{
	json_t *j, *agents = NULL, *a;
	size_t i, ok = 0, failed = 0;
	const Mamori__TaskBody *b = t->t->body;
	char what[256];

	what[0] = '\0';
	if (b->params_case == MAMORI__TASK_BODY__PARAMS_QUERY)
		mamori_strlcpy(what, b->query->sql, sizeof(what));
	else if (b->params_case == MAMORI__TASK_BODY__PARAMS_RUN_COMMAND &&
	    b->run_command->n_argv > 0)
		mamori_strlcpy(what, b->run_command->argv[0], sizeof(what));
	for (i = 0; i < t->n_targets; i++) {
		if (t->targets[i].state != T_DONE)
			continue;
		if (t->targets[i].status == MAMORI__TASK_RESULT__STATUS__OK)
			ok++;
		else
			failed++;
	}
	if (t->counted && t->n_done == 0) {
		ok = t->count_ok;
		failed = t->count_failed;
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I}", "id", t->hex, "kind", t->kind,
	    "type", mamori_task_type_name((int)b->type) != NULL ?
	    mamori_task_type_name((int)b->type) : "?", "what", what,
	    "by", t->by, "created", (json_int_t)t->created,
	    "not_after", (json_int_t)t->not_after,
	    "signatures", (json_int_t)t->t->signed_task->n_signatures,
	    "targets", (json_int_t)t->n_targets,
	    "ok", (json_int_t)ok, "failed", (json_int_t)failed,
	    "pending", (json_int_t)(t->n_targets - ok - failed));
	if (j == NULL || !per_agent)
		return j;
	if ((agents = json_array()) == NULL)
		goto fail;
	for (i = 0; i < t->n_targets; i++) {
		a = json_pack("{s:s, s:s, s:s, s:s}", "agent",
		    t->targets[i].id, "hostname", t->targets[i].host,
		    "status", target_status(f, &t->targets[i]), "message",
		    t->targets[i].message);
		if (a == NULL || json_array_append_new(agents, a) != 0)
			goto fail;
	}
	if (json_object_set_new(j, "agents", agents) == 0)
		return j;
	agents = NULL;
fail:
	json_decref(agents);
	json_decref(j);
	return NULL;
}

static void
waiter_close_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);
}

static void
waiter_close_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

/* Frees bev once what was written to it is gone (or it fails). */
static void
close_when_written(struct bufferevent *bev)
{
	bufferevent_disable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_free(bev);
		return;
	}
	bufferevent_setcb(bev, NULL, waiter_close_cb, waiter_close_event_cb,
	    NULL);
}

static void
waiter_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fleet_waiter *w = arg;

	(void)bev;
	(void)what;
	/* The administrator went away: the task goes on, unwatched. */
	if (w->task != NULL)
		w->task->waiter = NULL;
	if (w->deadline != NULL)
		event_free(w->deadline);
	bufferevent_free(w->bev);
	free(w);
}

/* Ends a stream: the per-agent status, then close once written. */
static void
waiter_finish(struct fleet_waiter *w)
{
	json_t *sum, *line;

	sum = task_summary(w->f, w->task, 1);
	line = sum == NULL ? NULL : json_pack("{s:b, s:o}", "done", 1,
	    "summary", sum);
	if (line != NULL)
		waiter_line(w, line);
	json_decref(line);
	w->task->waiter = NULL;
	if (w->deadline != NULL)
		event_free(w->deadline);
	bufferevent_disable(w->bev, EV_READ);
	close_when_written(w->bev);
	free(w);
}

static void
waiter_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	waiter_finish(arg);
}

int
mamori_fleet_result(struct mamori_server *srv, const char *agent_id,
    const Mamori__TaskResult *res)
{
	struct mamori_fleet *f = srv->fleet;
	struct mamori_object_rec o;
	struct fleet_task *t;
	struct fleet_target *tg;
	char key[2 * MAMORI_TASK_ID_LEN + MAMORI_AGENT_ID_STRLEN + 1];
	uint8_t *packed = NULL;
	size_t len;
	json_t *j;
	int r;

	if ((t = task_find(f, res->task_id.data, res->task_id.len)) == NULL ||
	    (tg = task_target(t, agent_id)) == NULL) {
		log_info("fleet: agent %s sent a result for a task it was "
		    "not given; ignored", agent_id);
		return 0;
	}
	if (tg->state == T_DONE)
		return 0;
	len = mamori__task_result__get_packed_size(res);
	if ((packed = malloc(len > 0 ? len : 1)) == NULL)
		return MAMORI_ERR_ALLOC;
	(void)mamori__task_result__pack(res, packed);
	snprintf(key, sizeof(key), "%s/%s", t->hex, agent_id);
	memset(&o, 0, sizeof(o));
	o.kind = FLEET_KIND_RESULT;
	o.key = key;
	o.time = mamori_now();
	o.expires = t->not_after + MAMORI_FLEET_RESULT_KEEP;
	o.value = packed;
	o.len = len;
	/* Results of a fleet-wide query arrive by the thousand: they share
	 * the event group's one commit per pass of the loop. */
	if ((r = mamori_session_group_join(srv)) != 0 ||
	    (r = mamori_store_object_put(srv->store, &o, 0, NULL)) != 0) {
		if (mamori_store_group_is_open(srv->store))
			mamori_session_group_abort(srv);
		free(packed);
		return r;
	}
	free(packed);
	tg->state = T_DONE;
	tg->status = (uint8_t)res->status;
	mamori_strlcpy(tg->message, res->message != NULL ? res->message : "",
	    sizeof(tg->message));
	t->n_done++;
	if (t->waiter != NULL) {
		if ((j = result_json(tg, res)) != NULL)
			waiter_line(t->waiter, j);
		json_decref(j);
		if (t->n_done == t->n_targets)
			waiter_finish(t->waiter);
	}
	return 0;
}

/* ---- submitting -------------------------------------------------------- */

static void
admin_by(struct bufferevent *bev, char *out, size_t outlen)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred,
	    &len) == 0)
		snprintf(out, outlen, "uid %ld", (long)cred.uid);
	else
		mamori_strlcpy(out, "admin", outlen);
}

/*
 * Registers a task (t->bytes, t->t set): targets, store, delivery to the
 * connected ones.  Takes t; on failure frees it.
 */
static int
task_register(struct mamori_fleet *f, struct fleet_task *t, char *why,
    size_t whylen)
{
	struct fleet_task *o;
	size_t i, sent = 0;
	int r;

	for (o = f->tasks; o != NULL; o = o->next)
		if (memcmp(o->id, t->t->body->task_id.data,
		    MAMORI_TASK_ID_LEN) == 0) {
			snprintf(why, whylen, "task %s was submitted before",
			    o->hex);
			task_free(t);
			return MAMORI_ERR_EXISTS;
		}
	if (f->n_tasks >= MAMORI_FLEET_TASKS_MAX) {
		snprintf(why, whylen, "the server holds %d valid tasks "
		    "already; wait for some to expire",
		    MAMORI_FLEET_TASKS_MAX);
		task_free(t);
		return MAMORI_ERR_TOO_LARGE;
	}
	memcpy(t->id, t->t->body->task_id.data, MAMORI_TASK_ID_LEN);
	mamori_hex(t->id, MAMORI_TASK_ID_LEN, t->hex);
	t->created = mamori_now();
	t->not_after = t->t->body->not_after;
	if ((r = task_expand(f, t)) != 0 || (r = task_save(f, t, 0)) != 0) {
		snprintf(why, whylen, "cannot keep the task: %s",
		    mamori_strerror(r));
		task_free(t);
		return r;
	}
	t->next = f->tasks;
	f->tasks = t;
	f->n_tasks++;
	for (i = 0; i < t->n_targets; i++)
		if (mamori_session_is_connected(f->srv, t->targets[i].id) &&
		    send_task(f, t, &t->targets[i]) == 0)
			sent++;
	log_info("fleet: %s %s (%s) by %s for %zu agents, %zu sent now",
	    t->kind, t->hex, mamori_task_type_name((int)t->t->body->type),
	    t->by, t->n_targets, sent);
	return 0;
}

static int
stream_start(struct mamori_fleet *f, struct bufferevent *bev,
    struct fleet_task *t, uint64_t wait)
{
	struct fleet_waiter *w;
	struct timeval tv;
	size_t i, connected = 0;
	json_t *head;

	for (i = 0; i < t->n_targets; i++)
		if (mamori_session_is_connected(f->srv, t->targets[i].id))
			connected++;
	head = json_pack("{s:b, s:{s:s, s:I, s:I, s:I}}", "ok", 1, "result",
	    "task", t->hex, "targets", (json_int_t)t->n_targets,
	    "connected", (json_int_t)connected, "wait", (json_int_t)wait);
	if ((w = calloc(1, sizeof(*w))) == NULL || head == NULL) {
		free(w);
		json_decref(head);
		return MAMORI_ERR_ALLOC;
	}
	w->f = f;
	w->bev = bev;
	w->task = t;
	waiter_line(w, head);
	json_decref(head);
	tv.tv_sec = (time_t)wait;
	tv.tv_usec = 0;
	/* The socket's own timeouts would cut a long wait short. */
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setcb(bev, NULL, NULL, waiter_event_cb, w);
	bufferevent_enable(bev, EV_READ);
	if ((w->deadline = evtimer_new(f->srv->base, waiter_deadline_cb,
	    w)) == NULL || evtimer_add(w->deadline, &tv) != 0) {
		if (w->deadline != NULL)
			event_free(w->deadline);
		free(w);
		return MAMORI_ERR_ALLOC;
	}
	t->waiter = w;
	if (t->n_done == t->n_targets)
		waiter_finish(w);
	return 0;
}

/* Resolves an agent id or unique id prefix (never a hostname: tasks act). */
static int
resolve_id(struct mamori_server *srv, const char *spec, char *out,
    char *why, size_t whylen)
{
	struct mamori_agent_rec *all = NULL;
	size_t n = 0, i, matches = 0, slen = strlen(spec);
	int r;

	if ((r = mamori_store_agent_list(srv->store, &all, &n)) != 0) {
		snprintf(why, whylen, "store failure: %s", mamori_strerror(r));
		return r;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].id, spec) == 0) {
			matches = 1;
			mamori_strlcpy(out, all[i].id, MAMORI_AGENT_ID_STRLEN);
			break;
		}
		if (slen >= FLEET_PREFIX_MIN &&
		    strncmp(all[i].id, spec, slen) == 0 && matches++ == 0)
			mamori_strlcpy(out, all[i].id, MAMORI_AGENT_ID_STRLEN);
	}
	OPENSSL_cleanse(all, n * sizeof(*all));
	free(all);
	if (matches == 1)
		return 0;
	snprintf(why, whylen, matches == 0 ? "no agent has the id \"%.64s\"" :
	    "\"%.64s\" matches several agents; give more of the id", spec);
	return MAMORI_ERR_NOT_FOUND;
}

/*
 * {"cmd":"query", "sql", "agents":[...] | "group" | "all":true, "wait",
 *  "ttl"}: an unsigned observe task made here.  wait > 0 streams results
 * for that many seconds (the task is valid that long); ttl instead makes a
 * hunt, valid for ttl seconds (at most 24 h), answered at once with its id.
 */
int
mamori_fleet_query(struct mamori_server *srv, struct bufferevent *bev,
    json_t *req, char *why, size_t whylen)
{
	struct mamori_fleet *f = srv->fleet;
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__QueryParams qp = MAMORI__QUERY_PARAMS__INIT;
	struct fleet_task *t = NULL;
	struct mamori_buf enc;
	json_t *agents = json_object_get(req, "agents"), *v;
	const char *sql = json_string_value(json_object_get(req, "sql"));
	const char *group = json_string_value(json_object_get(req, "group"));
	int all = json_is_true(json_object_get(req, "all"));
	json_int_t wait = json_integer_value(json_object_get(req, "wait"));
	json_int_t ttl = json_integer_value(json_object_get(req, "ttl"));
	char (*ids)[MAMORI_AGENT_ID_STRLEN] = NULL;
	char **idp = NULL, **groups = NULL;
	uint8_t id[MAMORI_TASK_ID_LEN];
	size_t i, n = 0;
	uint64_t now = mamori_now();
	int r = MAMORI_ERR_INVALID, ways;

	mamori_buf_init(&enc, MAMORI_TASK_MAX_BYTES);
	ways = (agents != NULL) + (group != NULL) + all;
	if (sql == NULL || sql[0] == '\0') {
		snprintf(why, whylen, "query needs SQL");
		goto out;
	}
	if (ways != 1) {
		snprintf(why, whylen, "say which agents: a list of agents, "
		    "a group, or all");
		goto out;
	}
	if (f->policy == NULL) {
		snprintf(why, whylen, "no fleet policy yet: sign one with "
		    "`mamori policy sign` and push it with `mamori policy "
		    "push`");
		goto out;
	}
	if (ttl != 0 && (ttl < 1 || ttl > MAMORI_TASK_MAX_WINDOW)) {
		snprintf(why, whylen, "a hunt lives 1 s to 24 h");
		goto out;
	}
	if (ttl == 0 && (wait < 1 || wait > MAMORI_FLEET_WAIT_MAX)) {
		snprintf(why, whylen, "wait takes 1 to %d seconds",
		    MAMORI_FLEET_WAIT_MAX);
		goto out;
	}
	r = MAMORI_ERR_ALLOC;
	if (agents != NULL) {
		if (!json_is_array(agents) || json_array_size(agents) == 0 ||
		    json_array_size(agents) > MAMORI_TASK_MAX_TARGETS) {
			snprintf(why, whylen, "agents takes 1 to %d ids",
			    MAMORI_TASK_MAX_TARGETS);
			r = MAMORI_ERR_INVALID;
			goto out;
		}
		n = json_array_size(agents);
		if ((ids = calloc(n, sizeof(*ids))) == NULL ||
		    (idp = calloc(n, sizeof(*idp))) == NULL)
			goto out;
		json_array_foreach(agents, i, v) {
			if (!json_is_string(v)) {
				snprintf(why, whylen, "agents are strings");
				r = MAMORI_ERR_INVALID;
				goto out;
			}
			if ((r = resolve_id(srv, json_string_value(v), ids[i],
			    why, whylen)) != 0)
				goto out;
			idp[i] = ids[i];
		}
		b.target_agents = idp;
		b.n_target_agents = n;
	} else if (group != NULL) {
		for (i = 0; i < f->policy->body->n_groups; i++)
			if (strcmp(f->policy->body->groups[i]->name, group) == 0)
				break;
		if (i == f->policy->body->n_groups) {
			snprintf(why, whylen, "the fleet policy has no group "
			    "\"%.64s\"; see mamori policy current", group);
			r = MAMORI_ERR_NOT_FOUND;
			goto out;
		}
		if ((groups = calloc(1, sizeof(*groups))) == NULL)
			goto out;
		groups[0] = (char *)group;
		b.target_groups = groups;
		b.n_target_groups = 1;
	} else {
		/* Every group of the policy: an agent in none accepts
		 * nothing anyway, and says so. */
		n = f->policy->body->n_groups;
		if (n == 0) {
			snprintf(why, whylen, "the fleet policy has no groups");
			r = MAMORI_ERR_INVALID;
			goto out;
		}
		if ((groups = calloc(n, sizeof(*groups))) == NULL)
			goto out;
		for (i = 0; i < n; i++)
			groups[i] = f->policy->body->groups[i]->name;
		b.target_groups = groups;
		b.n_target_groups = n;
	}
	mamori_random(id, sizeof(id));
	b.format_version = MAMORI_TASK_FORMAT;
	b.task_id.data = id;
	b.task_id.len = sizeof(id);
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_QUERY;
	b.not_before = now;
	b.not_after = now + (ttl != 0 ? (uint64_t)ttl :
	    (uint64_t)wait + FLEET_QUERY_SKEW);
	b.params_case = MAMORI__TASK_BODY__PARAMS_QUERY;
	qp.sql = (char *)sql;
	b.query = &qp;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	admin_by(bev, t->by, sizeof(t->by));
	b.created_by = t->by;
	if ((r = mamori_task_encode_unsigned(&b, &enc, why, whylen)) != 0)
		goto out;
	t->len = enc.len;
	if ((t->bytes = malloc(enc.len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	memcpy(t->bytes, enc.data, enc.len);
	if ((r = mamori_task_open(t->bytes, t->len, &t->t, why,
	    whylen)) != 0)
		goto out;
	mamori_strlcpy(t->kind, ttl != 0 ? "hunt" : "query", sizeof(t->kind));
	r = task_register(f, t, why, whylen);
	if (r != 0) {
		t = NULL;       /* freed by task_register */
		goto out;
	}
	if (ttl != 0) {
		json_t *res = json_pack("{s:b, s:{s:s, s:I}}", "ok", 1,
		    "result", "task", t->hex, "targets",
		    (json_int_t)t->n_targets);
		struct fleet_waiter w;

		t = NULL;
		memset(&w, 0, sizeof(w));
		w.bev = bev;
		if (res != NULL)
			waiter_line(&w, res);
		json_decref(res);
		close_when_written(bev);
		r = 0;
		goto out;
	}
	r = stream_start(f, bev, t, (uint64_t)wait);
	t = NULL;
out:
	if (t != NULL)
		task_free(t);
	free(ids);
	free(idp);
	free(groups);
	mamori_buf_free(&enc);
	if (r != 0 && why[0] == '\0')
		snprintf(why, whylen, "%s", mamori_strerror(r));
	return r;
}

/* {"cmd":"task.submit", "task": base64url of a SignedTask, "wait"}. */
int
mamori_fleet_task_submit(struct mamori_server *srv, struct bufferevent *bev,
    json_t *req, char *why, size_t whylen)
{
	struct mamori_fleet *f = srv->fleet;
	struct fleet_task *t = NULL;
	const char *b64 = json_string_value(json_object_get(req, "task"));
	json_int_t wait = json_integer_value(json_object_get(req, "wait"));
	uint64_t now = mamori_now();
	size_t blen;
	int r = MAMORI_ERR_INVALID;

	if (b64 == NULL || (blen = strlen(b64)) == 0 ||
	    blen > mamori_b64url_len(MAMORI_TASK_MAX_BYTES)) {
		snprintf(why, whylen, "task.submit needs a signed task");
		goto out;
	}
	if (wait < 0 || wait > MAMORI_FLEET_WAIT_MAX) {
		snprintf(why, whylen, "wait takes 0 to %d seconds",
		    MAMORI_FLEET_WAIT_MAX);
		goto out;
	}
	r = MAMORI_ERR_ALLOC;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->bytes = malloc(blen)) == NULL)
		goto out;
	r = MAMORI_ERR_INVALID;
	if (mamori_b64url_decode(b64, blen, t->bytes, blen, &t->len) != 0) {
		snprintf(why, whylen, "the task is not base64url");
		goto out;
	}
	/* The server checks the form, not the signatures: agents do that,
	 * and a server that cannot forge must also not be the judge. */
	if ((r = mamori_task_open(t->bytes, t->len, &t->t, why,
	    whylen)) != 0)
		goto out;
	if (t->t->body->not_after + MAMORI_TASK_CLOCK_SKEW < now) {
		snprintf(why, whylen, "the task's window has passed; sign a "
		    "new one");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	admin_by(bev, t->by, sizeof(t->by));
	mamori_strlcpy(t->kind, "task", sizeof(t->kind));
	r = task_register(f, t, why, whylen);
	if (r != 0) {
		t = NULL;
		goto out;
	}
	if (wait == 0) {
		json_t *res = json_pack("{s:b, s:{s:s, s:I}}", "ok", 1,
		    "result", "task", t->hex, "targets",
		    (json_int_t)t->n_targets);
		struct fleet_waiter w;

		memset(&w, 0, sizeof(w));
		w.bev = bev;
		if (res != NULL)
			waiter_line(&w, res);
		json_decref(res);
		close_when_written(bev);
		t = NULL;
		r = 0;
		goto out;
	}
	r = stream_start(f, bev, t, (uint64_t)wait);
	t = NULL;
out:
	if (t != NULL)
		task_free(t);
	if (r != 0 && why[0] == '\0')
		snprintf(why, whylen, "%s", mamori_strerror(r));
	return r;
}

/* ---- policy ------------------------------------------------------------ */

struct push_ctx {
	struct mamori_fleet *f;
	size_t sent;
};

static void
push_one(void *ctx, const char *agent_id, uint64_t version)
{
	struct push_ctx *p = ctx;

	if (version < p->f->policy->body->version &&
	    send_policy(p->f, agent_id) == 0)
		p->sent++;
}

/* {"cmd":"policy.push", "policy": base64url of a SignedPolicy}. */
json_t *
mamori_fleet_policy_push(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct mamori_fleet *f = srv->fleet;
	struct mamori_policy *p = NULL;
	struct mamori_object_rec o;
	struct mamori_decision d;
	struct push_ctx pc;
	const char *b64 = json_string_value(json_object_get(req, "policy"));
	uint8_t *raw = NULL;
	size_t blen, len = 0;
	json_t *res = NULL;
	int r;

	if (b64 == NULL || (blen = strlen(b64)) == 0 ||
	    blen > mamori_b64url_len(MAMORI_POLICY_MAX_BYTES)) {
		snprintf(why, whylen, "policy.push needs a signed policy");
		return NULL;
	}
	if ((raw = malloc(blen)) == NULL)
		return NULL;
	if (mamori_b64url_decode(b64, blen, raw, blen, &len) != 0) {
		snprintf(why, whylen, "the policy is not base64url");
		goto out;
	}
	/* The server checks what every agent will check, so a policy that
	 * agents would refuse is refused here, with the same words. */
	if (mamori_policy_verify(raw, len, srv->fp.owner, f->policy != NULL ?
	    f->policy->body->version : 0, &p, &d) != 0) {
		snprintf(why, whylen, "policy refused: %s", d.detail);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.kind = FLEET_KIND_POLICY;
	o.key = FLEET_POLICY_KEY;
	o.time = mamori_now();
	o.value = p->signed_bytes;
	o.len = p->signed_len;
	if ((r = mamori_store_object_put(srv->store, &o, 1, NULL)) != 0) {
		snprintf(why, whylen, "cannot store the policy: %s",
		    mamori_strerror(r));
		goto out;
	}
	mamori_policy_free(f->policy);
	f->policy = p;
	p = NULL;
	pc.f = f;
	pc.sent = 0;
	mamori_session_foreach_ready(srv, push_one, &pc);
	log_info("fleet: policy version %" PRIu64 " pushed; sent to %zu "
	    "connected agents", f->policy->body->version, pc.sent);
	res = json_pack("{s:I, s:I}", "version",
	    (json_int_t)f->policy->body->version, "sent", (json_int_t)pc.sent);
out:
	mamori_policy_free(p);
	free(raw);
	return res;
}

struct versions_ctx {
	uint64_t current;
	size_t on_current, older, connected;
};

static void
count_version(void *ctx, const char *agent_id, uint64_t version)
{
	struct versions_ctx *v = ctx;

	(void)agent_id;
	v->connected++;
	if (version == v->current)
		v->on_current++;
	else
		v->older++;
}

json_t *
mamori_fleet_policy_show(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct mamori_fleet *f = srv->fleet;
	struct versions_ctx vc;
	const Mamori__PolicyBody *b;
	char fp[MAMORI_FP_STRLEN];
	json_t *admins, *groups, *types, *ids, *a, *yara = NULL, *out;
	uint8_t digest[MAMORI_SHA256_LEN];
	char hex[MAMORI_SHA256_LEN * 2 + 1];
	size_t i, j;

	(void)req;
	if (f->policy == NULL) {
		snprintf(why, whylen, "no fleet policy has been pushed");
		return NULL;
	}
	b = f->policy->body;
	memset(&vc, 0, sizeof(vc));
	vc.current = b->version;
	mamori_session_foreach_ready(srv, count_version, &vc);
	admins = json_array();
	groups = json_array();
	for (i = 0; admins != NULL && i < b->n_admins; i++) {
		a = json_pack("{s:s, s:s}", "id", b->admins[i]->id, "name",
		    b->admins[i]->name);
		if (a == NULL || json_array_append_new(admins, a) != 0)
			goto fail;
	}
	for (i = 0; groups != NULL && i < b->n_groups; i++) {
		types = json_array();
		ids = json_array();
		for (j = 0; types != NULL && j < b->groups[i]->n_accepted_types;
		    j++)
			json_array_append_new(types, json_string(
			    mamori_task_type_name((int)
			    b->groups[i]->accepted_types[j])));
		for (j = 0; ids != NULL && j < b->groups[i]->n_agent_ids; j++)
			json_array_append_new(ids, json_string(
			    b->groups[i]->agent_ids[j]));
		a = json_pack("{s:s, s:o, s:o}", "name", b->groups[i]->name,
		    "accept", types, "agents", ids);
		if (a == NULL || json_array_append_new(groups, a) != 0)
			goto fail;
	}
	if ((yara = json_array()) == NULL)
		goto fail;
	for (i = 0; i < b->n_yara; i++) {
		size_t len = strlen(b->yara[i]->source);

		mamori_sha256(b->yara[i]->source, len, digest);
		mamori_hex(digest, sizeof(digest), hex);
		a = json_pack("{s:s, s:I, s:s}", "name", b->yara[i]->name,
		    "bytes", (json_int_t)len, "sha256", hex);
		if (a == NULL || json_array_append_new(yara, a) != 0)
			goto fail;
	}
	mamori_fingerprint_str(f->policy->owner_fp, fp);
	out = json_pack("{s:I, s:I, s:s, s:b, s:I, s:I, s:o, s:o, s:I, s:I,"
	    " s:I}", "version", (json_int_t)b->version,
	    "issued_at", (json_int_t)b->issued_at, "owner_fingerprint", fp,
	    "observe_from_server", b->observe_from_server,
	    "quorum_collect", (json_int_t)b->quorum_collect,
	    "quorum_change", (json_int_t)b->quorum_change,
	    "admins", admins, "groups", groups,
	    "connected", (json_int_t)vc.connected,
	    "connected_current", (json_int_t)vc.on_current,
	    "connected_older", (json_int_t)vc.older);
	if (out == NULL) {
		json_decref(yara);
		return NULL;
	}
	if (json_object_set_new(out, "yara", yara) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
fail:
	json_decref(admins);
	json_decref(groups);
	json_decref(yara);
	return NULL;
}

/* ---- hunts ------------------------------------------------------------- */

struct list_ctx {
	struct mamori_fleet *f;
	struct mamori_agent_rec *all;
	size_t n_all;
	json_t *arr;
	const char *want;             /* show: the id or prefix */
	struct fleet_task *found;
	int found_owned;
	size_t matches;
};

/* A task from memory, or read back from the store when it expired. */
static int
list_task(struct list_ctx *l, const struct mamori_object_rec *rec,
    struct fleet_task **out, int *owned, int need_results)
{
	struct fleet_task *t;
	uint8_t id[MAMORI_TASK_ID_LEN];
	int r;

	*owned = 0;
	if (mamori_unhex(rec->key, id, sizeof(id)) == 0 &&
	    (t = task_find(l->f, id, sizeof(id))) != NULL) {
		*out = t;
		return 0;
	}
	if ((r = task_parse(l->f, rec, l->all, l->n_all, &t)) != 0)
		return r;
	if ((need_results || !t->counted) &&
	    (r = task_load_results(l->f, t)) != 0) {
		task_free(t);
		return r;
	}
	*out = t;
	*owned = 1;
	return 0;
}

static int
hunt_list_cb(void *ctx, const struct mamori_object_rec *rec)
{
	struct list_ctx *l = ctx;
	struct fleet_task *t;
	json_t *j;
	int owned, r;

	if (l->want != NULL && strncmp(rec->key, l->want,
	    strlen(l->want)) != 0)
		return 0;
	if ((r = list_task(l, rec, &t, &owned, l->want != NULL)) != 0) {
		log_error("fleet: stored task %s does not read back", rec->key);
		return 0;
	}
	if (l->want != NULL) {
		if (l->matches++ == 0) {
			l->found = t;
			l->found_owned = owned;
		} else if (owned) {
			task_free(t);
		}
		return 0;
	}
	j = task_summary(l->f, t, 0);
	if (owned)
		task_free(t);
	if (j == NULL || json_array_append_new(l->arr, j) != 0)
		return MAMORI_ERR_ALLOC;
	return 0;
}

/* hunt_list_cb over the stored tasks whose id starts with prefix. */
static int
hunt_walk(struct list_ctx *l, const char *prefix)
{
	struct mamori_object_rec rec;
	struct obj_list tasks;
	size_t i;
	int r;

	if ((r = obj_collect(l->f, FLEET_KIND_TASK, prefix, 0, &tasks)) == 0)
		for (i = 0; i < tasks.n && r == 0; i++) {
			obj_rec(FLEET_KIND_TASK, &tasks.v[i], &rec);
			r = hunt_list_cb(l, &rec);
		}
	obj_list_free(&tasks);
	return r;
}

static int
list_open(struct mamori_server *srv, struct list_ctx *l)
{
	memset(l, 0, sizeof(*l));
	l->f = srv->fleet;
	return mamori_store_agent_list(srv->store, &l->all, &l->n_all);
}

static void
list_close(struct list_ctx *l)
{
	if (l->all != NULL) {
		OPENSSL_cleanse(l->all, l->n_all * sizeof(*l->all));
		free(l->all);
	}
}

/* {"cmd":"hunt.list", "limit"}: queries, hunts and tasks, oldest first. */
json_t *
mamori_fleet_hunt_list(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct list_ctx l;
	json_int_t limit = json_integer_value(json_object_get(req, "limit"));
	int r;

	if ((r = list_open(srv, &l)) != 0 ||
	    (l.arr = json_array()) == NULL) {
		snprintf(why, whylen, "%s", mamori_strerror(r != 0 ? r :
		    MAMORI_ERR_ALLOC));
		list_close(&l);
		return NULL;
	}
	r = hunt_walk(&l, "");
	list_close(&l);
	if (r != 0) {
		snprintf(why, whylen, "cannot list tasks: %s",
		    mamori_strerror(r));
		json_decref(l.arr);
		return NULL;
	}
	/* The newest last, at most limit of them. */
	if (limit <= 0)
		limit = MAMORI_FLEET_LIST_DEFAULT;
	while (json_array_size(l.arr) > (size_t)limit)
		json_array_remove(l.arr, 0);
	return l.arr;
}

/* {"cmd":"hunt.show", "id"}: one task, per agent, with results. */
json_t *
mamori_fleet_hunt_show(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct list_ctx l;
	const char *id = json_string_value(json_object_get(req, "id"));
	struct fleet_task *t;
	struct mamori_buf b;
	char key[2 * MAMORI_TASK_ID_LEN + MAMORI_AGENT_ID_STRLEN + 1];
	json_t *res = NULL, *results = NULL, *j;
	Mamori__TaskResult *tr;
	size_t i;
	int r, owned;

	if (id == NULL || strlen(id) < FLEET_PREFIX_MIN ||
	    strlen(id) > 2 * MAMORI_TASK_ID_LEN) {
		snprintf(why, whylen, "give a task id (at least %d "
		    "characters)", FLEET_PREFIX_MIN);
		return NULL;
	}
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX);
	if ((r = list_open(srv, &l)) != 0) {
		snprintf(why, whylen, "%s", mamori_strerror(r));
		return NULL;
	}
	l.want = id;
	r = hunt_walk(&l, id);
	t = l.found;
	owned = l.found_owned;
	if (r != 0 || l.matches != 1) {
		if (r != 0)
			snprintf(why, whylen, "cannot read tasks: %s",
			    mamori_strerror(r));
		else if (l.matches == 0)
			snprintf(why, whylen, "no task has the id %.40s", id);
		else
			snprintf(why, whylen, "%.40s matches several tasks; "
			    "give more of the id", id);
		if (t != NULL && owned)
			task_free(t);
		goto out;
	}
	res = task_summary(l.f, t, 1);
	results = json_array();
	for (i = 0; res != NULL && results != NULL && i < t->n_targets; i++) {
		if (t->targets[i].state != T_DONE)
			continue;
		snprintf(key, sizeof(key), "%s/%s", t->hex, t->targets[i].id);
		mamori_buf_reset(&b);
		if (mamori_store_object_get(srv->store, FLEET_KIND_RESULT, key,
		    &b, NULL) != 0 || (tr = mamori__task_result__unpack(NULL,
		    b.len, b.data)) == NULL)
			continue;
		j = result_json(&t->targets[i], tr);
		mamori__task_result__free_unpacked(tr, NULL);
		if (j != NULL)
			json_array_append_new(results, j);
	}
	if (res != NULL && results != NULL &&
	    json_object_set(res, "results", results) != 0) {
		json_decref(res);
		res = NULL;
	}
	if (owned)
		task_free(t);
out:
	json_decref(results);
	mamori_buf_free(&b);
	list_close(&l);
	return res;
}
