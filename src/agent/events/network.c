/*
 * network.c - the network event source: outbound TCP connections and new
 * listening sockets (TCP, and bound unconnected UDP), with the process that
 * owns each.
 *
 * Every network_poll_ms the kernel's socket tables (/proc/net/{tcp,tcp6,
 * udp,udp6} under ctx->root) are read and compared with the previous poll
 * by socket inode.  A socket not seen before is a LISTEN event when it
 * listens (TCP) or is bound without a peer (UDP), and a CONNECT event when
 * it is a TCP socket in SYN_SENT or ESTABLISHED whose local port no socket
 * listens on (so accepted, inbound connections are not reported).  The
 * first poll, at start, is the baseline and reports nothing: what was open
 * before the agent is in the inventory.  Owners are found by scanning
 * /proc/PID/fd (sock_table.c) only when a poll found something new.
 *
 * What polling misses: a connection opened and closed between two polls
 * (a quick HTTP request, a port scan's probes) never appears in a table we
 * read, and a socket whose process exited before the owner scan has pid 0.
 * Both could be closed later by subscribing to the kernel instead of
 * polling: sock_diag netlink (NETLINK_SOCK_DIAG with inet_diag requests
 * and SOCK_DIAG_DESTROY notifications, or the connector/audit of connect)
 * or an eBPF program on tcp_v4_connect/tcp_v6_connect and inet_listen that
 * reports pid and addresses at the moment of the call.
 *
 * This file must never run a program, open a socket, or block the loop
 * beyond one bounded read of the tables and one bounded /proc scan.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "collect.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "parse.h"
#include "sock_table.h"
#include "source.h"

#define NETWORK_POLL_MS_DEFAULT 500
#define NETWORK_TABLE_MAX (64 * 1024 * 1024) /* bytes of one /proc/net file */
#define NETWORK_MAX_SOCKETS MAMORI_MAX_SOCKETS /* sockets kept per poll */
#define NETWORK_MAX_NEW 4096                 /* events reported per poll */
#define NETWORK_MIN_CAP 256                  /* first socket array size */
#define MS_PER_SEC 1000
#define US_PER_MS 1000

static const char *const tables[] = {"tcp", "tcp6", "udp", "udp6"};

/* What we keep of one socket across polls, and of a new one to report. */
struct net_sock {
	uint64_t inode;
	uint8_t state;
	uint8_t tcp;
	uint8_t reportable;     /* LISTEN or CONNECT candidate */
	uint32_t local_port;
};

struct new_sock {
	struct mamori_sock_entry e;
	Mamori__NetworkEvent__Action action;
};

struct network {
	struct mamori_source_ctx ctx;
	struct mamori_collect_ctx proc;
	struct event *timer;
	struct net_sock *prev;          /* sorted by inode */
	size_t n_prev;
	int warned_limit;
};

/* One poll in progress. */
struct poll {
	struct net_sock *cur;
	size_t n_cur, cap_cur;
	struct new_sock *fresh;
	size_t n_fresh;
	const struct network *net;
	int baseline;
};

