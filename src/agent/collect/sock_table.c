/*
 * sock_table.c - see sock_table.h.
 *
 * Addresses in /proc/net are hex dumps of the kernel's in-memory words: an
 * IPv4 address is one 32-bit word and an IPv6 address four, each printed as
 * a number in host byte order, so each word is parsed as a number and
 * stored back in host order to recover the network-order bytes.  Ports are
 * printed already converted to host order.  The owner of a socket is found
 * by reading /proc/PID/fd links for "socket:[INODE]", within named limits
 * on pids and descriptors, so a host with very many processes costs a
 * bounded scan and leaves some owners unknown rather than stalling.
 */
#include "sock_table.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define SOCK_MAX_PIDS 100000            /* processes scanned */
#define SOCK_MAX_FDS_PER_PID 65536      /* descriptors per process */
#define SOCK_MAX_FDS 2000000            /* descriptors in all */
#define SOCK_TABLE_TOKENS 10            /* up to the inode column */
#define SOCK_COL_LOCAL 1
#define SOCK_COL_REMOTE 2
#define SOCK_COL_STATE 3
#define SOCK_COL_UID 7
#define SOCK_COL_INODE 9
#define IPV4_HEX_LEN 8
#define IPV6_HEX_LEN 32
#define PORT_HEX_LEN 4
#define STATE_HEX_LEN 2
#define SOCKET_LINK_MAX 64              /* "socket:[N]" */

/* Decodes "ADDR:PORT" as /proc/net prints it into text and a port;
 * *zero is set when the address and port are all zeros. */
static int
decode_endpoint(const struct mamori_token *t, int v6, char *text,
    size_t textlen, uint32_t *port, int *zero)
{
	uint8_t addr[16];
	uint64_t w, p;
	uint32_t word;
	size_t hexlen = v6 ? IPV6_HEX_LEN : IPV4_HEX_LEN, i;
	int r = MAMORI_ERR_INVALID;

	*port = 0;
	*zero = 0;
	if (t->len != hexlen + 1 + PORT_HEX_LEN || t->p[hexlen] != ':')
		goto out;
	for (i = 0; i < hexlen / IPV4_HEX_LEN; i++) {
		if (mamori_parse_hex(t->p + i * IPV4_HEX_LEN, IPV4_HEX_LEN,
		    UINT32_MAX, &w) != 0)
			goto out;
		word = (uint32_t)w;
		memcpy(addr + i * sizeof(word), &word, sizeof(word));
	}
	if (mamori_parse_hex(t->p + hexlen + 1, PORT_HEX_LEN, UINT16_MAX,
	    &p) != 0)
		goto out;
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text,
	    (socklen_t)textlen) == NULL)
		goto out;
	*port = (uint32_t)p;
	*zero = p == 0;
	for (i = 0; i < hexlen / 2; i++)
		if (addr[i] != 0)
			*zero = 0;
	r = 0;
out:
	return r;
}

/* Fills e from one line; INVALID for the header or a malformed line. */
static int
decode_line(const char *line, size_t len, int v6,
    struct mamori_sock_entry *e)
{
	struct mamori_token tok[SOCK_TABLE_TOKENS];
	uint64_t state, uid;
	int lzero;

	if (mamori_split_ws(line, len, tok, SOCK_TABLE_TOKENS) <
	    SOCK_TABLE_TOKENS)
		return MAMORI_ERR_INVALID;
	if (tok[0].len < 2 || tok[0].p[tok[0].len - 1] != ':')
		return MAMORI_ERR_INVALID;
	if (decode_endpoint(&tok[SOCK_COL_LOCAL], v6, e->local,
	    sizeof(e->local), &e->local_port, &lzero) != 0 ||
	    decode_endpoint(&tok[SOCK_COL_REMOTE], v6, e->remote,
	    sizeof(e->remote), &e->remote_port, &e->remote_zero) != 0 ||
	    tok[SOCK_COL_STATE].len != STATE_HEX_LEN ||
	    mamori_parse_hex(tok[SOCK_COL_STATE].p, tok[SOCK_COL_STATE].len,
	    UINT8_MAX, &state) != 0 ||
	    mamori_parse_dec(tok[SOCK_COL_UID].p, tok[SOCK_COL_UID].len,
	    UINT32_MAX, &uid) != 0 ||
	    mamori_parse_dec(tok[SOCK_COL_INODE].p, tok[SOCK_COL_INODE].len,
	    UINT64_MAX, &e->inode) != 0)
		return MAMORI_ERR_INVALID;
	e->state = (uint8_t)state;
	e->uid = (uint32_t)uid;
	return 0;
}

