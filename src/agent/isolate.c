/*
 * isolate.c - host isolation through an nftables table of the agent's own
 * (see isolate.h for what is let through and why).
 *
 * The ruleset is text built here and handed to libnftables in one call, so
 * the kernel replaces the table in one transaction: there is no moment
 * with half the rules.  Every address in it went through inet_pton and
 * back through inet_ntop, and every port is a number: nothing a server
 * name, a task or the state file says is ever copied into the ruleset as
 * it came.  The state file is strict text with a SHA-256 over it.
 *
 * This file must never touch a table but inet mamori_isolation (no
 * "flush ruleset"), never run a program, and never resolve names after
 * the host is isolated.
 */
#include "isolate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define ISOLATE_HEADER "mamori-isolation 1\n"
#define ISOLATE_SUM_PREFIX "sha256 "
#define ISOLATE_PATH_MAX 4096
#define ISOLATE_LINE_MAX 128            /* one line of the state file */
#define ISOLATE_NFT_ERR_MAX 200         /* nft's message in a why */

/* Deletes the table if it is there (declaring it first makes the delete
 * succeed when it is not), as the first commands of every transaction. */
#define ISOLATE_DROP_TABLE \
	"table inet " MAMORI_ISOLATE_TABLE "\n" \
	"delete table inet " MAMORI_ISOLATE_TABLE "\n"

static void isolate_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line for the task result (why may be NULL). */
static void
isolate_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ---- the target ------------------------------------------------------------ */

