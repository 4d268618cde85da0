/*
 * output.h - where the server sends its alerts: a JSON lines file, syslog
 * (RFC 5424 over UDP, TCP or a unix socket) and HTTPS webhooks, each one
 * configured in HOME/outputs.json.
 *
 * Every output has its own bounded queue and its own thread.  The event
 * loop only hands alerts over (mamori_outputs_submit): it takes a short
 * lock per output and never waits for a receiver, so an output that is
 * down never slows ingestion.  An alert that finds its output's queue full
 * is counted as dropped; one that could not be delivered after the
 * output's retries as failed; one the receiver refused (HTTP 4xx) as
 * refused.  No loss is silent: the counters are in `mamori outputs`.
 *
 * Alerts are handed over only after the transaction that stored them
 * committed (session.c), so an output never reports an alert the store
 * does not have.  By default only new alerts are sent; a repeat inside the
 * store's dedup window (which only bumps the stored alert's count) is sent
 * only by outputs configured with "repeats": true.
 *
 * Never: block the caller of mamori_outputs_submit on a receiver, follow
 * an HTTP redirect, or send a webhook without verifying the receiver's
 * certificate and name.
 */
#ifndef MAMORI_OUTPUT_H
#define MAMORI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MAMORI_OUTPUTS_MAX 16               /* outputs in outputs.json */
#define MAMORI_OUTPUT_CONFIG_MAX (64 * 1024) /* bytes of outputs.json */
#define MAMORI_OUTPUT_NAME_MAX 64           /* bytes of an output's name */
#define MAMORI_OUTPUT_TARGET_MAX 1024       /* bytes of a path, address, URL */
#define MAMORI_OUTPUT_ERROR_MAX 256         /* bytes of the last error */
#define MAMORI_OUTPUT_QUEUE_DEFAULT 10000   /* alerts waiting per output */
#define MAMORI_OUTPUT_QUEUE_MAX 1000000
#define MAMORI_OUTPUT_RETRIES_DEFAULT 5     /* attempts after the first */
#define MAMORI_OUTPUT_RETRIES_MAX 100
#define MAMORI_OUTPUT_BACKOFF_MS 500        /* first retry delay, doubling */
#define MAMORI_OUTPUT_BACKOFF_MAX_MS 60000  /* longest retry delay */
#define MAMORI_OUTPUT_TIMEOUT_DEFAULT 10    /* seconds for a network step */
#define MAMORI_OUTPUT_TIMEOUT_MAX 300
#define MAMORI_OUTPUT_DRAIN_MS 2000         /* at shutdown, to empty queues */
#define MAMORI_OUTPUT_HEADERS_MAX 16        /* extra webhook headers */
#define MAMORI_OUTPUT_HEADER_MAX 1024       /* bytes of one header line */
#define MAMORI_OUTPUT_ALERT_MAX (256 * 1024) /* bytes of one JSON alert */

/* Syslog limits (RFC 5424 section 6). */
#define MAMORI_SYSLOG_HOSTNAME_MAX 255
#define MAMORI_SYSLOG_APPNAME_MAX 48
#define MAMORI_SYSLOG_PROCID_MAX 128
#define MAMORI_SYSLOG_MSGID_MAX 32
#define MAMORI_SYSLOG_SDNAME_MAX 32
#define MAMORI_SYSLOG_LENGTH_MIN 480        /* RFC 5426: every receiver */
#define MAMORI_SYSLOG_LENGTH_MAX 65000      /* fits one UDP datagram */
#define MAMORI_SYSLOG_LENGTH_UDP 2048       /* default for datagrams */
#define MAMORI_SYSLOG_LENGTH_STREAM 65000   /* default for TCP, unix stream */
#define MAMORI_SYSLOG_SD_ID "mamori@32473"  /* RFC 5612 documentation PEN */

/*
 * One alert as the outputs see it, shared by every output's queue and
 * freed when the last one is done with it (reference counted, immutable
 * once submitted).  json is the JSON alert (ASCII: non-ASCII text is
 * escaped), what the JSON lines file, the syslog MSG and the webhook body
 * carry; the other fields feed syslog's header and structured data.
 */
struct mamori_output_alert {
	int refs;                   /* atomically updated */
	uint64_t id;                /* the store's alert id */
	uint32_t severity;          /* enum mamori_alert_severity */
	int repeat;                 /* 1: a repeat in the dedup window */
	uint64_t time_ns;           /* the triggering event's time */
	char *agent_id;
	char *host;                 /* agent's hostname, "" when unknown */
	char *rule;
	char *source;               /* "sigma", "indicator", "yara" */
	char *json;
	size_t json_len;
};

