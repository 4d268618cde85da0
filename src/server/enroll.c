/*
 * enroll.c - turning an enrollment token and a certificate request into an
 * agent.  The request comes from a peer nobody has authenticated yet: its
 * fields are checked for exact lengths, its CSR must carry an Ed25519 key
 * and a valid self-signature, and the token is consumed only in the same
 * transaction that records the new agent.  The agent's id is chosen here;
 * nothing in the request names it.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "pki.h"
#include "server.h"

#define MAMORI_ENROLL_HOSTNAME_MAX 255

static const char *
token_refusal(int r)
{
	switch (r) {
	case MAMORI_ERR_NOT_FOUND:
		return "unknown token";
	case MAMORI_ERR_AUTH:
		return "wrong token secret";
	case MAMORI_ERR_REVOKED:
		return "token revoked";
	case MAMORI_ERR_EXPIRED:
		return "token expired";
	case MAMORI_ERR_USED_UP:
		return "token has no uses left";
	default:
		return "token could not be checked";
	}
}

int
mamori_enroll_handle(struct mamori_server *srv,
    const Mamori__EnrollRequest *req, const char *peer,
    Mamori__EnrollResponse *resp, char agent_id[MAMORI_AGENT_ID_STRLEN],
    uint8_t **cert_der, uint8_t **ca_der, char *why, size_t whylen)
{
	struct mamori_agent_rec rec;
	uint8_t hash[MAMORI_SHA256_LEN], id[16], serial[16];
	char token_hex[2 * MAMORI_TOKEN_ID_LEN + 1], host[64];
	EVP_PKEY *pub = NULL;
	X509 *cert = NULL;
	size_t cert_len = 0, ca_len = 0;
	int r = MAMORI_ERR_INTERNAL, in_tx = 0;

	*cert_der = NULL;
	*ca_der = NULL;
	why[0] = '\0';
	memset(&rec, 0, sizeof(rec));
	if (req->token_id.len != MAMORI_TOKEN_ID_LEN ||
	    req->token_secret.len != MAMORI_TOKEN_SECRET_LEN) {
		snprintf(why, whylen, "malformed token");
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if (strlen(req->hostname) > MAMORI_ENROLL_HOSTNAME_MAX) {
		snprintf(why, whylen, "hostname too long");
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	mamori_hex(req->token_id.data, MAMORI_TOKEN_ID_LEN, token_hex);
	if ((r = mamori_csr_parse(req->csr_der.data, req->csr_der.len,
	    &pub)) != 0) {
		snprintf(why, whylen, "certificate request rejected: %s",
		    mamori_strerror(r));
		goto out;
	}
	mamori_sha256(req->token_secret.data, req->token_secret.len, hash);
	/* The decoded request is the only copy of the secret left. */
	OPENSSL_cleanse(req->token_secret.data, req->token_secret.len);
	if ((r = mamori_store_begin(srv->store)) != 0) {
		snprintf(why, whylen, "server storage failure");
		goto out;
	}
	in_tx = 1;
	if ((r = mamori_store_token_consume(srv->store, req->token_id.data,
	    hash, mamori_now())) != 0) {
		snprintf(why, whylen, "%s (token %.8s)", token_refusal(r),
		    token_hex);
		goto out;
	}
	mamori_random(id, sizeof(id));
	mamori_hex(id, sizeof(id), rec.id);
	if ((r = mamori_cert_issue(srv->ca_key, srv->ca_cert, pub, rec.id, 0,
	    -300, MAMORI_AGENT_DAYS, serial, &cert)) != 0) {
		snprintf(why, whylen, "cannot issue a certificate");
		goto out;
	}
	mamori_hex(serial, sizeof(serial), rec.cert_serial);
	rec.enrolled_at = mamori_now();
	mamori_strlcpy(rec.hostname, req->hostname, sizeof(rec.hostname));
	mamori_strlcpy(rec.address, peer, sizeof(rec.address));
	if ((r = mamori_store_agent_add(srv->store, &rec)) != 0) {
		snprintf(why, whylen, "server storage failure");
		goto out;
	}
	if ((r = mamori_cert_to_der(cert, cert_der, &cert_len)) != 0 ||
	    (r = mamori_cert_to_der(srv->ca_cert, ca_der, &ca_len)) != 0) {
		snprintf(why, whylen, "cannot encode certificates");
		goto out;
	}
	if ((r = mamori_store_commit(srv->store)) != 0) {
		snprintf(why, whylen, "server storage failure");
		goto out;
	}
	in_tx = 0;
	log_info("%s: enrolled agent %s (host %s) with token %.8s", peer,
	    rec.id, mamori_log_safe(req->hostname, host, sizeof(host)),
	    token_hex);
	r = 0;
out:
	if (in_tx)
		mamori_store_rollback(srv->store);
	if (r == 0) {
		mamori_strlcpy(agent_id, rec.id, MAMORI_AGENT_ID_STRLEN);
		resp->agent_id = agent_id;
		resp->cert_der.data = *cert_der;
		resp->cert_der.len = cert_len;
		resp->ca_der.data = *ca_der;
		resp->ca_der.len = ca_len;
	} else {
		OPENSSL_free(*cert_der);
		OPENSSL_free(*ca_der);
		*cert_der = NULL;
		*ca_der = NULL;
	}
	X509_free(cert);
	EVP_PKEY_free(pub);
	OPENSSL_cleanse(hash, sizeof(hash));
	return r;
}
