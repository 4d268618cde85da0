/*
 * webhook.c - the HTTPS webhook output: each alert POSTed as its JSON to a
 * configured https:// URL, over TLS 1.2 or newer with OpenSSL.
 *
 * The receiver's certificate is verified against the configured CA file,
 * or the system's trust store when there is none, and must name the URL's
 * host (DNS name, or IP address for a literal address).  A 2xx answer is
 * delivery; 408, 429, 5xx, a timeout or a broken connection are retried by
 * output.c with backoff; any other answer (4xx, and 3xx: redirects are
 * not followed) is counted as refused.  The answer's status line and
 * headers are read (at most MAMORI_WEBHOOK_RESPONSE_MAX bytes), and its
 * body only when its length is announced and at most
 * MAMORI_WEBHOOK_BODY_MAX, so that the connection can be kept for the next
 * alert (HTTP/1.1 keep-alive); in every other case it is closed.
 *
 * Never: send without verification, follow a redirect, or put a
 * configured header holding CR or LF on the wire.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "err.h"
#include "output_impl.h"
#include "util.h"

#define MAMORI_WEBHOOK_RESPONSE_MAX 8192  /* bytes read of an answer */
#define MAMORI_WEBHOOK_HOST_MAX 255
#define MAMORI_WEBHOOK_BODY_MAX (64 * 1024) /* answer body read to reuse */

struct webhook {
	SSL_CTX *ctx;
	char host[MAMORI_WEBHOOK_HOST_MAX + 1];
	uint16_t port;
	int host_is_ip;
	char path[MAMORI_OUTPUT_TARGET_MAX + 1];
	unsigned timeout_s;
	struct mamori_buf headers;  /* extra "Name: value\r\n" lines */
	struct mamori_buf req;
	/* The connection kept for the next alert (HTTP/1.1 keep-alive). */
	SSL *ssl;
	int fd;
	int keep;
};

static const char *const webhook_keys[] = {"url", "ca_file", "headers",
	NULL};

static void webhook_destroy(void *state);

static int
fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return MAMORI_ERR_OUTPUT_CONFIG;
}

/* "https://HOST[:PORT][/PATH]" */
static int
parse_url(struct webhook *w, const char *url)
{
	const char *p = url + 8, *slash, *end;
	char hp[MAMORI_WEBHOOK_HOST_MAX + 8];
	size_t n;
	unsigned char a6[16];

	if (strncmp(url, "https://", 8) != 0)
		return MAMORI_ERR_INVALID;
	slash = strchr(p, '/');
	end = slash != NULL ? slash : p + strlen(p);
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(hp) || memchr(p, '@', n) != NULL)
		return MAMORI_ERR_INVALID;
	memcpy(hp, p, n);
	hp[n] = '\0';
	if (mamori_output_host_port(hp, w->host, sizeof(w->host),
	    &w->port) != 0) {
		/* No port: the host alone. */
		if (strchr(hp, ':') != NULL && hp[0] != '[')
			return MAMORI_ERR_INVALID;
		if (hp[0] == '[') {
			if (hp[n - 1] != ']' || n - 2 >= sizeof(w->host))
				return MAMORI_ERR_INVALID;
			memcpy(w->host, hp + 1, n - 2);
			w->host[n - 2] = '\0';
		} else {
			mamori_strlcpy(w->host, hp, sizeof(w->host));
		}
		w->port = 443;
	}
	mamori_strlcpy(w->path, slash != NULL ? slash : "/", sizeof(w->path));
	for (n = 0; w->path[n] != '\0'; n++)
		if ((unsigned char)w->path[n] <= ' ' || w->path[n] == 0x7f)
			return MAMORI_ERR_INVALID;
	w->host_is_ip = inet_pton(AF_INET, w->host, a6) == 1 ||
	    inet_pton(AF_INET6, w->host, a6) == 1;
	return 0;
}

