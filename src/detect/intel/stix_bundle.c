/*
 * stix_bundle.c - the STIX 2.1 bundle reader (see stix_bundle.h), on
 * jansson.
 *
 * The JSON is measured before jansson sees it (size, nesting depth), then
 * each indicator is taken field by field with its type checked; a field of
 * the wrong type or over its limit makes that indicator unsupported with
 * the reason, never the whole bundle.  This file must never trust a length,
 * a count or a type it has not checked, nor print bundle text anywhere.
 */
#include "stix_bundle.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "util.h"

static int
bundle_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bundle_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Deepest nesting of [ and { outside strings, stopping past max. */
static size_t
json_depth(const char *s, size_t len, size_t max)
{
	size_t i, depth = 0, deepest = 0;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > deepest && (deepest = depth) > max)
				return deepest;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return deepest;
}

static void
free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static void
indicator_clear(struct mamori_stix_indicator *ind)
{
	free(ind->id);
	free(ind->name);
	free(ind->description);
	free(ind->pattern);
	free(ind->pattern_type);
	free(ind->valid_from);
	free(ind->valid_until);
	free_list(ind->labels, ind->nlabels);
	free_list(ind->kill_chain, ind->nkill_chain);
	free_list(ind->attack_ids, ind->nattack_ids);
	mamori_stix_compiled_free(ind->compiled);
	memset(ind, 0, sizeof(*ind));
}

void
mamori_stix_bundle_free(struct mamori_stix_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nind; i++)
		indicator_clear(&b->ind[i]);
	free(b->ind);
	free(b->id);
	free(b->source);
	free(b);
}

/* The reason an indicator is unsupported, unless one is set already. */
static void
set_reason(struct mamori_stix_indicator *ind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct mamori_stix_indicator *ind, const char *fmt, ...)
{
	va_list ap;

	if (ind->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(ind->reason, sizeof(ind->reason), fmt, ap);
	va_end(ap);
}

/* Copies the string member key of o into *dst (left NULL when absent).
 * A member of the wrong type or too long sets the reason. */
static int
take_str(struct mamori_stix_indicator *ind, const json_t *o, const char *key,
    size_t max, char **dst)
{
	const json_t *v = json_object_get(o, key);
	size_t n;

	*dst = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		set_reason(ind, "invalid indicator: %s is not a string", key);
		return 0;
	}
	n = json_string_length(v);
	if (n > max || memchr(json_string_value(v), '\0', n) != NULL) {
		set_reason(ind, "invalid indicator: %s longer than %zu bytes "
		    "or holding a NUL", key, max);
		return 0;
	}
	if ((*dst = mamori_memdup_str(json_string_value(v), n)) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

static int
list_add(struct mamori_stix_indicator *ind, char ***list, size_t *n,
    const char *what, const char *s, size_t len)
{
	char **l;

	if (*n >= MAMORI_STIX_LIST_MAX) {
		set_reason(ind, "invalid indicator: more than %d %s",
		    MAMORI_STIX_LIST_MAX, what);
		return 0;
	}
	if (len > MAMORI_STIX_TEXT_MAX || memchr(s, '\0', len) != NULL) {
		set_reason(ind, "invalid indicator: one of %s too long", what);
		return 0;
	}
	if ((l = realloc(*list, (*n + 1) * sizeof(*l))) == NULL)
		return MAMORI_ERR_ALLOC;
	*list = l;
	if ((l[*n] = mamori_memdup_str(s, len)) == NULL)
		return MAMORI_ERR_ALLOC;
	(*n)++;
	return 0;
}

/* Appends the strings of array member key (labels, indicator_types). */
static int
take_strings(struct mamori_stix_indicator *ind, const json_t *o,
    const char *key)
{
	const json_t *a = json_object_get(o, key), *v;
	size_t i;
	int r;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		set_reason(ind, "invalid indicator: %s is not a list", key);
		return 0;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			set_reason(ind, "invalid indicator: %s holds a non-string",
			    key);
			return 0;
		}
		if ((r = list_add(ind, &ind->labels, &ind->nlabels, key,
		    json_string_value(v), json_string_length(v))) != 0)
			return r;
	}
	return 0;
}

