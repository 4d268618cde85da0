/*
 * tasks.c - the agent's fleet policy, task verification, workers and
 * results (tasks.h says what is checked and why).
 *
 * Nothing reaches a worker without mamori_task_verify's acceptance, and the
 * task id is in the persisted replay set before the task runs: a crash
 * never makes a task run twice.  The server is not trusted with anything
 * here; it is only the way policies, tasks and results travel.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "decision.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "policy.h"
#include "query.h"
#include "seen.h"
#include "task.h"
#include "task_run.h"
#include "tasks.h"
#include "util.h"
#include "yara_policy.h"

#define TASKS_MESSAGE_MAX 200
#define TASKS_OUTPUT_MAX (4u * 1024 * 1024)  /* any result's bytes */

enum { W_OBSERVE = 0, W_ACT, W_COUNT };

struct job {
	struct job *next;
	struct mamori_task *task;     /* verified, owned */
	char hex[2 * MAMORI_TASK_ID_LEN + 1];
	int type;
	uint8_t *result;              /* packed TaskResult, when done */
	size_t result_len;
	int status;
	char message[TASKS_MESSAGE_MAX];
};

struct worker {
	struct mamori_agent_tasks *t;
	pthread_t thread;
	int started;
	pthread_cond_t cond;
	struct job *head, *tail;
	size_t n;
	struct mamori_query_engine *engine;   /* observe worker */
};

struct mamori_agent_tasks {
	struct mamori_agent_tasks_config cfg;
	char policy_path[PATH_MAX];
	char seen_path[PATH_MAX];
	char yara_dir[PATH_MAX];          /* rules for YARA_SCAN tasks */
	struct mamori_policy *policy;
	struct mamori_seen_set *seen;
	char refused[TASKS_MESSAGE_MAX];      /* the last policy refusal */
	pthread_mutex_t lock;
	int stop;
	struct worker w[W_COUNT];
	struct job *done;                     /* finished, for the loop */
	int notify[2];                        /* worker -> loop */
	struct event *notify_ev;
	/* Results that found no connection, oldest first. */
	struct job *held;
	size_t n_held;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	mamori_task_free(j->task);
	free(j->result);
	free(j);
}

/* ---- events ------------------------------------------------------------ */

static void
trust_event(struct mamori_agent_tasks *t, Mamori__TrustEvent__Action action,
    const struct mamori_task *task, const char *hex, int type,
    const char *reason, const char *message, const char *status)
{
	Mamori__Event *ev = mamori_event_new(MAMORI__EVENT__BODY_TRUST);
	Mamori__TrustEvent *te;
	const char *tn;
	size_t i;
	int r = 0;

	if (ev == NULL)
		return;
	te = ev->trust;
	te->action = action;
	te->policy_version = t->policy != NULL ? t->policy->body->version : 0;
	tn = mamori_task_type_name(type);
	if (hex != NULL && hex[0] != '\0')
		r = mamori_event_set_str(&te->task_id, hex);
	if (r == 0 && tn != NULL)
		r = mamori_event_set_str(&te->task_type, tn);
	if (r == 0 && reason != NULL)
		r = mamori_event_set_str(&te->reason, reason);
	if (r == 0 && message != NULL)
		r = mamori_event_set_strn(&te->message, message,
		    strnlen(message, TASKS_MESSAGE_MAX));
	if (r == 0 && status != NULL)
		r = mamori_event_set_str(&te->status, status);
	if (r == 0 && task != NULL && task->body->created_by != NULL)
		r = mamori_event_set_str(&te->created_by,
		    task->body->created_by);
	for (i = 0; r == 0 && task != NULL &&
	    i < task->signed_task->n_signatures; i++)
		r = mamori_event_add_str(&te->signers, &te->n_signers,
		    MAMORI_TASK_MAX_SIGNATURES,
		    task->signed_task->signatures[i]->signer_id,
		    strlen(task->signed_task->signatures[i]->signer_id));
	if (r != 0) {
		mamori_event_free(ev);
		return;
	}
	(void)t->cfg.emit(t->cfg.ctx, ev);
}

/* ---- sending ----------------------------------------------------------- */

static void
send_status(struct mamori_agent_tasks *t)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__PolicyStatus ps = MAMORI__POLICY_STATUS__INIT;

	ps.version = mamori_agent_tasks_policy_version(t);
	ps.refused = t->refused;
	env.body_case = MAMORI__ENVELOPE__BODY_POLICY_STATUS;
	env.policy_status = &ps;
	(void)t->cfg.send(t->cfg.ctx, &env);
}

