/*
 * yara_policy.c - the fleet policy's YARA sets on the agent: compiled per
 * policy into one reference-counted generation, shared with task workers,
 * and applied by one scanner thread to the executables the file source
 * saw created or changed (see yara_policy.h).
 *
 * Everything scanned is hostile: the file is opened without following a
 * link and without blocking, checked to be a regular executable within
 * MAMORI_AGENT_YARA_FILE_MAX, read into memory (never mapped: a file cut
 * short meanwhile must not kill the agent with SIGBUS), and the hash in
 * the event is of exactly the bytes the rules saw.  This file must never
 * block the event loop on a scan, never scan with rules that did not come
 * from a verified policy, and never free a generation a scan still holds.
 */
#include "yara_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "util.h"

#define YARA_TAGS_MAX 32                /* tags copied into one event */
#define YARA_DONE_MAX 1024              /* events waiting for the loop */

struct mamori_yara_generation {
	unsigned refs;                  /* under the holder's lock */
	pthread_mutex_t *lock;          /* the holder's */
	mamori_yara_rules_t *rules;
};

struct scan_item {
	struct scan_item *next;
	char *disk_path;
	char *host_path;
};

struct done_item {
	struct done_item *next;
	Mamori__Event *ev;
};

struct mamori_agent_yara {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mamori_yara_generation *current;
	int yara_started;
	/* scanner */
	struct event_base *base;
	mamori_agent_yara_emit_fn emit;
	void *ctx;
	pthread_t thread;
	int started, stop;
	struct scan_item *head, *tail;
	size_t queued;
	struct done_item *done, *done_tail;
	size_t n_done;
	int notify[2];
	struct event *notify_ev;
	struct mamori_agent_yara_stats stats;
	int warned_busy;
};

/* ---- generations ---------------------------------------------------------- */

static void
generation_drop(struct mamori_yara_generation *g)
{
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(g->lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(g->lock);
	if (last) {
		mamori_yara_rules_free(g->rules);
		free(g);
	}
}

const mamori_yara_rules_t *
mamori_agent_yara_hold(struct mamori_agent_yara *y,
    struct mamori_yara_generation **gen)
{
	struct mamori_yara_generation *g;

	*gen = NULL;
	if (y == NULL)
		return NULL;
	pthread_mutex_lock(&y->lock);
	if ((g = y->current) != NULL)
		g->refs++;
	pthread_mutex_unlock(&y->lock);
	*gen = g;
	return g != NULL ? g->rules : NULL;
}

void
mamori_agent_yara_release(struct mamori_yara_generation *gen)
{
	generation_drop(gen);
}

size_t
mamori_agent_yara_rule_count(struct mamori_agent_yara *y)
{
	struct mamori_yara_generation *g;
	const mamori_yara_rules_t *rules;
	size_t n;

	rules = mamori_agent_yara_hold(y, &g);
	n = mamori_yara_rules_count(rules);
	mamori_agent_yara_release(g);
	return n;
}

/* One line of why a set does not compile, from the compiler's messages. */
static void
first_error(const struct mamori_yara_messages *m, int r, char *why,
    size_t why_len)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!m->items[i].is_warning) {
			if (m->items[i].line > 0)
				snprintf(why, why_len, "line %d: %s",
				    m->items[i].line, m->items[i].text);
			else
				snprintf(why, why_len, "%s", m->items[i].text);
			return;
		}
	snprintf(why, why_len, "%s", mamori_strerror(r));
}

