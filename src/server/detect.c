/*
 * detect.c - Sigma rules and STIX indicators applied to events at ingest,
 * and the agents' YARA matches (YaraEvent) raised as alerts
 * (see detect.h).  It loads what the server home holds, keeps one matcher,
 * fills the ingest schema's slots from each stored event, and turns every
 * match into mamori_store_alert_raise in the event's group transaction.
 *
 * It must never fail an agent's batch for something in the event itself
 * (a malformed observable, a rule whose regular expression gives up): only
 * a store failure is returned, so the batch is rolled back and not
 * acknowledged.  It never logs an event's content, only rule names.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "detect.h"
#include "err.h"
#include "intel.h"
#include "log.h"
#include "sigma.h"
#include "util.h"

#define DETECT_SIGMA_DIR "rules/sigma"
#define DETECT_INTEL_DIR "rules/intel"
#define DETECT_NUM_LEN 24            /* a uint64 in decimal, and NUL */
#define DETECT_SEVERITY_LABEL "severity:"

/* One indicator as read, loaded or not, or a bundle that did not load
 * (id NULL). */
struct detect_ind {
	char *id;
	char *name;
	char *path;
	char *reason;                /* NULL when loaded */
	char *value;                 /* first term's value, for the listing */
	json_t *attack;              /* ATT&CK ids and kill chain phases */
	uint32_t severity;
};

struct mamori_detect {
	struct mamori_sigma_ruleset *rs;
	struct mamori_sigma_matcher *m;
	struct mamori_intel *intel;
	struct detect_ind *ind;
	size_t nind, capind;
	size_t *by_id;               /* loaded indicators, sorted by id */
	size_t nby_id;
	struct mamori_detect_stats stats;
	mamori_detect_sink_fn sink;  /* told of every alert stored */
	void *sink_ctx;
};

/* ---- loading ------------------------------------------------------------ */

static void
ind_clear(struct detect_ind *x)
{
	free(x->id);
	free(x->name);
	free(x->path);
	free(x->reason);
	free(x->value);
	json_decref(x->attack);
	memset(x, 0, sizeof(*x));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? mamori_memdup_str(s, strlen(s)) : NULL;
}

/* Severity of an indicator: a label "severity:LEVEL", else high. */
static uint32_t
ind_severity(const struct mamori_stix_indicator *in)
{
	uint32_t sev;
	size_t i, n = strlen(DETECT_SEVERITY_LABEL);

	for (i = 0; i < in->nlabels; i++)
		if (strncmp(in->labels[i], DETECT_SEVERITY_LABEL, n) == 0 &&
		    mamori_alert_severity_parse(in->labels[i] + n, &sev) == 0)
			return sev;
	return MAMORI_SEVERITY_HIGH;
}

/* Appends a record; reason NULL for a loaded indicator. */
static int
ind_push(struct mamori_detect *d, const struct mamori_stix_indicator *in,
    const char *path, const char *reason)
{
	struct detect_ind *x, *p;
	size_t i, ncap;
	int r = MAMORI_ERR_ALLOC;

	if (d->nind == d->capind) {
		ncap = d->capind == 0 ? 64 : d->capind * 2;
		if (ncap > SIZE_MAX / sizeof(*p) ||
		    (p = realloc(d->ind, ncap * sizeof(*p))) == NULL)
			goto out;
		d->ind = p;
		d->capind = ncap;
	}
	x = &d->ind[d->nind];
	memset(x, 0, sizeof(*x));
	x->severity = MAMORI_SEVERITY_HIGH;
	if ((x->path = dup_or_null(path)) == NULL)
		goto fail;
	if (reason != NULL && (x->reason = dup_or_null(reason)) == NULL)
		goto fail;
	if (in != NULL) {
		if ((in->id != NULL && (x->id = dup_or_null(in->id)) == NULL) ||
		    (in->name != NULL &&
		    (x->name = dup_or_null(in->name)) == NULL))
			goto fail;
		if (in->compiled != NULL && in->compiled->nterms > 0 &&
		    (x->value = dup_or_null(in->compiled->terms[0].value)) ==
		    NULL)
			goto fail;
		x->severity = ind_severity(in);
		if ((x->attack = json_array()) == NULL)
			goto fail;
		for (i = 0; i < in->nattack_ids; i++)
			if (json_array_append_new(x->attack,
			    json_string(in->attack_ids[i])) != 0)
				goto fail;
	}
	d->nind++;
	r = 0;
	goto out;
fail:
	ind_clear(x);
out:
	return r;
}