static int
sock_cmp(const void *a, const void *b)
{
	const struct net_sock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int
seen_before(const struct network *net, uint64_t inode)
{
	struct net_sock key;

	memset(&key, 0, sizeof(key));
	key.inode = inode;
	return net->n_prev > 0 && bsearch(&key, net->prev, net->n_prev,
	    sizeof(key), sock_cmp) != NULL;
}

/* Keeps every owned socket; remembers new candidates for events. */
static int
poll_entry(void *arg, const struct mamori_sock_entry *e)
{
	struct poll *p = arg;
	struct net_sock *s;
	struct new_sock *grown;
	int listen, connect;

	if (e->inode == 0)
		return 0;       /* TIME_WAIT and the like: no owner, no diff */
	if (p->n_cur >= NETWORK_MAX_SOCKETS)
		return MAMORI_ERR_TOO_LARGE;
	if (p->n_cur == p->cap_cur) {
		size_t cap = p->cap_cur == 0 ? NETWORK_MIN_CAP : p->cap_cur * 2;

		if ((s = realloc(p->cur, cap * sizeof(*s))) == NULL)
			return MAMORI_ERR_ALLOC;
		p->cur = s;
		p->cap_cur = cap;
	}
	listen = e->tcp ? e->state == MAMORI_SOCK_TCP_LISTEN :
	    e->state == MAMORI_SOCK_UDP_UNCONNECTED && e->remote_zero;
	connect = e->tcp && (e->state == MAMORI_SOCK_TCP_SYN_SENT ||
	    e->state == MAMORI_SOCK_TCP_ESTABLISHED);
	s = &p->cur[p->n_cur++];
	s->inode = e->inode;
	s->state = e->state;
	s->tcp = (uint8_t)e->tcp;
	s->reportable = (uint8_t)(listen || connect);
	s->local_port = e->local_port;
	if (p->baseline || !(listen || connect) ||
	    seen_before(p->net, e->inode) || p->n_fresh >= NETWORK_MAX_NEW)
		return 0;
	if ((grown = realloc(p->fresh, (p->n_fresh + 1) *
	    sizeof(*grown))) == NULL)
		return MAMORI_ERR_ALLOC;
	p->fresh = grown;
	p->fresh[p->n_fresh].e = *e;
	p->fresh[p->n_fresh].action = listen ?
	    MAMORI__NETWORK_EVENT__ACTION__LISTEN :
	    MAMORI__NETWORK_EVENT__ACTION__CONNECT;
	p->n_fresh++;
	return 0;
}

/* 1 when a TCP socket of this poll listens on port. */
static int
is_listening_port(const struct poll *p, uint32_t port)
{
	size_t i;

	for (i = 0; i < p->n_cur; i++)
		if (p->cur[i].tcp && p->cur[i].state ==
		    MAMORI_SOCK_TCP_LISTEN && p->cur[i].local_port == port)
			return 1;
	return 0;
}

/* Reads every table into p; NOT_FOUND when none could be read. */
static int
read_tables(const struct network *net, struct poll *p)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_buf b;
	size_t i, read_ok = 0;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, NETWORK_TABLE_MAX);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if ((r = mamori_collect_pathf(&net->proc, path, sizeof(path),
		    "/proc/net/%s", tables[i])) != 0)
			goto out;
		r = mamori_collect_read(path, NETWORK_TABLE_MAX, &b);
		if (r == MAMORI_ERR_NOT_FOUND)
			continue;       /* no IPv6 in this kernel, say */
		if (r != 0)
			goto out;
		read_ok++;
		if ((r = mamori_sock_table_parse((const char *)b.data, b.len,
		    tables[i], poll_entry, p)) != 0)
			goto out;
	}
	r = read_ok == 0 ? MAMORI_ERR_NOT_FOUND : 0;
out:
	mamori_buf_free(&b);
	return r;
}

/* Builds the event for one new socket, with its owner (pid 0: unknown). */
static int
network_event(const struct network *net, const struct new_sock *n,
    uint32_t pid, Mamori__Event **out)
{
	char path[MAMORI_COLLECT_PATH_MAX], exe[PATH_MAX];
	const struct mamori_sock_entry *e = &n->e;
	Mamori__NetworkEvent *ne;
	Mamori__Event *ev = NULL;
	ssize_t len;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_NETWORK)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	ne = ev->network;
	ne->action = n->action;
	ne->source_port = e->local_port;
	ne->uid = e->uid;
	ne->pid = pid;
	if ((r = mamori_set_cstr(&ne->transport, e->tcp ? "tcp" : "udp")) != 0 ||
	    (r = mamori_set_cstr(&ne->source_ip, e->local)) != 0)
		goto out;
	if (n->action == MAMORI__NETWORK_EVENT__ACTION__CONNECT) {
		ne->destination_port = e->remote_port;
		if ((r = mamori_set_cstr(&ne->destination_ip, e->remote)) != 0)
			goto out;
	}
	if (pid != 0 && mamori_collect_pathf(&net->proc, path, sizeof(path),
	    "/proc/%u/exe", pid) == 0) {
		len = readlink(path, exe, sizeof(exe));
		if (len > 0 && (size_t)len < sizeof(exe) &&
		    (r = mamori_set_str(&ne->executable, exe, (size_t)len)) ==
		    MAMORI_ERR_ALLOC)
			goto out;
	}
	*out = ev;
	ev = NULL;
	r = 0;
out:
	mamori_event_free(ev);
	return r;
}