static int
take_phases(struct mamori_stix_indicator *ind, const json_t *o)
{
	const json_t *a = json_object_get(o, "kill_chain_phases"), *v, *k, *p;
	char buf[512];
	size_t i;
	int r, n;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		set_reason(ind, "invalid indicator: kill_chain_phases is not a "
		    "list");
		return 0;
	}
	json_array_foreach(a, i, v) {
		k = json_object_get(v, "kill_chain_name");
		p = json_object_get(v, "phase_name");
		if (!json_is_string(k) || !json_is_string(p)) {
			set_reason(ind, "invalid indicator: a kill chain phase "
			    "without kill_chain_name and phase_name");
			return 0;
		}
		n = snprintf(buf, sizeof(buf), "%s:%s", json_string_value(k),
		    json_string_value(p));
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			set_reason(ind, "invalid indicator: a kill chain phase "
			    "longer than %zu bytes", sizeof(buf) - 1);
			return 0;
		}
		if ((r = list_add(ind, &ind->kill_chain, &ind->nkill_chain,
		    "kill chain phases", buf, (size_t)n)) != 0)
			return r;
	}
	return 0;
}

/* external_references with source_name "mitre-attack": their external_id
 * (T1566, T1566.001, ...). */
static int
take_attack(struct mamori_stix_indicator *ind, const json_t *o)
{
	const json_t *a = json_object_get(o, "external_references"), *v, *src,
	    *eid;
	size_t i;
	int r;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, v) {
		src = json_object_get(v, "source_name");
		eid = json_object_get(v, "external_id");
		if (!json_is_string(src) || !json_is_string(eid) ||
		    strcmp(json_string_value(src), "mitre-attack") != 0)
			continue;
		if ((r = list_add(ind, &ind->attack_ids, &ind->nattack_ids,
		    "ATT&CK ids", json_string_value(eid),
		    json_string_length(eid))) != 0)
			return r;
	}
	return 0;
}

static int
take_indicator(struct mamori_stix_indicator *ind, const json_t *o)
{
	struct mamori_stix_pattern *p = NULL;
	struct mamori_stix_error perr;
	char reason[MAMORI_STIX_REASON_MAX];
	int r;

	if ((r = take_str(ind, o, "id", MAMORI_STIX_TEXT_MAX, &ind->id)) != 0 ||
	    (r = take_str(ind, o, "name", MAMORI_STIX_TEXT_MAX,
	    &ind->name)) != 0 ||
	    (r = take_str(ind, o, "description", MAMORI_STIX_TEXT_MAX,
	    &ind->description)) != 0 ||
	    (r = take_str(ind, o, "pattern", MAMORI_STIX_PATTERN_MAX,
	    &ind->pattern)) != 0 ||
	    (r = take_str(ind, o, "pattern_type", MAMORI_STIX_TEXT_MAX,
	    &ind->pattern_type)) != 0 ||
	    (r = take_str(ind, o, "valid_from", MAMORI_STIX_TEXT_MAX,
	    &ind->valid_from)) != 0 ||
	    (r = take_str(ind, o, "valid_until", MAMORI_STIX_TEXT_MAX,
	    &ind->valid_until)) != 0 ||
	    (r = take_strings(ind, o, "labels")) != 0 ||
	    (r = take_strings(ind, o, "indicator_types")) != 0 ||
	    (r = take_phases(ind, o)) != 0 ||
	    (r = take_attack(ind, o)) != 0)
		return r;
	if (ind->id == NULL)
		set_reason(ind, "invalid indicator: no id");
	if (ind->pattern == NULL)
		set_reason(ind, "invalid indicator: no pattern");
	/* pattern_type is required in 2.1; 2.0 bundles have none and mean
	 * STIX patterns */
	if (ind->pattern_type != NULL && strcmp(ind->pattern_type, "stix") != 0)
		set_reason(ind, "pattern_type '%.64s' is not supported (only "
		    "stix)", ind->pattern_type);
	if (ind->reason[0] != '\0')
		return 0;
	r = mamori_stix_pattern_parse(ind->pattern, strlen(ind->pattern), &p,
	    &perr);
	if (r == MAMORI_ERR_ALLOC)
		goto out;
	if (r != 0) {
		set_reason(ind, "pattern syntax error at byte %zu: %s", perr.pos,
		    perr.msg);
		r = 0;
		goto out;
	}
	r = mamori_stix_pattern_compile(p, &ind->compiled, reason,
	    sizeof(reason));
	if (r == MAMORI_ERR_STIX_UNSUPPORTED) {
		set_reason(ind, "%s", reason);
		r = 0;
	}
out:
	mamori_stix_pattern_free(p);
	return r;
}