/* Orders indexes into the indicator array (arg) by indicator id. */
static int
by_id_cmp(const void *a, const void *b, void *arg)
{
	const struct detect_ind *base = arg;

	return strcmp(base[*(const size_t *)a].id,
	    base[*(const size_t *)b].id);
}

/* Reads one bundle file into the set, recording each indicator. */
static int
load_bundle(struct mamori_detect *d, const char *path)
{
	struct mamori_stix_bundle *b = NULL;
	char err[MAMORI_STIX_REASON_MAX], why[MAMORI_STIX_REASON_MAX + 64];
	size_t i;
	int r;

	r = mamori_stix_bundle_load(path, &b, err, sizeof(err));
	if (r == MAMORI_ERR_ALLOC)
		return r;
	if (r != 0) {
		snprintf(why, sizeof(why), "bundle not loaded: %s", err);
		log_warn("detect: %s: %s", path, why);
		d->stats.bundles_unreadable++;
		return ind_push(d, NULL, path, why);
	}
	for (i = 0; i < b->nind; i++) {
		const struct mamori_stix_indicator *in = &b->ind[i];
		const char *reason = NULL;

		if (in->id == NULL || in->id[0] == '\0' ||
		    strlen(in->id) > MAMORI_ALERT_KEY_MAX)
			reason = "no id, or an id longer than 256 bytes";
		else if (in->compiled == NULL)
			reason = in->reason[0] != '\0' ? in->reason :
			    "pattern not supported";
		else if ((r = mamori_intel_add(d->intel, in, path)) != 0) {
			if (r == MAMORI_ERR_ALLOC || r == MAMORI_ERR_TOO_LARGE)
				goto out;
			reason = mamori_strerror(r);
		}
		if (reason != NULL) {
			log_warn("detect: indicator %s (%s): not applied: %s",
			    in->id != NULL ? in->id : "(no id)", path, reason);
			d->stats.indicators_unsupported++;
		} else {
			d->stats.indicators_loaded++;
		}
		if ((r = ind_push(d, in, path, reason)) != 0)
			goto out;
	}
	r = 0;
out:
	mamori_stix_bundle_free(b);
	return r;
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcmp(name + n - m, suffix) == 0;
}

