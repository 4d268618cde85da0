/*
 * sockets.c - the listening-sockets collector: /proc/net/{tcp,tcp6,udp,udp6}
 * and the processes that own those sockets.
 *
 * Addresses in /proc/net are hex dumps of the kernel's in-memory words: an
 * IPv4 address is one 32-bit word and an IPv6 address four, each printed as
 * a number in host byte order, so we parse each word as a number and store
 * it back in host order to recover the network-order bytes.  Ports are
 * printed already converted to host order.  The owner of a socket is found
 * by scanning /proc/PID/fd links for "socket:[INODE]", once per collection
 * and within named limits on pids and descriptors.  This file must never
 * run a program (no ss, no lsof) and never open a socket itself.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_PROC_NET_MAX (64 * 1024 * 1024) /* bytes of one /proc/net file */
#define MAMORI_SOCK_MAX_PIDS 100000          /* processes scanned */
#define MAMORI_SOCK_MAX_FDS_PER_PID 65536    /* descriptors per process */
#define MAMORI_SOCK_MAX_FDS 2000000          /* descriptors in all */
#define PROC_NET_TOKENS 10                   /* up to the inode column */
#define TCP_LISTEN 0x0a
#define UDP_CLOSE 0x07                       /* bound, not connected */
#define IPV4_HEX_LEN 8
#define IPV6_HEX_LEN 32
#define PORT_HEX_LEN 4
#define SOCKET_LINK_MAX 64                   /* "socket:[N]" */

static const char *const proc_net_files[] = {"tcp", "tcp6", "udp", "udp6"};

/*
 * Decodes "ADDR:PORT" as /proc/net prints it into text and a port.
 * *zero is set when the address and port are all zeros.
 */
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

/* Appends the socket described by one line, if it is listening. */
static int
proc_net_line(const char *line, size_t len, Mamori__Inventory *inv,
    const char *protocol, int v6, int tcp)
{
	struct mamori_token tok[PROC_NET_TOKENS];
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
	Mamori__ListeningSocket *sock = NULL;
	uint32_t lport, rport;
	uint64_t state, inode;
	int lzero, rzero;
	int r = MAMORI_ERR_INTERNAL;

	r = 0;              /* a line we cannot read is skipped */
	if (mamori_split_ws(line, len, tok, PROC_NET_TOKENS) <
	    PROC_NET_TOKENS)
		goto out;
	if (tok[0].len < 2 || tok[0].p[tok[0].len - 1] != ':')
		goto out;      /* the header line, or garbage */
	if (decode_endpoint(&tok[1], v6, local, sizeof(local), &lport,
	    &lzero) != 0 ||
	    decode_endpoint(&tok[2], v6, remote, sizeof(remote), &rport,
	    &rzero) != 0 ||
	    tok[3].len != 2 ||
	    mamori_parse_hex(tok[3].p, tok[3].len, UINT8_MAX, &state) != 0 ||
	    mamori_parse_dec(tok[9].p, tok[9].len, UINT64_MAX, &inode) != 0)
		goto out;
	if (tcp ? state != TCP_LISTEN : (state != UDP_CLOSE || !rzero))
		goto out;
	if ((sock = mamori_msg_new(&mamori__listening_socket__descriptor)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	sock->port = lport;
	sock->inode = inode;
	if ((r = mamori_set_cstr(&sock->protocol, protocol)) != 0 ||
	    (r = mamori_set_cstr(&sock->address, local)) != 0)
		goto out;
	if ((r = mamori_array_append(&inv->listening_sockets,
	    &inv->n_listening_sockets, MAMORI_MAX_SOCKETS, sock)) != 0)
		goto out;
	sock = NULL;
	r = 0;
out:
	mamori_msg_free(sock);
	return r;
}

int
mamori_parse_proc_net(const char *data, size_t len, Mamori__Inventory *inv,
    const char *protocol)
{
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
	while (mamori_next_line(&c, &line, &line_len))
		if ((r = proc_net_line(line, line_len, inv, protocol, v6,
		    tcp)) != 0)
			goto out;
	r = 0;
out:
	return r;
}

/* One socket inode we want an owner for, and the lowest pid holding it. */
struct sock_owner {
	uint64_t inode;
	uint32_t pid;
};

static int
owner_cmp(const void *a, const void *b)
{
	const struct sock_owner *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
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
scan_pid_fds(const char *fddir, uint32_t pid, struct sock_owner *owners,
    size_t n, size_t *budget)
{
	char link[SOCKET_LINK_MAX];
	struct sock_owner key, *hit;
	struct dirent *de;
	size_t seen = 0;
	ssize_t len;
	DIR *d;

	if ((d = opendir(fddir)) == NULL)
		return;     /* gone, or not ours to read: no owner */
	while ((de = readdir(d)) != NULL && seen < MAMORI_SOCK_MAX_FDS_PER_PID &&
	    *budget > 0) {
		if (de->d_name[0] == '.')
			continue;
		seen++;
		(*budget)--;
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link));
		if (len <= 0 || (size_t)len >= sizeof(link))
			continue;
		if (socket_link_inode(link, (size_t)len, &key.inode) != 0)
			continue;
		hit = bsearch(&key, owners, n, sizeof(*owners), owner_cmp);
		if (hit != NULL && (hit->pid == 0 || pid < hit->pid))
			hit->pid = pid;
	}
	closedir(d);
}

/* Fills the pid of every entry of owners (sorted by inode) that some
 * process under ROOT/proc holds. */
static int
find_owners(const struct mamori_collect_ctx *ctx, struct sock_owner *owners,
    size_t n)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	size_t pids = 0, budget = MAMORI_SOCK_MAX_FDS;
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
	while ((de = readdir(d)) != NULL && pids < MAMORI_SOCK_MAX_PIDS &&
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
	if (pids >= MAMORI_SOCK_MAX_PIDS || budget == 0)
		log_warn("sockets: stopped scanning processes at a limit; "
		    "some owners may be missing");
	r = 0;
out:
	if (d != NULL)
		closedir(d);
	return r;
}

/* Sets pid, process and executable of sock from ROOT/proc/PID. */
static int
describe_owner(const struct mamori_collect_ctx *ctx, uint32_t pid,
    Mamori__ListeningSocket *sock)
{
	char path[MAMORI_COLLECT_PATH_MAX], exe[MAMORI_COLLECT_PATH_MAX];
	ssize_t len;
	int r = MAMORI_ERR_INTERNAL;

	sock->pid = pid;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/%u/comm", pid)) != 0 ||
	    (r = mamori_set_str_file(&sock->process, path)) != 0)
		goto out;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/%u/exe", pid)) != 0)
		goto out;
	len = readlink(path, exe, sizeof(exe));
	if (len > 0 && (size_t)len < sizeof(exe)) {
		r = mamori_set_str(&sock->executable, exe, (size_t)len);
		if (r != MAMORI_ERR_ALLOC)
			r = 0;
		goto out;
	}
	r = 0;              /* a kernel thread, or not ours to read */
out:
	return r;
}