/* Finds owners of the new sockets and emits their events. */
static int
report(const struct network *net, struct poll *p)
{
	struct mamori_sock_owner *owners = NULL, *hit;
	Mamori__Event *ev;
	size_t i, n = 0;
	int r = MAMORI_ERR_INTERNAL;

	if ((owners = calloc(p->n_fresh, sizeof(*owners))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < p->n_fresh; i++) {
		/* A connection from a port we listen on was accepted. */
		if (p->fresh[i].action ==
		    MAMORI__NETWORK_EVENT__ACTION__CONNECT &&
		    is_listening_port(p, p->fresh[i].e.local_port)) {
			p->fresh[i].action =
			    MAMORI__NETWORK_EVENT__ACTION__ACTION_UNSPECIFIED;
			continue;
		}
		owners[n++].inode = p->fresh[i].e.inode;
	}
	if (n == 0) {
		r = 0;
		goto out;
	}
	mamori_sock_owners_sort(owners, n);
	if ((r = mamori_sock_find_owners(&net->proc, owners, n)) != 0)
		log_debug("network: no process table: %s", mamori_strerror(r));
	for (i = 0; i < p->n_fresh; i++) {
		if (p->fresh[i].action ==
		    MAMORI__NETWORK_EVENT__ACTION__ACTION_UNSPECIFIED)
			continue;
		hit = mamori_sock_owner_lookup(owners, n, p->fresh[i].e.inode);
		if ((r = network_event(net, &p->fresh[i], hit != NULL ?
		    hit->pid : 0, &ev)) != 0)
			goto out;
		if ((r = net->ctx.emit(net->ctx.sink, ev)) != 0)
			log_warn("network: event not spooled: %s",
			    mamori_strerror(r));
	}
	r = 0;
out:
	free(owners);
	return r;
}

/* Reads the tables, reports what is new, and keeps them for the next. */
static int
network_poll(struct network *net, int baseline)
{
	struct poll p;
	struct net_sock *kept = NULL;
	size_t i, n = 0;
	int r = MAMORI_ERR_INTERNAL;

	memset(&p, 0, sizeof(p));
	p.net = net;
	p.baseline = baseline;
	r = read_tables(net, &p);
	if (r == MAMORI_ERR_TOO_LARGE && !net->warned_limit) {
		log_warn("network: more than %d sockets; the rest are not "
		    "compared", NETWORK_MAX_SOCKETS);
		net->warned_limit = 1;
	} else if (r != 0)
		goto out;
	if (p.n_fresh > 0 && (r = report(net, &p)) != 0)
		goto out;
	/* Keep only what a later poll needs to compare with. */
	for (i = 0; i < p.n_cur; i++)
		if (p.cur[i].reportable)
			n++;
	if (n > 0 && (kept = malloc(n * sizeof(*kept))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0, n = 0; i < p.n_cur; i++)
		if (p.cur[i].reportable)
			kept[n++] = p.cur[i];
	if (n > 0)
		qsort(kept, n, sizeof(*kept), sock_cmp);
	free(net->prev);
	net->prev = kept;
	net->n_prev = n;
	kept = NULL;
	r = 0;
out:
	free(kept);
	free(p.cur);
	free(p.fresh);
	return r;
}

static void
network_tick(evutil_socket_t fd, short what, void *arg)
{
	struct network *net = arg;
	int r;

	(void)fd;
	(void)what;
	if ((r = network_poll(net, 0)) != 0)
		log_warn("network: poll failed: %s", mamori_strerror(r));
}

static void
network_stop(void *state)
{
	struct network *net = state;

	if (net == NULL)
		return;
	if (net->timer != NULL)
		event_free(net->timer);
	free(net->prev);
	free(net);
}

static int
network_start(const struct mamori_source_ctx *ctx, void **state)
{
	struct network *net = NULL;
	struct timeval tv;
	unsigned ms;
	int r = MAMORI_ERR_INTERNAL;

	*state = NULL;
	if ((net = calloc(1, sizeof(*net))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	net->ctx = *ctx;
	net->proc.root = ctx->root != NULL ? ctx->root : "";
	net->proc.live = 1;
	if ((r = network_poll(net, 1)) != 0) {
		log_error("network: cannot read the socket tables: %s",
		    mamori_strerror(r));
		goto out;
	}
	ms = ctx->opt != NULL && ctx->opt->network_poll_ms != 0 ?
	    ctx->opt->network_poll_ms : NETWORK_POLL_MS_DEFAULT;
	tv.tv_sec = ms / MS_PER_SEC;
	tv.tv_usec = (suseconds_t)(ms % MS_PER_SEC) * US_PER_MS;
	if ((net->timer = event_new(ctx->base, -1, EV_PERSIST, network_tick,
	    net)) == NULL || event_add(net->timer, &tv) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	*state = net;
	net = NULL;
	r = 0;
out:
	network_stop(net);
	return r;
}

const struct mamori_event_source mamori_source_network = {
	.name = "network",
	.start = network_start,
	.stop = network_stop,
};