/* Every *.json under dir, in name order, recursively. */
static int
load_intel_dir(struct mamori_detect *d, const char *dir, int depth,
    size_t *files)
{
	struct dirent **ents = NULL;
	struct stat sb;
	char path[PATH_MAX];
	int i, n, r = 0;

	if (depth > MAMORI_DETECT_DIR_DEPTH_MAX) {
		log_warn("detect: %s: deeper than %d directories; not read",
		    dir, MAMORI_DETECT_DIR_DEPTH_MAX);
		return 0;
	}
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		if (errno != ENOENT)
			log_warn("detect: cannot read %s: %s", dir,
			    strerror(errno));
		return 0;
	}
	for (i = 0; i < n && r == 0; i++) {
		const char *name = ents[i]->d_name;

		if (name[0] == '.' ||
		    mamori_path_join(path, sizeof(path), dir, name) != 0 ||
		    stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			r = load_intel_dir(d, path, depth + 1, files);
		} else if (S_ISREG(sb.st_mode) && has_suffix(name, ".json")) {
			if (++*files > MAMORI_DETECT_BUNDLES_MAX) {
				log_warn("detect: more than %d bundles; the "
				    "rest are not read",
				    MAMORI_DETECT_BUNDLES_MAX);
				break;
			}
			r = load_bundle(d, path);
		}
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

static int
load_sigma(struct mamori_detect *d, const char *dir)
{
	struct mamori_sigma_schema schema;
	const struct mamori_sigma_rule_info *info;
	size_t i, n;
	int r;

	mamori_sigma_ingest_schema(&schema);
	if ((r = mamori_sigma_ruleset_new(&schema, &d->rs)) != 0)
		return r;
	r = mamori_sigma_ruleset_add_path(d->rs, dir);
	if (r != 0 && r != MAMORI_ERR_NOT_FOUND)
		return r;
	if ((r = mamori_sigma_ruleset_compile(d->rs)) != 0 ||
	    (r = mamori_sigma_matcher_new(d->rs, &d->m)) != 0)
		return r;
	n = mamori_sigma_ruleset_count(d->rs);
	for (i = 0; i < n; i++) {
		info = mamori_sigma_rule_info(d->rs, i);
		if (info->loaded) {
			d->stats.sigma_loaded++;
			continue;
		}
		d->stats.sigma_unsupported++;
		log_warn("detect: sigma rule %s (%s): not applied: %s",
		    info->id[0] != '\0' ? info->id : info->title, info->path,
		    info->reason);
	}
	return 0;
}

int
mamori_detect_load(const char *home, struct mamori_detect **out)
{
	struct mamori_detect *d = NULL;
	char path[PATH_MAX];
	size_t i, files = 0;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_path_join(path, sizeof(path), home,
	    DETECT_SIGMA_DIR)) != 0 ||
	    (r = load_sigma(d, path)) != 0)
		goto out;
	if ((r = mamori_intel_new(&d->intel)) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), home,
	    DETECT_INTEL_DIR)) != 0 ||
	    (r = load_intel_dir(d, path, 0, &files)) != 0)
		goto out;
	if (d->nind > 0 &&
	    (d->by_id = calloc(d->nind, sizeof(*d->by_id))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < d->nind; i++)
		if (d->ind[i].id != NULL && d->ind[i].reason == NULL)
			d->by_id[d->nby_id++] = i;
	/* qsort's array may not be NULL, even for no elements. */
	if (d->nby_id > 1)
		qsort_r(d->by_id, d->nby_id, sizeof(*d->by_id), by_id_cmp,
		    d->ind);
	d->stats.bundles = files;
	log_info("detect: %zu Sigma rules applied, %zu not; %zu indicators "
	    "applied, %zu not (from %zu bundles, %zu unreadable)",
	    d->stats.sigma_loaded, d->stats.sigma_unsupported,
	    d->stats.indicators_loaded, d->stats.indicators_unsupported,
	    files, d->stats.bundles_unreadable);
	*out = d;
	d = NULL;
	r = 0;
out:
	if (r != 0)
		log_error("detect: cannot load the rules: %s",
		    mamori_strerror(r));
	mamori_detect_free(d);
	return r;
}

void
mamori_detect_free(struct mamori_detect *d)
{
	size_t i;

	if (d == NULL)
		return;
	mamori_sigma_matcher_free(d->m);
	mamori_sigma_ruleset_free(d->rs);
	mamori_intel_free(d->intel);
	for (i = 0; i < d->nind; i++)
		ind_clear(&d->ind[i]);
	free(d->ind);
	free(d->by_id);
	free(d);
}

/* ---- listing ------------------------------------------------------------ */

static uint32_t
sigma_severity(enum mamori_sigma_level level)
{
	switch (level) {
	case MAMORI_SIGMA_LEVEL_INFORMATIONAL:
		return MAMORI_SEVERITY_INFORMATIONAL;
	case MAMORI_SIGMA_LEVEL_LOW:
		return MAMORI_SEVERITY_LOW;
	case MAMORI_SIGMA_LEVEL_HIGH:
		return MAMORI_SEVERITY_HIGH;
	case MAMORI_SIGMA_LEVEL_CRITICAL:
		return MAMORI_SEVERITY_CRITICAL;
	default:                 /* medium, or a rule without a level */
		return MAMORI_SEVERITY_MEDIUM;
	}
}

