/*
 * output.c - the outputs' common part: outputs.json, the shared alert, and
 * for each output a bounded queue drained by its own thread, which calls
 * the output's plugin (jsonl.c, syslog.c, webhook.c) with retries and
 * backoff and keeps the counters `mamori outputs` shows.
 *
 * The event loop's only entry is mamori_outputs_submit: it takes each
 * output's mutex for a few instructions and returns; it must never wait
 * for a queue to empty or a receiver to answer.  Nothing here may touch
 * the store: outputs see alerts only after their transaction committed.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "output_impl.h"
#include "store.h"
#include "util.h"

struct mamori_output {
	struct mamori_outputs *set;
	const struct mamori_output_plugin *plugin;
	void *state;
	char name[MAMORI_OUTPUT_NAME_MAX + 1];
	char target[MAMORI_OUTPUT_TARGET_MAX + 1];
	uint32_t min_severity;
	int repeats;
	unsigned retries;
	unsigned backoff_ms;
	unsigned timeout_s;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started;
	/* Ring of queue_max alerts, under mu. */
	struct mamori_output_alert **ring;
	size_t queue_max, head, count;
	int busy;                   /* one alert taken, being delivered */
	int stop, reopen;
	uint64_t drain_deadline;    /* monotonic ms, once stop is set */
	uint64_t sent, retried, dropped, failed, refused, skipped;
	uint64_t last_sent, last_error_at;
	char last_error[MAMORI_OUTPUT_ERROR_MAX];
	uint64_t logged_at;         /* monotonic ms of the last warning */
	uint64_t not_logged;        /* losses since, not in the log */
};

/* A receiver that is down loses every alert: one log line a minute says so,
 * the counters say the rest. */
#define OUTPUT_LOG_INTERVAL_MS 60000

struct mamori_outputs {
	struct mamori_output *out[MAMORI_OUTPUTS_MAX];
	size_t n;
};

static const struct mamori_output_plugin *const plugins[] = {
	&mamori_output_jsonl,
	&mamori_output_syslog,
	&mamori_output_webhook,
};

static const char *const common_keys[] = {
	"name", "kind", "queue", "min_severity", "repeats", "retries",
	"backoff_ms", "timeout", NULL,
};

/* ---- the shared alert ---------------------------------------------------- */

/* A copy of s ("" for NULL) with each byte that is not UTF-8 replaced by
 * '?': JSON (and a SIEM) takes only text. */
static char *
dup_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p), i = 0, k;
	char *out;

	if ((out = mamori_memdup_str(p, n)) == NULL)
		return NULL;
	while (i < n) {
		if ((k = mamori_utf8_seq(p + i, n - i)) == 0) {
			out[i++] = '?';
			continue;
		}
		i += k;
	}
	return out;
}

/* "2026-11-28T07:20:44.123456789Z" */
static void
rfc3339_ns(uint64_t ns, char out[40])
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		mamori_strlcpy(out, "1970-01-01T00:00:00", 40);
	}
	snprintf(out + strlen(out), 40 - strlen(out), ".%09uZ",
	    (unsigned)(ns % 1000000000ULL));
}