static int
add_headers(struct webhook *w, const json_t *obj, char *why, size_t whylen)
{
	const char *name, *v;
	const json_t *val;
	size_t i, count = 0;

	if (!json_is_object(obj))
		return fail(why, whylen, "\"headers\" must be an object of "
		    "strings");
	json_object_foreach((json_t *)(uintptr_t)obj, name, val) {
		if (++count > MAMORI_OUTPUT_HEADERS_MAX)
			return fail(why, whylen, "more than 16 \"headers\"");
		if (!json_is_string(val) || name[0] == '\0' ||
		    strlen(name) + json_string_length(val) + 4 >
		    MAMORI_OUTPUT_HEADER_MAX)
			return fail(why, whylen, "each of \"headers\" must be "
			    "a string, name and value under 1 KiB");
		for (i = 0; name[i] != '\0'; i++)
			if (name[i] <= ' ' || name[i] > '~' || name[i] == ':')
				return fail(why, whylen, "a header name must be "
				    "printable ASCII without space or ':'");
		v = json_string_value(val);
		if (strlen(v) != json_string_length(val))
			return fail(why, whylen, "a header value holds NUL");
		for (i = 0; v[i] != '\0'; i++)
			if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
				return fail(why, whylen, "a header value holds "
				    "a control character (CR, LF, ...)");
		if (strcasecmp(name, "host") == 0 ||
		    strcasecmp(name, "content-length") == 0 ||
		    strcasecmp(name, "content-type") == 0 ||
		    strcasecmp(name, "connection") == 0 ||
		    strcasecmp(name, "transfer-encoding") == 0)
			return fail(why, whylen, "\"headers\" may not set Host, "
			    "Content-Length, Content-Type, Connection or "
			    "Transfer-Encoding");
		if (mamori_buf_append(&w->headers, name, strlen(name)) != 0 ||
		    mamori_buf_append(&w->headers, ": ", 2) != 0 ||
		    mamori_buf_append(&w->headers, v, strlen(v)) != 0 ||
		    mamori_buf_append(&w->headers, "\r\n", 2) != 0)
			return MAMORI_ERR_ALLOC;
	}
	return 0;
}

static int
webhook_configure(const json_t *cfg, unsigned timeout_s, void **state,
    char *target, size_t targetlen, char *why, size_t whylen)
{
	struct webhook *w = NULL;
	const char *url, *ca_file;
	const json_t *h;
	int r;

	*state = NULL;
	if ((r = mamori_output_cfg_str(cfg, "url", MAMORI_OUTPUT_TARGET_MAX,
	    &url, why, whylen)) != 0 ||
	    (r = mamori_output_cfg_str(cfg, "ca_file",
	    MAMORI_OUTPUT_TARGET_MAX, &ca_file, why, whylen)) != 0)
		return r;
	if (url == NULL)
		return fail(why, whylen, "\"url\" is required "
		    "(https://HOST[:PORT]/PATH)");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return MAMORI_ERR_ALLOC;
	w->timeout_s = timeout_s;
	w->fd = -1;
	mamori_buf_init(&w->headers, MAMORI_OUTPUT_HEADERS_MAX *
	    MAMORI_OUTPUT_HEADER_MAX);
	mamori_buf_init(&w->req, MAMORI_OUTPUT_ALERT_MAX + MAMORI_OUTPUT_HEADERS_MAX *
	    MAMORI_OUTPUT_HEADER_MAX + 2 * MAMORI_OUTPUT_TARGET_MAX + 512);
	if (parse_url(w, url) != 0) {
		r = fail(why, whylen, "\"url\" must be https://HOST[:PORT]/PATH "
		    "(plain http is not allowed)");
		goto out;
	}
	if ((h = json_object_get(cfg, "headers")) != NULL &&
	    (r = add_headers(w, h, why, whylen)) != 0)
		goto out;
	if ((w->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(w->ctx, TLS1_2_VERSION) != 1) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	SSL_CTX_set_verify(w->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(w->ctx, ca_file, NULL) != 1) {
			ERR_clear_error();
			snprintf(why, whylen, "cannot load \"ca_file\" %s: not "
			    "a readable PEM file of certificates", ca_file);
			r = MAMORI_ERR_OUTPUT_CONFIG;
			goto out;
		}
	} else if (SSL_CTX_set_default_verify_paths(w->ctx) != 1) {
		ERR_clear_error();
		r = fail(why, whylen, "no system trust store; set \"ca_file\"");
		goto out;
	}
	mamori_strlcpy(target, url, targetlen);
	*state = w;
	w = NULL;
	r = 0;
out:
	webhook_destroy(w);
	return r;
}

