/*
 * sigma_scan.c - the offline scan: Sigma rules over a JSON-lines file of
 * flat events exported by an analyst, with the rules' own field names as
 * keys (no field mapping, no logsource filtering).
 *
 * Each line is read with a hard cap and parsed with jansson; a line that
 * is too long or not a JSON object is reported with its number and the
 * scan goes on.  Nothing from the file is ever used as a format string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "sigma.h"

/* Reads one line into b (without its '\n').  Returns 1 with a line, 0 at
 * the end, MAMORI_ERR_TOO_LARGE for a line over the cap (skipped whole). */
static int
read_line(FILE *in, struct mamori_buf *b)
{
	int c, too_long = 0, any = 0;

	mamori_buf_reset(b);
	while ((c = getc(in)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (!too_long && mamori_buf_put_u8(b, (uint8_t)c) != 0)
			too_long = 1;
	}
	if (!any)
		return 0;
	return too_long ? MAMORI_ERR_TOO_LARGE : 1;
}

/* Sets slot s to the text of value v; numbers are written into num. */
static void
fill_slot(struct mamori_sigma_slot *s, json_t *v, char *num, size_t numlen)
{
	int n;

	s->present = 0;
	s->value = NULL;
	s->len = 0;
	if (v == NULL)
		return;
	if (json_is_string(v)) {
		s->value = json_string_value(v);
		s->len = json_string_length(v);
	} else if (json_is_integer(v)) {
		n = snprintf(num, numlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		if (n < 0 || (size_t)n >= numlen)
			return;
		s->value = num;
		s->len = (size_t)n;
	} else if (json_is_real(v)) {
		n = snprintf(num, numlen, "%.17g", json_real_value(v));
		if (n < 0 || (size_t)n >= numlen)
			return;
		s->value = num;
		s->len = (size_t)n;
	} else if (json_is_boolean(v)) {
		s->value = json_is_true(v) ? "true" : "false";
		s->len = strlen(s->value);
	} else
		return;
	s->present = 1;
}

/* Joins the event's values, one per line, for keyword searches. */
static int
join_values(json_t *obj, struct mamori_buf *kw)
{
	char num[MAMORI_SIGMA_NUMBER_TEXT_MAX];
	struct mamori_sigma_slot s;
	const char *key;
	json_t *v;
	int r;

	mamori_buf_reset(kw);
	json_object_foreach(obj, key, v) {
		fill_slot(&s, v, num, sizeof(num));
		if (!s.present)
			continue;
		if ((kw->len > 0 && (r = mamori_buf_put_u8(kw, '\n')) != 0) ||
		    (r = mamori_buf_append(kw, s.value, s.len)) != 0)
			return r;
	}
	return 0;
}

int
mamori_sigma_scan_jsonl(const struct mamori_sigma_ruleset *rs,
    const struct mamori_sigma_dynamic *d, FILE *in,
    const struct mamori_sigma_scan_cb *cb,
    struct mamori_sigma_scan_stats *stats)
{
	struct mamori_sigma_matcher *m = NULL;
	struct mamori_sigma_slot *slots = NULL;
	struct mamori_buf line, kw;
	char *nums = NULL, why[MAMORI_SIGMA_REASON_MAX];
	const uint32_t *hits;
	size_t nslots = mamori_sigma_dynamic_count(d), i, nhits;
	uint32_t kwslot;
	json_error_t jerr;
	json_t *obj = NULL;
	int r, have_kw;

	memset(stats, 0, sizeof(*stats));
	mamori_buf_init(&line, MAMORI_SIGMA_SCAN_LINE_MAX);
	mamori_buf_init(&kw, MAMORI_SIGMA_SCAN_LINE_MAX + 1);
	have_kw = mamori_sigma_dynamic_slot(d, MAMORI_SIGMA_KEYWORDS,
	    &kwslot) == 0;
	if ((r = mamori_sigma_matcher_new(rs, &m)) != 0)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((slots = calloc(nslots + 1, sizeof(*slots))) == NULL ||
	    (nums = calloc(nslots + 1, MAMORI_SIGMA_NUMBER_TEXT_MAX)) == NULL)
		goto out;
	for (;;) {
		r = read_line(in, &line);
		if (r == 0)
			break;
		stats->lines++;
		if (r == MAMORI_ERR_TOO_LARGE) {
			snprintf(why, sizeof(why), "line longer than %d bytes",
			    MAMORI_SIGMA_SCAN_LINE_MAX);
			goto bad;
		}
		if (line.len == 0 || (line.len == 1 && line.data[0] == '\r'))
			continue;
		obj = json_loadb((const char *)line.data, line.len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL) {
			snprintf(why, sizeof(why), "not valid JSON: %.160s (column "
			    "%d)", jerr.text, jerr.column);
			goto bad;
		}
		if (!json_is_object(obj)) {
			snprintf(why, sizeof(why), "not a JSON object");
			goto bad;
		}
		for (i = 0; i < nslots; i++) {
			const char *name = mamori_sigma_dynamic_name(d,
			    (uint32_t)i);

			fill_slot(&slots[i], json_object_get(obj, name),
			    nums + i * MAMORI_SIGMA_NUMBER_TEXT_MAX,
			    MAMORI_SIGMA_NUMBER_TEXT_MAX);
		}
		if (have_kw) {
			if (join_values(obj, &kw) != 0) {
				snprintf(why, sizeof(why), "values too long");
				goto bad;
			}
			slots[kwslot].value = kw.data == NULL ? "" :
			    (const char *)kw.data;
			slots[kwslot].len = kw.len;
			slots[kwslot].present = 1;
		}
		stats->events++;
		if ((r = mamori_sigma_match(m, MAMORI_SIGMA_ANY_CATEGORY, slots,
		    nslots, &hits, &nhits)) != 0)
			goto out;
		for (i = 0; i < nhits; i++) {
			stats->matches++;
			if (cb->on_match != NULL && (r = cb->on_match(cb->arg,
			    stats->lines, hits[i])) != 0)
				goto out;
		}
		json_decref(obj);
		obj = NULL;
		continue;
bad:
		stats->bad++;
		if (cb->on_bad != NULL)
			cb->on_bad(cb->arg, stats->lines, why);
		json_decref(obj);
		obj = NULL;
	}
	r = ferror(in) ? MAMORI_ERR_IO : 0;
out:
	json_decref(obj);
	mamori_sigma_matcher_free(m);
	free(slots);
	free(nums);
	mamori_buf_free(&line);
	mamori_buf_free(&kw);
	return r;
}