int
mamori_agent_yara_apply(struct mamori_agent_yara *y,
    Mamori__PolicyYaraSet *const *sets, size_t n,
    mamori_agent_yara_skip_fn skip, void *ctx, size_t *applied)
{
	struct mamori_yara_source *src = NULL;
	const char **ns = NULL;
	struct mamori_yara_messages msgs;
	struct mamori_yara_generation *g = NULL, *old;
	mamori_yara_rules_t *rules = NULL;
	char why[MAMORI_AGENT_YARA_WHY_MAX];
	size_t i, ok = 0;
	int r = MAMORI_ERR_ALLOC, cr;

	memset(&msgs, 0, sizeof(msgs));
	if (applied != NULL)
		*applied = 0;
	if (n > 0 && ((src = calloc(n, sizeof(*src))) == NULL ||
	    (ns = calloc(n, sizeof(*ns))) == NULL))
		goto out;
	for (i = 0; i < n; i++) {
		struct mamori_yara_source one;

		one.name = sets[i]->name;
		one.text = sets[i]->source;
		one.len = strlen(sets[i]->source);
		cr = mamori_yara_compile(&one, 1, &rules, &msgs);
		mamori_yara_rules_free(rules);
		rules = NULL;
		if (cr == MAMORI_ERR_ALLOC)
			goto out;
		if (cr != 0) {
			first_error(&msgs, cr, why, sizeof(why));
			log_warn("yara: set %s skipped: %s", sets[i]->name, why);
			if (skip != NULL)
				skip(ctx, sets[i]->name, why);
		} else {
			src[ok] = one;
			ns[ok++] = sets[i]->name;
		}
		mamori_yara_messages_free(&msgs);
	}
	r = 0;
	if (ok > 0) {
		if ((r = mamori_yara_compile_ns(src, ns, ok, &rules,
		    &msgs)) != 0) {
			first_error(&msgs, r, why, sizeof(why));
			log_error("yara: the policy's sets do not compile "
			    "together: %s; no YARA rules in force", why);
			if (skip != NULL)
				skip(ctx, "(all)", why);
			ok = 0;
		} else if ((g = calloc(1, sizeof(*g))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		} else {
			g->refs = 1;
			g->lock = &y->lock;
			g->rules = rules;
			rules = NULL;
		}
	}
	pthread_mutex_lock(&y->lock);
	old = y->current;
	y->current = g;
	pthread_mutex_unlock(&y->lock);
	generation_drop(old);
	if (g != NULL)
		log_info("yara: %zu set%s, %zu rules in force", ok,
		    ok == 1 ? "" : "s", mamori_yara_rules_count(g->rules));
	g = NULL;
	if (applied != NULL)
		*applied = ok;
out:
	mamori_yara_messages_free(&msgs);
	mamori_yara_rules_free(rules);
	free(g);
	free(src);
	free(ns);
	return r;
}

/* ---- scanning one file ---------------------------------------------------- */

/* Reads the executable at path into *data (*len bytes, the caller frees). */
static int
read_executable(const char *path, uint8_t **data, size_t *len)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t got = 0;
	ssize_t k;
	int fd, r;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? MAMORI_ERR_NOT_FOUND :
		    errno == EACCES || errno == EPERM ? MAMORI_ERR_PERMISSION :
		    errno == ELOOP ? MAMORI_ERR_NOT_REGULAR : MAMORI_ERR_IO;
	r = MAMORI_ERR_NOT_REGULAR;
	if (fstat(fd, &sb) != 0) {
		r = MAMORI_ERR_IO;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 0111) == 0)
		goto out;
	r = MAMORI_ERR_TOO_LARGE;
	if (sb.st_size < 0 || (uint64_t)sb.st_size > MAMORI_AGENT_YARA_FILE_MAX)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)sb.st_size) {
		k = read(fd, buf + got, (size_t)sb.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (k == 0)
			break;          /* cut short meanwhile: scan what is */
		got += (size_t)k;
	}
	*data = buf;
	*len = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static int
match_event(const struct mamori_yara_match *m, const char *host_path,
    const char *hex, uint64_t size, Mamori__Event **out)
{
	Mamori__Event *ev;
	Mamori__YaraEvent *ye;
	const char *sev;
	size_t i;
	int r;

	*out = NULL;
	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_YARA)) == NULL)
		return MAMORI_ERR_ALLOC;
	ye = ev->yara;
	ye->size = size;
	sev = mamori_yara_rule_meta(&m->rule, "severity");
	if ((r = mamori_event_set_str(&ye->path, host_path)) != 0 ||
	    (r = mamori_event_set_str(&ye->sha256, hex)) != 0 ||
	    (r = mamori_event_set_str(&ye->rule, m->rule.name)) != 0 ||
	    (r = mamori_event_set_str(&ye->namespace_,
	    m->rule.ns != NULL ? m->rule.ns : "")) != 0 ||
	    (r = mamori_event_set_str(&ye->set,
	    m->rule.ns != NULL ? m->rule.ns : "")) != 0 ||
	    (sev != NULL && (r = mamori_event_set_strn(&ye->severity, sev,
	    strnlen(sev, 32))) != 0))
		goto fail;
	for (i = 0; i < m->rule.ntags && i < YARA_TAGS_MAX; i++)
		if ((r = mamori_event_add_str(&ye->tags, &ye->n_tags,
		    YARA_TAGS_MAX, m->rule.tags[i],
		    strlen(m->rule.tags[i]))) != 0)
			goto fail;
	*out = ev;
	return 0;
fail:
	mamori_event_free(ev);
	return r;
}

