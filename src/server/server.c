/*
 * server.c - mamorid's listener and TLS context.
 *
 * TLS 1.3 only.  The trust store holds the fleet CA and nothing else (never
 * the system's roots).  Client certificates are requested but optional at
 * the TLS layer, because enrollment happens without one; session.c decides
 * what a peer without one may do (one enrollment request, nothing more).
 * Session tickets and resumption are off so every connection proves its key.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "err.h"
#include "log.h"
#include "pki.h"
#include "fleet.h"
#include "server.h"
#include "server_run.h"

int mamori_session_verify_cb(int ok, X509_STORE_CTX *ctx);

static int
tls_context(struct mamori_server *srv, X509 *cert, EVP_PKEY *key)
{
	STACK_OF(X509_NAME) *names = NULL;
	X509_STORE *store = NULL;
	SSL_CTX *ctx;
	int r = MAMORI_ERR_CRYPTO;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return MAMORI_ERR_CRYPTO;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		goto out;
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_add1_chain_cert(ctx, srv->ca_cert) != 1)
		goto out;
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, srv->ca_cert) != 1)
		goto out;
	SSL_CTX_set_cert_store(ctx, store);
	store = NULL;
	if ((names = sk_X509_NAME_new_null()) == NULL)
		goto out;
	if (sk_X509_NAME_push(names,
	    X509_NAME_dup(X509_get_subject_name(srv->ca_cert))) <= 0)
		goto out;
	SSL_CTX_set_client_CA_list(ctx, names);
	names = NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, mamori_session_verify_cb);
	SSL_CTX_set_verify_depth(ctx, 2);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	srv->ssl_ctx = ctx;
	ctx = NULL;
	r = 0;
out:
	if (r != 0)
		log_error("cannot set up TLS: %s",
		    ERR_reason_error_string(ERR_get_error()));
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	X509_STORE_free(store);
	SSL_CTX_free(ctx);
	return r;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct mamori_server *srv = arg;

	int one = 1;

	(void)l;
	/* Frames are small and answered at once: no Nagle delay. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (mamori_session_accept(srv, fd, sa, salen) != 0)
		evutil_closesocket(fd);
}

static void
on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct mamori_server *srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->listener);
}

/*
 * Out of descriptors, the listening socket stays readable and accept()
 * keeps failing: pause accepting for a moment instead of spinning, and
 * say so once per pause.
 */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct mamori_server *srv = arg;
	struct timeval tv = {0, MAMORI_ACCEPT_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(l);
		evtimer_add(srv->accept_resume, &tv);
		log_warn("accepting connections paused for %d ms: %s (%zu "
		    "sessions open)", MAMORI_ACCEPT_PAUSE_MS,
		    evutil_socket_error_to_string(e), srv->n_sessions);
		return;
	}
	log_warn("accepting a connection failed: %s",
	    evutil_socket_error_to_string(e));
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct mamori_server *srv = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(srv->base, NULL);
}

static void
on_hangup(evutil_socket_t sig, short what, void *arg)
{
	struct mamori_server *srv = arg;

	(void)sig;
	(void)what;
	log_info("SIGHUP: reopening the output files");
	mamori_outputs_reopen(srv->outputs);
}

/* Raises the descriptor limit to its ceiling and sizes the session cap
 * from it, keeping some for the store and the admin socket. */
static void
raise_fd_limit(struct mamori_server *srv)
{
	struct rlimit rl;

	srv->max_sessions = MAMORI_MAX_SESSIONS;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < MAMORI_MAX_SESSIONS + MAMORI_FD_RESERVE)
		srv->max_sessions = rl.rlim_cur > 2 * MAMORI_FD_RESERVE ?
		    (size_t)rl.rlim_cur - MAMORI_FD_RESERVE :
		    (size_t)rl.rlim_cur / 2;
}

static int
listen_on(struct mamori_server *srv)
{
	struct addrinfo hints, *ai = NULL;
	char host[MAMORI_HOST_MAX + 1], port_s[8];
	uint16_t port;
	int r = MAMORI_ERR_INVALID, gai;

	if (mamori_parse_hostport(srv->listen, host, sizeof(host), &port) != 0)
		return MAMORI_ERR_INVALID;
	snprintf(port_s, sizeof(port_s), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port_s, &hints, &ai)) != 0) {
		log_error("cannot listen on %s: %s", srv->listen,
		    gai_strerror(gai));
		return MAMORI_ERR_INVALID;
	}
	srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    4096, ai->ai_addr, (int)ai->ai_addrlen);
	if (srv->listener == NULL) {
		log_error("cannot listen on %s: %s", srv->listen,
		    strerror(errno));
		r = MAMORI_ERR_SYSTEM;
	} else {
		evconnlistener_set_error_cb(srv->listener, on_accept_error);
		r = 0;
	}
	freeaddrinfo(ai);
	return r;
}

int
mamori_server_run(struct mamori_server *srv, X509 *server_cert,
    EVP_PKEY *server_key)
{
	int r;

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(srv);
	srv->started_at = mamori_now();
	if ((srv->base = event_base_new()) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((srv->accept_resume = evtimer_new(srv->base, on_accept_resume,
	    srv)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_session_group_init(srv)) != 0)
		goto out;
	if ((r = mamori_fleet_new(srv, &srv->fleet)) != 0) {
		log_error("cannot load the fleet's policy and tasks: %s",
		    mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_outputs_start(srv->outputs)) != 0) {
		log_error("cannot start the alert outputs: %s",
		    mamori_strerror(r));
		goto out;
	}
	if ((r = tls_context(srv, server_cert, server_key)) != 0)
		goto out;
	if ((r = listen_on(srv)) != 0)
		goto out;
	if ((r = mamori_admin_start(srv)) != 0)
		goto out;
	srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
	srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
	if (srv->sig_int == NULL || srv->sig_term == NULL ||
	    event_add(srv->sig_int, NULL) != 0 ||
	    event_add(srv->sig_term, NULL) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, on_hangup, srv);
	if (srv->sig_hup == NULL || event_add(srv->sig_hup, NULL) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	log_info("listening on %s (TLS 1.3, fleet CA pinned); admin socket "
	    "%s", srv->listen, srv->admin_path);
	event_base_dispatch(srv->base);
	r = 0;
out:
	mamori_session_group_commit(srv);
	mamori_session_close_all(srv);
	mamori_fleet_free(srv->fleet);
	srv->fleet = NULL;
	mamori_session_group_free(srv);
	mamori_admin_stop(srv);
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	if (srv->sig_int != NULL)
		event_free(srv->sig_int);
	if (srv->sig_term != NULL)
		event_free(srv->sig_term);
	if (srv->sig_hup != NULL)
		event_free(srv->sig_hup);
	srv->sig_hup = NULL;
	if (srv->accept_resume != NULL)
		event_free(srv->accept_resume);
	srv->accept_resume = NULL;
	SSL_CTX_free(srv->ssl_ctx);
	event_base_free(srv->base);
	srv->listener = NULL;
	srv->sig_int = srv->sig_term = NULL;
	srv->ssl_ctx = NULL;
	srv->base = NULL;
	return r;
}