/* What the server knows of one raised alert (detect.c, session.c). */
struct mamori_output_alert_info {
	uint64_t id;
	const char *agent_id;
	const char *host;           /* NULL or "": unknown */
	uint32_t source;
	const char *rule;
	uint32_t severity;
	uint64_t time_ns;
	uint64_t seq;
	int repeat;
	const char *detail_json;    /* the detail object the store keeps */
};

/* Makes the shared alert (refs 1) with its JSON text:
 * {"id","time","time_ns","agent_id","host","source","rule","severity",
 *  "seq","repeat","detail"}.  *out owned by the caller: release it. */
int mamori_output_alert_new(const struct mamori_output_alert_info *info,
    struct mamori_output_alert **out);
void mamori_output_alert_hold(struct mamori_output_alert *a);
/* Drops one reference; frees at the last.  Accepts NULL. */
void mamori_output_alert_release(struct mamori_output_alert *a);

struct mamori_outputs;

/* Counters of one output, for `mamori outputs`. */
struct mamori_output_stats {
	char name[MAMORI_OUTPUT_NAME_MAX + 1];
	const char *kind;           /* "jsonl", "syslog", "webhook" */
	char target[MAMORI_OUTPUT_TARGET_MAX + 1];
	size_t queued, queue_max;
	uint64_t sent, retried, dropped, failed, refused, skipped;
	uint64_t last_sent;         /* seconds since the epoch; 0: never */
	char last_error[MAMORI_OUTPUT_ERROR_MAX];
	uint64_t last_error_at;     /* seconds since the epoch; 0: never */
};

/* Parses an outputs.json text: 0, or MAMORI_ERR_OUTPUT_CONFIG with one
 * line in why naming the output and the key at fault.  Starts nothing;
 * *out (NULL when there is no output) is freed with mamori_outputs_free. */
int mamori_outputs_parse(const char *text, size_t len,
    struct mamori_outputs **out, char *why, size_t whylen);
/* Reads path with mamori_outputs_parse; a missing file is no outputs
 * (*out NULL, 0). */
int mamori_outputs_load(const char *path, struct mamori_outputs **out,
    char *why, size_t whylen);
/* Starts each output's thread.  NULL is no outputs. */
int mamori_outputs_start(struct mamori_outputs *o);
/* Hands a (committed) alert to every output whose filter takes it; never
 * blocks on a receiver.  The caller keeps its reference. */
void mamori_outputs_submit(struct mamori_outputs *o,
    struct mamori_output_alert *a);
/* Counts n alerts lost before they reached the queues (the server could
 * not hold them until their commit) as dropped by every output. */
void mamori_outputs_count_dropped(struct mamori_outputs *o, uint64_t n);
/* Asks file outputs to reopen their files (SIGHUP). */
void mamori_outputs_reopen(struct mamori_outputs *o);
size_t mamori_outputs_count(const struct mamori_outputs *o);
int mamori_outputs_stats(struct mamori_outputs *o, size_t i,
    struct mamori_output_stats *out);
/* Stops the threads, giving them MAMORI_OUTPUT_DRAIN_MS to empty their
 * queues (what is left is counted as dropped), and frees.  NULL is fine. */
void mamori_outputs_free(struct mamori_outputs *o);

/*
 * RFC 5424 message for alert a: "<PRI>1 TIMESTAMP HOSTNAME APP PROCID
 * MSGID [SD-ID id= rule= severity= host= agent= source=] JSON".  now_us is
 * the timestamp (microseconds since the epoch); hostname, app and msgid
 * are cut to their RFC limits, characters outside printable US-ASCII
 * replaced by '?' and empty ones written as the NILVALUE "-".  SD-PARAM
 * values escape '"', '\' and ']' with a backslash, and control characters
 * and invalid UTF-8 become '?'.  The message is cut to max_len bytes
 * (the MSG part only: header and structured data are always whole, and
 * MAMORI_ERR_TOO_LARGE when they alone do not fit).  out is reset first.
 */
struct mamori_buf;
int mamori_syslog_format(const struct mamori_output_alert *a,
    unsigned facility, uint64_t now_us, const char *hostname,
    const char *app, unsigned long procid, const char *sd_id,
    size_t max_len, struct mamori_buf *out);
/* Syslog severity for an alert severity (critical 2 ... informational 6). */
unsigned mamori_syslog_severity(uint32_t alert_severity);

#endif