size_t
mamori_detect_rule_count(const struct mamori_detect *d)
{
	return mamori_sigma_ruleset_count(d->rs) + d->nind;
}

int
mamori_detect_rule_get(const struct mamori_detect *d, size_t i,
    struct mamori_detect_rule *out)
{
	const struct mamori_sigma_rule_info *info;
	const struct detect_ind *x;
	size_t nsigma = mamori_sigma_ruleset_count(d->rs);

	memset(out, 0, sizeof(*out));
	if (i < nsigma) {
		info = mamori_sigma_rule_info(d->rs, i);
		out->source = MAMORI_ALERT_SIGMA;
		out->key = info->id;
		out->title = info->title;
		out->severity = sigma_severity(info->level);
		out->path = info->path;
		out->loaded = info->loaded;
		out->reason = info->reason;
		return 0;
	}
	if (i - nsigma >= d->nind)
		return MAMORI_ERR_NOT_FOUND;
	x = &d->ind[i - nsigma];
	out->source = MAMORI_ALERT_INDICATOR;
	out->key = x->id != NULL ? x->id : "";
	out->title = x->name != NULL ? x->name : "";
	out->severity = x->severity;
	out->path = x->path;
	out->loaded = x->reason == NULL;
	out->reason = x->reason != NULL ? x->reason : "";
	return 0;
}

void
mamori_detect_stats(const struct mamori_detect *d,
    struct mamori_detect_stats *out)
{
	*out = d->stats;
}

void
mamori_detect_take_counts(struct mamori_detect *to,
    const struct mamori_detect *from)
{
	if (from == NULL)
		return;
	to->stats.events += from->stats.events;
	to->stats.alerts += from->stats.alerts;
}

/* ---- matching ----------------------------------------------------------- */

/* A JSON string of at most MAMORI_DETECT_VALUE_MAX bytes of v, cut at a
 * character boundary; bytes that are not UTF-8 become '?'. */
static json_t *
jstr(const char *v)
{
	char buf[MAMORI_DETECT_VALUE_MAX + 1];
	size_t n, i;
	json_t *j;

	n = mamori_strlcpy(buf, v != NULL ? v : "", sizeof(buf));
	if (n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
			n--;
		buf[n] = '\0';
	}
	if ((j = json_stringn(buf, n)) != NULL)
		return j;
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return json_stringn(buf, n);
}

static int
set_str(json_t *o, const char *key, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return 0;
	return json_object_set_new(o, key, jstr(v)) != 0 ? MAMORI_ERR_ALLOC :
	    0;
}