/* 0 when sent; the job is the caller's either way. */
static int
send_result(struct mamori_agent_tasks *t, const struct job *j)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__TaskResult *res;
	int r;

	res = mamori__task_result__unpack(NULL, j->result_len, j->result);
	if (res == NULL)
		return MAMORI_ERR_INTERNAL;
	env.body_case = MAMORI__ENVELOPE__BODY_TASK_RESULT;
	env.task_result = res;
	r = t->cfg.send(t->cfg.ctx, &env);
	mamori__task_result__free_unpacked(res, NULL);
	return r;
}

/* Sends j's result, or holds it for the next connection. Takes j. */
static void
deliver_result(struct mamori_agent_tasks *t, struct job *j)
{
	struct job **p;

	if (send_result(t, j) == 0) {
		job_free(j);
		return;
	}
	if (t->n_held >= MAMORI_AGENT_RESULTS_HELD) {
		struct job *old = t->held;

		log_warn("tasks: result of %s dropped: %d results wait for a "
		    "connection already", old->hex, MAMORI_AGENT_RESULTS_HELD);
		t->held = old->next;
		t->n_held--;
		job_free(old);
	}
	j->next = NULL;
	for (p = &t->held; *p != NULL; p = &(*p)->next)
		;
	*p = j;
	t->n_held++;
}

/* A result made here, without running anything (refusals, a full queue). */
static void
result_now(struct mamori_agent_tasks *t, const uint8_t *id, size_t id_len,
    const char *hex, int type, Mamori__TaskResult__Status status,
    const char *reason, const char *message)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	struct job *j;
	size_t len;

	if (id_len != MAMORI_TASK_ID_LEN || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	res.task_id.data = (uint8_t *)id;
	res.task_id.len = id_len;
	res.status = status;
	res.reason = (char *)(reason != NULL ? reason : "");
	res.message = (char *)(message != NULL ? message : "");
	res.started_ns = res.finished_ns = mamori_event_now_ns();
	len = mamori__task_result__get_packed_size(&res);
	if ((j->result = malloc(len > 0 ? len : 1)) == NULL) {
		free(j);
		return;
	}
	j->result_len = mamori__task_result__pack(&res, j->result);
	mamori_strlcpy(j->hex, hex, sizeof(j->hex));
	j->type = type;
	deliver_result(t, j);
}

/* ---- workers ----------------------------------------------------------- */

/* Runs one accepted task with the runner (src/agent/task/): the observe
 * worker owns the query engine, the other worker never touches it. */
static void
run_job(struct worker *w, struct job *j)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	const Mamori__TaskBody *b = j->task->body;
	struct mamori_task_env env;
	char why[TASKS_MESSAGE_MAX];
	size_t len;

	struct mamori_yara_generation *gen = NULL;

	memset(&env, 0, sizeof(env));
	env.query = w->engine;
	env.yara_rules_dir = w->t->yara_dir;
	env.output_max = TASKS_OUTPUT_MAX;
	/* The policy's rules, held for the task: a new policy meanwhile
	 * replaces them for later tasks, never under this one. */
	if (b->type == MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN)
		env.yara_rules = mamori_agent_yara_hold(w->t->cfg.yara, &gen);
	(void)mamori_task_execute(&env, b, &res);
	mamori_agent_yara_release(gen);
	res.task_id = b->task_id;
	if (res.status == MAMORI__TASK_RESULT__STATUS__STATUS_UNSPECIFIED) {
		snprintf(why, sizeof(why), "this agent cannot run %s tasks",
		    mamori_task_type_name((int)b->type));
		mamori_task_result_clear(&res);
		res.status = MAMORI__TASK_RESULT__STATUS__FAILED;
		res.message = strdup(why);
	}
	j->status = (int)res.status;
	mamori_strlcpy(j->message, res.message != NULL ? res.message : "",
	    sizeof(j->message));
	len = mamori__task_result__get_packed_size(&res);
	if (len <= MAMORI_AGENT_RESULT_MAX &&
	    (j->result = malloc(len > 0 ? len : 1)) != NULL) {
		j->result_len = mamori__task_result__pack(&res, j->result);
	} else {
		Mamori__TaskResult small = MAMORI__TASK_RESULT__INIT;

		small.task_id = b->task_id;
		small.status = MAMORI__TASK_RESULT__STATUS__FAILED;
		small.message = (char *)"the result is too large to send";
		j->status = (int)small.status;
		mamori_strlcpy(j->message, small.message, sizeof(j->message));
		free(j->result);
		len = mamori__task_result__get_packed_size(&small);
		if ((j->result = malloc(len)) != NULL)
			j->result_len = mamori__task_result__pack(&small,
			    j->result);
	}
	res.task_id.data = NULL;    /* the body's, not the runner's */
	res.task_id.len = 0;
	mamori_task_result_clear(&res);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct mamori_agent_tasks *t = w->t;
	struct job *j;
	char byte = 1;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&t->lock);
		while (w->head == NULL && !t->stop)
			pthread_cond_wait(&w->cond, &t->lock);
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		j = w->head;
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->n--;
		pthread_mutex_unlock(&t->lock);

		run_job(w, j);

		pthread_mutex_lock(&t->lock);
		j->next = t->done;
		t->done = j;
		pthread_mutex_unlock(&t->lock);
		do
			n = write(t->notify[1], &byte, 1);
		while (n < 0 && errno == EINTR);
	}
	return NULL;
}