int
mamori_stix_bundle_parse(const char *json, size_t len, const char *source,
    struct mamori_stix_bundle **out, char *err, size_t errlen)
{
	struct mamori_stix_bundle *b = NULL;
	json_t *root = NULL, *objs, *o, *t;
	json_error_t jerr;
	size_t i, nind = 0, depth;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len > MAMORI_STIX_BUNDLE_MAX_BYTES) {
		r = bundle_fail(err, errlen, MAMORI_ERR_TOO_LARGE, "larger than "
		    "%d MiB", MAMORI_STIX_BUNDLE_MAX_BYTES / (1024 * 1024));
		goto out;
	}
	if ((depth = json_depth(json, len, MAMORI_STIX_JSON_DEPTH_MAX)) >
	    MAMORI_STIX_JSON_DEPTH_MAX) {
		r = bundle_fail(err, errlen, MAMORI_ERR_TOO_LARGE, "JSON nested "
		    "deeper than %d", MAMORI_STIX_JSON_DEPTH_MAX);
		goto out;
	}
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		r = bundle_fail(err, errlen, MAMORI_ERR_STIX_BUNDLE, "not valid "
		    "JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		    jerr.column);
		goto out;
	}
	t = json_object_get(root, "type");
	if (!json_is_string(t) || strcmp(json_string_value(t), "bundle") != 0) {
		r = bundle_fail(err, errlen, MAMORI_ERR_STIX_BUNDLE, "not a STIX "
		    "bundle (no \"type\": \"bundle\")");
		goto out;
	}
	/* a bundle without objects is empty: nothing to import */
	objs = json_object_get(root, "objects");
	if (objs != NULL && !json_is_array(objs)) {
		r = bundle_fail(err, errlen, MAMORI_ERR_STIX_BUNDLE, "bundle "
		    "objects is not a list");
		goto out;
	}
	if (json_array_size(objs) > MAMORI_STIX_OBJECTS_MAX) {
		r = bundle_fail(err, errlen, MAMORI_ERR_TOO_LARGE, "more than %d "
		    "objects", MAMORI_STIX_OBJECTS_MAX);
		goto out;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail_alloc;
	if (source != NULL && (b->source = mamori_memdup_str(source,
	    strlen(source))) == NULL)
		goto fail_alloc;
	t = json_object_get(root, "id");
	if (json_is_string(t) && json_string_length(t) <=
	    MAMORI_STIX_TEXT_MAX && (b->id = mamori_memdup_str(
	    json_string_value(t), json_string_length(t))) == NULL)
		goto fail_alloc;
	json_array_foreach(objs, i, o) {
		t = json_object_get(o, "type");
		if (json_is_string(t) &&
		    strcmp(json_string_value(t), "indicator") == 0)
			nind++;
	}
	if (nind > 0 && (b->ind = calloc(nind, sizeof(*b->ind))) == NULL)
		goto fail_alloc;
	json_array_foreach(objs, i, o) {
		t = json_object_get(o, "type");
		if (!json_is_string(t) ||
		    strcmp(json_string_value(t), "indicator") != 0) {
			b->nother++;
			continue;
		}
		r = take_indicator(&b->ind[b->nind], o);
		b->nind++;
		if (r != 0)
			goto fail_alloc;
		if (b->ind[b->nind - 1].compiled != NULL)
			b->nsupported++;
	}
	*out = b;
	b = NULL;
	r = 0;
	goto out;
fail_alloc:
	r = bundle_fail(err, errlen, MAMORI_ERR_ALLOC, "out of memory");
out:
	mamori_stix_bundle_free(b);
	json_decref(root);
	return r;
}

int
mamori_stix_bundle_load(const char *path, struct mamori_stix_bundle **out,
    char *err, size_t errlen)
{
	struct mamori_buf buf;
	int r;

	*out = NULL;
	mamori_buf_init(&buf, MAMORI_STIX_BUNDLE_MAX_BYTES);
	if ((r = mamori_buf_read_file(&buf, path)) != 0) {
		if (r == MAMORI_ERR_TOO_LARGE)
			r = bundle_fail(err, errlen, r, "larger than %d MiB",
			    MAMORI_STIX_BUNDLE_MAX_BYTES / (1024 * 1024));
		else
			r = bundle_fail(err, errlen, MAMORI_ERR_IO, "cannot read "
			    "(%s)", mamori_strerror(r));
		goto out;
	}
	r = mamori_stix_bundle_parse(buf.data == NULL ? "" :
	    (const char *)buf.data, buf.len, path, out, err, errlen);
out:
	mamori_buf_free(&buf);
	return r;
}