static void
tls_error(char *err, size_t errlen, const char *what, SSL *ssl, int ret)
{
	unsigned long e = ERR_get_error();
	char ebuf[200];
	long vr;

	if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(err, errlen, "%s: certificate not trusted: %s", what,
		    X509_verify_cert_error_string(vr));
	} else if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(err, errlen, "%s: %s", what, ebuf);
	} else {
		snprintf(err, errlen, "%s: %s", what,
		    ssl != NULL && SSL_get_error(ssl, ret) == SSL_ERROR_SYSCALL &&
		    errno != 0 ? strerror(errno) : "connection closed");
	}
	ERR_clear_error();
}

/* Status code from "HTTP/1.x NNN ..."; -1 when it is not one. */
static int
status_code(const char *p, size_t n)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9')
		return -1;
	return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

static void
conn_close(struct webhook *w)
{
	if (w->ssl != NULL)
		SSL_free(w->ssl);
	if (w->fd >= 0)
		close(w->fd);
	w->ssl = NULL;
	w->fd = -1;
	ERR_clear_error();
}

/* An idle kept connection the receiver closed (or wrote to unasked) is
 * not reused. */
static int
conn_usable(struct webhook *w)
{
	struct pollfd p = {.fd = w->fd, .events = POLLIN};

	return w->ssl != NULL && poll(&p, 1, 0) == 0;
}

static int
conn_open(struct webhook *w, char *err, size_t errlen)
{
	X509_VERIFY_PARAM *vp;
	int ret, r;

	if ((r = mamori_output_connect(w->host, w->port, SOCK_STREAM,
	    w->timeout_s, &w->fd, err, errlen)) != 0)
		return r;
	if ((w->ssl = SSL_new(w->ctx)) == NULL || SSL_set_fd(w->ssl, w->fd) !=
	    1) {
		tls_error(err, errlen, "TLS setup", NULL, 0);
		goto fail;
	}
	vp = SSL_get0_param(w->ssl);
	if (w->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, w->host) != 1)
			goto fail;
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(w->ssl, w->host) != 1 ||
		    SSL_set_tlsext_host_name(w->ssl, w->host) != 1)
			goto fail;
	}
	if ((ret = SSL_connect(w->ssl)) != 1) {
		tls_error(err, errlen, "TLS handshake", w->ssl, ret);
		goto fail;
	}
	return 0;
fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "TLS setup failed");
	conn_close(w);
	return MAMORI_ERR_IO;
}

/* Value of header name in the header block hdr (ends at its blank line),
 * or NULL; *vlen its length. */
static const char *
header_value(const char *hdr, size_t len, const char *name, size_t *vlen)
{
	const char *line = memchr(hdr, '\n', len), *end = hdr + len, *eol;
	size_t nl = strlen(name);

	while (line != NULL && ++line < end) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(eol - v);
			while (*vlen > 0 && (v[*vlen - 1] == '\r' ||
			    v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t'))
				(*vlen)--;
			return v;
		}
		line = eol;
	}
	return NULL;
}

/* One request and its answer on the open connection; *code gets the
 * status.  Reads the whole answer when its length is known and small, so
 * the connection can carry the next alert; otherwise closes it. */