int
mamori_output_alert_new(const struct mamori_output_alert_info *info,
    struct mamori_output_alert **out)
{
	struct mamori_output_alert *a = NULL;
	json_t *o = NULL, *detail = NULL;
	char when[40];
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	if (info->agent_id == NULL || info->rule == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto out;
	a->refs = 1;
	a->id = info->id;
	a->severity = info->severity;
	a->repeat = info->repeat != 0;
	a->time_ns = info->time_ns;
	if ((a->agent_id = dup_text(info->agent_id)) == NULL ||
	    (a->host = dup_text(info->host)) == NULL ||
	    (a->rule = dup_text(info->rule)) == NULL ||
	    (a->source = dup_text(mamori_alert_source_name(
	    info->source))) == NULL)
		goto out;
	if (info->detail_json != NULL)
		detail = json_loads(info->detail_json, 0, NULL);
	if (detail != NULL && !json_is_object(detail)) {
		json_decref(detail);
		detail = NULL;
	}
	rfc3339_ns(info->time_ns, when);
	/* s? copies, so agent-supplied text is escaped by jansson. */
	o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:b, "
	    "s:o}", "id", (json_int_t)info->id, "time", when,
	    "time_ns", (json_int_t)info->time_ns, "agent_id", a->agent_id,
	    "host", a->host, "source", a->source, "rule", a->rule,
	    "severity", mamori_alert_severity_name(info->severity),
	    "seq", (json_int_t)info->seq, "repeat", a->repeat,
	    "detail", detail != NULL ? detail : json_object());
	detail = NULL;              /* s:o took it, or freed it on failure */
	if (o == NULL)
		goto out;
	/* ASCII only: syslog's MSG then needs no BOM, and no receiver can
	 * misread the encoding. */
	if ((a->json = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) ==
	    NULL)
		goto out;
	a->json_len = strlen(a->json);
	if (a->json_len > MAMORI_OUTPUT_ALERT_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
out:
	json_decref(o);
	json_decref(detail);
	mamori_output_alert_release(a);
	return r;
}

void
mamori_output_alert_hold(struct mamori_output_alert *a)
{
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
}

void
mamori_output_alert_release(struct mamori_output_alert *a)
{
	if (a == NULL)
		return;
	if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(a->agent_id);
	free(a->host);
	free(a->rule);
	free(a->source);
	free(a->json);
	free(a);
}

/* ---- configuration ------------------------------------------------------- */

static int
cfg_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfg_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return MAMORI_ERR_OUTPUT_CONFIG;
}

int
mamori_output_cfg_str(const json_t *cfg, const char *key, size_t max,
    const char **out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(cfg, key);
	const char *s;
	size_t i, len;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return cfg_fail(why, whylen, "\"%s\" must be a string", key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > max || strlen(s) != len)
		return cfg_fail(why, whylen, "\"%s\" must be 1 to %zu bytes",
		    key, max);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_fail(why, whylen, "\"%s\" holds a control "
			    "character", key);
	*out = s;
	return 0;
}