int
mamori_agent_yara_scan_file(struct mamori_agent_yara *y,
    const char *disk_path, const char *host_path, Mamori__Event ***events,
    size_t *n)
{
	struct mamori_yara_generation *g = NULL;
	const mamori_yara_rules_t *rules;
	struct mamori_yara_scan_options opts;
	struct mamori_yara_result res;
	Mamori__Event **evs = NULL, *ev;
	uint8_t *data = NULL, digest[MAMORI_SHA256_LEN];
	char hex[2 * MAMORI_SHA256_LEN + 1];
	size_t len = 0, i, k = 0;
	int r;

	*events = NULL;
	*n = 0;
	memset(&res, 0, sizeof(res));
	if ((rules = mamori_agent_yara_hold(y, &g)) == NULL)
		return 0;
	if ((r = read_executable(disk_path, &data, &len)) != 0)
		goto out;
	mamori_sha256(data, len, digest);
	mamori_hex(digest, sizeof(digest), hex);
	memset(&opts, 0, sizeof(opts));
	opts.file_max = MAMORI_AGENT_YARA_FILE_MAX;
	opts.timeout = MAMORI_AGENT_YARA_TIMEOUT;
	if ((r = mamori_yara_scan_mem(rules, data, len, &opts, &res)) != 0)
		goto out;
	if (res.n == 0)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((evs = calloc(res.n, sizeof(*evs))) == NULL)
		goto out;
	for (i = 0; i < res.n && k < MAMORI_AGENT_YARA_EVENTS_MAX; i++) {
		if ((r = match_event(&res.matches[i], host_path, hex, len,
		    &ev)) != 0)
			goto out;
		evs[k++] = ev;
	}
	*events = evs;
	*n = k;
	evs = NULL;
	r = 0;
out:
	if (evs != NULL) {
		for (i = 0; i < k; i++)
			mamori_event_free(evs[i]);
		free(evs);
	}
	mamori_yara_result_free(&res);
	free(data);
	mamori_agent_yara_release(g);
	return r;
}

/* ---- the scanner thread --------------------------------------------------- */

static void
scan_item_free(struct scan_item *it)
{
	if (it == NULL)
		return;
	free(it->disk_path);
	free(it->host_path);
	free(it);
}

static void *
scanner_main(void *arg)
{
	struct mamori_agent_yara *y = arg;
	struct scan_item *it;
	struct done_item *d;
	Mamori__Event **evs;
	size_t n, i;
	char byte = 1;
	ssize_t w;
	int r;

	for (;;) {
		pthread_mutex_lock(&y->lock);
		while (y->head == NULL && !y->stop)
			pthread_cond_wait(&y->cond, &y->lock);
		if (y->stop) {
			pthread_mutex_unlock(&y->lock);
			break;
		}
		it = y->head;
		y->head = it->next;
		if (y->head == NULL)
			y->tail = NULL;
		y->queued--;
		pthread_mutex_unlock(&y->lock);

		r = mamori_agent_yara_scan_file(y, it->disk_path,
		    it->host_path, &evs, &n);
		if (r != 0 && r != MAMORI_ERR_NOT_FOUND)
			log_warn("yara: %s not scanned: %s", it->host_path,
			    mamori_strerror(r));
		pthread_mutex_lock(&y->lock);
		if (r == 0)
			y->stats.scanned++;
		else if (r != MAMORI_ERR_NOT_FOUND)
			y->stats.failed++;
		if (n > 0)
			y->stats.matched++;
		for (i = 0; i < n; i++) {
			if (y->n_done >= YARA_DONE_MAX ||
			    (d = calloc(1, sizeof(*d))) == NULL) {
				mamori_event_free(evs[i]);
				continue;
			}
			d->ev = evs[i];
			if (y->done_tail != NULL)
				y->done_tail->next = d;
			else
				y->done = d;
			y->done_tail = d;
			y->n_done++;
		}
		pthread_mutex_unlock(&y->lock);
		free(evs);
		scan_item_free(it);
		if (n > 0)
			do
				w = write(y->notify[1], &byte, 1);
			while (w < 0 && errno == EINTR);
	}
	return NULL;
}

/* On the loop: the scanner's events go to the spool, in order. */
static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct mamori_agent_yara *y = arg;
	struct done_item *list, *d;
	char drain[64];

	(void)what;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&y->lock);
	list = y->done;
	y->done = y->done_tail = NULL;
	y->n_done = 0;
	pthread_mutex_unlock(&y->lock);
	while ((d = list) != NULL) {
		list = d->next;
		log_info("yara: rule %s (set %s) matches %s",
		    d->ev->yara->rule, d->ev->yara->set, d->ev->yara->path);
		if (y->emit != NULL)
			(void)y->emit(y->ctx, d->ev);
		else
			mamori_event_free(d->ev);
		free(d);
	}
}