static const char *
status_word(int status)
{
	switch (status) {
	case MAMORI__TASK_RESULT__STATUS__OK:
		return "ok";
	case MAMORI__TASK_RESULT__STATUS__TIMED_OUT:
		return "timed_out";
	case MAMORI__TASK_RESULT__STATUS__REFUSED:
		return "refused";
	default:
		return "failed";
	}
}

/* A finished job, on the loop: its TASK_FINISHED event, a log line, and
 * its result to the server (or held).  Takes j. */
static void
job_finished(struct mamori_agent_tasks *t, struct job *j)
{
	char safe[2 * TASKS_MESSAGE_MAX];

	trust_event(t, MAMORI__TRUST_EVENT__ACTION__TASK_FINISHED, j->task,
	    j->hex, j->type, NULL, j->message, status_word(j->status));
	/* The message may quote the host (a command line, an SQL error). */
	log_info("task %s (%s) finished: %s%s%s", j->hex,
	    mamori_task_type_name(j->type), status_word(j->status),
	    j->message[0] != '\0' ? ": " : "",
	    mamori_log_safe(j->message, safe, sizeof(safe)));
	if (j->result == NULL) {
		job_free(j);
		return;
	}
	deliver_result(t, j);
}

/* On the loop: finished jobs go out, each with its TASK_FINISHED event. */
static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct mamori_agent_tasks *t = arg;
	struct job *list, *j, *rev = NULL;
	char drain[64];

	(void)what;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&t->lock);
	list = t->done;
	t->done = NULL;
	pthread_mutex_unlock(&t->lock);
	while ((j = list) != NULL) {         /* oldest first */
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while ((j = rev) != NULL) {
		rev = j->next;
		job_finished(t, j);
	}
}

/* ---- policy ------------------------------------------------------------ */

/* The sets of a policy that did not compile, said after the policy's own
 * TrustEvent (one per set, and one when they fail together). */
#define TASKS_YARA_SKIPS_MAX (MAMORI_POLICY_YARA_SETS_MAX + 1)

struct yara_skips {
	size_t applied;
	size_t n;
	char (*msg)[TASKS_MESSAGE_MAX];   /* NULL: only counted */
};

static void
yara_skipped(void *arg, const char *set, const char *why)
{
	struct yara_skips *sk = arg;

	if (sk->msg != NULL && sk->n < TASKS_YARA_SKIPS_MAX)
		snprintf(sk->msg[sk->n], TASKS_MESSAGE_MAX, "YARA set %s "
		    "skipped: %s", set, why);
	sk->n++;
}

/* Compiles the policy's YARA sets into the rules in force; sk says how
 * many applied and which were skipped (free sk->msg). */
static void
policy_yara(struct mamori_agent_tasks *t, struct yara_skips *sk)
{
	int r;

	memset(sk, 0, sizeof(*sk));
	if (t->cfg.yara == NULL || t->policy == NULL)
		return;
	sk->msg = calloc(TASKS_YARA_SKIPS_MAX, sizeof(*sk->msg));
	if ((r = mamori_agent_yara_apply(t->cfg.yara, t->policy->body->yara,
	    t->policy->body->n_yara, yara_skipped, sk, &sk->applied)) != 0)
		log_error("tasks: the policy's YARA sets are not in force: %s",
		    mamori_strerror(r));
}

