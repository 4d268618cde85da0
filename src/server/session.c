/*
 * session.c - one TLS connection from an agent, from handshake to close.
 *
 * A session without a client certificate may send exactly one enrollment
 * request, under the small pre-authentication limits, and is then closed.
 * A session with a certificate (verified against the fleet CA during the
 * handshake) becomes the agent named in that certificate - never the one a
 * message names - once the store confirms the agent exists, is not revoked,
 * and the certificate is the one issued to it.  Anything out of order, any
 * malformed or oversized frame, closes the connection with one log line;
 * other sessions are unaffected.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "err.h"
#include "fleet.h"
#include "log.h"
#include "pki.h"
#include "server.h"

enum session_state {
	SS_HANDSHAKE,
	SS_ENROLL,   /* no certificate: one enrollment request allowed */
	SS_HELLO,    /* authenticated, waiting for hello */
	SS_READY,
	SS_CLOSING,  /* flushing a last message */
};

struct session {
	struct session *prev, *next;
	struct session *bucket_next;   /* in srv->by_agent */
	struct mamori_server *srv;
	struct bufferevent *bev;
	enum session_state state;
	int counted;                   /* in srv->n_agents_connected */
	int preauth;                   /* in srv->n_preauth */
	struct event *deadline;        /* pre-authentication deadline */
	char peer[64];
	char agent_id[MAMORI_AGENT_ID_STRLEN];
	char verify_error[128];
	uint64_t seen_written;
	/* Events: everything up to acked is stored and acknowledged; up to
	 * stored is written into the open group.  The agent sends from its
	 * first unacknowledged event, so the first batch sets both. */
	int have_base;
	uint64_t acked, stored;
	int in_group;
	struct session *group_prev, *group_next;
	/* The policy version the agent holds, once it said (fleet.c). */
	int policy_reported;
	uint64_t policy_version;
	char *hostname;     /* for alert outputs; NULL when there are none */
};

static void session_read(struct bufferevent *bev, void *arg);
static void session_event(struct bufferevent *bev, short what, void *arg);
static void session_deadline(evutil_socket_t fd, short what, void *arg);
static void session_drained(struct bufferevent *bev, void *arg);

static void
peer_string(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, outlen, "unknown");
	}
}

#define SESSION_TABLE_MIN 1024

/* Agent ids are random hex, so their first 16 digits hash well. */
static size_t
agent_hash(const char *id, size_t cap)
{
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < 16 && id[i] != '\0'; i++)
		h = h << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' :
		    (id[i] | 0x20) - 'a' + 10);
	return (size_t)(h & (cap - 1));
}

static struct session *
table_find(struct mamori_server *srv, const char *agent_id)
{
	struct session *s;

	if (srv->by_agent_cap == 0)
		return NULL;
	for (s = srv->by_agent[agent_hash(agent_id, srv->by_agent_cap)];
	    s != NULL; s = s->bucket_next)
		if (strcmp(s->agent_id, agent_id) == 0)
			return s;
	return NULL;
}

static int
table_insert(struct mamori_server *srv, struct session *s)
{
	struct session **nb, *x, *next;
	size_t cap, i, h;

	if (srv->n_agents_connected + 1 > srv->by_agent_cap) {
		cap = srv->by_agent_cap == 0 ? SESSION_TABLE_MIN :
		    2 * srv->by_agent_cap;
		if ((nb = calloc(cap, sizeof(*nb))) == NULL)
			return MAMORI_ERR_ALLOC;
		for (i = 0; i < srv->by_agent_cap; i++) {
			for (x = srv->by_agent[i]; x != NULL; x = next) {
				next = x->bucket_next;
				h = agent_hash(x->agent_id, cap);
				x->bucket_next = nb[h];
				nb[h] = x;
			}
		}
		free(srv->by_agent);
		srv->by_agent = nb;
		srv->by_agent_cap = cap;
	}
	h = agent_hash(s->agent_id, srv->by_agent_cap);
	s->bucket_next = srv->by_agent[h];
	srv->by_agent[h] = s;
	return 0;
}

