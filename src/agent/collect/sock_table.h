/*
 * sock_table.h - the kernel's socket tables (/proc/net/{tcp,tcp6,udp,udp6})
 * read line by line, and the processes that hold a socket inode.
 *
 * Shared by the listening-sockets collector and the network event source:
 * both must read the same hex dumps the same way and find owners within
 * the same limits.  Everything read is untrusted text under ctx->root;
 * nothing here may run a program, open a socket or write a file.
 */
#ifndef MAMORI_SOCK_TABLE_H
#define MAMORI_SOCK_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"

#define MAMORI_SOCK_ADDR_MAX 46             /* INET6_ADDRSTRLEN */
#define MAMORI_SOCK_TCP_ESTABLISHED 0x01
#define MAMORI_SOCK_TCP_SYN_SENT 0x02
#define MAMORI_SOCK_TCP_LISTEN 0x0a
#define MAMORI_SOCK_UDP_UNCONNECTED 0x07     /* TCP_CLOSE: bound only */

/* One line of a socket table. */
struct mamori_sock_entry {
	const char *protocol;           /* "tcp", "tcp6", "udp", "udp6" */
	int tcp;                        /* 1 tcp/tcp6, 0 udp/udp6 */
	uint8_t state;                  /* the kernel's TCP_* state */
	char local[MAMORI_SOCK_ADDR_MAX];
	uint32_t local_port;
	char remote[MAMORI_SOCK_ADDR_MAX];
	uint32_t remote_port;
	int remote_zero;                /* remote address and port all 0 */
	uint32_t uid;
	uint64_t inode;                 /* 0: no longer owned (TIME_WAIT) */
};

/* Called once per well-formed line; a non-zero return stops the parse and
 * is returned by mamori_sock_table_parse.  e is valid during the call. */
typedef int (*mamori_sock_entry_fn)(void *arg,
    const struct mamori_sock_entry *e);

/*
 * Parses one table (data, len: any bytes) in the format protocol names
 * ("tcp", "tcp6", "udp", "udp6"), skipping the header and malformed lines.
 * INVALID for another protocol; otherwise 0 or what fn returned.
 */
int mamori_sock_table_parse(const char *data, size_t len,
    const char *protocol, mamori_sock_entry_fn fn, void *arg);

/* A socket inode and the lowest pid holding it (0: none found). */
struct mamori_sock_owner {
	uint64_t inode;
	uint32_t pid;
};

/* Sorts owners by inode, as mamori_sock_find_owners and
 * mamori_sock_owner_lookup need. */
void mamori_sock_owners_sort(struct mamori_sock_owner *owners, size_t n);

/*
 * Fills the pid of every entry of owners (sorted) that some process under
 * ROOT/proc holds, scanning /proc/PID/fd within the limits below.
 * NOT_FOUND when there is no process table.
 */
int mamori_sock_find_owners(const struct mamori_collect_ctx *ctx,
    struct mamori_sock_owner *owners, size_t n);

/* The entry for inode in sorted owners, or NULL; points into owners. */
struct mamori_sock_owner *mamori_sock_owner_lookup(
    struct mamori_sock_owner *owners, size_t n, uint64_t inode);

#endif