static void
policy_load(struct mamori_agent_tasks *t)
{
	struct mamori_decision d;
	struct mamori_buf b;
	int r;

	mamori_buf_init(&b, MAMORI_POLICY_MAX_BYTES);
	r = mamori_buf_read_file(&b, t->policy_path);
	if (r == MAMORI_ERR_NOT_FOUND) {
		log_info("tasks: no fleet policy yet; tasks are refused until "
		    "the server relays one");
		goto out;
	}
	if (r != 0) {
		log_error("tasks: cannot read %s: %s; starting without a "
		    "policy", t->policy_path, mamori_strerror(r));
		goto out;
	}
	if (mamori_policy_verify(b.data, b.len, t->cfg.owner_fp, 0,
	    &t->policy, &d) != 0) {
		log_error("tasks: the held policy %s does not verify (%s); "
		    "starting without a policy", t->policy_path, d.detail);
		goto out;
	}
	log_info("tasks: fleet policy version %" PRIu64 " held",
	    t->policy->body->version);
	{
		struct yara_skips sk;

		/* At start the skips were said when the policy came. */
		policy_yara(t, &sk);
		free(sk.msg);
	}
out:
	mamori_buf_free(&b);
}

uint64_t
mamori_agent_tasks_policy_version(const struct mamori_agent_tasks *t)
{
	return t->policy != NULL ? t->policy->body->version : 0;
}

void
mamori_agent_tasks_policy(struct mamori_agent_tasks *t,
    const Mamori__PolicyUpdate *pu)
{
	struct mamori_policy *p = NULL;
	struct mamori_decision d;
	char msg[TASKS_MESSAGE_MAX];
	struct yara_skips sk;
	size_t i;
	int r;

	if (mamori_policy_verify(pu->signed_policy.data, pu->signed_policy.len,
	    t->cfg.owner_fp, mamori_agent_tasks_policy_version(t), &p,
	    &d) != 0) {
		log_warn("tasks: policy refused: %s", mamori_log_safe(d.detail,
		    msg, sizeof(msg)));
		mamori_strlcpy(t->refused, d.detail, sizeof(t->refused));
		trust_event(t, MAMORI__TRUST_EVENT__ACTION__POLICY_REFUSED,
		    NULL, NULL, 0, mamori_decision_name(d.reason), d.detail,
		    NULL);
		send_status(t);
		return;
	}
	/* Kept before it counts: an agent that restarts holds what it
	 * said it holds. */
	if ((r = mamori_file_write(t->policy_path, p->signed_bytes,
	    p->signed_len, 0600, 0)) != 0) {
		log_error("tasks: cannot keep the policy in %s: %s",
		    t->policy_path, mamori_strerror(r));
		mamori_policy_free(p);
		mamori_strlcpy(t->refused, "the agent cannot store the policy",
		    sizeof(t->refused));
		send_status(t);
		return;
	}
	mamori_policy_free(t->policy);
	t->policy = p;
	t->refused[0] = '\0';
	policy_yara(t, &sk);
	snprintf(msg, sizeof(msg), "policy version %" PRIu64 ": %zu admins, "
	    "%zu groups, %zu YARA sets in force%s", p->body->version,
	    p->body->n_admins, p->body->n_groups, sk.applied,
	    sk.n > 0 ? " (some skipped)" : "");
	log_info("tasks: %s", msg);
	trust_event(t, MAMORI__TRUST_EVENT__ACTION__POLICY_ACCEPTED, NULL,
	    NULL, 0, mamori_decision_name(MAMORI_DECISION_ACCEPTED), msg,
	    NULL);
	for (i = 0; sk.msg != NULL && i < sk.n && i < TASKS_YARA_SKIPS_MAX; i++)
		trust_event(t, MAMORI__TRUST_EVENT__ACTION__POLICY_ACCEPTED,
		    NULL, NULL, 0, "yara_set_skipped", sk.msg[i], NULL);
	free(sk.msg);
	send_status(t);
}

/* ---- tasks ------------------------------------------------------------- */

/* USB control and isolation change state the event loop also uses (the
 * usb source asks usbctl on every attach), and take milliseconds: they run
 * here, on the loop, not on a worker. */
static int
device_type(int type)
{
	return type == MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK ||
	    type == MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW ||
	    type == MAMORI__TASK_TYPE__TASK_TYPE_ISOLATE_HOST ||
	    type == MAMORI__TASK_TYPE__TASK_TYPE_RELEASE_HOST;
}

