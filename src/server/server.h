/*
 * server.h - mamorid's state shared by its modules: the event loop, the TLS
 * context, the store, the fleet CA, and the set of connected sessions.
 *
 * One thread runs the event loop and owns everything here.  Agents are
 * identified only by the certificate they presented in the TLS handshake
 * (session.c); nothing an agent sends can change which agent it is.
 */
#ifndef MAMORI_SERVER_H
#define MAMORI_SERVER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "detect.h"
#include "home.h"
#include "output.h"
#include "store.h"
#include "util.h"
#include "wire.h"

#define MAMORI_DEFAULT_HEARTBEAT 30      /* seconds between heartbeats */
/* A peer without a certificate gets this long, in all, from accept to the
 * end of its enrollment - a deadline, not an idle timeout, so trickling
 * bytes does not keep a slot. */
#define MAMORI_PREAUTH_DEADLINE 15       /* seconds */
#define MAMORI_MAX_PREAUTH_SESSIONS 1024 /* handshakes and enrollments */
#define MAMORI_SESSION_OUTPUT_MAX (256 * 1024) /* unread replies: stop reading */
#define MAMORI_WRITE_TIMEOUT 60          /* seconds a peer may not read */
#define MAMORI_FD_RESERVE 64             /* descriptors kept for the store */
#define MAMORI_ACCEPT_PAUSE_MS 1000      /* after running out of fds */
#define MAMORI_SEEN_WRITE_INTERVAL 60    /* store last_seen at most so often */
#define MAMORI_MAX_SESSIONS 100000
#define MAMORI_TOKEN_MAX_TTL (30 * 86400)
#define MAMORI_TOKEN_MAX_USES 1000000

struct session;

struct mamori_server {
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	struct evconnlistener *listener;
	struct evconnlistener *admin_listener;
	struct event *sig_int, *sig_term;
	struct mamori_store *store;
	struct mamori_detect *detect; /* rules and indicators (detect.h) */
	struct mamori_fleet *fleet;   /* policy, tasks, results (fleet.h) */
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	struct mamori_home_fingerprints fp;
	char home[PATH_MAX];
	char admin_path[PATH_MAX];
	char listen[MAMORI_HOST_MAX + 8];
	char advertise[MAMORI_HOST_MAX + 8];
	gid_t admin_gid;            /* (gid_t)-1: root only */
	unsigned heartbeat_seconds;
	uint64_t started_at;
	struct session *sessions;   /* doubly linked list of all connections */
	size_t n_sessions;
	size_t n_preauth;           /* sessions not yet authenticated */
	size_t max_sessions;        /* from the descriptor limit */
	struct event *accept_resume;
	struct session **by_agent;  /* authenticated sessions by agent id */
	size_t by_agent_cap;        /* buckets, a power of two (0: none) */
	size_t n_agents_connected;
	/* Event group commit (session.c): sessions whose events are in the
	 * store's open group wait for their acknowledgement in group_head. */
	struct event *group_commit;  /* active: commit at the end of the pass */
	struct session *group_head;
	size_t group_events;
	/* Authenticated frames are decoded here, one at a time (session.c). */
	struct mamori_arena *arena;
	/* Alert outputs (output/output.h; NULL: none).  Alerts raised in the
	 * open group wait in pending_alerts and are handed over only when
	 * the group commits (session.c); ingest_host is the host name of
	 * the agent whose events are being written, for those alerts. */
	struct mamori_outputs *outputs;
	struct mamori_output_alert **pending_alerts;
	size_t n_pending_alerts, pending_alerts_cap;
	const char *ingest_host;
	struct event *sig_hup;       /* reopens the outputs' files */
};

/* Alerts of one group waiting for its commit; beyond, counted as dropped. */
#define MAMORI_PENDING_ALERTS_MAX 100000

/* Session registry (session.c). */
int mamori_session_accept(struct mamori_server *srv, int fd,
    const struct sockaddr *sa, int salen);
/* Closes the live session of agent_id, if any; returns 1 when one was. */
int mamori_session_drop_agent(struct mamori_server *srv,
    const char *agent_id, const char *why);
int mamori_session_is_connected(struct mamori_server *srv,
    const char *agent_id);
void mamori_session_close_all(struct mamori_server *srv);
/* Sends env to agent_id's live session; MAMORI_ERR_NOT_FOUND when it is
 * not connected (or has not said hello). */
int mamori_session_send_to(struct mamori_server *srv, const char *agent_id,
    Mamori__Envelope *env);
/* Calls fn for every connected agent that reported its policy version. */
typedef void (*mamori_session_ready_fn)(void *ctx, const char *agent_id,
    uint64_t policy_version);
void mamori_session_foreach_ready(struct mamori_server *srv,
    mamori_session_ready_fn fn, void *ctx);
/* Event group commit: set up once the event base exists; commit ends the
 * open group and acknowledges what it stored (safe to call any time). */
#define MAMORI_GROUP_MAX_EVENTS 20000
int mamori_session_group_init(struct mamori_server *srv);
void mamori_session_group_commit(struct mamori_server *srv);
void mamori_session_group_free(struct mamori_server *srv);
/* For a write that may share the open group (task results): opens or
 * joins it, committed at the end of this pass.  Abort rolls the whole
 * group back; its agents are not acknowledged and send again. */
int mamori_session_group_join(struct mamori_server *srv);
void mamori_session_group_abort(struct mamori_server *srv);

/* Enrollment (enroll.c): checks the token and CSR of an unauthenticated
 * peer and fills resp.  why gets the reason for a refusal, for the log and
 * the peer.  The token is consumed only when a certificate is issued.
 * resp points into agent_id, *cert_der and *ca_der (OPENSSL_free them). */
int mamori_enroll_handle(struct mamori_server *srv,
    const Mamori__EnrollRequest *req, const char *peer,
    Mamori__EnrollResponse *resp, char agent_id[MAMORI_AGENT_ID_STRLEN],
    uint8_t **cert_der, uint8_t **ca_der, char *why, size_t whylen);

/* Inventory ingest (ingest.c). */
int mamori_ingest_snapshot(struct mamori_store *store, const char *agent_id,
    const Mamori__Inventory *inv, uint64_t now);
int mamori_ingest_delta(struct mamori_store *store, const char *agent_id,
    const Mamori__InventoryDelta *delta, uint64_t now);
/* Checks a batch of events: 1 to MAMORI_MAX_EVENT_BATCH events, each with
 * a body, numbered in strictly increasing order.  MAMORI_ERR_BAD_MESSAGE
 * when it is not (a broken or hostile agent: close the peer). */
#define MAMORI_MAX_EVENT_BATCH 10000
int mamori_ingest_events_check(const Mamori__EventBatch *batch);
/* Writes a checked batch (each (agent, seq) once) into the store's open
 * group transaction (mamori_store_group_begin); *added gets how many were
 * new.  Each new event is evaluated by detect (NULL: none), its alerts
 * raised in the same transaction.  On failure the caller must end the
 * group with a rollback. */
int mamori_ingest_events_write(struct mamori_store *store,
    const char *agent_id, const Mamori__EventBatch *batch,
    struct mamori_detect *detect, size_t *added);

/* Admin socket (admin.c). */
int mamori_admin_start(struct mamori_server *srv);
void mamori_admin_stop(struct mamori_server *srv);

#endif
