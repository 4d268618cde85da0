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
#include "sock_table.h"

#define MAMORI_PROC_NET_MAX (64 * 1024 * 1024) /* bytes of one /proc/net file */

static const char *const proc_net_files[] = {"tcp", "tcp6", "udp", "udp6"};

/* Appends the socket of one table line, if it is listening. */
static int
listening_entry(void *arg, const struct mamori_sock_entry *e)
{
	Mamori__Inventory *inv = arg;
	Mamori__ListeningSocket *sock = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if (e->tcp ? e->state != MAMORI_SOCK_TCP_LISTEN :
	    (e->state != MAMORI_SOCK_UDP_UNCONNECTED || !e->remote_zero)) {
		r = 0;
		goto out;
	}
	if ((sock = mamori_msg_new(&mamori__listening_socket__descriptor)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	sock->port = e->local_port;
	sock->inode = e->inode;
	if ((r = mamori_set_cstr(&sock->protocol, e->protocol)) != 0 ||
	    (r = mamori_set_cstr(&sock->address, e->local)) != 0)
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
	return mamori_sock_table_parse(data, len, protocol, listening_entry,
	    inv);
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
	struct mamori_sock_owner *owners = NULL, *hit;
	size_t i, n = 0, count = inv->n_listening_sockets - first;
	uint64_t inode;
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
	mamori_sock_owners_sort(owners, n);
	if ((r = mamori_sock_find_owners(ctx, owners, n)) != 0) {
		log_debug("sockets: no process table: %s", mamori_strerror(r));
		r = 0;
		goto out;
	}
	for (i = first; i < inv->n_listening_sockets; i++) {
		inode = inv->listening_sockets[i]->inode;
		hit = mamori_sock_owner_lookup(owners, n, inode);
		if (hit == NULL || hit->pid == 0 || inode == 0)
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