static void
run_device(struct mamori_agent_tasks *t, struct mamori_task *task,
    const char *hex, int type)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	struct job *j;
	size_t len;

	res.started_ns = mamori_event_now_ns();
	if (t->cfg.device == NULL ||
	    t->cfg.device(t->cfg.device_ctx, task->body, &res) != 0) {
		if (res.status == MAMORI__TASK_RESULT__STATUS__STATUS_UNSPECIFIED)
			res.status = MAMORI__TASK_RESULT__STATUS__FAILED;
	}
	if (res.message == NULL)
		res.message = (char *)"";
	res.task_id = task->body->task_id;
	res.finished_ns = mamori_event_now_ns();
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto out;
	j->status = (int)res.status;
	j->type = type;
	mamori_strlcpy(j->hex, hex, sizeof(j->hex));
	mamori_strlcpy(j->message, res.message, sizeof(j->message));
	len = mamori__task_result__get_packed_size(&res);
	if ((j->result = malloc(len > 0 ? len : 1)) == NULL) {
		free(j);
		goto out;
	}
	j->result_len = mamori__task_result__pack(&res, j->result);
	j->task = task;
	task = NULL;
	job_finished(t, j);
out:
	if (res.message != NULL && res.message[0] != '\0')
		free(res.message);
	mamori_task_free(task);
}

/* The id and type of a task that may not even decode, for the refusal. */
static void
peek_task(const uint8_t *data, size_t len, uint8_t id[MAMORI_TASK_ID_LEN],
    int *have_id, int *type)
{
	struct mamori_task *pt = NULL;
	char why[64];

	*have_id = 0;
	*type = 0;
	if (mamori_task_open(data, len, &pt, why, sizeof(why)) != 0)
		return;
	if (pt->body->task_id.len == MAMORI_TASK_ID_LEN) {
		memcpy(id, pt->body->task_id.data, MAMORI_TASK_ID_LEN);
		*have_id = 1;
	}
	*type = (int)pt->body->type;
	mamori_task_free(pt);
}

void
mamori_agent_tasks_deliver(struct mamori_agent_tasks *t,
    const Mamori__TaskDelivery *td)
{
	struct mamori_task *task = NULL;
	struct mamori_decision d;
	struct worker *w;
	struct job *j;
	uint8_t id[MAMORI_TASK_ID_LEN];
	char hex[2 * MAMORI_TASK_ID_LEN + 1];
	char safe[2 * MAMORI_DECISION_DETAIL_MAX];
	int have_id, type, r;

	peek_task(td->signed_task.data, td->signed_task.len, id, &have_id,
	    &type);
	hex[0] = '\0';
	if (have_id)
		mamori_hex(id, sizeof(id), hex);
	r = mamori_task_verify(t->policy, t->cfg.agent_id, mamori_now(),
	    t->seen, td->signed_task.data, td->signed_task.len, &task, &d);
	if (r != 0) {
		log_warn("task %s refused: %s (%s)", hex[0] != '\0' ? hex :
		    "(undecodable)", mamori_log_safe(d.detail, safe,
		    sizeof(safe)), mamori_decision_name(d.reason));
		trust_event(t, MAMORI__TRUST_EVENT__ACTION__TASK_REFUSED, NULL,
		    hex, type, mamori_decision_name(d.reason), d.detail, NULL);
		/* A replayed id is not answered: the answer went out when it
		 * was first seen, and a replay must not overwrite it. */
		if (have_id && d.reason != MAMORI_DECISION_REPLAYED)
			result_now(t, id, sizeof(id), hex, type,
			    MAMORI__TASK_RESULT__STATUS__REFUSED,
			    mamori_decision_name(d.reason), d.detail);
		return;
	}
	log_info("task %s (%s) accepted from %s", hex,
	    mamori_task_type_name(type), mamori_log_safe(
	    task->body->created_by, safe, sizeof(safe)));
	trust_event(t, MAMORI__TRUST_EVENT__ACTION__TASK_ACCEPTED, task, hex,
	    type, mamori_decision_name(MAMORI_DECISION_ACCEPTED), d.detail,
	    NULL);
	if (device_type(type)) {
		run_device(t, task, hex, type);
		return;
	}
	w = &t->w[task->task_class == MAMORI_TASK_OBSERVE ? W_OBSERVE : W_ACT];
	if ((j = calloc(1, sizeof(*j))) == NULL || w->n >=
	    MAMORI_AGENT_TASK_QUEUE || !w->started) {
		free(j);
		mamori_task_free(task);
		result_now(t, id, sizeof(id), hex, type,
		    MAMORI__TASK_RESULT__STATUS__FAILED, NULL,
		    "the agent is busy: too many tasks wait; send it again");
		return;
	}
	j->task = task;
	j->type = type;
	mamori_strlcpy(j->hex, hex, sizeof(j->hex));
	pthread_mutex_lock(&t->lock);
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->n++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&t->lock);
}

