/*
 * enroll.c - `mamori-agent enroll`: make the agent's key here, prove the
 * token to the server over TLS that authenticates the server by the pinned
 * CA fingerprint, and keep the certificate it returns.
 *
 * The private key never leaves this machine: only a certificate request is
 * sent.  The returned certificate is accepted only if it is for our key,
 * names the agent id the server announced, and chains to the pinned CA.
 * Nothing is written to the state directory until all of that holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "agent.h"
#include "enroll_string.h"
#include "err.h"
#include "log.h"
#include "pki.h"
#include "wire.h"

int
mamori_tcp_connect(const char *server, unsigned timeout_s, int *fd_out,
    char *why, size_t whylen)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct timeval tv = {(time_t)timeout_s, 0};
	char host[MAMORI_HOST_MAX + 1], port_s[8];
	struct pollfd pfd;
	socklen_t elen;
	uint16_t port;
	int fd = -1, gai, err = 0, flags, one = 1;

	*fd_out = -1;
	if (mamori_parse_hostport(server, host, sizeof(host), &port) != 0) {
		snprintf(why, whylen, "bad server address %s", server);
		return MAMORI_ERR_INVALID;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port_s, &hints, &ai)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return MAMORI_ERR_NOT_FOUND;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 &&
		    errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)timeout_s * 1000) != 1) {
			err = ETIMEDOUT;
			close(fd);
			fd = -1;
			continue;
		}
		elen = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0) {
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(why, whylen, "cannot connect to %s: %s; is mamorid "
		    "running there and reachable?", server, strerror(err));
		return MAMORI_ERR_IO;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	flags = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*fd_out = fd;
	return 0;
}

static int
ssl_write_all(SSL *ssl, const uint8_t *p, size_t n)
{
	size_t w;

	while (n > 0) {
		if (SSL_write_ex(ssl, p, n, &w) != 1)
			return MAMORI_ERR_IO;
		p += w;
		n -= w;
	}
	return 0;
}

static int
ssl_read_all(SSL *ssl, uint8_t *p, size_t n)
{
	size_t got;

	while (n > 0) {
		if (SSL_read_ex(ssl, p, n, &got) != 1)
			return MAMORI_ERR_CLOSED;
		p += got;
		n -= got;
	}
	return 0;
}

/* Reads one frame from a blocking SSL connection. */
static int
read_frame(SSL *ssl, size_t max, Mamori__Envelope **env)
{
	uint8_t hdr[MAMORI_FRAME_HEADER], *body = NULL;
	uint32_t len;
	int r;

	*env = NULL;
	if ((r = ssl_read_all(ssl, hdr, sizeof(hdr))) != 0)
		return r;
	if ((r = mamori_frame_length(hdr, max, &len)) != 0)
		return r;
	if ((body = malloc(len)) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = ssl_read_all(ssl, body, len)) == 0)
		r = mamori_envelope_decode(body, len,
		    MAMORI_DECODE_BUDGET_PREAUTH, env);
	free(body);
	return r;
}

static int
check_issued(EVP_PKEY *key, X509 *cert, X509 *ca, const char *agent_id,
    char *why, size_t whylen)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *v = NULL;
	char cn[128];
	int r = MAMORI_ERR_AUTH;

	if (X509_check_private_key(cert, key) != 1) {
		snprintf(why, whylen, "the server returned a certificate for "
		    "another key");
		goto out;
	}
	if (mamori_cert_cn(cert, cn, sizeof(cn)) != 0 ||
	    strcmp(cn, agent_id) != 0) {
		snprintf(why, whylen, "the certificate does not name the "
		    "agent id the server announced");
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, ca) != 1 ||
	    (v = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(v, store, cert, NULL) != 1) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	X509_STORE_CTX_set_purpose(v, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(v) != 1) {
		snprintf(why, whylen, "the issued certificate does not verify "
		    "against the pinned CA: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(v)));
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(v);
	X509_STORE_free(store);
	return r;
}

/*
 * Writes the new identity into DIR/.enroll first and moves the files into
 * place only when all are written, enrollment.json last: a failure half way
 * leaves the previous enrollment (if any) working and no stray key behind.
 */
#define ENROLL_TMP ".enroll"

static void
remove_tmp(const char *tmp)
{
	static const char *const names[] = {MAMORI_STATE_KEY,
	    MAMORI_STATE_CERT, MAMORI_STATE_CA, MAMORI_STATE_INFO};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mamori_path_join(path, sizeof(path), tmp, names[i]) == 0)
			(void)unlink(path);
	(void)rmdir(tmp);
}