int
mamori_isolate_target_add(struct mamori_isolate_target *t, const char *addr,
    uint16_t port)
{
	struct mamori_isolate_peer p;
	unsigned char bin[sizeof(struct in6_addr)];
	size_t i;

	if (addr == NULL || port == 0)
		return MAMORI_ERR_INVALID;
	memset(&p, 0, sizeof(p));
	if (inet_pton(AF_INET, addr, bin) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		p.family = AF_INET6;
	else
		return MAMORI_ERR_INVALID;
	if (inet_ntop(p.family, bin, p.addr, sizeof(p.addr)) == NULL)
		return MAMORI_ERR_INVALID;
	p.port = port;
	for (i = 0; i < t->n; i++)
		if (t->peer[i].port == port &&
		    strcmp(t->peer[i].addr, p.addr) == 0)
			return 0;
	if (t->n >= MAMORI_ISOLATE_PEERS_MAX)
		return MAMORI_ERR_TOO_LARGE;
	t->peer[t->n++] = p;
	return 0;
}

int
mamori_isolate_resolve(const char *server, struct mamori_isolate_target *t,
    char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[MAMORI_HOST_MAX + 1], addr[INET6_ADDRSTRLEN];
	const void *bin;
	uint16_t port;
	int r = MAMORI_ERR_INTERNAL, g;

	if (server == NULL || mamori_parse_hostport(server, host,
	    sizeof(host), &port) != 0 || port == 0) {
		isolate_why(why, whylen, "the server address \"%s\" is not "
		    "host:port", server != NULL ? server : "");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((g = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		if (why != NULL)
			(void)snprintf(why, whylen, "cannot resolve the server "
			    "%s: %s", host, gai_strerror(g));
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			bin = &((const struct sockaddr_in *)(const void *)
			    ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			bin = &((const struct sockaddr_in6 *)(const void *)
			    ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, bin, addr, sizeof(addr)) ==
		    NULL)
			continue;
		if ((r = mamori_isolate_target_add(t, addr, port)) != 0) {
			isolate_why(why, whylen, "the server %s has too many "
			    "addresses to isolate around", host);
			goto out;
		}
	}
	if (t->n == 0) {
		isolate_why(why, whylen, "the server %s has no IP address",
		    host);
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

/* ---- the ruleset ---------------------------------------------------------- */

static int
isolate_put(struct mamori_buf *b, const char *s)
{
	return mamori_buf_append(b, s, strlen(s));
}

int
mamori_isolate_ruleset(const struct mamori_isolate_target *t, char **out)
{
	struct mamori_buf b;
	char line[160];
	const char *ipk;
	size_t i;
	int r = MAMORI_ERR_INTERNAL, pass;

	*out = NULL;
	mamori_buf_init(&b, MAMORI_ISOLATE_RULES_MAX);
	if (t->n == 0 || t->n > MAMORI_ISOLATE_PEERS_MAX) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = isolate_put(&b, ISOLATE_DROP_TABLE
	    "table inet " MAMORI_ISOLATE_TABLE " {\n")) != 0)
		goto out;
	/* pass 0: input, pass 1: output. */
	for (pass = 0; pass < 2; pass++) {
		if ((r = isolate_put(&b, pass == 0 ?
		    "\tchain input {\n"
		    "\t\ttype filter hook input priority -10; policy drop;\n"
		    "\t\tiif \"lo\" accept\n"
		    "\t\tudp sport 67 udp dport 68 accept\n"
		    "\t\ticmpv6 type { nd-neighbor-solicit, "
		    "nd-neighbor-advert, nd-router-advert, nd-redirect } "
		    "ip6 hoplimit 255 accept\n" :
		    "\tchain output {\n"
		    "\t\ttype filter hook output priority -10; policy drop;\n"
		    "\t\toif \"lo\" accept\n"
		    "\t\tudp sport 68 udp dport 67 accept\n"
		    "\t\ticmpv6 type { nd-neighbor-solicit, "
		    "nd-neighbor-advert, nd-router-solicit } "
		    "ip6 hoplimit 255 accept\n")) != 0)
			goto out;
		for (i = 0; i < t->n; i++) {
			const struct mamori_isolate_peer *p = &t->peer[i];

			if (p->family != AF_INET && p->family != AF_INET6) {
				r = MAMORI_ERR_INVALID;
				goto out;
			}
			ipk = p->family == AF_INET ? "ip" : "ip6";
			(void)snprintf(line, sizeof(line),
			    "\t\t%s %s %s tcp %s %u accept\n", ipk,
			    pass == 0 ? "saddr" : "daddr", p->addr,
			    pass == 0 ? "sport" : "dport", (unsigned)p->port);
			if ((r = isolate_put(&b, line)) != 0)
				goto out;
		}
		if ((r = isolate_put(&b, "\t}\n")) != 0)
			goto out;
	}
	if ((r = isolate_put(&b, "\tchain forward {\n"
	    "\t\ttype filter hook forward priority -10; policy drop;\n"
	    "\t}\n}\n")) != 0)
		goto out;
	if ((*out = mamori_memdup_str(b.data, b.len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

/* Runs text as one nftables transaction; why gets nft's first line. */
static int
isolate_nft(const char *text, char *why, size_t whylen)
{
	struct nft_ctx *nft = NULL;
	const char *err;
	char msg[ISOLATE_NFT_ERR_MAX];
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((nft = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	nft_ctx_clear_include_paths(nft);
	if (nft_ctx_buffer_output(nft) != 0 ||
	    nft_ctx_buffer_error(nft) != 0) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (nft_run_cmd_from_buffer(nft, text) != 0) {
		err = nft_ctx_get_error_buffer(nft);
		if (err == NULL || err[0] == '\0')
			err = "nftables refused the change";
		if ((i = strcspn(err, "\n")) >= sizeof(msg))
			i = sizeof(msg) - 1;
		memcpy(msg, err, i);
		msg[i] = '\0';
		log_error("isolate: nftables: %s", err);
		isolate_why(why, whylen, "nftables: %s", msg);
		if (why != NULL && strstr(err, "Operation not permitted") !=
		    NULL)
			(void)snprintf(why, whylen, "nftables: operation not "
			    "permitted; the agent needs CAP_NET_ADMIN (run it "
			    "as root)");
		r = MAMORI_ERR_ISOLATION;
		goto out;
	}
	r = 0;
out:
	if (nft != NULL)
		nft_ctx_free(nft);
	return r;
}

/* ---- the state file ------------------------------------------------------- */

int
mamori_isolate_state_parse(const uint8_t *data, size_t len, int *isolated,
    struct mamori_isolate_target *t)
{
	struct mamori_isolate_target tmp;
	uint8_t sum[MAMORI_SHA256_LEN];
	char want[2 * MAMORI_SHA256_LEN + 1], buf[ISOLATE_LINE_MAX];
	const char *s = (const char *)data, *line, *nl, *sp;
	size_t hlen = strlen(ISOLATE_HEADER), plen = strlen(ISOLATE_SUM_PREFIX);
	size_t off, llen, before;
	uint64_t port;
	int iso, r = MAMORI_ERR_ISOLATION;

	*isolated = 0;
	memset(&tmp, 0, sizeof(tmp));
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	if (len > MAMORI_ISOLATE_FILE_MAX || len < hlen ||
	    memcmp(s, ISOLATE_HEADER, hlen) != 0 ||
	    memchr(data, '\0', len) != NULL)
		goto out;
	off = hlen;
	if ((nl = memchr(s + off, '\n', len - off)) == NULL)
		goto out;
	llen = (size_t)(nl - (s + off));
	if (llen == 8 && memcmp(s + off, "isolated", 8) == 0)
		iso = 1;
	else if (llen == 8 && memcmp(s + off, "released", 8) == 0)
		iso = 0;
	else
		goto out;
	off += llen + 1;
	for (;;) {
		line = s + off;
		if ((nl = memchr(line, '\n', len - off)) == NULL)
			goto out;
		llen = (size_t)(nl - line);
		if (llen > plen && memcmp(line, ISOLATE_SUM_PREFIX, plen) == 0)
			break;
		/* "peer ADDR PORT" */
		if (llen < 5 || llen >= sizeof(buf) ||
		    memcmp(line, "peer ", 5) != 0)
			goto out;
		memcpy(buf, line + 5, llen - 5);
		buf[llen - 5] = '\0';
		if ((sp = strchr(buf, ' ')) == NULL)
			goto out;
		buf[sp - buf] = '\0';
		before = tmp.n;
		if (mamori_parse_u64(sp + 1, 1, 65535, &port) != 0 ||
		    mamori_isolate_target_add(&tmp, buf,
		    (uint16_t)port) != 0 || tmp.n != before + 1 ||
		    strcmp(tmp.peer[tmp.n - 1].addr, buf) != 0 ||
		    tmp.peer[tmp.n - 1].port != port)
			goto out;       /* not canonical, or a duplicate */
		off += llen + 1;
	}
	if (off + llen + 1 != len || llen != plen + 2 * MAMORI_SHA256_LEN)
		goto out;
	mamori_sha256(data, off, sum);
	mamori_hex(sum, sizeof(sum), want);
	if (!mamori_equal(want, line + plen, 2 * MAMORI_SHA256_LEN))
		goto out;
	if (iso && tmp.n == 0)
		goto out;       /* isolated around nothing: never written */
	*isolated = iso;
	if (t != NULL)
		*t = tmp;
	r = 0;
out:
	return r;
}

static int
isolate_state_format(int isolated, const struct mamori_isolate_target *t,
    struct mamori_buf *b)
{
	uint8_t sum[MAMORI_SHA256_LEN];
	char line[ISOLATE_LINE_MAX], hex[2 * MAMORI_SHA256_LEN + 1];
	size_t i;
	int r;

	if ((r = isolate_put(b, ISOLATE_HEADER)) != 0 ||
	    (r = isolate_put(b, isolated ? "isolated\n" : "released\n")) != 0)
		return r;
	for (i = 0; t != NULL && i < t->n; i++) {
		(void)snprintf(line, sizeof(line), "peer %s %u\n",
		    t->peer[i].addr, (unsigned)t->peer[i].port);
		if ((r = isolate_put(b, line)) != 0)
			return r;
	}
	mamori_sha256(b->data, b->len, sum);
	mamori_hex(sum, sizeof(sum), hex);
	if ((r = isolate_put(b, ISOLATE_SUM_PREFIX)) != 0 ||
	    (r = isolate_put(b, hex)) != 0 || (r = isolate_put(b, "\n")) != 0)
		return r;
	return 0;
}

static int
isolate_path(const char *state_dir, char *out, size_t outlen)
{
	if (state_dir == NULL)
		return MAMORI_ERR_INVALID;
	return mamori_path_join(out, outlen, state_dir, MAMORI_ISOLATE_FILE);
}

/* Saves the intent; *old gets the previous file (len 0: there was none). */
static int
isolate_state_save(const char *path, int isolated,
    const struct mamori_isolate_target *t, struct mamori_buf *old)
{
	struct mamori_buf b;
	int r;

	mamori_buf_init(&b, MAMORI_ISOLATE_FILE_MAX);
	if (old != NULL && (r = mamori_buf_read_file(old, path)) != 0 &&
	    r != MAMORI_ERR_NOT_FOUND)
		mamori_buf_reset(old);  /* unreadable: nothing to put back */
	if ((r = isolate_state_format(isolated, t, &b)) != 0)
		goto out;
	if ((r = mamori_file_write(path, b.data, b.len, 0600, 0)) != 0)
		log_error("isolate: cannot write %s: %s", path,
		    mamori_strerror(r));
out:
	mamori_buf_free(&b);
	return r;
}

/* Puts the previous state file back after a failed change. */
static void
isolate_state_undo(const char *path, const struct mamori_buf *old)
{
	int r;

	if (old->len == 0)
		r = unlink(path) == 0 || errno == ENOENT ? 0 :
		    MAMORI_ERR_SYSTEM;
	else
		r = mamori_file_write(path, old->data, old->len, 0600, 0);
	if (r != 0)
		log_error("isolate: cannot put %s back as it was; the saved "
		    "intent may not match the firewall", path);
}

int
mamori_isolate_apply(const char *state_dir,
    const struct mamori_isolate_target *t, char *why, size_t whylen)
{
	struct mamori_buf old;
	char path[ISOLATE_PATH_MAX], *rules = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&old, MAMORI_ISOLATE_FILE_MAX);
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((r = isolate_path(state_dir, path, sizeof(path))) != 0)
		goto out;
	if ((r = mamori_isolate_ruleset(t, &rules)) != 0) {
		isolate_why(why, whylen, "%s", "no server address to keep "
		    "reachable; refusing to cut the host off from mamori");
		goto out;
	}
	if ((r = isolate_state_save(path, 1, t, &old)) != 0) {
		isolate_why(why, whylen, "cannot save the isolation state: %s",
		    mamori_strerror(r));
		goto out;
	}
	if ((r = isolate_nft(rules, why, whylen)) != 0) {
		isolate_state_undo(path, &old);
		goto out;
	}
	log_info("isolate: host isolated; only %s port %u (and %zu other "
	    "server address%s) reachable", t->peer[0].addr,
	    (unsigned)t->peer[0].port, t->n - 1, t->n == 2 ? "" : "es");
	isolate_why(why, whylen, "%s", "host isolated");
	r = 0;
out:
	free(rules);
	mamori_buf_free(&old);
	return r;
}

int
mamori_isolate_release(const char *state_dir, char *why, size_t whylen)
{
	struct mamori_buf old;
	char path[ISOLATE_PATH_MAX];
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&old, MAMORI_ISOLATE_FILE_MAX);
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((r = isolate_path(state_dir, path, sizeof(path))) != 0)
		goto out;
	if ((r = isolate_state_save(path, 0, NULL, &old)) != 0) {
		isolate_why(why, whylen, "cannot save the isolation state: %s",
		    mamori_strerror(r));
		goto out;
	}
	if ((r = isolate_nft(ISOLATE_DROP_TABLE, why, whylen)) != 0) {
		isolate_state_undo(path, &old);
		goto out;
	}
	log_info("isolate: host released");
	isolate_why(why, whylen, "%s", "host released");
	r = 0;
out:
	mamori_buf_free(&old);
	return r;
}

int
mamori_isolate_task(const char *state_dir, const char *server,
    const Mamori__TaskBody *body, char *why, size_t whylen)
{
	struct mamori_isolate_target t;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (body == NULL)
		return MAMORI_ERR_INVALID;
	if (body->params_case == MAMORI__TASK_BODY__PARAMS_RELEASE_HOST)
		return mamori_isolate_release(state_dir, why, whylen);
	if (body->params_case != MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST) {
		isolate_why(why, whylen, "%s", "not a host isolation task");
		return MAMORI_ERR_INVALID;
	}
	memset(&t, 0, sizeof(t));
	if ((r = mamori_isolate_resolve(server, &t, why, whylen)) != 0)
		return r;
	return mamori_isolate_apply(state_dir, &t, why, whylen);
}

int
mamori_isolate_status(const char *state_dir, int *isolated,
    struct mamori_isolate_target *t)
{
	struct mamori_buf b;
	char path[ISOLATE_PATH_MAX];
	int r = MAMORI_ERR_INTERNAL;

	*isolated = 0;
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	mamori_buf_init(&b, MAMORI_ISOLATE_FILE_MAX);
	if ((r = isolate_path(state_dir, path, sizeof(path))) != 0)
		goto out;
	r = mamori_buf_read_file(&b, path);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r != 0 || (r = mamori_isolate_state_parse(b.data, b.len,
	    isolated, t)) != 0) {
		log_error("isolate: the isolation state %s is damaged or "
		    "unreadable (%s); the firewall is left as it is.  Send "
		    "ISOLATE_HOST or RELEASE_HOST again to rewrite it", path,
		    mamori_strerror(r));
		r = MAMORI_ERR_ISOLATION;
		goto out;
	}
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_isolate_restore(const char *state_dir, int *isolated, char *why,
    size_t whylen)
{
	struct mamori_isolate_target t;
	char path[ISOLATE_PATH_MAX], *rules = NULL;
	int iso = 0, r = MAMORI_ERR_INTERNAL;

	if (isolated != NULL)
		*isolated = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((r = isolate_path(state_dir, path, sizeof(path))) != 0)
		goto out;
	if (access(path, F_OK) != 0) {
		r = 0;          /* never isolated */
		goto out;
	}
	if ((r = mamori_isolate_status(state_dir, &iso, &t)) != 0) {
		isolate_why(why, whylen, "the isolation state %s is damaged",
		    path);
		goto out;
	}
	if (isolated != NULL)
		*isolated = iso;
	if (!iso) {
		r = isolate_nft(ISOLATE_DROP_TABLE, why, whylen);
		goto out;
	}
	if ((r = mamori_isolate_ruleset(&t, &rules)) != 0 ||
	    (r = isolate_nft(rules, why, whylen)) != 0)
		goto out;
	log_info("isolate: the host is isolated (saved state); isolation "
	    "rules in place");
	r = 0;
out:
	free(rules);
	return r;
}
