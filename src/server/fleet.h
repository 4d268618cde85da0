/*
 * fleet.h - remote management on the server: the fleet policy, tasks and
 * hunts, and their results.
 *
 * The server relays: it keeps the owner-signed policy and hands it to every
 * agent whose version is older; it hands each task to the agents it
 * targets, now or when they connect while the task is valid; it stores the
 * results sealed and streams them to the administrator who asked.  It
 * signs nothing and decides nothing an agent relies on: agents verify the
 * policy against the owner key they pinned and every task against that
 * policy (src/trust/).  The only tasks the server makes are observe tasks
 * (live queries), unsigned, which agents run only when the policy allows.
 */
#ifndef MAMORI_FLEET_H
#define MAMORI_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <jansson.h>

#include "mamori.pb-c.h"

struct mamori_server;
struct mamori_fleet;

#define MAMORI_FLEET_TASKS_MAX 4096          /* valid tasks held at once */
#define MAMORI_FLEET_RESULT_KEEP (30 * 86400) /* seconds after the window */
#define MAMORI_FLEET_WAIT_DEFAULT 10         /* seconds a query waits */
#define MAMORI_FLEET_WAIT_MAX 3600
#ifndef MAMORI_FLEET_SWEEP_SECONDS
#define MAMORI_FLEET_SWEEP_SECONDS 60        /* drop expired tasks */
#endif
/* A task leaves memory this long after its window closes: agents accept
 * a task up to MAMORI_TASK_CLOCK_SKEW late, so its result may come later. */
#ifndef MAMORI_FLEET_EXPIRE_GRACE
#define MAMORI_FLEET_EXPIRE_GRACE MAMORI_TASK_CLOCK_SKEW
#endif
#define MAMORI_FLEET_LIST_DEFAULT 100        /* hunts listed */

/* Loads the policy and the valid tasks from the store. */
int mamori_fleet_new(struct mamori_server *srv, struct mamori_fleet **out);
void mamori_fleet_free(struct mamori_fleet *f);

/* Session hooks (session.c).  A connected agent said which policy it
 * holds: send it a newer one and the tasks waiting for it. */
int mamori_fleet_agent_ready(struct mamori_server *srv, const char *agent_id,
    const Mamori__PolicyStatus *st);
/* A result from agent_id: stored once, streamed to whoever waits. */
int mamori_fleet_result(struct mamori_server *srv, const char *agent_id,
    const Mamori__TaskResult *res);

/* Admin commands (admin.c's table). */
json_t *mamori_fleet_policy_push(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_fleet_policy_show(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_fleet_hunt_list(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_fleet_hunt_show(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
/* Streaming commands: 0 when the fleet took bev over (it answers line by
 * line and frees bev at the end); otherwise why says what is wrong and the
 * caller answers and frees bev. */
int mamori_fleet_query(struct mamori_server *srv, struct bufferevent *bev,
    json_t *req, char *why, size_t whylen);
int mamori_fleet_task_submit(struct mamori_server *srv,
    struct bufferevent *bev, json_t *req, char *why, size_t whylen);

#endif