static void
table_remove(struct mamori_server *srv, struct session *s)
{
	struct session **pp;

	if (srv->by_agent_cap == 0)
		return;
	for (pp = &srv->by_agent[agent_hash(s->agent_id, srv->by_agent_cap)];
	    *pp != NULL; pp = &(*pp)->bucket_next) {
		if (*pp == s) {
			*pp = s->bucket_next;
			return;
		}
	}
}

static void
group_remove(struct session *s)
{
	if (!s->in_group)
		return;
	if (s->group_prev != NULL)
		s->group_prev->group_next = s->group_next;
	else
		s->srv->group_head = s->group_next;
	if (s->group_next != NULL)
		s->group_next->group_prev = s->group_prev;
	s->group_prev = s->group_next = NULL;
	s->in_group = 0;
}

static void
session_free(struct session *s)
{
	struct mamori_server *srv = s->srv;

	/* First: the store calls below may commit the group, which must not
	 * acknowledge to a session being freed. */
	group_remove(s);

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->n_sessions--;
	if (s->preauth)
		srv->n_preauth--;
	if (s->deadline != NULL)
		event_free(s->deadline);
	if (s->counted) {
		table_remove(srv, s);
		srv->n_agents_connected--;
		mamori_store_agent_seen(srv->store, s->agent_id, mamori_now(),
		    s->peer);
	}
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	free(s->hostname);
	free(s);
}

/* Closes now, logging why (unless why is NULL). */
static void
session_close(struct session *s, const char *why)
{
	if (why != NULL) {
		if (s->agent_id[0] != '\0')
			log_warn("%s (agent %s): closing: %s", s->peer,
			    s->agent_id, why);
		else
			log_warn("%s: closing: %s", s->peer, why);
	}
	session_free(s);
}

static void
session_flushed(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->state == SS_CLOSING)
		session_free(s);
}

/* Closes once what was written has gone out. */
static void
session_close_after_flush(struct session *s)
{
	struct timeval tv = {5, 0};

	s->state = SS_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setcb(s->bev, NULL, session_flushed, session_event, s);
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_free(s);
}

static int
session_send(struct session *s, Mamori__Envelope *env)
{
	struct mamori_buf b;
	int r;

	mamori_buf_init(&b, MAMORI_FRAME_MAX + MAMORI_FRAME_HEADER);
	if ((r = mamori_frame_encode(env, &b)) == 0 &&
	    bufferevent_write(s->bev, b.data, b.len) != 0)
		r = MAMORI_ERR_IO;
	mamori_buf_free(&b);
	return r;
}

static void
session_send_error(struct session *s, enum mamori_err code, const char *msg)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__Error err = MAMORI__ERROR__INIT;

	err.code = (uint32_t)-code;
	err.message = (char *)(uintptr_t)msg;
	env.body_case = MAMORI__ENVELOPE__BODY_ERROR;
	env.error = &err;
	(void)session_send(s, &env);
}

/* After authentication: idle agents must still say something every few
 * heartbeats, and must read what they are sent. */
static void
session_set_timeouts(struct session *s, unsigned read_seconds)
{
	struct timeval rd = {(time_t)read_seconds, 0};
	struct timeval wr = {MAMORI_WRITE_TIMEOUT, 0};

	bufferevent_set_timeouts(s->bev, &rd, &wr);
}

static void
session_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	session_close(s, s->state == SS_HANDSHAKE ? "TLS handshake not "
	    "finished in time" : "no enrollment request in time");
}

