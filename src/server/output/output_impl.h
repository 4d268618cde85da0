/*
 * output_impl.h - what an output plugin provides (output.c runs it): a
 * descriptor with its kind, its configuration keys, and callbacks that run
 * on the output's own thread.  Only output.c and the plugins include this.
 *
 * deliver() gets one alert and returns 0 when the receiver has it,
 * MAMORI_ERR_OUTPUT_REFUSED when the receiver said no for good (not
 * retried), any other error when it may work later (retried with backoff).
 * It writes a one-line reason into err.  It must never wait longer than the
 * output's timeout on one network step.
 */
#ifndef MAMORI_OUTPUT_IMPL_H
#define MAMORI_OUTPUT_IMPL_H

#include <jansson.h>

#include "output.h"

struct mamori_output;

struct mamori_output_plugin {
	const char *kind;
	/* Keys this kind takes beside the common ones, NULL-terminated. */
	const char *const *keys;
	/* Reads the kind's keys of cfg; sets *state and target (a path,
	 * address or URL for `mamori outputs`). */
	int (*configure)(const json_t *cfg, unsigned timeout_s, void **state,
	    char *target, size_t targetlen, char *why, size_t whylen);
	int (*deliver)(void *state, const struct mamori_output_alert *a,
	    char *err, size_t errlen);
	/* Called on the output's thread after a reopen request (may be NULL). */
	void (*reopen)(void *state);
	void (*destroy)(void *state);
};

extern const struct mamori_output_plugin mamori_output_jsonl;
extern const struct mamori_output_plugin mamori_output_syslog;
extern const struct mamori_output_plugin mamori_output_webhook;

/* Helpers for plugins (output.c). */
/* A string member of cfg, or NULL when absent; MAMORI_ERR_OUTPUT_CONFIG
 * (with why) when present and not a non-empty string of at most max
 * bytes without control characters. */
int mamori_output_cfg_str(const json_t *cfg, const char *key, size_t max,
    const char **out, char *why, size_t whylen);
/* Splits "host:port" / "[v6]:port" into host and port. */
int mamori_output_host_port(const char *s, char *host, size_t hostlen,
    uint16_t *port);
/* Connects a socket of type to host:port within timeout_s seconds, with
 * send and receive timeouts of timeout_s set; *fd, or an error with err. */
int mamori_output_connect(const char *host, uint16_t port, int type,
    unsigned timeout_s, int *fd, char *err, size_t errlen);

#endif