int
mamori_sock_table_parse(const char *data, size_t len, const char *protocol,
    mamori_sock_entry_fn fn, void *arg)
{
	struct mamori_sock_entry e;
	struct mamori_cursor c;
	const char *line;
	size_t line_len;
	int v6, tcp;
	int r = MAMORI_ERR_INTERNAL;

	if (strcmp(protocol, "tcp") == 0 || strcmp(protocol, "tcp6") == 0)
		tcp = 1;
	else if (strcmp(protocol, "udp") == 0 ||
	    strcmp(protocol, "udp6") == 0)
		tcp = 0;
	else {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	v6 = protocol[3] == '6';
	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		memset(&e, 0, sizeof(e));
		e.protocol = protocol;
		e.tcp = tcp;
		if (decode_line(line, line_len, v6, &e) != 0)
			continue;       /* the header, or a line we cannot read */
		if ((r = fn(arg, &e)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

static int
owner_cmp(const void *a, const void *b)
{
	const struct mamori_sock_owner *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

void
mamori_sock_owners_sort(struct mamori_sock_owner *owners, size_t n)
{
	if (n > 0)
		qsort(owners, n, sizeof(*owners), owner_cmp);
}

struct mamori_sock_owner *
mamori_sock_owner_lookup(struct mamori_sock_owner *owners, size_t n,
    uint64_t inode)
{
	struct mamori_sock_owner key = {inode, 0};

	if (n == 0)
		return NULL;
	return bsearch(&key, owners, n, sizeof(*owners), owner_cmp);
}

/* Parses "socket:[N]" into N. */
static int
socket_link_inode(const char *link, size_t len, uint64_t *inode)
{
	static const char prefix[] = "socket:[";
	size_t plen = sizeof(prefix) - 1;

	*inode = 0;
	if (len < plen + 2 || memcmp(link, prefix, plen) != 0 ||
	    link[len - 1] != ']')
		return MAMORI_ERR_INVALID;
	return mamori_parse_dec(link + plen, len - plen - 1, UINT64_MAX,
	    inode);
}

/* Records pid as a holder of every wanted socket in its fd directory.
 * *budget counts down the descriptors we may still look at. */
static void
scan_pid_fds(const char *fddir, uint32_t pid,
    struct mamori_sock_owner *owners, size_t n, size_t *budget)
{
	char link[SOCKET_LINK_MAX];
	struct mamori_sock_owner *hit;
	struct dirent *de;
	size_t seen = 0;
	uint64_t inode;
	ssize_t len;
	DIR *d;

	if ((d = opendir(fddir)) == NULL)
		return;     /* gone, or not ours to read: no owner */
	while ((de = readdir(d)) != NULL && seen < SOCK_MAX_FDS_PER_PID &&
	    *budget > 0) {
		if (de->d_name[0] == '.')
			continue;
		seen++;
		(*budget)--;
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link));
		if (len <= 0 || (size_t)len >= sizeof(link))
			continue;
		if (socket_link_inode(link, (size_t)len, &inode) != 0)
			continue;
		hit = mamori_sock_owner_lookup(owners, n, inode);
		if (hit != NULL && (hit->pid == 0 || pid < hit->pid))
			hit->pid = pid;
	}
	closedir(d);
}

int
mamori_sock_find_owners(const struct mamori_collect_ctx *ctx,
    struct mamori_sock_owner *owners, size_t n)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	size_t pids = 0, budget = SOCK_MAX_FDS;
	struct dirent *de;
	uint64_t pid;
	DIR *d = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "/proc")) != 0)
		goto out;
	if ((d = opendir(path)) == NULL) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	while ((de = readdir(d)) != NULL && pids < SOCK_MAX_PIDS &&
	    budget > 0) {
		if (mamori_parse_dec(de->d_name, strlen(de->d_name),
		    UINT32_MAX, &pid) != 0 || pid == 0)
			continue;
		pids++;
		if (mamori_collect_pathf(ctx, path, sizeof(path),
		    "/proc/%s/fd", de->d_name) != 0)
			continue;
		scan_pid_fds(path, (uint32_t)pid, owners, n, &budget);
	}
	if (pids >= SOCK_MAX_PIDS || budget == 0)
		log_warn("sockets: stopped scanning processes at a limit; "
		    "some owners may be missing");
	r = 0;
out:
	if (d != NULL)
		closedir(d);
	return r;
}