int
mamori_session_accept(struct mamori_server *srv, int fd,
    const struct sockaddr *sa, int salen)
{
	struct session *s;
	SSL *ssl;

	struct timeval deadline = {MAMORI_PREAUTH_DEADLINE, 0};

	(void)salen;
	if (srv->n_sessions >= srv->max_sessions) {
		log_warn("refusing a connection: %zu sessions open",
		    srv->n_sessions);
		return MAMORI_ERR_TOO_LARGE;
	}
	/* Unauthenticated peers get a small share, so they can never crowd
	 * out the fleet's agents. */
	if (srv->n_preauth >= MAMORI_MAX_PREAUTH_SESSIONS) {
		log_warn("refusing a connection: %zu handshakes in progress",
		    srv->n_preauth);
		return MAMORI_ERR_TOO_LARGE;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MAMORI_ERR_ALLOC;
	s->srv = srv;
	s->state = SS_HANDSHAKE;
	peer_string(sa, s->peer, sizeof(s->peer));
	if ((ssl = SSL_new(srv->ssl_ctx)) == NULL) {
		free(s);
		return MAMORI_ERR_CRYPTO;
	}
	SSL_set_app_data(ssl, s);
	s->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		SSL_free(ssl);
		free(s);
		return MAMORI_ERR_ALLOC;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->n_sessions++;
	s->preauth = 1;
	srv->n_preauth++;
	if ((s->deadline = evtimer_new(srv->base, session_deadline, s)) ==
	    NULL || evtimer_add(s->deadline, &deadline) != 0) {
		session_free(s);
		return MAMORI_ERR_ALLOC;
	}
	bufferevent_setcb(s->bev, session_read, NULL, session_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    MAMORI_FRAME_MAX_PREAUTH + MAMORI_FRAME_HEADER);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	return 0;
}

/* Records why a client certificate failed, for the handshake log line. */
int mamori_session_verify_cb(int ok, X509_STORE_CTX *ctx);

int
mamori_session_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	SSL *ssl;
	struct session *s;

	if (ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(ctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	s = ssl == NULL ? NULL : SSL_get_app_data(ssl);
	if (s != NULL && s->verify_error[0] == '\0')
		snprintf(s->verify_error, sizeof(s->verify_error),
		    "client certificate rejected: %s",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	return 0;
}

static int
valid_agent_id(const char *id)
{
	size_t i;

	if (strlen(id) != MAMORI_AGENT_ID_LEN)
		return 0;
	for (i = 0; i < MAMORI_AGENT_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* Keeps the agent's host name for the alerts its events raise, only when
 * there are outputs (a fleet without them pays nothing per session). */
static void
session_set_hostname(struct session *s, const char *hostname)
{
	char *copy;

	if (s->srv->outputs == NULL)
		return;
	if ((copy = mamori_memdup_str(hostname, strlen(hostname))) == NULL)
		return;             /* keeps the previous name */
	free(s->hostname);
	s->hostname = copy;
}

/* After the handshake: decide who the peer is. */
static void
session_authenticate(struct session *s)
{
	struct mamori_server *srv = s->srv;
	struct mamori_agent_rec rec;
	char cn[128], serial[33], why[256];
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	X509 *cert = SSL_get0_peer_certificate(ssl);
	int r;

	if (cert == NULL) {
		s->state = SS_ENROLL;
		log_debug("%s: no client certificate; enrollment only",
		    s->peer);
		return;
	}
	if (mamori_cert_cn(cert, cn, sizeof(cn)) != 0 ||
	    !valid_agent_id(cn) ||
	    mamori_cert_serial_hex(cert, serial) != 0) {
		session_close(s, "client certificate does not name an agent");
		return;
	}
	r = mamori_store_agent_get(srv->store, cn, &rec);
	if (r == MAMORI_ERR_NOT_FOUND) {
		snprintf(why, sizeof(why), "certificate for unknown agent %s",
		    cn);
		session_close(s, why);
		return;
	}
	if (r != 0) {
		session_close(s, "store failure while checking the agent");
		return;
	}
	if (rec.revoked_at != 0) {
		snprintf(why, sizeof(why), "agent %s is revoked", cn);
		session_close(s, why);
		return;
	}
	if (strcmp(rec.cert_serial, serial) != 0) {
		snprintf(why, sizeof(why), "certificate serial %s is not the "
		    "one issued to agent %s", serial, cn);
		session_close(s, why);
		return;
	}
	/* One connection per agent: the newer one wins. */
	mamori_session_drop_agent(srv, cn, "replaced by a new connection");
	mamori_strlcpy(s->agent_id, cn, sizeof(s->agent_id));
	if (table_insert(srv, s) != 0) {
		session_close(s, "out of memory");
		return;
	}
	session_set_hostname(s, rec.hostname);
	s->state = SS_HELLO;
	s->counted = 1;
	srv->n_agents_connected++;
	s->preauth = 0;
	srv->n_preauth--;
	event_free(s->deadline);
	s->deadline = NULL;
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    MAMORI_FRAME_MAX + MAMORI_FRAME_HEADER);
	session_set_timeouts(s, 3 * srv->heartbeat_seconds + 10);
	log_info("%s: agent %s connected", s->peer, s->agent_id);
	s->seen_written = mamori_now();
	mamori_store_agent_seen(srv->store, s->agent_id, s->seen_written,
	    s->peer);
}

static void
session_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char why[320];
	unsigned long e;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		session_authenticate(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		session_close(s, s->state == SS_CLOSING ? NULL :
		    (what & BEV_EVENT_WRITING) ? "the peer stopped reading" :
		    "no message in three heartbeats");
		return;
	}
	if (s->state == SS_HANDSHAKE) {
		if (s->verify_error[0] != '\0') {
			snprintf(why, sizeof(why), "TLS handshake failed: %s",
			    s->verify_error);
		} else if ((e = bufferevent_get_openssl_error(bev)) != 0) {
			char ebuf[256];

			ERR_error_string_n(e, ebuf, sizeof(ebuf));
			snprintf(why, sizeof(why), "TLS handshake failed: %s",
			    ebuf);
		} else {
			snprintf(why, sizeof(why),
			    "connection ended during the TLS handshake");
		}
		session_close(s, why);
		return;
	}
	/* A peer that goes away without close_notify is an end of stream,
	 * not a TLS failure worth a warning. */
	e = bufferevent_get_openssl_error(bev);
	/* libevent records a reset as a bare SSL_ERROR_SYSCALL (library 0). */
	if (e != 0 && (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	    ERR_GET_LIB(e) == 0)) {
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		e = 0;
		what |= BEV_EVENT_EOF;
	}
	if (e != 0) {
		char ebuf[256];

		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(why, sizeof(why), "TLS error: %s", ebuf);
		session_close(s, why);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		size_t left = evbuffer_get_length(bufferevent_get_input(bev));

		if (left > 0 && s->state != SS_CLOSING) {
			snprintf(why, sizeof(why), "connection ended inside a "
			    "frame (%zu bytes unread)", left);
			session_close(s, why);
			return;
		}
		if (s->agent_id[0] != '\0')
			log_info("%s: agent %s disconnected", s->peer,
			    s->agent_id);
		session_close(s, NULL);
		return;
	}
	session_close(s, s->state == SS_CLOSING ? NULL : "connection error");
}

static int
handle_enroll(struct session *s, const Mamori__EnrollRequest *req)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__EnrollResponse resp = MAMORI__ENROLL_RESPONSE__INIT;
	uint8_t *cert_der = NULL, *ca_der = NULL;
	char why[256], msg[300], agent_id[MAMORI_AGENT_ID_STRLEN];
	int r;

	r = mamori_enroll_handle(s->srv, req, s->peer, &resp, agent_id,
	    &cert_der,
	    &ca_der, why, sizeof(why));
	if (r != 0) {
		log_warn("%s: enrollment refused: %s", s->peer, why);
		snprintf(msg, sizeof(msg), "enrollment refused: %s", why);
		session_send_error(s, (enum mamori_err)r, msg);
	} else {
		env.body_case = MAMORI__ENVELOPE__BODY_ENROLL_RESPONSE;
		env.enroll_response = &resp;
		(void)session_send(s, &env);
	}
	OPENSSL_free(cert_der);
	OPENSSL_free(ca_der);
	session_close_after_flush(s);
	return 0;
}

static int
handle_hello(struct session *s, const Mamori__Hello *hello)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__Welcome w = MAMORI__WELCOME__INIT;
	char ver[64];

	log_debug("%s: agent %s says hello (version %s)", s->peer, s->agent_id,
	    mamori_log_safe(hello->agent_version, ver, sizeof(ver)));
	w.agent_id = s->agent_id;
	w.heartbeat_seconds = s->srv->heartbeat_seconds;
	w.server_time = mamori_now();
	env.body_case = MAMORI__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	s->state = SS_READY;
	return session_send(s, &env);
}

static int
handle_heartbeat(struct session *s, const Mamori__Heartbeat *hb)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__HeartbeatAck ack = MAMORI__HEARTBEAT_ACK__INIT;
	uint64_t now = mamori_now();

	(void)hb;
	if (now - s->seen_written >= MAMORI_SEEN_WRITE_INTERVAL) {
		s->seen_written = now;
		mamori_store_agent_seen(s->srv->store, s->agent_id, now,
		    s->peer);
	}
	ack.time = now;
	env.body_case = MAMORI__ENVELOPE__BODY_HEARTBEAT_ACK;
	env.heartbeat_ack = &ack;
	return session_send(s, &env);
}

