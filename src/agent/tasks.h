/*
 * tasks.h - the agent's side of remote management: the fleet policy it
 * holds, the tasks it is given, and the results it returns.
 *
 * Every policy and task is verified here (src/trust/) before anything is
 * done with it: a policy only when the pinned owner key signed it and it is
 * newer than the one held; a task only when the policy's admins signed it
 * as its class requires (observe tasks from the server alone when the
 * policy allows), it is addressed to this agent, its type is accepted by
 * this agent's groups, its window is open and its id was never seen.  Each
 * decision is recorded as a TrustEvent on the lossless event path, and a
 * refused task gets a REFUSED result, so whoever waits learns why.
 *
 * Tasks run on worker threads (one for observe tasks, one for the rest), so
 * a long command never holds up a query, nor either of them the event loop.
 */
#ifndef MAMORI_AGENT_TASKS_H
#define MAMORI_AGENT_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "crypto.h"
#include "mamori.pb-c.h"

#define MAMORI_AGENT_POLICY_FILE "policy.bin"
#define MAMORI_AGENT_SEEN_FILE "tasks.seen"
#define MAMORI_AGENT_YARA_DIR "yara"        /* rules YARA_SCAN tasks use */
#define MAMORI_AGENT_TASK_QUEUE 32       /* tasks waiting per worker */
#define MAMORI_AGENT_RESULTS_HELD 64     /* results waiting for a connection */
#define MAMORI_AGENT_RESULT_MAX (6 * 1024 * 1024) /* one result, packed */

struct mamori_agent_tasks;

/* Sends one envelope to the server; non-zero when not connected. */
typedef int (*mamori_tasks_send_fn)(void *ctx, Mamori__Envelope *env);
/* Hands one event (owned) to the spool. */
typedef int (*mamori_tasks_emit_fn)(void *ctx, Mamori__Event *ev);
/* Runs a USB control or isolation task on the event loop; sets
 * res->status and res->message (malloc'ed, or NULL).  0 when it worked. */
typedef int (*mamori_tasks_device_fn)(void *ctx, const Mamori__TaskBody *b,
    Mamori__TaskResult *res);

struct mamori_agent_tasks_config {
	const char *state_dir;
	const char *agent_id;
	const uint8_t *owner_fp;          /* pinned at enrollment, 32 bytes */
	struct event_base *base;
	mamori_tasks_send_fn send;
	mamori_tasks_emit_fn emit;
	void *ctx;
	const char *query_root;           /* "" on a live host */
	mamori_tasks_device_fn device;    /* NULL: those tasks fail */
	void *device_ctx;
	/* The policy's YARA sets are compiled into it when a policy is
	 * accepted or loaded, and YARA_SCAN tasks use them (yara_policy.h);
	 * NULL: tasks use the rule files in STATE/yara only. */
	struct mamori_agent_yara *yara;
};

/* Loads the held policy (verified again) and the replay set. */
int mamori_agent_tasks_new(const struct mamori_agent_tasks_config *cfg,
    struct mamori_agent_tasks **out);
/* Stops the workers (a running task is waited for). */
void mamori_agent_tasks_free(struct mamori_agent_tasks *t);

/* The connection is up: say which policy is held, send held results. */
void mamori_agent_tasks_connected(struct mamori_agent_tasks *t);
/* A PolicyUpdate or TaskDelivery from the server. */
void mamori_agent_tasks_policy(struct mamori_agent_tasks *t,
    const Mamori__PolicyUpdate *pu);
void mamori_agent_tasks_deliver(struct mamori_agent_tasks *t,
    const Mamori__TaskDelivery *td);
uint64_t mamori_agent_tasks_policy_version(
    const struct mamori_agent_tasks *t);

#endif
