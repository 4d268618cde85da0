/*
 * tls.c - the agent's TLS contexts.  The agent trusts one CA: at enrollment
 * the one whose fingerprint the enrollment string pinned, afterwards the one
 * saved in its state.  The system trust store is never loaded.  The server
 * must present a certificate for MAMORI_SERVER_NAME with serverAuth, so an
 * agent certificate from the same CA can never pose as the server.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "agent.h"
#include "err.h"
#include "pki.h"

static int
base_ctx(SSL_CTX **out)
{
	SSL_CTX *ctx;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return MAMORI_ERR_CRYPTO;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return MAMORI_ERR_CRYPTO;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	*out = ctx;
	return 0;
}

/* Verifies the server's chain against the pinned CA only. */
static int
pin_verify(X509_STORE_CTX *xctx, void *arg)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(xctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(xctx), *ca = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *v = NULL;
	struct mamori_pin *pin;
	uint8_t fp[MAMORI_SHA256_LEN];
	SSL *ssl;
	int i, ok = 0;

	(void)arg;
	ssl = X509_STORE_CTX_get_ex_data(xctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	pin = ssl == NULL ? NULL : SSL_get_app_data(ssl);
	if (pin == NULL || leaf == NULL)
		goto out;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (c != leaf && mamori_cert_fingerprint(c, fp) == 0 &&
		    mamori_equal(fp, pin->ca_fp, sizeof(fp)))
			ca = c;
	}
	if (ca == NULL) {
		snprintf(pin->error, sizeof(pin->error), "the server did not "
		    "present the pinned fleet CA (wrong server, or a server "
		    "of another fleet)");
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, ca) != 1 ||
	    (v = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(v, store, leaf, chain) != 1)
		goto out;
	X509_STORE_CTX_set_purpose(v, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(v),
	    MAMORI_SERVER_NAME, 0);
	if (X509_verify_cert(v) != 1) {
		snprintf(pin->error, sizeof(pin->error), "the server "
		    "certificate does not verify against the pinned CA: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(v)));
		X509_STORE_CTX_set_error(xctx, X509_STORE_CTX_get_error(v));
		goto out;
	}
	if (X509_up_ref(ca) != 1)
		goto out;
	X509_free(pin->matched);
	pin->matched = ca;
	ok = 1;
out:
	if (!ok && X509_STORE_CTX_get_error(xctx) == X509_V_OK)
		X509_STORE_CTX_set_error(xctx,
		    X509_V_ERR_CERT_SIGNATURE_FAILURE);
	X509_STORE_CTX_free(v);
	X509_STORE_free(store);
	return ok;
}

int
mamori_tls_enroll_ctx(SSL_CTX **out)
{
	int r;

	if ((r = base_ctx(out)) != 0)
		return r;
	SSL_CTX_set_verify(*out, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(*out, pin_verify, NULL);
	return 0;
}

void
mamori_tls_pin_attach(SSL *ssl, struct mamori_pin *pin)
{
	SSL_set_app_data(ssl, pin);
}

int
mamori_tls_run_ctx(const struct mamori_agent_state *st, SSL_CTX **out)
{
	X509_STORE *store = NULL;
	SSL_CTX *ctx = NULL;
	int r;

	if ((r = base_ctx(&ctx)) != 0)
		return r;
	r = MAMORI_ERR_CRYPTO;
	if (SSL_CTX_use_certificate(ctx, st->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, st->key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, st->ca) != 1)
		goto out;
	SSL_CTX_set_cert_store(ctx, store);
	store = NULL;
	X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx),
	    X509_PURPOSE_SSL_SERVER);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 2);
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	X509_STORE_free(store);
	SSL_CTX_free(ctx);
	return r;
}

int
mamori_tls_client_setup(SSL *ssl)
{
	if (SSL_set1_host(ssl, MAMORI_SERVER_NAME) != 1)
		return MAMORI_ERR_CRYPTO;
	/* SNI names the fleet's server, not the address dialled. */
	if (SSL_set_tlsext_host_name(ssl, MAMORI_SERVER_NAME) != 1)
		return MAMORI_ERR_CRYPTO;
	return 0;
}