/* Finds and records the owners of the sockets from index first on. */
static int
attach_owners(const struct mamori_collect_ctx *ctx, Mamori__Inventory *inv,
    size_t first)
{
	struct sock_owner *owners = NULL, key, *hit;
	size_t i, n = 0, count = inv->n_listening_sockets - first;
	int r = MAMORI_ERR_INTERNAL;

	if (count == 0) {
		r = 0;
		goto out;
	}
	if ((owners = calloc(count, sizeof(*owners))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = first; i < inv->n_listening_sockets; i++)
		owners[n++].inode = inv->listening_sockets[i]->inode;
	qsort(owners, n, sizeof(*owners), owner_cmp);
	if ((r = find_owners(ctx, owners, n)) != 0) {
		log_debug("sockets: no process table: %s", mamori_strerror(r));
		r = 0;
		goto out;
	}
	for (i = first; i < inv->n_listening_sockets; i++) {
		key.inode = inv->listening_sockets[i]->inode;
		hit = bsearch(&key, owners, n, sizeof(*owners), owner_cmp);
		if (hit == NULL || hit->pid == 0 || key.inode == 0)
			continue;
		if ((r = describe_owner(ctx, hit->pid,
		    inv->listening_sockets[i])) != 0)
			goto out;
	}
	r = 0;
out:
	free(owners);
	return r;
}

int
mamori_collector_sockets(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	size_t i, first = inv->n_listening_sockets, read_ok = 0;
	struct mamori_buf b;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_PROC_NET_MAX);
	for (i = 0; i < sizeof(proc_net_files) / sizeof(proc_net_files[0]);
	    i++) {
		if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
		    "/proc/net/%s", proc_net_files[i])) != 0)
			goto out;
		r = mamori_collect_read(path, MAMORI_PROC_NET_MAX, &b);
		if (r == MAMORI_ERR_NOT_FOUND)
			continue;   /* no IPv6 in this kernel, say */
		if (r != 0)
			goto out;
		read_ok++;
		if ((r = mamori_parse_proc_net((const char *)b.data, b.len, inv,
		    proc_net_files[i])) != 0)
			goto out;
	}
	if (read_ok == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	r = attach_owners(ctx, inv, first);
out:
	mamori_buf_free(&b);
	return r;
}