static int
write_state(struct mamori_agent_state *st, char *why, size_t whylen)
{
	static const char *const order[] = {MAMORI_STATE_KEY,
	    MAMORI_STATE_CERT, MAMORI_STATE_CA, MAMORI_STATE_INFO};
	char dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX], dest[PATH_MAX];
	size_t i;
	int r;

	mamori_strlcpy(dir, st->dir, sizeof(dir));
	if ((r = mamori_path_join(tmp, sizeof(tmp), dir, ENROLL_TMP)) != 0)
		return r;
	remove_tmp(tmp);
	if (mkdir(tmp, 0700) != 0) {
		snprintf(why, whylen, "cannot create %.400s: %s", tmp,
		    strerror(errno));
		return MAMORI_ERR_IO;
	}
	mamori_strlcpy(st->dir, tmp, sizeof(st->dir));
	if ((r = mamori_path_join(path, sizeof(path), tmp,
	    MAMORI_STATE_KEY)) != 0 ||
	    (r = mamori_key_save(st->key, path)) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), tmp,
	    MAMORI_STATE_CERT)) != 0 ||
	    (r = mamori_cert_save(st->cert, path)) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), tmp,
	    MAMORI_STATE_CA)) != 0 ||
	    (r = mamori_cert_save(st->ca, path)) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), tmp,
	    MAMORI_STATE_INFO)) != 0 ||
	    (r = mamori_state_info_save(st)) != 0) {
		snprintf(why, whylen, "cannot write %.400s: %s", path,
		    mamori_strerror(r));
		goto out;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((r = mamori_path_join(path, sizeof(path), tmp,
		    order[i])) != 0 ||
		    (r = mamori_path_join(dest, sizeof(dest), dir,
		    order[i])) != 0)
			goto out;
		if (rename(path, dest) != 0) {
			snprintf(why, whylen, "cannot move %.400s into place: "
			    "%s", dest, strerror(errno));
			r = MAMORI_ERR_IO;
			goto out;
		}
	}
	r = 0;
out:
	remove_tmp(tmp);
	mamori_strlcpy(st->dir, dir, sizeof(st->dir));
	return r;
}

int
mamori_enroll_exchange(const struct mamori_enroll_info *info, EVP_PKEY *key,
    const char *hostname, X509 **cert_out, X509 **ca_out,
    char agent_id[MAMORI_AGENT_ID_LEN + 1], char *why, size_t whylen)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT, *resp = NULL;
	Mamori__EnrollRequest req = MAMORI__ENROLL_REQUEST__INIT;
	struct mamori_pin pin;
	struct mamori_buf frame;
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	int fd = -1, r;

	*cert_out = NULL;
	*ca_out = NULL;
	agent_id[0] = '\0';
	memset(&pin, 0, sizeof(pin));
	memcpy(pin.ca_fp, info->ca_fp, sizeof(pin.ca_fp));
	mamori_buf_init(&frame, MAMORI_FRAME_MAX_PREAUTH + 8);
	if ((r = mamori_csr_create(key, &csr, &csr_len)) != 0) {
		snprintf(why, whylen, "cannot make a certificate request");
		goto out;
	}
	if ((r = mamori_tcp_connect(info->server, MAMORI_CONNECT_TIMEOUT, &fd,
	    why, whylen)) != 0)
		goto out;
	r = MAMORI_ERR_AUTH;
	if (mamori_tls_enroll_ctx(&ctx) != 0 || (ssl = SSL_new(ctx)) == NULL ||
	    mamori_tls_client_setup(ssl) != 0 || SSL_set_fd(ssl, fd) != 1) {
		snprintf(why, whylen, "cannot set up TLS");
		goto out;
	}
	mamori_tls_pin_attach(ssl, &pin);
	if (SSL_connect(ssl) != 1 || pin.matched == NULL) {
		snprintf(why, whylen, "refusing server %s: %s", info->server,
		    pin.error[0] != '\0' ? pin.error :
		    "TLS 1.3 handshake failed (is it a mamori server?)");
		goto out;
	}
	req.token_id.data = (uint8_t *)(uintptr_t)info->token_id;
	req.token_id.len = sizeof(info->token_id);
	req.token_secret.data = (uint8_t *)(uintptr_t)info->secret;
	req.token_secret.len = sizeof(info->secret);
	req.csr_der.data = csr;
	req.csr_der.len = csr_len;
	req.hostname = (char *)(uintptr_t)hostname;
	env.body_case = MAMORI__ENVELOPE__BODY_ENROLL_REQUEST;
	env.enroll_request = &req;
	if ((r = mamori_frame_encode(&env, &frame)) != 0 ||
	    (r = ssl_write_all(ssl, frame.data, frame.len)) != 0 ||
	    (r = read_frame(ssl, MAMORI_FRAME_MAX_PREAUTH, &resp)) != 0) {
		snprintf(why, whylen, "enrollment with %s failed: %s",
		    info->server, mamori_strerror(r));
		goto out;
	}
	if (resp->body_case == MAMORI__ENVELOPE__BODY_ERROR) {
		char msg[256];

		snprintf(why, whylen, "the server refused: %s; ask your "
		    "administrator for a new enrollment string",
		    mamori_log_safe(resp->error->message, msg, sizeof(msg)));
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	if (resp->body_case != MAMORI__ENVELOPE__BODY_ENROLL_RESPONSE ||
	    strlen(resp->enroll_response->agent_id) != MAMORI_AGENT_ID_LEN) {
		snprintf(why, whylen, "the server sent an unexpected answer");
		r = MAMORI_ERR_PROTOCOL;
		goto out;
	}
	if ((r = mamori_cert_from_der(resp->enroll_response->cert_der.data,
	    resp->enroll_response->cert_der.len, &cert)) != 0) {
		snprintf(why, whylen, "the server sent a bad certificate");
		goto out;
	}
	if ((r = check_issued(key, cert, pin.matched,
	    resp->enroll_response->agent_id, why, whylen)) != 0)
		goto out;
	mamori_strlcpy(agent_id, resp->enroll_response->agent_id,
	    MAMORI_AGENT_ID_LEN + 1);
	*cert_out = cert;
	*ca_out = pin.matched;
	cert = NULL;
	pin.matched = NULL;
	r = 0;
out:
	mamori_envelope_free(resp);
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	X509_free(cert);
	X509_free(pin.matched);
	OPENSSL_free(csr);
	mamori_buf_free(&frame);
	return r;
}