static int
send_inventory_ack(struct session *s, uint64_t collected_at)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__InventoryAck ack = MAMORI__INVENTORY_ACK__INIT;

	ack.collected_at = collected_at;
	env.body_case = MAMORI__ENVELOPE__BODY_INVENTORY_ACK;
	env.inventory_ack = &ack;
	return session_send(s, &env);
}

/*
 * Stores a batch and acknowledges it.  When the store cannot take it (slow,
 * full disk), the acknowledgement is withheld and the session stays open:
 * the agent keeps its spool and sends again, which is the backpressure.
 */
static void
send_event_ack(struct session *s)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__EventAck ack = MAMORI__EVENT_ACK__INIT;

	ack.acked_seq = s->acked;
	env.body_case = MAMORI__ENVELOPE__BODY_EVENT_ACK;
	env.event_ack = &ack;
	(void)session_send(s, &env);
}

/* Detection's sink: an alert written into the open group waits here for
 * the commit.  Outputs never hear of an alert the store does not have. */
static void
alert_sink(void *ctx, const struct mamori_detect_alert *d)
{
	struct mamori_server *srv = ctx;
	struct mamori_output_alert_info info;
	struct mamori_output_alert *a = NULL, **grown;
	size_t cap;
	int r;

	if (srv->n_pending_alerts >= MAMORI_PENDING_ALERTS_MAX) {
		mamori_outputs_count_dropped(srv->outputs, 1);
		return;
	}
	if (srv->n_pending_alerts == srv->pending_alerts_cap) {
		cap = srv->pending_alerts_cap == 0 ? 64 :
		    2 * srv->pending_alerts_cap;
		if ((grown = realloc(srv->pending_alerts,
		    cap * sizeof(*grown))) == NULL) {
			mamori_outputs_count_dropped(srv->outputs, 1);
			return;
		}
		srv->pending_alerts = grown;
		srv->pending_alerts_cap = cap;
	}
	memset(&info, 0, sizeof(info));
	info.id = d->id;
	info.agent_id = d->agent_id;
	info.host = srv->ingest_host;
	info.source = d->source;
	info.rule = d->rule_key;
	info.severity = d->severity;
	info.time_ns = d->time_ns;
	info.seq = d->seq;
	info.repeat = !d->created;
	info.detail_json = d->detail_json;
	if ((r = mamori_output_alert_new(&info, &a)) != 0) {
		log_warn("alert %llu for agent %s not sent to the outputs: %s",
		    (unsigned long long)d->id, d->agent_id, mamori_strerror(r));
		mamori_outputs_count_dropped(srv->outputs, 1);
		return;
	}
	srv->pending_alerts[srv->n_pending_alerts++] = a;
}

