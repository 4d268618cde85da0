/*
 * isolate.h - host isolation on the agent (ISOLATE_HOST, RELEASE_HOST).
 *
 * Isolated, the host talks only to the mamori server(s) - each address and
 * TCP port resolved before isolating, so no DNS is needed afterwards - and
 * over loopback; everything else in, out and forwarded is dropped.  The
 * rules are stateless (address and port, both ways), so connections to the
 * server that were open before survive.  Kept open besides: DHCPv4 (so the
 * host keeps its address) and IPv6 neighbour discovery (without it no IPv6
 * server is reachable).
 *
 * Enforcement is one nftables table of the agent's own, "inet
 * mamori_isolation", replaced in a single transaction through libnftables;
 * no other table or chain is touched.  A state file in the agent's state
 * dir is the intent: it is written first, and at start the agent makes the
 * table follow it (tables do not survive a reboot; the file does).
 *
 * Only the agent's privileged part may call these (CAP_NET_ADMIN).
 */
#ifndef MAMORI_ISOLATE_H
#define MAMORI_ISOLATE_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "mamori.pb-c.h"

#define MAMORI_ISOLATE_FILE "isolation"      /* in the agent's state dir */
#define MAMORI_ISOLATE_TABLE "mamori_isolation"
#define MAMORI_ISOLATE_PEERS_MAX 16          /* server address:port pairs */
#define MAMORI_ISOLATE_FILE_MAX 4096
#define MAMORI_ISOLATE_RULES_MAX 8192        /* the ruleset text */

struct mamori_isolate_peer {
	int family;                         /* AF_INET or AF_INET6 */
	char addr[INET6_ADDRSTRLEN];        /* numeric, canonical form */
	uint16_t port;
};

/* The servers the host may still reach. */
struct mamori_isolate_target {
	struct mamori_isolate_peer peer[MAMORI_ISOLATE_PEERS_MAX];
	size_t n;
};

/*
 * Adds addr (a numeric IPv4 or IPv6 address, nothing else) and port to t,
 * once.  INVALID for anything that is not a numeric address or port 0,
 * TOO_LARGE past MAMORI_ISOLATE_PEERS_MAX.
 */
int mamori_isolate_target_add(struct mamori_isolate_target *t,
    const char *addr, uint16_t port);

/*
 * Resolves server ("host:port", "[v6]:port", as the agent's configuration
 * names it) and adds each of its addresses to t.  why gets one line on
 * failure.
 */
int mamori_isolate_resolve(const char *server,
    struct mamori_isolate_target *t, char *why, size_t whylen);

/*
 * The nftables text that replaces the table with the isolation rules for
 * t, into a malloc'ed *out (free()).  t must hold at least one peer.
 */
int mamori_isolate_ruleset(const struct mamori_isolate_target *t,
    char **out);

/*
 * Isolates the host: saves the intent in state_dir, then installs the
 * table.  Applying again replaces the table (new addresses, same effect).
 * On failure nothing changed (the state file is put back as it was) and
 * why says what nftables said; ISOLATION.
 */
int mamori_isolate_apply(const char *state_dir,
    const struct mamori_isolate_target *t, char *why, size_t whylen);

/*
 * Releases the host: saves the intent, then deletes the table.  Releasing
 * a host that is not isolated is fine.
 */
int mamori_isolate_release(const char *state_dir, char *why, size_t whylen);

/*
 * Runs a verified ISOLATE_HOST task (resolves server, "host:port" as the
 * agent's state names it, then mamori_isolate_apply) or RELEASE_HOST task
 * (mamori_isolate_release).  INVALID for any other task type.  why gets
 * the line for the task result.
 */
int mamori_isolate_task(const char *state_dir, const char *server,
    const Mamori__TaskBody *body, char *why, size_t whylen);

/*
 * At agent start: makes the table follow the saved intent (reinstalls it
 * from the saved addresses when isolated, deletes it when released).  No
 * state file: nothing is done.  *isolated (may be NULL) tells the intent.
 * A damaged state file is refused with a log line and the table is left
 * as it is (ISOLATION).
 */
int mamori_isolate_restore(const char *state_dir, int *isolated, char *why,
    size_t whylen);

/*
 * Reads the saved intent without touching nftables: *isolated, and the
 * peers into t (may be NULL).  No state file: not isolated.
 */
int mamori_isolate_status(const char *state_dir, int *isolated,
    struct mamori_isolate_target *t);

/* The state file's strict decoder (exported for the fuzz target). */
int mamori_isolate_state_parse(const uint8_t *data, size_t len,
    int *isolated, struct mamori_isolate_target *t);

#endif
