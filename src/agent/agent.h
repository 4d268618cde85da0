/*
 * agent.h - the agent's modules: its state directory (state.c), TLS set-up
 * with the pinned fleet CA (tls.c), enrollment (enroll.c) and the connected
 * run loop (session.c).
 *
 * The agent never listens: every socket it opens is an outbound TLS
 * connection to the server named at enrollment, authenticated against the
 * CA whose fingerprint the enrollment string pinned.
 */
#ifndef MAMORI_AGENT_H
#define MAMORI_AGENT_H

#include <limits.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "collect.h"
#include "source.h"
#include "pki.h"
#include "crypto.h"
#include "util.h"

#define MAMORI_STATE_KEY "agent.key"
#define MAMORI_STATE_CERT "agent.crt"
#define MAMORI_STATE_CA "ca.crt"
#define MAMORI_STATE_INFO "enrollment.json"
#define MAMORI_STATE_INFO_MAX (16 * 1024)

#define MAMORI_CONNECT_TIMEOUT 10          /* seconds */
#define MAMORI_BACKOFF_MIN_MS 1000
#define MAMORI_BACKOFF_MAX_DEFAULT 300     /* seconds */
#define MAMORI_INVENTORY_INTERVAL_DEFAULT 600

struct mamori_agent_state {
	char dir[PATH_MAX];
	char server[MAMORI_HOST_MAX + 8];
	char agent_id[64];
	uint8_t ca_fp[MAMORI_SHA256_LEN];
	uint8_t owner_fp[MAMORI_SHA256_LEN];
	X509 *ca;
	X509 *cert;
	EVP_PKEY *key;
};

/* state.c: loads an enrolled state; fails with MAMORI_ERR_NOT_FOUND when
 * dir holds no enrollment.  Checks that the CA matches the pinned
 * fingerprint and that the certificate matches the key. */
int mamori_state_load(const char *dir, struct mamori_agent_state *st,
    char *why, size_t whylen);
void mamori_state_free(struct mamori_agent_state *st);
/* Parses enrollment.json text into st (server, agent_id, fingerprints). */
int mamori_state_info_parse(const char *text, size_t len,
    struct mamori_agent_state *st);
/* Writes enrollment.json for st. */
int mamori_state_info_save(const struct mamori_agent_state *st);

/* tls.c */
struct mamori_pin {
	uint8_t ca_fp[MAMORI_SHA256_LEN];
	X509 *matched;      /* the CA certificate that matched, once verified */
	char error[160];    /* why verification failed */
};
/* A client context that trusts exactly the CA whose certificate hashes to
 * pin->ca_fp, taken from the chain the server sends.  pin must outlive the
 * connections made with it (it is attached with SSL_set_app_data by
 * mamori_tls_pin_attach). */
int mamori_tls_enroll_ctx(SSL_CTX **out);
void mamori_tls_pin_attach(SSL *ssl, struct mamori_pin *pin);
/* A client context for an enrolled agent: its certificate and key, and the
 * fleet CA from its state as the only trust anchor. */
int mamori_tls_run_ctx(const struct mamori_agent_state *st, SSL_CTX **out);
/* Applies the per-connection checks (server name) to ssl. */
int mamori_tls_client_setup(SSL *ssl);

/* enroll.c: the whole `enroll` command (files written only on success). */
int mamori_agent_enroll(const char *dir, const char *string, int force);
/* The enrollment exchange alone, writing nothing: proves the token, sends a
 * CSR for key, checks what comes back.  *cert_out and *ca_out are the
 * caller's (X509_free).  Used by the enrollment benchmark too. */
struct mamori_enroll_info;
int mamori_enroll_exchange(const struct mamori_enroll_info *info,
    EVP_PKEY *key, const char *hostname, X509 **cert_out, X509 **ca_out,
    char agent_id[MAMORI_AGENT_ID_LEN + 1], char *why, size_t whylen);

/* session.c */
struct mamori_agent_options {
	const char *state_dir;
	uint64_t inventory_interval;   /* seconds */
	uint64_t max_backoff;          /* seconds */
	uint64_t spool_max;            /* bytes */
	const char *sources_enabled;   /* "process,file" or NULL: all */
	int usb_default_deny;          /* new USB devices start deauthorized
	                                * (usbctl.h); off by default */
	struct mamori_collect_ctx collect;
	struct mamori_source_options sources;
};
/* Is the source named name enabled by opt->sources_enabled? */
int mamori_agent_source_enabled(const struct mamori_agent_options *opt,
    const char *name);
int mamori_agent_run(const struct mamori_agent_options *opt);

/* Opens a TCP connection to "host:port" with a timeout (blocking socket
 * after connecting).  why gets a line for the operator on failure. */
int mamori_tcp_connect(const char *server, unsigned timeout_s, int *fd,
    char *why, size_t whylen);

#endif
