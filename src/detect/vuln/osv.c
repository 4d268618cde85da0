/*
 * osv.c - reads OSV advisories with jansson into struct mamori_osv_advisory.
 *
 * Every value is checked for its type and length before it is copied;
 * every list against its named limit (osv.h).  An advisory is built aside
 * and handed to the set only once all of it has been read, so a rejected
 * advisory leaves nothing behind.  Versions are checked with
 * mamori_debver_check, so the matcher only ever compares valid versions.
 * This file must never trust a count, a type or a string length from the
 * input, and never print anything itself: problems go to the caller's
 * report function.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "debver.h"
#include "err.h"
#include "osv.h"
#include "util.h"

#define OSV_DEBIAN_PREFIX "Debian:"
#define OSV_RELEASE_MAX 16       /* digits of a Debian release */
#define OSV_PATH_MAX 4096        /* bytes of a file's path */

/* Where problems go while one file is read. */
struct osv_ctx {
	const char *file;
	struct mamori_osv_set *set;
	mamori_osv_report_fn report;
	void *arg;
	char why[MAMORI_OSV_MESSAGE_MAX];   /* the current advisory's problem */
};

static void
reportf(const struct osv_ctx *ctx, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reportf(const struct osv_ctx *ctx, int kind, const char *fmt, ...)
{
	char msg[MAMORI_OSV_MESSAGE_MAX];
	va_list ap;

	if (ctx->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->report(ctx->arg, kind, ctx->file, msg);
}

/* Records why the advisory being read is rejected; returns the error. */
static int
bad(struct osv_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct osv_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->why, sizeof(ctx->why), fmt, ap);
	va_end(ap);
	return MAMORI_ERR_BAD_ADVISORY;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
affected_free(struct mamori_osv_affected *a)
{
	size_t i, j;

	if (a == NULL)
		return;
	free(a->release);
	free(a->package);
	for (i = 0; i < a->n_ranges; i++) {
		for (j = 0; j < a->ranges[i].n_events; j++)
			free(a->ranges[i].events[j].version);
		free(a->ranges[i].events);
	}
	free(a->ranges);
	strv_free(a->versions, a->n_versions);
	memset(a, 0, sizeof(*a));
}

static void
advisory_free(struct mamori_osv_advisory *adv)
{
	size_t i;

	if (adv == NULL)
		return;
	free(adv->id);
	free(adv->modified);
	free(adv->published);
	free(adv->summary);
	free(adv->details);
	strv_free(adv->aliases, adv->n_aliases);
	for (i = 0; i < adv->n_severity; i++) {
		free(adv->severity[i].type);
		free(adv->severity[i].score);
	}
	free(adv->severity);
	for (i = 0; i < adv->n_affected; i++)
		affected_free(&adv->affected[i]);
	free(adv->affected);
	free(adv->file);
	free(adv);
}

void
mamori_osv_set_init(struct mamori_osv_set *set)
{
	memset(set, 0, sizeof(*set));
}

void
mamori_osv_set_free(struct mamori_osv_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		advisory_free(set->items[i]);
	free(set->items);
	mamori_osv_set_init(set);
}

/* 1 when s has no control character (text fields may hold newlines). */
static int
text_ok(const char *s, size_t len, int multiline)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c == 0x7f)
			return 0;
		if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' ||
		    c == '\r')))
			return 0;
	}
	return 1;
}

/*
 * Copies the string member key of obj into *out.  A missing member is an
 * error only when required; a member of another type, longer than max, or
 * holding control characters (other than line breaks when multiline) is.
 */