static int
exchange(struct webhook *w, const struct mamori_output_alert *a, int *code,
    char *err, size_t errlen)
{
	char head[MAMORI_OUTPUT_TARGET_MAX + MAMORI_WEBHOOK_HOST_MAX + 256];
	char resp[MAMORI_WEBHOOK_RESPONSE_MAX + 1], sink[4096];
	const char *v, *blank;
	size_t got = 0, hlen, vlen, body = 0, have;
	uint64_t clen = 0;
	int n, ret = 0, keep = 0;

	*code = -1;
	n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s%s%s:%u"
	    "\r\nUser-Agent: mamorid/" MAMORI_VERSION "\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n", w->path,
	    strchr(w->host, ':') != NULL ? "[" : "", w->host,
	    strchr(w->host, ':') != NULL ? "]" : "", (unsigned)w->port,
	    a->json_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return MAMORI_ERR_INTERNAL;
	mamori_buf_reset(&w->req);
	if (mamori_buf_append(&w->req, head, (size_t)n) != 0 ||
	    mamori_buf_append(&w->req, w->headers.data, w->headers.len) != 0 ||
	    mamori_buf_append(&w->req, "\r\n", 2) != 0 ||
	    mamori_buf_append(&w->req, a->json, a->json_len) != 0)
		return MAMORI_ERR_ALLOC;
	if (w->req.len > INT32_MAX ||
	    (ret = SSL_write(w->ssl, w->req.data, (int)w->req.len)) !=
	    (int)w->req.len) {
		tls_error(err, errlen, "sending", w->ssl, ret);
		return MAMORI_ERR_IO;
	}
	/* The status line and headers, up to their blank line. */
	blank = NULL;
	while (got < MAMORI_WEBHOOK_RESPONSE_MAX) {
		ret = SSL_read(w->ssl, resp + got,
		    (int)(MAMORI_WEBHOOK_RESPONSE_MAX - got));
		if (ret <= 0)
			break;
		got += (size_t)ret;
		resp[got] = '\0';
		if ((blank = strstr(resp, "\r\n\r\n")) != NULL)
			break;
	}
	if ((*code = status_code(resp, got)) < 0) {
		if (got == 0)
			tls_error(err, errlen, "no answer", w->ssl, 0);
		else
			snprintf(err, errlen, "answer is not HTTP/1.x");
		return MAMORI_ERR_IO;
	}
	if (blank == NULL)
		return 0;           /* status known; connection not reusable */
	hlen = (size_t)(blank - resp) + 4;
	have = got - hlen;
	/* Kept only for an HTTP/1.1 answer of known, small length that does
	 * not say close. */
	keep = resp[7] == '1';
	if ((v = header_value(resp, hlen, "connection", &vlen)) != NULL &&
	    vlen == 5 && strncasecmp(v, "close", 5) == 0)
		keep = 0;
	if (header_value(resp, hlen, "transfer-encoding", &vlen) != NULL)
		keep = 0;
	if ((v = header_value(resp, hlen, "content-length", &vlen)) != NULL) {
		char num[24];

		if (vlen == 0 || vlen >= sizeof(num)) {
			keep = 0;
		} else {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			if (mamori_parse_u64(num, 0, MAMORI_WEBHOOK_BODY_MAX,
			    &clen) != 0)
				keep = 0;
		}
	} else if (!(*code == 204 || *code == 304)) {
		keep = 0;           /* the body runs to the end of the stream */
	}
	if (keep && have > clen)
		keep = 0;           /* more than announced: do not trust it */
	for (body = have; keep && body < clen; body += (size_t)ret) {
		ret = SSL_read(w->ssl, sink, (int)(clen - body < sizeof(sink) ?
		    clen - body : sizeof(sink)));
		if (ret <= 0)
			keep = 0;
	}
	w->keep = keep;
	return 0;
}

static int
webhook_deliver(void *state, const struct mamori_output_alert *a, char *err,
    size_t errlen)
{
	struct webhook *w = state;
	int reused = 0, code, r;

	if (w->ssl != NULL && !conn_usable(w))
		conn_close(w);
	if (w->ssl != NULL)
		reused = 1;
	else if ((r = conn_open(w, err, errlen)) != 0)
		return r;
	w->keep = 0;
	r = exchange(w, a, &code, err, errlen);
	if (r == MAMORI_ERR_IO && reused) {
		/* The receiver closed the kept connection as we wrote: once
		 * more on a new one, not counted as a retry. */
		conn_close(w);
		err[0] = '\0';
		if ((r = conn_open(w, err, errlen)) != 0)
			return r;
		r = exchange(w, a, &code, err, errlen);
	}
	if (r != 0 || !w->keep)
		conn_close(w);
	if (r != 0)
		return r;
	if (code >= 200 && code <= 299)
		return 0;
	if (code == 408 || code == 429 || code >= 500) {
		snprintf(err, errlen, "HTTP %d from %s", code, w->host);
		return MAMORI_ERR_IO;
	}
	snprintf(err, errlen, "HTTP %d from %s%s", code, w->host,
	    code < 400 ? " (redirects are not followed)" : "");
	return MAMORI_ERR_OUTPUT_REFUSED;
}

static void
webhook_destroy(void *state)
{
	struct webhook *w = state;

	if (w == NULL)
		return;
	conn_close(w);
	SSL_CTX_free(w->ctx);
	mamori_buf_free(&w->headers);     /* wipes: may hold a token */
	mamori_buf_free(&w->req);
	free(w);
}

const struct mamori_output_plugin mamori_output_webhook = {
	.kind = "webhook",
	.keys = webhook_keys,
	.configure = webhook_configure,
	.deliver = webhook_deliver,
	.reopen = NULL,
	.destroy = webhook_destroy,
};