/* The fields of the event an analyst first wants to see, in ECS names. */
static int
event_summary(const Mamori__Event *ev, json_t **out)
{
	json_t *o = json_object();
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	if (o == NULL)
		goto out;
	switch (ev->body_case) {
	case MAMORI__EVENT__BODY_PROCESS:
		if ((r = set_str(o, "process.executable",
		    ev->process->executable)) != 0 ||
		    (r = set_str(o, "process.command_line",
		    ev->process->command_line)) != 0 ||
		    (r = set_str(o, "process.hash.sha256",
		    ev->process->sha256)) != 0 ||
		    (r = set_str(o, "process.parent.executable",
		    ev->process->parent_executable)) != 0 ||
		    (r = set_str(o, "user.name", ev->process->user_name)) != 0)
			goto out;
		break;
	case MAMORI__EVENT__BODY_FILE:
		if ((r = set_str(o, "file.path", ev->file->path)) != 0 ||
		    (r = set_str(o, "file.old_path", ev->file->old_path)) != 0)
			goto out;
		break;
	case MAMORI__EVENT__BODY_YARA:
		if ((r = set_str(o, "file.path", ev->yara->path)) != 0 ||
		    (r = set_str(o, "file.hash.sha256",
		    ev->yara->sha256)) != 0 ||
		    (r = set_str(o, "rule.name", ev->yara->rule)) != 0 ||
		    (r = set_str(o, "rule.ruleset", ev->yara->set)) != 0)
			goto out;
		break;
	case MAMORI__EVENT__BODY_NETWORK:
		if ((r = set_str(o, "process.executable",
		    ev->network->executable)) != 0 ||
		    (r = set_str(o, "destination.ip",
		    ev->network->destination_ip)) != 0 ||
		    (r = set_str(o, "destination.domain",
		    ev->network->destination_hostname)) != 0)
			goto out;
		if (json_object_set_new(o, "destination.port",
		    json_integer(ev->network->destination_port)) != 0)
			goto out;
		break;
	default:
		break;
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(o);
	return r;
}

/* Raises one alert with detail (consumed); store errors are returned,
 * an alert the store refuses as malformed is logged and skipped. */
static int
detect_raise(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, uint32_t source,
    const char *key, uint32_t severity, json_t *detail, size_t *raised)
{
	struct mamori_alert_raise a;
	struct mamori_detect_alert info;
	json_t *summary = NULL;
	char *text = NULL;
	uint64_t id = 0;
	int r = MAMORI_ERR_ALLOC, created = 0;

	if (detail == NULL)
		goto out;
	if ((r = event_summary(ev, &summary)) != 0)
		goto out;
	if (json_object_set_new(detail, "event", summary) != 0) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((text = json_dumps(detail, JSON_COMPACT)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.agent_id = agent_id;
	a.source = source;
	a.rule_key = key;
	a.severity = severity;
	a.time_ns = ev->time_ns;
	a.seq = ev->seq;
	a.detail_json = text;
	a.id_out = &id;
	r = mamori_store_alert_raise(store, &a, &created);
	if (r == MAMORI_ERR_INVALID || r == MAMORI_ERR_TOO_LARGE) {
		log_warn("detect: alert for %.80s on agent %s not stored: %s",
		    key, agent_id, mamori_strerror(r));
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	d->stats.alerts++;
	(*raised)++;
	if (d->sink != NULL) {
		info.id = id;
		info.agent_id = agent_id;
		info.source = source;
		info.rule_key = key;
		info.severity = severity;
		info.time_ns = ev->time_ns;
		info.seq = ev->seq;
		info.created = created;
		info.detail_json = text;
		d->sink(d->sink_ctx, &info);
	}
out:
	free(text);
	json_decref(detail);
	return r;
}

static int
sigma_category(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, uint32_t category,
    const struct mamori_sigma_slot *slots, size_t *raised)
{
	const struct mamori_sigma_rule_info *info;
	const uint32_t *rules = NULL;
	json_t *detail, *tags;
	size_t n = 0, i, t;
	int r;

	r = mamori_sigma_match(d->m, category, slots,
	    MAMORI_SIGMA_INGEST_NSLOTS, &rules, &n);
	if (r != 0) {
		log_warn("detect: Sigma matching failed on event %" PRIu64
		    " of agent %s: %s", ev->seq, agent_id, mamori_strerror(r));
		return 0;
	}
	for (i = 0; i < n; i++) {
		info = mamori_sigma_rule_info(d->rs, rules[i]);
		if (info == NULL)
			continue;
		tags = json_array();
		for (t = 0; tags != NULL && t < info->ntags; t++)
			if (json_array_append_new(tags,
			    jstr(info->tags[t])) != 0) {
				json_decref(tags);
				tags = NULL;
			}
		detail = tags == NULL ? NULL : json_pack("{s:o, s:o, s:o, s:o}",
		    "title", jstr(info->title), "level",
		    jstr(mamori_alert_severity_name(sigma_severity(
		    info->level))), "tags", tags, "rule_path",
		    jstr(info->path));
		if ((r = detect_raise(d, store, agent_id, ev, MAMORI_ALERT_SIGMA,
		    info->id[0] != '\0' ? info->id : info->title,
		    sigma_severity(info->level), detail, raised)) != 0)
			return r;
	}
	return 0;
}

static const struct detect_ind *
ind_find(const struct mamori_detect *d, const char *id)
{
	size_t lo = 0, hi = d->nby_id, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(id, d->ind[d->by_id[mid]].id);
		if (c == 0)
			return &d->ind[d->by_id[mid]];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Matches one set of observables; what names the event's field. */
static int
intel_obs(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev,
    const struct mamori_intel_obs *obs, const char *what,
    const char *observed, size_t *raised)
{
	struct mamori_intel_match m[MAMORI_DETECT_MATCHES_MAX];
	const struct detect_ind *x;
	json_t *detail;
	size_t n = 0, i;
	int r;

	if (d->nby_id == 0)
		return 0;
	r = mamori_intel_match(d->intel, obs, m, MAMORI_DETECT_MATCHES_MAX,
	    &n);
	if (r == MAMORI_ERR_INVALID)
		return 0;    /* a malformed value in the event: no match */
	if (r != 0 && r != MAMORI_ERR_TOO_LARGE)
		return 0;
	for (i = 0; i < n; i++) {
		x = ind_find(d, m[i].id);
		detail = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		    "title", jstr(m[i].name != NULL ? m[i].name : m[i].id),
		    "level", jstr(mamori_alert_severity_name(x != NULL ?
		    x->severity : MAMORI_SEVERITY_HIGH)),
		    "tags", x != NULL && x->attack != NULL ?
		    json_incref(x->attack) : json_array(),
		    "indicator", jstr(m[i].id),
		    "kind", jstr(mamori_stix_kind_name(m[i].kind)),
		    "matched_value", jstr(m[i].value),
		    "field", jstr(what),
		    "observed", jstr(observed));
		if ((r = detect_raise(d, store, agent_id, ev, MAMORI_ALERT_INDICATOR,
		    m[i].id, x != NULL ? x->severity : MAMORI_SEVERITY_HIGH,
		    detail, raised)) != 0)
			return r;
	}
	return 0;
}

static const char *
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static void
put(struct mamori_sigma_slot *slots, uint32_t i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return;
	slots[i].value = v;
	slots[i].len = strlen(v);
	slots[i].present = 1;
}

/* v in decimal into buf (DETECT_NUM_LEN bytes; no printf per event). */
static void
put_num(struct mamori_sigma_slot *slots, uint32_t i, char *buf,
    uint64_t v)
{
	char *p = buf + DETECT_NUM_LEN - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && p > buf);
	slots[i].value = p;
	slots[i].len = (size_t)(buf + DETECT_NUM_LEN - 1 - p);
	slots[i].present = 1;
}

static int
detect_process(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, size_t *raised)
{
	const Mamori__ProcessEvent *p = ev->process;
	struct mamori_sigma_slot slots[MAMORI_SIGMA_INGEST_NSLOTS];
	struct mamori_intel_obs obs;
	char num[3][DETECT_NUM_LEN];
	int r;

	if (p->action != MAMORI__PROCESS_EVENT__ACTION__START)
		return 0;
	memset(slots, 0, sizeof(slots));
	put(slots, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, p->executable);
	put(slots, MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE, p->command_line);
	if (p->pid != 0)
		put_num(slots, MAMORI_SIGMA_SLOT_PROCESS_PID, num[0], p->pid);
	put(slots, MAMORI_SIGMA_SLOT_PROCESS_WORKING_DIRECTORY,
	    p->working_directory);
	put(slots, MAMORI_SIGMA_SLOT_PROCESS_HASH_SHA256, p->sha256);
	put(slots, MAMORI_SIGMA_SLOT_PARENT_EXECUTABLE, p->parent_executable);
	put(slots, MAMORI_SIGMA_SLOT_PARENT_COMMAND_LINE,
	    p->parent_command_line);
	if (p->ppid != 0)
		put_num(slots, MAMORI_SIGMA_SLOT_PARENT_PID, num[1], p->ppid);
	put(slots, MAMORI_SIGMA_SLOT_USER_NAME, p->user_name);
	put_num(slots, MAMORI_SIGMA_SLOT_USER_ID, num[2], p->uid);
	if ((r = sigma_category(d, store, agent_id, ev,
	    MAMORI_SIGMA_CAT_PROCESS_CREATION, slots, raised)) != 0)
		return r;
	if (nonempty(p->sha256) == NULL)
		return 0;
	memset(&obs, 0, sizeof(obs));
	obs.sha256 = p->sha256;
	return intel_obs(d, store, agent_id, ev, &obs, "process.hash.sha256",
	    p->sha256, raised);
}

static int
detect_file(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, size_t *raised)
{
	const Mamori__FileEvent *f = ev->file;
	struct mamori_sigma_slot slots[MAMORI_SIGMA_INGEST_NSLOTS];
	struct mamori_intel_obs obs;
	uint32_t cat = 0;
	int r;

	memset(slots, 0, sizeof(slots));
	put(slots, MAMORI_SIGMA_SLOT_FILE_PATH, f->path);
	put(slots, MAMORI_SIGMA_SLOT_FILE_OLD_PATH, f->old_path);
	if ((r = sigma_category(d, store, agent_id, ev,
	    MAMORI_SIGMA_CAT_FILE_EVENT, slots, raised)) != 0)
		return r;
	switch (f->action) {
	case MAMORI__FILE_EVENT__ACTION__MODIFIED:
		cat = MAMORI_SIGMA_CAT_FILE_CHANGE;
		break;
	case MAMORI__FILE_EVENT__ACTION__DELETED:
		cat = MAMORI_SIGMA_CAT_FILE_DELETE;
		break;
	case MAMORI__FILE_EVENT__ACTION__RENAMED:
		cat = MAMORI_SIGMA_CAT_FILE_RENAME;
		break;
	default:
		break;
	}
	if (cat != 0 && (r = sigma_category(d, store, agent_id, ev, cat,
	    slots, raised)) != 0)
		return r;
	memset(&obs, 0, sizeof(obs));
	if ((obs.sha256 = nonempty(f->sha256_after)) != NULL &&
	    (r = intel_obs(d, store, agent_id, ev, &obs, "file.hash.sha256",
	    obs.sha256, raised)) != 0)
		return r;
	if ((obs.sha256 = nonempty(f->sha256_before)) != NULL &&
	    (f->sha256_after == NULL ||
	    strcmp(f->sha256_before, f->sha256_after) != 0) &&
	    (r = intel_obs(d, store, agent_id, ev, &obs,
	    "file.hash.sha256 (before)", obs.sha256, raised)) != 0)
		return r;
	return 0;
}

static int
detect_network(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, size_t *raised)
{
	const Mamori__NetworkEvent *n = ev->network;
	struct mamori_sigma_slot slots[MAMORI_SIGMA_INGEST_NSLOTS];
	struct mamori_intel_obs obs;
	char num[4][DETECT_NUM_LEN];
	int connect, r;

	connect = n->action == MAMORI__NETWORK_EVENT__ACTION__CONNECT;
	if (!connect && n->action != MAMORI__NETWORK_EVENT__ACTION__LISTEN)
		return 0;
	memset(slots, 0, sizeof(slots));
	put(slots, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, n->executable);
	if (n->pid != 0)
		put_num(slots, MAMORI_SIGMA_SLOT_PROCESS_PID, num[0], n->pid);
	put_num(slots, MAMORI_SIGMA_SLOT_USER_ID, num[1], n->uid);
	put(slots, MAMORI_SIGMA_SLOT_SOURCE_IP, n->source_ip);
	put_num(slots, MAMORI_SIGMA_SLOT_SOURCE_PORT, num[2], n->source_port);
	put(slots, MAMORI_SIGMA_SLOT_DESTINATION_IP, n->destination_ip);
	if (connect)
		put_num(slots, MAMORI_SIGMA_SLOT_DESTINATION_PORT, num[3],
		    n->destination_port);
	put(slots, MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN,
	    n->destination_hostname);
	put(slots, MAMORI_SIGMA_SLOT_NETWORK_TRANSPORT, n->transport);
	put(slots, MAMORI_SIGMA_SLOT_INITIATED, connect ? "true" : "false");
	if ((r = sigma_category(d, store, agent_id, ev,
	    MAMORI_SIGMA_CAT_NETWORK_CONNECTION, slots, raised)) != 0)
		return r;
	if (!connect)
		return 0;
	memset(&obs, 0, sizeof(obs));
	if ((obs.ip = nonempty(n->destination_ip)) != NULL &&
	    (r = intel_obs(d, store, agent_id, ev, &obs, "destination.ip",
	    obs.ip, raised)) != 0)
		return r;
	obs.ip = NULL;
	if ((obs.host = nonempty(n->destination_hostname)) != NULL &&
	    (r = intel_obs(d, store, agent_id, ev, &obs, "destination.domain",
	    obs.host, raised)) != 0)
		return r;
	return 0;
}

/*
 * A YARA rule of the fleet policy matched on the agent: one alert, keyed
 * by the rule's name (the set keeps rules of the same name in different
 * sets apart in the detail).  Severity high unless the rule's meta
 * "severity" names another level; an unknown word is ignored, never
 * trusted to lower it below what it says it is.
 */
static int
detect_yara(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, size_t *raised)
{
	const Mamori__YaraEvent *y = ev->yara;
	uint32_t severity = MAMORI_SEVERITY_HIGH, given;
	json_t *detail, *tags;
	size_t i;

	if (y->rule == NULL || y->rule[0] == '\0')
		return 0;
	if (y->severity != NULL && y->severity[0] != '\0' &&
	    mamori_alert_severity_parse(y->severity, &given) == 0)
		severity = given;
	if ((tags = json_array()) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < y->n_tags; i++)
		if (json_array_append_new(tags, jstr(y->tags[i])) != 0) {
			json_decref(tags);
			return MAMORI_ERR_ALLOC;
		}
	detail = json_pack("{s:o, s:o, s:o, s:o, s:o}", "title",
	    jstr(y->rule), "level", jstr(mamori_alert_severity_name(severity)),
	    "tags", tags, "set", jstr(y->set), "namespace",
	    jstr(y->namespace_));
	return detect_raise(d, store, agent_id, ev, MAMORI_ALERT_YARA, y->rule,
	    severity, detail, raised);
}

int
mamori_detect_event(struct mamori_detect *d, struct mamori_store *store,
    const char *agent_id, const Mamori__Event *ev, size_t *raised)
{
	size_t dummy = 0;

	if (raised == NULL)
		raised = &dummy;
	*raised = 0;
	if (d == NULL)
		return 0;
	d->stats.events++;
	switch (ev->body_case) {
	case MAMORI__EVENT__BODY_PROCESS:
		return detect_process(d, store, agent_id, ev, raised);
	case MAMORI__EVENT__BODY_FILE:
		return detect_file(d, store, agent_id, ev, raised);
	case MAMORI__EVENT__BODY_NETWORK:
		return detect_network(d, store, agent_id, ev, raised);
	case MAMORI__EVENT__BODY_YARA:
		return detect_yara(d, store, agent_id, ev, raised);
	default:
		return 0;
	}
}

void
mamori_detect_set_sink(struct mamori_detect *d, mamori_detect_sink_fn fn,
    void *ctx)
{
	if (d == NULL)
		return;
	d->sink = fn;
	d->sink_ctx = ctx;
}