static int
get_str(struct osv_ctx *ctx, const json_t *obj, const char *key,
    int required, size_t max, int multiline, char **out)
{
	const json_t *v = json_object_get(obj, key);
	size_t len;

	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required)) {
		if (required)
			return bad(ctx, "\"%s\" is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return bad(ctx, "\"%s\" is not a string", key);
	len = json_string_length(v);
	if (len > max)
		return bad(ctx, "\"%s\" is longer than %zu bytes", key, max);
	if (!text_ok(json_string_value(v), len, multiline))
		return bad(ctx, "\"%s\" holds a control character", key);
	if ((*out = mamori_memdup_str(json_string_value(v), len)) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

/* The array member key of obj, at most max long, in *out (NULL when
 * absent). */
static int
get_array(struct osv_ctx *ctx, const json_t *obj, const char *key,
    size_t max, const json_t **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(ctx, "\"%s\" is not an array", key);
	if (json_array_size(v) > max)
		return bad(ctx, "\"%s\" has more than %zu entries", key, max);
	*out = v;
	return 0;
}

/* A checked copy of a version string v (what names it for messages). */
static int
copy_version(struct osv_ctx *ctx, const json_t *v, const char *what,
    char **out)
{
	const char *reason = NULL;
	const char *s;

	*out = NULL;
	if (!json_is_string(v))
		return bad(ctx, "%s is not a string", what);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return bad(ctx, "%s holds a NUL byte", what);
	if (mamori_debver_check(s, &reason) != 0)
		return bad(ctx, "%s \"%.64s\": %s", what, s, reason);
	if ((*out = mamori_memdup_str(s, json_string_length(v))) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

static int
is_zero(const struct mamori_osv_event *e)
{
	return e->kind == MAMORI_OSV_INTRODUCED && strcmp(e->version, "0") == 0;
}

static int
event_cmp(const void *pa, const void *pb)
{
	const struct mamori_osv_event *a = pa, *b = pb;
	int r;

	if (is_zero(a) != is_zero(b))
		return is_zero(a) ? -1 : 1;
	if ((r = mamori_debver_cmp(a->version, b->version)) != 0)
		return r;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

static const struct {
	const char *name;
	int kind;
} event_kinds[] = {
	{"introduced", MAMORI_OSV_INTRODUCED},
	{"fixed", MAMORI_OSV_FIXED},
	{"last_affected", MAMORI_OSV_LAST_AFFECTED},
	{"limit", MAMORI_OSV_LIMIT},
};

/* Reads one event object: exactly one of the four members. */
static int
parse_event(struct osv_ctx *ctx, const json_t *ev, size_t i,
    struct mamori_osv_event *out)
{
	char what[64];
	const char *key;
	json_t *v;
	size_t k;

	if (!json_is_object(ev) || json_object_size(ev) != 1)
		return bad(ctx, "event %zu is not an object with one member",
		    i);
	json_object_foreach((json_t *)ev, key, v) {
		for (k = 0; k < sizeof(event_kinds) / sizeof(event_kinds[0]);
		    k++)
			if (strcmp(key, event_kinds[k].name) == 0)
				break;
		if (k == sizeof(event_kinds) / sizeof(event_kinds[0]))
			return bad(ctx, "event %zu has an unknown member "
			    "(expected introduced, fixed, last_affected or "
			    "limit)", i);
		out->kind = event_kinds[k].kind;
		snprintf(what, sizeof(what), "event %zu's %s version", i,
		    event_kinds[k].name);
		return copy_version(ctx, v, what, &out->version);
	}
	return bad(ctx, "event %zu is empty", i);
}

/* Reads range r into out; *keep is 0 for a range of another type. */
static int
parse_range(struct osv_ctx *ctx, const json_t *r, struct mamori_osv_range *out,
    int *keep)
{
	const json_t *type, *events;
	size_t i, n_intro = 0;
	int rc;

	*keep = 0;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(r))
		return bad(ctx, "a range is not an object");
	type = json_object_get(r, "type");
	if (!json_is_string(type))
		return bad(ctx, "a range's \"type\" is missing or not a string");
	if ((rc = get_array(ctx, r, "events", MAMORI_OSV_EVENTS_MAX,
	    &events)) != 0)
		return rc;
	if (events == NULL || json_array_size(events) == 0)
		return bad(ctx, "a range has no events");
	if (strcmp(json_string_value(type), "ECOSYSTEM") != 0) {
		if (strcmp(json_string_value(type), "SEMVER") != 0 &&
		    strcmp(json_string_value(type), "GIT") != 0)
			return bad(ctx, "a range's type is not ECOSYSTEM, "
			    "SEMVER or GIT");
		return 0;
	}
	out->events = calloc(json_array_size(events), sizeof(*out->events));
	if (out->events == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < json_array_size(events); i++) {
		if ((rc = parse_event(ctx, json_array_get(events, i), i,
		    &out->events[i])) != 0)
			return rc;
		out->n_events++;
		if (out->events[i].kind == MAMORI_OSV_INTRODUCED)
			n_intro++;
	}
	if (n_intro == 0)
		return bad(ctx, "a range has no \"introduced\" event");
	qsort(out->events, out->n_events, sizeof(*out->events), event_cmp);
	*keep = 1;
	return 0;
}

/* "Debian:12" -> "12"; 0 and *release NULL for other ecosystems, with
 * *why set to the reason. */
static int
debian_release(const char *eco, char **release, const char **why)
{
	const char *p;
	size_t n;

	*release = NULL;
	*why = NULL;
	if (strncmp(eco, OSV_DEBIAN_PREFIX, strlen(OSV_DEBIAN_PREFIX)) != 0) {
		*why = strcmp(eco, "Debian") == 0 ? "no Debian release named" :
		    "not a Debian ecosystem";
		return 0;
	}
	p = eco + strlen(OSV_DEBIAN_PREFIX);
	n = strlen(p);
	if (n == 0 || n > OSV_RELEASE_MAX || strspn(p, "0123456789") != n) {
		*why = "the Debian release is not a number";
		return 0;
	}
	if ((*release = mamori_memdup_str(p, n)) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

/* Reads affected entry a into out; *keep is 0 when it is skipped. */
static int
parse_affected(struct osv_ctx *ctx, const char *id, const json_t *a,
    struct mamori_osv_affected *out, int *keep)
{
	const json_t *pkg, *ranges, *versions;
	const char *why;
	char *eco = NULL;
	size_t i;
	int rc = MAMORI_ERR_INTERNAL, k;

	*keep = 0;
	if (!json_is_object(a)) {
		rc = bad(ctx, "an affected entry is not an object");
		goto out;
	}
	pkg = json_object_get(a, "package");
	if (!json_is_object(pkg)) {
		rc = bad(ctx, "an affected entry has no \"package\" object");
		goto out;
	}
	if ((rc = get_str(ctx, pkg, "ecosystem", 1, MAMORI_OSV_STRING_MAX, 0,
	    &eco)) != 0 ||
	    (rc = get_str(ctx, pkg, "name", 1, MAMORI_OSV_STRING_MAX, 0,
	    &out->package)) != 0)
		goto out;
	if ((rc = debian_release(eco, &out->release, &why)) != 0)
		goto out;
	if (out->release == NULL) {
		ctx->set->n_skipped_affected++;
		reportf(ctx, MAMORI_OSV_SKIPPED, "%.128s: skipped %.64s in "
		    "ecosystem \"%.64s\": %s (only Debian:<release> is "
		    "matched)", id, out->package, eco, why);
		rc = 0;
		goto out;
	}
	if (out->package[0] == '\0') {
		rc = bad(ctx, "an affected package's name is empty");
		goto out;
	}
	if ((rc = get_array(ctx, a, "ranges", MAMORI_OSV_RANGES_MAX,
	    &ranges)) != 0 ||
	    (rc = get_array(ctx, a, "versions", MAMORI_OSV_VERSIONS_MAX,
	    &versions)) != 0)
		goto out;
	if (ranges != NULL && json_array_size(ranges) > 0) {
		out->ranges = calloc(json_array_size(ranges),
		    sizeof(*out->ranges));
		if (out->ranges == NULL) {
			rc = MAMORI_ERR_ALLOC;
			goto out;
		}
		for (i = 0; i < json_array_size(ranges); i++) {
			rc = parse_range(ctx, json_array_get(ranges, i),
			    &out->ranges[out->n_ranges], &k);
			if (k || rc != 0)
				out->n_ranges++; /* freed with the entry */
			if (rc != 0)
				goto out;
			if (!k) {
				ctx->set->n_skipped_ranges++;
				reportf(ctx, MAMORI_OSV_SKIPPED, "%.128s: "
				    "skipped a non-ECOSYSTEM range of %.64s",
				    id, out->package);
			}
		}
	}
	if (versions != NULL && json_array_size(versions) > 0) {
		out->versions = calloc(json_array_size(versions),
		    sizeof(*out->versions));
		if (out->versions == NULL) {
			rc = MAMORI_ERR_ALLOC;
			goto out;
		}
		for (i = 0; i < json_array_size(versions); i++) {
			if ((rc = copy_version(ctx, json_array_get(versions, i),
			    "a listed version", &out->versions[i])) != 0)
				goto out;
			out->n_versions++;
		}
	}
	*keep = 1;
	rc = 0;
out:
	free(eco);
	if (!*keep)
		affected_free(out);
	return rc;
}

static int
parse_strings(struct osv_ctx *ctx, const json_t *obj, const char *key,
    size_t max, char ***out, size_t *n)
{
	const json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = get_array(ctx, obj, key, max, &arr)) != 0 || arr == NULL ||
	    json_array_size(arr) == 0)
		return rc;
	if ((*out = calloc(json_array_size(arr), sizeof(**out))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < json_array_size(arr); i++) {
		v = json_array_get(arr, i);
		if (!json_is_string(v) ||
		    json_string_length(v) > MAMORI_OSV_STRING_MAX ||
		    !text_ok(json_string_value(v), json_string_length(v), 0))
			return bad(ctx, "\"%s\" entry %zu is not a short "
			    "string", key, i);
		if (((*out)[i] = mamori_memdup_str(json_string_value(v),
		    json_string_length(v))) == NULL)
			return MAMORI_ERR_ALLOC;
		(*n)++;
	}
	return 0;
}

static int
parse_severity(struct osv_ctx *ctx, const json_t *obj,
    struct mamori_osv_advisory *adv)
{
	const json_t *arr;
	size_t i;
	int rc;

	if ((rc = get_array(ctx, obj, "severity", MAMORI_OSV_SEVERITY_MAX,
	    &arr)) != 0 || arr == NULL || json_array_size(arr) == 0)
		return rc;
	adv->severity = calloc(json_array_size(arr), sizeof(*adv->severity));
	if (adv->severity == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *s = json_array_get(arr, i);

		if (!json_is_object(s))
			return bad(ctx, "a severity entry is not an object");
		adv->n_severity++;
		if ((rc = get_str(ctx, s, "type", 1, MAMORI_OSV_STRING_MAX, 0,
		    &adv->severity[i].type)) != 0 ||
		    (rc = get_str(ctx, s, "score", 1, MAMORI_OSV_STRING_MAX, 0,
		    &adv->severity[i].score)) != 0)
			return rc;
	}
	return 0;
}

static int
set_add(struct mamori_osv_set *set, struct mamori_osv_advisory *adv)
{
	struct mamori_osv_advisory **items;
	size_t cap;

	if (set->n >= MAMORI_OSV_ADVISORIES_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if (set->n == set->priv_cap) {
		cap = set->priv_cap == 0 ? 64 : set->priv_cap * 2;
		if ((items = reallocarray(set->items, cap,
		    sizeof(*items))) == NULL)
			return MAMORI_ERR_ALLOC;
		set->items = items;
		set->priv_cap = cap;
	}
	set->items[set->n++] = adv;
	return 0;
}

/*
 * Reads one advisory object.  A rejected advisory is reported and counted
 * and 0 returned; only ALLOC and TOO_LARGE end the file.
 */
static int
parse_advisory(struct osv_ctx *ctx, const json_t *obj, size_t index)
{
	struct mamori_osv_advisory *adv = NULL;
	const json_t *affected, *withdrawn;
	char idbuf[64];
	size_t i;
	int rc = MAMORI_ERR_INTERNAL, keep;

	ctx->why[0] = '\0';
	snprintf(idbuf, sizeof(idbuf), "advisory %zu", index);
	if (!json_is_object(obj)) {
		rc = bad(ctx, "not a JSON object");
		goto out;
	}
	if ((adv = calloc(1, sizeof(*adv))) == NULL) {
		rc = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((rc = get_str(ctx, obj, "id", 1, MAMORI_OSV_STRING_MAX, 0,
	    &adv->id)) != 0)
		goto out;
	if (adv->id[0] == '\0') {
		rc = bad(ctx, "\"id\" is empty");
		goto out;
	}
	snprintf(idbuf, sizeof(idbuf), "%s", adv->id);
	if ((rc = get_str(ctx, obj, "modified", 1, MAMORI_OSV_STRING_MAX, 0,
	    &adv->modified)) != 0 ||
	    (rc = get_str(ctx, obj, "published", 0, MAMORI_OSV_STRING_MAX, 0,
	    &adv->published)) != 0 ||
	    (rc = get_str(ctx, obj, "summary", 0, MAMORI_OSV_TEXT_MAX, 1,
	    &adv->summary)) != 0 ||
	    (rc = get_str(ctx, obj, "details", 0, MAMORI_OSV_TEXT_MAX, 1,
	    &adv->details)) != 0 ||
	    (rc = parse_strings(ctx, obj, "aliases", MAMORI_OSV_ALIASES_MAX,
	    &adv->aliases, &adv->n_aliases)) != 0 ||
	    (rc = parse_severity(ctx, obj, adv)) != 0 ||
	    (rc = get_array(ctx, obj, "affected", MAMORI_OSV_AFFECTED_MAX,
	    &affected)) != 0)
		goto out;
	withdrawn = json_object_get(obj, "withdrawn");
	if (withdrawn != NULL && !json_is_null(withdrawn)) {
		if (!json_is_string(withdrawn)) {
			rc = bad(ctx, "\"withdrawn\" is not a string");
			goto out;
		}
		ctx->set->n_withdrawn++;
		reportf(ctx, MAMORI_OSV_SKIPPED, "%s: skipped: withdrawn",
		    idbuf);
		rc = 0;
		goto out;
	}
	if (affected != NULL && json_array_size(affected) > 0) {
		adv->affected = calloc(json_array_size(affected),
		    sizeof(*adv->affected));
		if (adv->affected == NULL) {
			rc = MAMORI_ERR_ALLOC;
			goto out;
		}
		for (i = 0; i < json_array_size(affected); i++) {
			rc = parse_affected(ctx, adv->id,
			    json_array_get(affected, i),
			    &adv->affected[adv->n_affected], &keep);
			if (rc != 0)
				goto out;
			if (keep)
				adv->n_affected++;
		}
	}
	if ((adv->file = mamori_memdup_str(ctx->file,
	    strlen(ctx->file))) == NULL) {
		rc = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((rc = set_add(ctx->set, adv)) != 0)
		goto out;
	adv = NULL;
	rc = 0;
out:
	if (rc == MAMORI_ERR_BAD_ADVISORY) {
		ctx->set->n_rejected++;
		reportf(ctx, MAMORI_OSV_REJECTED, "%s: rejected: %s", idbuf,
		    ctx->why);
		rc = 0;
	}
	advisory_free(adv);
	return rc;
}

int
mamori_osv_parse(const char *data, size_t len, const char *file,
    struct mamori_osv_set *set, mamori_osv_report_fn report, void *arg)
{
	struct osv_ctx ctx;
	json_error_t jerr;
	json_t *root = NULL;
	size_t i;
	int rc = MAMORI_ERR_INTERNAL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.file = file != NULL ? file : "-";
	ctx.set = set;
	ctx.report = report;
	ctx.arg = arg;
	if (len > MAMORI_OSV_FILE_MAX) {
		set->n_rejected++;
		reportf(&ctx, MAMORI_OSV_REJECTED, "larger than %d bytes",
		    MAMORI_OSV_FILE_MAX);
		rc = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || (!json_is_object(root) && !json_is_array(root))) {
		set->n_rejected++;
		if (root == NULL)
			reportf(&ctx, MAMORI_OSV_REJECTED, "not valid JSON "
			    "(line %d: %.200s)", jerr.line, jerr.text);
		else
			reportf(&ctx, MAMORI_OSV_REJECTED, "neither an "
			    "advisory object nor an array of them");
		rc = MAMORI_ERR_BAD_ADVISORY;
		goto out;
	}
	if (json_is_object(root)) {
		rc = parse_advisory(&ctx, root, 0);
		goto out;
	}
	for (i = 0; i < json_array_size(root); i++)
		if ((rc = parse_advisory(&ctx, json_array_get(root, i),
		    i)) != 0)
			goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int
errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return MAMORI_ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return MAMORI_ERR_PERMISSION;
	default:
		return MAMORI_ERR_SYSTEM;
	}
}

/* Reads and parses one file; a file that cannot be read is reported. */
static int
load_file(const char *path, struct mamori_osv_set *set,
    mamori_osv_report_fn report, void *arg)
{
	struct osv_ctx ctx;
	struct mamori_buf b;
	int rc = MAMORI_ERR_INTERNAL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.file = path;
	ctx.report = report;
	ctx.arg = arg;
	mamori_buf_init(&b, MAMORI_OSV_FILE_MAX);
	set->n_files++;
	if ((rc = mamori_buf_read_file(&b, path)) != 0) {
		if (rc == MAMORI_ERR_ALLOC)
			goto out;
		set->n_rejected++;
		reportf(&ctx, MAMORI_OSV_REJECTED, "cannot read: %s%s",
		    mamori_strerror(rc), rc == MAMORI_ERR_TOO_LARGE ?
		    " (limit 64 MiB)" : "");
		rc = 0;
		goto out;
	}
	rc = mamori_osv_parse((const char *)b.data, b.len, path, set,
	    report, arg);
	if (rc == MAMORI_ERR_BAD_ADVISORY)
		rc = 0;         /* reported and counted */
out:
	mamori_buf_free(&b);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_json_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

int
mamori_osv_load(const char *path, struct mamori_osv_set *set,
    mamori_osv_report_fn report, void *arg)
{
	char full[OSV_PATH_MAX];
	char **names = NULL, **grown;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int rc = MAMORI_ERR_INTERNAL;

	if (stat(path, &st) != 0) {
		rc = errno_code(errno);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = load_file(path, set, report, arg);
		goto out;
	}
	if ((d = opendir(path)) == NULL) {
		rc = errno_code(errno);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_json_name(de->d_name))
			continue;
		if (n >= MAMORI_OSV_DIR_FILES_MAX) {
			rc = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			if ((grown = reallocarray(names, cap,
			    sizeof(*names))) == NULL) {
				rc = MAMORI_ERR_ALLOC;
				goto out;
			}
			names = grown;
		}
		if ((names[n] = mamori_memdup_str(de->d_name,
		    strlen(de->d_name))) == NULL) {
			rc = MAMORI_ERR_ALLOC;
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		size_t plen = strlen(path);

		/* "dir/" names its files "dir/x.json", not "dir//x.json". */
		if (plen > 1 && path[plen - 1] == '/') {
			if ((size_t)snprintf(full, sizeof(full), "%s%s", path,
			    names[i]) >= sizeof(full)) {
				rc = MAMORI_ERR_TOO_LARGE;
				goto out;
			}
		} else if ((rc = mamori_path_join(full, sizeof(full), path,
		    names[i])) != 0)
			goto out;
		if ((rc = load_file(full, set, report, arg)) != 0)
			goto out;
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	strv_free(names, n);
	return rc;
}