static int
cfg_uint(const json_t *cfg, const char *key, uint64_t min, uint64_t max,
    uint64_t *out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(cfg, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return cfg_fail(why, whylen, "\"%s\" must be an integer from "
		    "%llu to %llu", key, (unsigned long long)min,
		    (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
key_known(const char *key, const char *const *keys)
{
	size_t i;

	for (i = 0; keys != NULL && keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return 1;
	return 0;
}

static void output_free(struct mamori_output *o);

static int
output_new(const json_t *cfg, size_t index, struct mamori_output **out,
    char *why, size_t whylen)
{
	struct mamori_output *o = NULL;
	const struct mamori_output_plugin *p = NULL;
	const char *kind, *name, *key, *sev;
	const json_t *v;
	uint64_t queue = MAMORI_OUTPUT_QUEUE_DEFAULT;
	uint64_t retries = MAMORI_OUTPUT_RETRIES_DEFAULT;
	uint64_t backoff = MAMORI_OUTPUT_BACKOFF_MS;
	uint64_t timeout = MAMORI_OUTPUT_TIMEOUT_DEFAULT;
	char sub[200];
	size_t i;
	int r;

	*out = NULL;
	if (!json_is_object(cfg))
		return cfg_fail(why, whylen, "outputs[%zu] is not an object",
		    index);
	if ((r = mamori_output_cfg_str(cfg, "kind", 32, &kind, sub,
	    sizeof(sub))) != 0 || kind == NULL)
		return cfg_fail(why, whylen, "outputs[%zu]: %s", index,
		    kind == NULL && r == 0 ? "\"kind\" is required (jsonl, "
		    "syslog or webhook)" : sub);
	for (i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++)
		if (strcmp(plugins[i]->kind, kind) == 0)
			p = plugins[i];
	if (p == NULL)
		return cfg_fail(why, whylen, "outputs[%zu]: unknown kind "
		    "\"%.32s\" (jsonl, syslog or webhook)", index, kind);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return MAMORI_ERR_ALLOC;
	o->plugin = p;
	if ((r = mamori_output_cfg_str(cfg, "name", MAMORI_OUTPUT_NAME_MAX,
	    &name, sub, sizeof(sub))) != 0) {
		r = cfg_fail(why, whylen, "outputs[%zu]: %s", index, sub);
		goto out;
	}
	if (name != NULL)
		mamori_strlcpy(o->name, name, sizeof(o->name));
	else
		snprintf(o->name, sizeof(o->name), "%s-%zu", kind, index + 1);
	json_object_foreach((json_t *)(uintptr_t)cfg, key, v) {
		if (!key_known(key, common_keys) && !key_known(key, p->keys)) {
			r = cfg_fail(why, whylen, "output %s: unknown key "
			    "\"%.64s\"", o->name, key);
			goto out;
		}
	}
	o->min_severity = MAMORI_SEVERITY_INFORMATIONAL;
	if ((r = cfg_uint(cfg, "queue", 1, MAMORI_OUTPUT_QUEUE_MAX, &queue,
	    sub, sizeof(sub))) != 0 ||
	    (r = cfg_uint(cfg, "retries", 0, MAMORI_OUTPUT_RETRIES_MAX,
	    &retries, sub, sizeof(sub))) != 0 ||
	    (r = cfg_uint(cfg, "backoff_ms", 1, MAMORI_OUTPUT_BACKOFF_MAX_MS,
	    &backoff, sub, sizeof(sub))) != 0 ||
	    (r = cfg_uint(cfg, "timeout", 1, MAMORI_OUTPUT_TIMEOUT_MAX,
	    &timeout, sub, sizeof(sub))) != 0 ||
	    (r = mamori_output_cfg_str(cfg, "min_severity", 32, &sev, sub,
	    sizeof(sub))) != 0) {
		r = cfg_fail(why, whylen, "output %s: %s", o->name, sub);
		goto out;
	}
	if (sev != NULL && mamori_alert_severity_parse(sev,
	    &o->min_severity) != 0) {
		r = cfg_fail(why, whylen, "output %s: \"min_severity\" must be "
		    "informational, low, medium, high or critical", o->name);
		goto out;
	}
	if ((v = json_object_get(cfg, "repeats")) != NULL) {
		if (!json_is_boolean(v)) {
			r = cfg_fail(why, whylen, "output %s: \"repeats\" must "
			    "be true or false", o->name);
			goto out;
		}
		o->repeats = json_is_true(v);
	}
	o->queue_max = (size_t)queue;
	o->retries = (unsigned)retries;
	o->backoff_ms = (unsigned)backoff;
	o->timeout_s = (unsigned)timeout;
	if ((r = p->configure(cfg, o->timeout_s, &o->state, o->target,
	    sizeof(o->target), sub, sizeof(sub))) != 0) {
		if (r == MAMORI_ERR_OUTPUT_CONFIG)
			r = cfg_fail(why, whylen, "output %s: %s", o->name,
			    sub);
		goto out;
	}
	if ((o->ring = calloc(o->queue_max, sizeof(*o->ring))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	output_free(o);
	return r;
}

int
mamori_outputs_parse(const char *text, size_t len,
    struct mamori_outputs **out, char *why, size_t whylen)
{
	struct mamori_outputs *set = NULL;
	json_error_t jerr;
	json_t *root = NULL, *arr, *v;
	const char *key;
	size_t i, k;
	int r = MAMORI_ERR_OUTPUT_CONFIG;

	*out = NULL;
	if (len > MAMORI_OUTPUT_CONFIG_MAX) {
		r = cfg_fail(why, whylen, "larger than %d bytes",
		    MAMORI_OUTPUT_CONFIG_MAX);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		r = cfg_fail(why, whylen, "not JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		r = cfg_fail(why, whylen, "must be an object "
		    "{\"outputs\": [...]}");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "outputs") != 0) {
			r = cfg_fail(why, whylen, "unknown key \"%.64s\" (only "
			    "\"outputs\")", key);
			goto out;
		}
	}
	arr = json_object_get(root, "outputs");
	if (!json_is_array(arr)) {
		r = cfg_fail(why, whylen, "\"outputs\" must be an array");
		goto out;
	}
	if (json_array_size(arr) > MAMORI_OUTPUTS_MAX) {
		r = cfg_fail(why, whylen, "more than %d outputs",
		    MAMORI_OUTPUTS_MAX);
		goto out;
	}
	if (json_array_size(arr) == 0) {
		r = 0;
		goto out;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((r = output_new(v, i, &set->out[set->n], why, whylen)) != 0)
			goto out;
		set->out[set->n]->set = set;
		for (k = 0; k < set->n; k++) {
			if (strcmp(set->out[k]->name,
			    set->out[set->n]->name) == 0) {
				r = cfg_fail(why, whylen, "two outputs are "
				    "named %s", set->out[k]->name);
				set->n++;
				goto out;
			}
		}
		set->n++;
	}
	*out = set;
	set = NULL;
	r = 0;
out:
	json_decref(root);
	mamori_outputs_free(set);
	return r;
}

int
mamori_outputs_load(const char *path, struct mamori_outputs **out,
    char *why, size_t whylen)
{
	struct mamori_buf b;
	int r;

	*out = NULL;
	mamori_buf_init(&b, MAMORI_OUTPUT_CONFIG_MAX + 1);
	r = mamori_buf_read_file(&b, path);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r != 0) {
		snprintf(why, whylen, "cannot read it: %s", mamori_strerror(r));
		r = MAMORI_ERR_OUTPUT_CONFIG;
		goto out;
	}
	r = mamori_outputs_parse((const char *)b.data, b.len, out, why,
	    whylen);
out:
	mamori_buf_free(&b);
	return r;
}

/* ---- the output's thread ------------------------------------------------- */

static void
set_error(struct mamori_output *o, const char *err)
{
	mamori_strlcpy(o->last_error, err, sizeof(o->last_error));
	o->last_error_at = mamori_now();
}

/* Waits on o->cv until the monotonic deadline (ms) or a signal; mu held. */
static void
wait_until(struct mamori_output *o, uint64_t deadline_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	(void)pthread_cond_timedwait(&o->cv, &o->mu, &ts);
}

/* Whether a lost alert should be logged now (at most once per
 * OUTPUT_LOG_INTERVAL_MS); *skipped gets how many were not since.  mu
 * held: the caller logs after unlocking, so a slow log never holds up
 * mamori_outputs_submit. */
static int
loss_to_log(struct mamori_output *o, uint64_t *skipped)
{
	uint64_t now = mamori_monotonic_ms();

	if (o->logged_at != 0 && now - o->logged_at < OUTPUT_LOG_INTERVAL_MS) {
		o->not_logged++;
		return 0;
	}
	*skipped = o->not_logged;
	o->logged_at = now;
	o->not_logged = 0;
	return 1;
}

/* Delivers a, retrying with backoff; counts the outcome.  mu not held. */
static void
deliver_one(struct mamori_output *o, const struct mamori_output_alert *a)
{
	char err[MAMORI_OUTPUT_ERROR_MAX], more[80];
	uint64_t delay = o->backoff_ms, until, skipped = 0;
	unsigned attempt = 0;
	int r, log_it;

	for (;;) {
		err[0] = '\0';
		r = o->plugin->deliver(o->state, a, err, sizeof(err));
		pthread_mutex_lock(&o->mu);
		if (r == 0) {
			o->sent++;
			o->last_sent = mamori_now();
			pthread_mutex_unlock(&o->mu);
			return;
		}
		if (err[0] == '\0')
			mamori_strlcpy(err, mamori_strerror(r), sizeof(err));
		set_error(o, err);
		if (r == MAMORI_ERR_OUTPUT_REFUSED || attempt >= o->retries ||
		    (o->stop && mamori_monotonic_ms() >= o->drain_deadline)) {
			if (r == MAMORI_ERR_OUTPUT_REFUSED)
				o->refused++;
			else
				o->failed++;
			log_it = loss_to_log(o, &skipped);
			pthread_mutex_unlock(&o->mu);
			if (!log_it)
				return;
			more[0] = '\0';
			if (skipped > 0)
				snprintf(more, sizeof(more), " (and %llu more "
				    "lost since the last such line)",
				    (unsigned long long)skipped);
			if (r == MAMORI_ERR_OUTPUT_REFUSED)
				log_warn("output %s: alert %llu refused: %s%s",
				    o->name, (unsigned long long)a->id, err,
				    more);
			else
				log_warn("output %s: alert %llu not delivered "
				    "after %u attempts: %s%s", o->name,
				    (unsigned long long)a->id, attempt + 1, err,
				    more);
			return;
		}
		attempt++;
		o->retried++;
		until = mamori_monotonic_ms() + delay;
		while (mamori_monotonic_ms() < until && !(o->stop &&
		    mamori_monotonic_ms() >= o->drain_deadline))
			wait_until(o, o->stop && o->drain_deadline < until ?
			    o->drain_deadline : until);
		pthread_mutex_unlock(&o->mu);
		delay = delay * 2 > MAMORI_OUTPUT_BACKOFF_MAX_MS ?
		    MAMORI_OUTPUT_BACKOFF_MAX_MS : delay * 2;
	}
}

static void *
output_thread(void *arg)
{
	struct mamori_output *o = arg;
	struct mamori_output_alert *a;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (o->count == 0 && !o->stop && !o->reopen)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->reopen) {
			o->reopen = 0;
			pthread_mutex_unlock(&o->mu);
			if (o->plugin->reopen != NULL)
				o->plugin->reopen(o->state);
			pthread_mutex_lock(&o->mu);
			continue;
		}
		if (o->count == 0)
			break;          /* stopping, and nothing left */
		if (o->stop && mamori_monotonic_ms() >= o->drain_deadline) {
			/* Out of time at shutdown: count what is left. */
			o->dropped += o->count;
			while (o->count > 0) {
				mamori_output_alert_release(o->ring[o->head]);
				o->ring[o->head] = NULL;
				o->head = (o->head + 1) % o->queue_max;
				o->count--;
			}
			break;
		}
		a = o->ring[o->head];
		o->ring[o->head] = NULL;
		o->head = (o->head + 1) % o->queue_max;
		o->count--;
		o->busy = 1;
		pthread_mutex_unlock(&o->mu);
		deliver_one(o, a);
		mamori_output_alert_release(a);
		pthread_mutex_lock(&o->mu);
		o->busy = 0;
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static int
output_start(struct mamori_output *o)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (pthread_condattr_init(&ca) != 0)
		return MAMORI_ERR_SYSTEM;
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&o->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0)
		return MAMORI_ERR_SYSTEM;
	if (pthread_mutex_init(&o->mu, NULL) != 0) {
		pthread_cond_destroy(&o->cv);
		return MAMORI_ERR_SYSTEM;
	}
	/* Signals are the event loop's: the thread starts with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&o->thread, NULL, output_thread, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		pthread_cond_destroy(&o->cv);
		pthread_mutex_destroy(&o->mu);
		return MAMORI_ERR_SYSTEM;
	}
	o->started = 1;
	return 0;
}

static void
output_free(struct mamori_output *o)
{
	size_t i;

	if (o == NULL)
		return;
	if (o->started) {
		pthread_mutex_lock(&o->mu);
		o->stop = 1;
		o->drain_deadline = mamori_monotonic_ms() +
		    MAMORI_OUTPUT_DRAIN_MS;
		pthread_cond_broadcast(&o->cv);
		pthread_mutex_unlock(&o->mu);
		pthread_join(o->thread, NULL);
		if (o->dropped + o->failed > 0)
			log_warn("output %s: %llu alerts dropped, %llu failed "
			    "since start", o->name,
			    (unsigned long long)o->dropped,
			    (unsigned long long)o->failed);
		pthread_cond_destroy(&o->cv);
		pthread_mutex_destroy(&o->mu);
	}
	for (i = 0; o->ring != NULL && i < o->queue_max; i++)
		mamori_output_alert_release(o->ring[i]);
	free(o->ring);
	if (o->state != NULL)
		o->plugin->destroy(o->state);
	free(o);
}

/* ---- the set ------------------------------------------------------------- */

int
mamori_outputs_start(struct mamori_outputs *set)
{
	size_t i;
	int r;

	if (set == NULL)
		return 0;
	for (i = 0; i < set->n; i++) {
		if ((r = output_start(set->out[i])) != 0)
			return r;
		log_info("output %s: %s to %s (queue %zu)", set->out[i]->name,
		    set->out[i]->plugin->kind, set->out[i]->target,
		    set->out[i]->queue_max);
	}
	return 0;
}

void
mamori_outputs_submit(struct mamori_outputs *set,
    struct mamori_output_alert *a)
{
	struct mamori_output *o;
	size_t i;

	if (set == NULL || a == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		o = set->out[i];
		if (!o->started)
			continue;
		pthread_mutex_lock(&o->mu);
		if (a->severity < o->min_severity ||
		    (a->repeat && !o->repeats)) {
			o->skipped++;
		} else if (o->count >= o->queue_max || o->stop) {
			o->dropped++;
		} else {
			mamori_output_alert_hold(a);
			o->ring[(o->head + o->count) % o->queue_max] = a;
			o->count++;
			pthread_cond_signal(&o->cv);
		}
		pthread_mutex_unlock(&o->mu);
	}
}

void
mamori_outputs_count_dropped(struct mamori_outputs *set, uint64_t n)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		if (!set->out[i]->started)
			continue;
		pthread_mutex_lock(&set->out[i]->mu);
		set->out[i]->dropped += n;
		pthread_mutex_unlock(&set->out[i]->mu);
	}
}

void
mamori_outputs_reopen(struct mamori_outputs *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		if (!set->out[i]->started || set->out[i]->plugin->reopen ==
		    NULL)
			continue;
		pthread_mutex_lock(&set->out[i]->mu);
		set->out[i]->reopen = 1;
		pthread_cond_signal(&set->out[i]->cv);
		pthread_mutex_unlock(&set->out[i]->mu);
	}
}