/* After the group ended: committed alerts go to the outputs; those of a
 * rolled-back group are forgotten (they are raised again when the agents
 * send their events again). */
static void
alerts_release(struct mamori_server *srv, int committed)
{
	size_t i;

	for (i = 0; i < srv->n_pending_alerts; i++) {
		if (committed)
			mamori_outputs_submit(srv->outputs,
			    srv->pending_alerts[i]);
		mamori_output_alert_release(srv->pending_alerts[i]);
		srv->pending_alerts[i] = NULL;
	}
	srv->n_pending_alerts = 0;
}

/* Ends the open group: on success every waiting session is acknowledged up
 * to what it stored; on failure nothing of the group is stored, so no one
 * is acknowledged and each agent sends again from its last acknowledgement. */
static void
group_end(struct mamori_server *srv, int commit)
{
	struct session *s, *next;
	size_t n = srv->group_events;
	int r;

	if (!mamori_store_group_is_open(srv->store)) {
		alerts_release(srv, 0);
		return;
	}
	r = mamori_store_group_end(srv->store, commit);
	if (r != 0 && commit)
		log_warn("cannot store %zu events (%s); not acknowledging, the "
		    "agents keep them and send them again", n,
		    mamori_strerror(r));
	alerts_release(srv, r == 0 && commit);
	for (s = srv->group_head; s != NULL; s = next) {
		next = s->group_next;
		s->group_prev = s->group_next = NULL;
		s->in_group = 0;
		if (r == 0) {
			s->acked = s->stored;
			send_event_ack(s);
		} else {
			s->stored = s->acked;
		}
	}
	srv->group_head = NULL;
	srv->group_events = 0;
}