int
mamori_agent_enroll(const char *dir, const char *string, int force)
{
	struct mamori_enroll_info info;
	struct mamori_agent_state st;
	char why[512], path[PATH_MAX], hostname[256], owner_fp[MAMORI_FP_STRLEN];
	char agent_id[MAMORI_AGENT_ID_LEN + 1];
	struct stat sb;
	int r;

	memset(&st, 0, sizeof(st));
	why[0] = '\0';
	if ((r = mamori_enroll_string_decode(string, &info)) != 0) {
		snprintf(why, sizeof(why), "the enrollment string is %s; copy "
		    "it again from the output of `mamori token create`",
		    r == MAMORI_ERR_CHECKSUM ? "garbled (its check does not "
		    "match)" : r == MAMORI_ERR_BAD_VERSION ? "from a newer "
		    "mamori" : "not a mamori enrollment string");
		goto out;
	}
	if (mamori_path_join(path, sizeof(path), dir, MAMORI_STATE_INFO) !=
	    0 || (!force && stat(path, &sb) == 0)) {
		snprintf(why, sizeof(why), "%s is already enrolled; use "
		    "--force to enroll again with a new key", dir);
		r = MAMORI_ERR_EXISTS;
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, sizeof(why), "cannot create %s: %s", dir,
		    strerror(errno));
		r = MAMORI_ERR_IO;
		goto out;
	}
	(void)chmod(dir, 0700);
	mamori_strlcpy(st.dir, dir, sizeof(st.dir));
	mamori_strlcpy(st.server, info.server, sizeof(st.server));
	memcpy(st.ca_fp, info.ca_fp, sizeof(st.ca_fp));
	memcpy(st.owner_fp, info.owner_fp, sizeof(st.owner_fp));
	if ((r = mamori_key_generate(&st.key)) != 0) {
		snprintf(why, sizeof(why), "cannot make the agent key");
		goto out;
	}
	if (gethostname(hostname, sizeof(hostname)) != 0)
		hostname[0] = '\0';
	hostname[sizeof(hostname) - 1] = '\0';
	if ((r = mamori_enroll_exchange(&info, st.key, hostname, &st.cert,
	    &st.ca, agent_id, why, sizeof(why))) != 0)
		goto out;
	mamori_strlcpy(st.agent_id, agent_id, sizeof(st.agent_id));
	if ((r = write_state(&st, why, sizeof(why))) != 0)
		goto out;
	mamori_fingerprint_str(st.owner_fp, owner_fp);
	printf("enrolled as agent %s with server %s\n", st.agent_id,
	    st.server);
	printf("pinned fleet owner key %s\n", owner_fp);
	printf("state kept in %s; start with: mamori-agent run --state %s\n",
	    dir, dir);
	r = 0;
out:
	if (r != 0)
		fprintf(stderr, "mamori-agent: %s\n", why[0] != '\0' ? why :
		    mamori_strerror(r));
	mamori_state_free(&st);
	OPENSSL_cleanse(&info, sizeof(info));
	return r;
}
