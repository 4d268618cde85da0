/*
 * source.h - event sources of the agent (operation logs), as plugins.
 *
 * A source watches one part of the host (processes, logins, files, network,
 * USB) from inside the agent's event loop and hands each event it sees to
 * ctx->emit.  The agent gives every event its sequence number, writes it to
 * the durable spool, and only then counts it as captured; a source never
 * writes to the network or to the spool itself, never runs a program, and
 * never blocks the loop for long (bounded reads, non-blocking sockets).
 *
 * Memory: events are built with mamori_event_new() and the helpers in
 * event.h; every string is malloc'ed (or left at protobuf_c_empty_string).
 * emit takes ownership of the event in every case, also on failure.
 */
#ifndef MAMORI_SOURCE_H
#define MAMORI_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "mamori.pb-c.h"

#define MAMORI_MAX_WATCH_PATHS 256
#define MAMORI_FILE_HASH_MAX_DEFAULT (64ULL * 1024 * 1024)

/* Takes ownership of ev.  Returns 0 once the event is durably spooled. */
typedef int (*mamori_emit_fn)(void *sink, Mamori__Event *ev);

/* What the operator configured; every field has a default. */
struct mamori_source_options {
	const char *watch[MAMORI_MAX_WATCH_PATHS];  /* file integrity paths,
	                                              * may end in a glob */
	size_t n_watch;
	uint64_t file_hash_max;         /* hash regular files up to this size */
	const char *auth_log;           /* "" = /var/log/auth.log if present,
	                                 * else the systemd journal files */
	const char *uevent_replay;      /* tests: a file of recorded uevents to
	                                 * read instead of the kernel socket */
	unsigned network_poll_ms;       /* how often sockets are compared */
};

struct mamori_usbctl;
struct mamori_agent_yara;

struct mamori_source_ctx {
	struct event_base *base;
	const char *root;               /* prefix for host paths: "" live */
	const char *state_dir;          /* where a source may keep state */
	const struct mamori_source_options *opt;
	mamori_emit_fn emit;
	void *sink;
	struct mamori_usbctl *usbctl;   /* USB device control (usbctl.h), or
	                                 * NULL: the usb source only reports */
	struct mamori_agent_yara *yara; /* the policy's YARA rules
	                                 * (yara_policy.h): the file source has
	                                 * new and changed executables scanned;
	                                 * NULL: no scans */
};

struct mamori_event_source {
	const char *name;               /* "process", "login", "file", ... */
	/* Starts watching; *state is the source's own.  A source that cannot
	 * start (no privilege, kernel feature missing) returns an error with
	 * a log line, and the agent runs without it. */
	int (*start)(const struct mamori_source_ctx *ctx, void **state);
	/* Stops and frees state (NULL allowed). */
	void (*stop)(void *state);
};

/* The sources compiled in (sources.c), as an array of *n pointers. */
const struct mamori_event_source *const *mamori_event_sources(size_t *n);

/* Fills opt with the defaults (the watched paths of the issue: /etc,
 * /usr/bin, /usr/sbin, /usr/local/bin, /root/.ssh, /home/ * /.ssh,
 * /var/spool/cron, /etc/cron.d, /etc/systemd/system). */
void mamori_source_options_default(struct mamori_source_options *opt);

#endif