int
mamori_agent_yara_submit(struct mamori_agent_yara *y,
    const char *disk_path, const char *host_path)
{
	struct scan_item *it;
	int have;

	if (y == NULL || !y->started)
		return 0;
	pthread_mutex_lock(&y->lock);
	have = y->current != NULL;
	pthread_mutex_unlock(&y->lock);
	if (!have)
		return 0;
	if (strlen(disk_path) >= MAMORI_AGENT_YARA_PATH_MAX ||
	    strlen(host_path) >= MAMORI_AGENT_YARA_PATH_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((it = calloc(1, sizeof(*it))) == NULL ||
	    (it->disk_path = strdup(disk_path)) == NULL ||
	    (it->host_path = strdup(host_path)) == NULL) {
		scan_item_free(it);
		return MAMORI_ERR_ALLOC;
	}
	pthread_mutex_lock(&y->lock);
	if (y->queued >= MAMORI_AGENT_YARA_QUEUE) {
		y->stats.dropped++;
		if (!y->warned_busy)
			log_warn("yara: %d files wait for a scan; %s and "
			    "others are not scanned (count in the agent's "
			    "yara stats)", MAMORI_AGENT_YARA_QUEUE, host_path);
		y->warned_busy = 1;
		pthread_mutex_unlock(&y->lock);
		scan_item_free(it);
		return MAMORI_ERR_YARA_BUSY;
	}
	y->warned_busy = 0;
	if (y->tail != NULL)
		y->tail->next = it;
	else
		y->head = it;
	y->tail = it;
	y->queued++;
	pthread_cond_signal(&y->cond);
	pthread_mutex_unlock(&y->lock);
	return 1;
}

void
mamori_agent_yara_stats(struct mamori_agent_yara *y,
    struct mamori_agent_yara_stats *out)
{
	pthread_mutex_lock(&y->lock);
	*out = y->stats;
	pthread_mutex_unlock(&y->lock);
}

/* ---- life ----------------------------------------------------------------- */

int
mamori_agent_yara_new(struct event_base *base,
    mamori_agent_yara_emit_fn emit, void *ctx,
    struct mamori_agent_yara **out)
{
	struct mamori_agent_yara *y;
	int r;

	*out = NULL;
	if ((y = calloc(1, sizeof(*y))) == NULL)
		return MAMORI_ERR_ALLOC;
	pthread_mutex_init(&y->lock, NULL);
	pthread_cond_init(&y->cond, NULL);
	y->notify[0] = y->notify[1] = -1;
	y->base = base;
	y->emit = emit;
	y->ctx = ctx;
	if ((r = mamori_yara_init()) != 0)
		goto out;
	y->yara_started = 1;
	if (base != NULL) {
		r = MAMORI_ERR_SYSTEM;
		if (pipe2(y->notify, O_CLOEXEC | O_NONBLOCK) != 0)
			goto out;
		if ((y->notify_ev = event_new(base, y->notify[0],
		    EV_READ | EV_PERSIST, on_notify, y)) == NULL ||
		    event_add(y->notify_ev, NULL) != 0)
			goto out;
		if (pthread_create(&y->thread, NULL, scanner_main, y) != 0)
			goto out;
		y->started = 1;
	}
	*out = y;
	y = NULL;
	r = 0;
out:
	mamori_agent_yara_free(y);
	return r;
}

void
mamori_agent_yara_free(struct mamori_agent_yara *y)
{
	struct scan_item *it;
	struct done_item *d;

	if (y == NULL)
		return;
	pthread_mutex_lock(&y->lock);
	y->stop = 1;
	pthread_cond_signal(&y->cond);
	pthread_mutex_unlock(&y->lock);
	if (y->started)
		pthread_join(y->thread, NULL);
	while ((it = y->head) != NULL) {
		y->head = it->next;
		scan_item_free(it);
	}
	while ((d = y->done) != NULL) {
		y->done = d->next;
		mamori_event_free(d->ev);
		free(d);
	}
	if (y->notify_ev != NULL)
		event_free(y->notify_ev);
	if (y->notify[0] >= 0)
		close(y->notify[0]);
	if (y->notify[1] >= 0)
		close(y->notify[1]);
	/* The last holder: task workers are stopped before this is freed. */
	generation_drop(y->current);
	if (y->yara_started)
		mamori_yara_finish();
	pthread_cond_destroy(&y->cond);
	pthread_mutex_destroy(&y->lock);
	free(y);
}