size_t
mamori_outputs_count(const struct mamori_outputs *set)
{
	return set == NULL ? 0 : set->n;
}

int
mamori_outputs_stats(struct mamori_outputs *set, size_t i,
    struct mamori_output_stats *st)
{
	struct mamori_output *o;

	memset(st, 0, sizeof(*st));
	if (set == NULL || i >= set->n)
		return MAMORI_ERR_NOT_FOUND;
	o = set->out[i];
	mamori_strlcpy(st->name, o->name, sizeof(st->name));
	st->kind = o->plugin->kind;
	mamori_strlcpy(st->target, o->target, sizeof(st->target));
	st->queue_max = o->queue_max;
	if (o->started)
		pthread_mutex_lock(&o->mu);
	st->queued = o->count + (o->busy ? 1 : 0);
	st->sent = o->sent;
	st->retried = o->retried;
	st->dropped = o->dropped;
	st->failed = o->failed;
	st->refused = o->refused;
	st->skipped = o->skipped;
	st->last_sent = o->last_sent;
	st->last_error_at = o->last_error_at;
	mamori_strlcpy(st->last_error, o->last_error, sizeof(st->last_error));
	if (o->started)
		pthread_mutex_unlock(&o->mu);
	return 0;
}

void
mamori_outputs_free(struct mamori_outputs *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		output_free(set->out[i]);
	free(set);
}

/* ---- helpers for plugins ------------------------------------------------- */

int
mamori_output_host_port(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return MAMORI_ERR_INVALID;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return MAMORI_ERR_INVALID;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen ||
	    mamori_parse_u64(colon + 1, 1, 65535, &p) != 0)
		return MAMORI_ERR_INVALID;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int
mamori_output_connect(const char *host, uint16_t port, int type,
    unsigned timeout_s, int *fd, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {(time_t)timeout_s, 0};
	char service[8];
	int s = -1, g, e = 0, r = MAMORI_ERR_IO;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	if ((g = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(g));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (s < 0) {
			e = errno;
			continue;
		}
		/* On Linux SO_SNDTIMEO also bounds a blocking connect. */
		(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(s);
		s = -1;
	}
	if (s < 0) {
		snprintf(err, errlen, "cannot connect to %s port %u: %s", host,
		    (unsigned)port, e == EINPROGRESS ? "timed out" :
		    strerror(e));
		goto out;
	}
	*fd = s;
	r = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}