void
mamori_session_group_commit(struct mamori_server *srv)
{
	group_end(srv, 1);
}

static void
group_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	group_end(arg, 1);
}

static void
group_flush_hook(void *arg)
{
	group_end(arg, 1);
}

int
mamori_session_group_init(struct mamori_server *srv)
{
	srv->group_commit = event_new(srv->base, -1, 0, group_commit_cb, srv);
	if (srv->group_commit == NULL || mamori_arena_new(&srv->arena) != 0)
		return MAMORI_ERR_ALLOC;
	mamori_store_set_flush_hook(srv->store, group_flush_hook, srv);
	if (srv->outputs != NULL)
		mamori_detect_set_sink(srv->detect, alert_sink, srv);
	return 0;
}

void
mamori_session_group_free(struct mamori_server *srv)
{
	group_end(srv, 1);
	mamori_store_set_flush_hook(srv->store, NULL, NULL);
	if (srv->group_commit != NULL)
		event_free(srv->group_commit);
	srv->group_commit = NULL;
	mamori_arena_free(srv->arena);
	srv->arena = NULL;
	mamori_detect_set_sink(srv->detect, NULL, NULL);
	alerts_release(srv, 0);
	free(srv->pending_alerts);
	srv->pending_alerts = NULL;
	srv->pending_alerts_cap = 0;
}

/*
 * Event batches are written into the store's open group, and acknowledged
 * when the group commits at the end of this pass of the event loop (or
 * sooner, when it grows past MAMORI_GROUP_MAX_EVENTS or another store call
 * needs the store).  Acknowledgements are cumulative, so a batch is taken
 * only when it continues what this connection stored (its after_seq): after
 * a failure the later batches in flight are ignored until the agent sends
 * again from its last acknowledgement, and no acknowledgement ever covers
 * events that were not stored.
 */
static int
handle_events(struct session *s, const Mamori__EventBatch *batch)
{
	struct mamori_server *srv = s->srv;
	uint64_t last;
	size_t added;
	int r;

	if ((r = mamori_ingest_events_check(batch)) != 0)
		return r;
	last = batch->events[batch->n_events - 1]->seq;
	if (!s->have_base) {
		s->acked = s->stored = batch->after_seq;
		s->have_base = 1;
	}
	if (batch->after_seq > s->stored) {
		/* It follows events this connection did not store: wait for
		 * the agent to send again from its acknowledgement. */
		log_debug("%s (agent %s): events after %llu wait for those "
		    "after %llu", s->peer, s->agent_id,
		    (unsigned long long)batch->after_seq,
		    (unsigned long long)s->stored);
		return 0;
	}
	srv->ingest_host = s->hostname;
	if ((r = mamori_store_group_begin(srv->store)) == 0)
		r = mamori_ingest_events_write(srv->store, s->agent_id, batch,
		    srv->detect, &added);
	srv->ingest_host = NULL;
	if (r != 0) {
		log_warn("%s (agent %s): cannot store %zu events (%s); not "
		    "acknowledging, the agent keeps them", s->peer,
		    s->agent_id, batch->n_events, mamori_strerror(r));
		group_end(srv, 0);
		s->stored = s->acked;
		return 0;
	}
	if (last > s->stored)
		s->stored = last;
	if (!s->in_group) {
		s->in_group = 1;
		s->group_prev = NULL;
		s->group_next = srv->group_head;
		if (srv->group_head != NULL)
			srv->group_head->group_prev = s;
		srv->group_head = s;
	}
	srv->group_events += batch->n_events;
	if (srv->group_events >= MAMORI_GROUP_MAX_EVENTS)
		group_end(srv, 1);
	else
		event_active(srv->group_commit, EV_TIMEOUT, 0);
	return 0;
}