void
mamori_agent_tasks_connected(struct mamori_agent_tasks *t)
{
	struct job *j;

	send_status(t);
	while ((j = t->held) != NULL) {
		if (send_result(t, j) != 0)
			return;
		t->held = j->next;
		t->n_held--;
		job_free(j);
	}
}

/* ---- life -------------------------------------------------------------- */

int
mamori_agent_tasks_new(const struct mamori_agent_tasks_config *cfg,
    struct mamori_agent_tasks **out)
{
	struct mamori_agent_tasks *t;
	struct mamori_query_config qc;
	size_t i;
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MAMORI_ERR_ALLOC;
	t->cfg = *cfg;
	t->notify[0] = t->notify[1] = -1;
	pthread_mutex_init(&t->lock, NULL);
	for (i = 0; i < W_COUNT; i++) {
		t->w[i].t = t;
		pthread_cond_init(&t->w[i].cond, NULL);
	}
	if ((r = mamori_path_join(t->policy_path, sizeof(t->policy_path),
	    cfg->state_dir, MAMORI_AGENT_POLICY_FILE)) != 0 ||
	    (r = mamori_path_join(t->seen_path, sizeof(t->seen_path),
	    cfg->state_dir, MAMORI_AGENT_SEEN_FILE)) != 0 ||
	    (r = mamori_path_join(t->yara_dir, sizeof(t->yara_dir),
	    cfg->state_dir, MAMORI_AGENT_YARA_DIR)) != 0)
		goto out;
	policy_load(t);
	if ((r = mamori_seen_open(t->seen_path, mamori_now(), &t->seen)) != 0) {
		/* Without the set, a replay cannot be told: every task is
		 * refused until an administrator looks. */
		log_error("tasks: the replay set %s is damaged (%s); every "
		    "task is refused until it is removed by hand",
		    t->seen_path, mamori_strerror(r));
		t->seen = NULL;
	}
	memset(&qc, 0, sizeof(qc));
	qc.root = cfg->query_root != NULL ? cfg->query_root : "";
	qc.live = qc.root[0] == '\0';
	if (mamori_query_engine_new(&qc, &t->w[W_OBSERVE].engine) != 0)
		log_error("tasks: cannot start the query engine; queries "
		    "will fail");
	r = MAMORI_ERR_SYSTEM;
	if (pipe2(t->notify, O_CLOEXEC | O_NONBLOCK) != 0)
		goto out;
	if ((t->notify_ev = event_new(cfg->base, t->notify[0],
	    EV_READ | EV_PERSIST, on_notify, t)) == NULL ||
	    event_add(t->notify_ev, NULL) != 0)
		goto out;
	for (i = 0; i < W_COUNT; i++) {
		if (pthread_create(&t->w[i].thread, NULL, worker_main,
		    &t->w[i]) != 0)
			goto out;
		t->w[i].started = 1;
	}
	*out = t;
	t = NULL;
	r = 0;
out:
	mamori_agent_tasks_free(t);
	return r;
}

static void
jobs_free(struct job *j)
{
	struct job *next;

	for (; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
}

void
mamori_agent_tasks_free(struct mamori_agent_tasks *t)
{
	size_t i;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	for (i = 0; i < W_COUNT; i++)
		pthread_cond_signal(&t->w[i].cond);
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < W_COUNT; i++) {
		if (t->w[i].started)
			pthread_join(t->w[i].thread, NULL);
		jobs_free(t->w[i].head);
		pthread_cond_destroy(&t->w[i].cond);
	}
	mamori_query_engine_free(t->w[W_OBSERVE].engine);
	jobs_free(t->done);
	jobs_free(t->held);
	if (t->notify_ev != NULL)
		event_free(t->notify_ev);
	if (t->notify[0] >= 0)
		close(t->notify[0]);
	if (t->notify[1] >= 0)
		close(t->notify[1]);
	mamori_policy_free(t->policy);
	mamori_seen_free(t->seen);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