/* The snapshot may have renamed the host: alerts name it as stored. */
static void
session_refresh_hostname(struct session *s)
{
	struct mamori_agent_rec rec;

	if (s->srv->outputs != NULL &&
	    mamori_store_agent_get(s->srv->store, s->agent_id, &rec) == 0)
		session_set_hostname(s, rec.hostname);
}

/* Returns 1 when the session is still open. */
static int
session_dispatch(struct session *s, const Mamori__Envelope *env)
{
	char why[256];
	int r;

	switch (s->state) {
	case SS_ENROLL:
		if (env->body_case != MAMORI__ENVELOPE__BODY_ENROLL_REQUEST)
			break;
		handle_enroll(s, env->enroll_request);
		return 0;
	case SS_HELLO:
		if (env->body_case != MAMORI__ENVELOPE__BODY_HELLO)
			break;
		if (handle_hello(s, env->hello) != 0) {
			session_close(s, "cannot send welcome");
			return 0;
		}
		return 1;
	case SS_READY:
		switch (env->body_case) {
		case MAMORI__ENVELOPE__BODY_HEARTBEAT:
			r = handle_heartbeat(s, env->heartbeat);
			break;
		case MAMORI__ENVELOPE__BODY_INVENTORY:
			r = mamori_ingest_snapshot(s->srv->store, s->agent_id,
			    env->inventory, mamori_now());
			if (r == 0)
				r = send_inventory_ack(s,
				    env->inventory->collected_at);
			if (r == 0)
				session_refresh_hostname(s);
			break;
		case MAMORI__ENVELOPE__BODY_INVENTORY_DELTA:
			r = mamori_ingest_delta(s->srv->store, s->agent_id,
			    env->inventory_delta, mamori_now());
			if (r == 0)
				r = send_inventory_ack(s,
				    env->inventory_delta->collected_at);
			break;
		case MAMORI__ENVELOPE__BODY_EVENT_BATCH:
			r = handle_events(s, env->event_batch);
			break;
		case MAMORI__ENVELOPE__BODY_POLICY_STATUS:
			s->policy_reported = 1;
			s->policy_version = env->policy_status->version;
			r = mamori_fleet_agent_ready(s->srv, s->agent_id,
			    env->policy_status);
			break;
		case MAMORI__ENVELOPE__BODY_TASK_RESULT:
			r = mamori_fleet_result(s->srv, s->agent_id,
			    env->task_result);
			break;
		default:
			goto unexpected;
		}
		if (r == MAMORI_ERR_BAD_MESSAGE) {
			snprintf(why, sizeof(why), "invalid %s",
			    mamori_envelope_kind(env));
			session_close(s, why);
			return 0;
		}
		if (r != 0) {
			/* Our failure, not the agent's: tell it, so it backs
			 * off and sends again later. */
			log_warn("%s (agent %s): cannot process %s: %s; asking "
			    "the agent to come back later", s->peer,
			    s->agent_id, mamori_envelope_kind(env),
			    mamori_strerror(r));
			session_send_error(s, MAMORI_ERR_STORE, "server "
			    "storage failure; try again later");
			session_close_after_flush(s);
			return 0;
		}
		return 1;
	default:
		break;
	}
unexpected:
	snprintf(why, sizeof(why), "unexpected %s message%s",
	    mamori_envelope_kind(env), s->state == SS_ENROLL ?
	    " without a client certificate (only enrollment is allowed)" : "");
	session_close(s, why);
	return 0;
}

static void
session_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct mamori_server *srv;
	Mamori__Envelope *env;
	uint8_t hdr[MAMORI_FRAME_HEADER], *p;
	uint32_t len;
	size_t max, budget;
	char why[160];
	int r, authed;

	while (s->state != SS_CLOSING) {
		/* A peer that sends without reading our replies waits until
		 * it has read them: memory per peer stays bounded. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    MAMORI_SESSION_OUTPUT_MAX) {
			bufferevent_disable(bev, EV_READ);
			bufferevent_setwatermark(bev, EV_WRITE,
			    MAMORI_SESSION_OUTPUT_MAX / 4, 0);
			bufferevent_setcb(bev, session_read, session_drained,
			    session_event, s);
			return;
		}
		authed = s->state == SS_HELLO || s->state == SS_READY;
		max = authed ? MAMORI_FRAME_MAX : MAMORI_FRAME_MAX_PREAUTH;
		budget = authed ? MAMORI_DECODE_BUDGET :
		    MAMORI_DECODE_BUDGET_PREAUTH;
		if (evbuffer_get_length(in) < MAMORI_FRAME_HEADER)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		if ((r = mamori_frame_length(hdr, max, &len)) != 0) {
			snprintf(why, sizeof(why), "bad frame header: %s "
			    "(limit %zu bytes%s)", mamori_strerror(r), max,
			    authed ? "" : " before authentication");
			session_close(s, why);
			return;
		}
		if (evbuffer_get_length(in) < MAMORI_FRAME_HEADER + len)
			return;
		if ((p = evbuffer_pullup(in, MAMORI_FRAME_HEADER + len)) ==
		    NULL) {
			session_close(s, "out of memory");
			return;
		}
		/* Before authentication, the plain allocator: enrollment
		 * frames carry a secret, and its blocks are wiped on free. */
		r = authed ? mamori_envelope_decode_arena(s->srv->arena,
		    p + MAMORI_FRAME_HEADER, len, budget, &env) :
		    mamori_envelope_decode(p + MAMORI_FRAME_HEADER, len,
		    budget, &env);
		/* Enrollment frames carry a token secret: no copy stays in
		 * freed buffer memory. */
		if (!authed)
			OPENSSL_cleanse(p, MAMORI_FRAME_HEADER + len);
		evbuffer_drain(in, MAMORI_FRAME_HEADER + len);
		if (r != 0) {
			snprintf(why, sizeof(why), "malformed frame of %u "
			    "bytes: %s", len, mamori_strerror(r));
			session_close(s, why);
			return;
		}
		srv = s->srv;  /* s may be gone after dispatch */
		r = session_dispatch(s, env);
		if (authed)
			mamori_arena_reset(srv->arena);
		else
			mamori_envelope_free(env);
		if (!r)
			return;
	}
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The peer read enough of our replies: read from it again. */
static void
session_drained(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	bufferevent_setcb(bev, session_read, NULL, session_event, s);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(bev, EV_READ);
	session_read(bev, s);
}

int
mamori_session_drop_agent(struct mamori_server *srv, const char *agent_id,
    const char *why)
{
	struct session *s = table_find(srv, agent_id);

	if (s == NULL)
		return 0;
	session_close(s, why);
	return 1;
}

int
mamori_session_is_connected(struct mamori_server *srv, const char *agent_id)
{
	return table_find(srv, agent_id) != NULL;
}

void
mamori_session_close_all(struct mamori_server *srv)
{
	while (srv->sessions != NULL)
		session_close(srv->sessions, NULL);
	free(srv->by_agent);
	srv->by_agent = NULL;
	srv->by_agent_cap = 0;
}

int
mamori_session_send_to(struct mamori_server *srv, const char *agent_id,
    Mamori__Envelope *env)
{
	struct session *s = table_find(srv, agent_id);

	if (s == NULL || s->state != SS_READY)
		return MAMORI_ERR_NOT_FOUND;
	return session_send(s, env);
}

void
mamori_session_foreach_ready(struct mamori_server *srv,
    mamori_session_ready_fn fn, void *ctx)
{
	struct session *s, *next;

	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->state == SS_READY && s->policy_reported)
			fn(ctx, s->agent_id, s->policy_version);
	}
}

int
mamori_session_group_join(struct mamori_server *srv)
{
	int r;

	if ((r = mamori_store_group_begin(srv->store)) == 0)
		event_active(srv->group_commit, EV_TIMEOUT, 0);
	return r;
}

void
mamori_session_group_abort(struct mamori_server *srv)
{
	group_end(srv, 0);
}
