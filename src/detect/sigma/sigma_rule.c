/*
 * sigma_rule.c - turns one Sigma rule (YAML) into the engine's compiled
 * form: metadata, the logsource checked by the schema, and the detection
 * as searches -> maps -> field items -> values -> patterns, with field
 * names resolved to slots and values turned into expressions.
 *
 * Value semantics (Sigma specification v2 and its modifier appendix):
 * a plain value equals the whole field, with "*" (any run) and "?" (one
 * character) as wildcards and "\" escaping "*", "?" and "\" (a backslash
 * before anything else is itself); contains/startswith/endswith relax the
 * anchors; matching ignores ASCII case unless |cased; |re is a PCRE2
 * expression, case-sensitive unless |i; null means the field is absent or
 * empty.
 *
 * A rule this file cannot support is recorded with its reason and its
 * partial compiled form is removed; it must never be dropped in silence,
 * nor half added.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "sigma_internal.h"
#include "util.h"

#define RULE_ARRAY_START 16
#define RULE_VARIANTS_MAX 16  /* patterns one value may become */
#define RULE_EXPR_MAX (MAMORI_SIGMA_PATTERN_MAX * 8 + 16)
#define RULE_PATH_MAX 4096

/* Modifier bits. */
#define M_CONTAINS (1u << 0)
#define M_STARTS (1u << 1)
#define M_ENDS (1u << 2)
#define M_ALL (1u << 3)
#define M_RE (1u << 4)
#define M_RE_I (1u << 5)
#define M_RE_M (1u << 6)
#define M_RE_S (1u << 7)
#define M_CIDR (1u << 8)
#define M_B64 (1u << 9)
#define M_B64OFF (1u << 10)
#define M_WINDASH (1u << 11)
#define M_EXISTS (1u << 12)
#define M_CASED (1u << 13)
#define M_LT (1u << 14)
#define M_LTE (1u << 15)
#define M_GT (1u << 16)
#define M_GTE (1u << 17)
#define M_NUMERIC (M_LT | M_LTE | M_GT | M_GTE)
#define M_KEYWORDS (1u << 18) /* internal: a keyword search */

static const struct {
	const char *name;
	unsigned bit;
} modifiers[] = {
	{"contains", M_CONTAINS}, {"startswith", M_STARTS},
	{"endswith", M_ENDS}, {"all", M_ALL}, {"re", M_RE}, {"i", M_RE_I},
	{"m", M_RE_M}, {"s", M_RE_S}, {"cidr", M_CIDR}, {"base64", M_B64},
	{"base64offset", M_B64OFF}, {"windash", M_WINDASH},
	{"exists", M_EXISTS}, {"cased", M_CASED}, {"lt", M_LT},
	{"lte", M_LTE}, {"gt", M_GT}, {"gte", M_GTE},
};

int
sigma_array_push(struct sigma_array *a, const void *elem, uint32_t *idx)
{
	void *d;
	size_t cap;

	if (a->n >= UINT32_MAX - 1)
		return MAMORI_ERR_TOO_LARGE;
	if (a->n == a->cap) {
		cap = a->cap == 0 ? RULE_ARRAY_START : a->cap * 2;
		if ((d = realloc(a->data, cap * a->elem)) == NULL)
			return MAMORI_ERR_ALLOC;
		a->data = d;
		a->cap = cap;
	}
	memcpy((char *)a->data + a->n * a->elem, elem, a->elem);
	if (idx != NULL)
		*idx = (uint32_t)a->n;
	a->n++;
	return 0;
}

static void
pattern_clear(struct sigma_pattern *p)
{
	free(p->expr);
	p->expr = NULL;
	pcre2_code_free(p->re);
	p->re = NULL;
}

/* The state of loading one rule. */
struct loader {
	struct mamori_sigma_ruleset *rs;
	struct sigma_rule *rule;
	uint32_t rule_idx;
	size_t nvalues;
	size_t npatterns;
	char *reason;
	size_t reasonlen;
};

static int unsupported(struct loader *ld, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
unsupported(struct loader *ld, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ld->reason, ld->reasonlen, fmt, ap);
	va_end(ap);
	return code;
}

/* A YAML null: a plain scalar "", "~", "null" (any case). */
static int
is_null(const struct sigma_ynode *n)
{
	return n->type == SIGMA_Y_SCALAR && n->plain &&
	    (n->len == 0 || strcmp(n->text, "~") == 0 ||
	    strcasecmp(n->text, "null") == 0);
}

static int
push_pattern(struct loader *ld, struct sigma_pattern *p, uint32_t *first,
    uint32_t *n)
{
	uint32_t idx;
	int r;

	p->rule = ld->rule_idx;
	if (++ld->npatterns > MAMORI_SIGMA_PATTERNS_MAX) {
		pattern_clear(p);
		return unsupported(ld, MAMORI_ERR_TOO_LARGE, "more than %d "
		    "patterns", MAMORI_SIGMA_PATTERNS_MAX);
	}
	if ((r = sigma_array_push(&ld->rs->patterns, p, &idx)) != 0) {
		pattern_clear(p);
		return r;
	}
	if (*n == 0)
		*first = idx;
	(*n)++;
	return 0;
}

/* Appends text[0..len) to expr as a literal (PCRE and Vectorscan read
 * escaped punctuation and \xHH the same way). */
static int
expr_literal(struct mamori_buf *expr, const char *s, size_t len)
{
	char hex[8];
	size_t i;
	int r = 0;
	unsigned char c;

	for (i = 0; i < len && r == 0; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			r = mamori_buf_put_u8(expr, c);
		else if (c > 0x20 && c < 0x7f) {
			if ((r = mamori_buf_put_u8(expr, '\\')) == 0)
				r = mamori_buf_put_u8(expr, c);
		} else {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			r = mamori_buf_append(expr, hex, 4);
		}
	}
	return r;
}

/* Appends a Sigma string with its wildcards to expr. */
static int
expr_wildcards(struct mamori_buf *expr, const char *s, size_t len, int dotall)
{
	size_t i;
	int r = 0;

	for (i = 0; i < len && r == 0; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			r = expr_literal(expr, &s[i + 1], 1);
			i++;
		} else if (s[i] == '*')
			r = mamori_buf_append(expr, dotall ? ".*" : "[^\\n]*",
			    dotall ? 2 : 6);
		else if (s[i] == '?')
			r = mamori_buf_append(expr, dotall ? "." : "[^\\n]",
			    dotall ? 1 : 5);
		else
			r = expr_literal(expr, &s[i], 1);
	}
	return r;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding of in[0..len) into out (4 * ((len + 2) / 3)
 * + 1 bytes). */
static void
base64(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* Makes a string pattern: expression from variant text, anchored per the
 * modifiers; wild = the text holds Sigma wildcards. */
static int
string_pattern(struct loader *ld, uint32_t slot, unsigned mods,
    const char *text, size_t len, int wild, int cased, uint32_t *first,
    uint32_t *n)
{
	struct sigma_pattern p;
	struct mamori_buf expr;
	int keywords = (mods & M_KEYWORDS) != 0, r;

	memset(&p, 0, sizeof(p));
	mamori_buf_init(&expr, RULE_EXPR_MAX);
	/* The offline keyword slot joins an event's values with newlines:
	 * wildcards must not run across them. */
	if (!(mods & (M_CONTAINS | M_ENDS)) &&
	    (r = mamori_buf_append(&expr, "\\A", 2)) != 0)
		goto out;
	r = wild ? expr_wildcards(&expr, text, len, !keywords) :
	    expr_literal(&expr, text, len);
	if (r != 0)
		goto out;
	if (!(mods & (M_CONTAINS | M_STARTS)) &&
	    (r = mamori_buf_append(&expr, "\\z", 2)) != 0)
		goto out;
	if ((p.expr = mamori_memdup_str(expr.data == NULL ? "" :
	    (const char *)expr.data, expr.len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	p.kind = SIGMA_PAT_HS;
	p.slot = slot;
	p.hs_flags = HS_FLAG_SINGLEMATCH | (keywords ? 0 : HS_FLAG_DOTALL) |
	    (cased ? 0 : HS_FLAG_CASELESS);
	r = push_pattern(ld, &p, first, n);
out:
	mamori_buf_free(&expr);
	return r;
}

/* windash: "-" or "/" starting an option (after a non-word character,
 * before a word character) takes each of these in turn, all occurrences
 * the same. */
static const char *const dashes[] = {"-", "/", "\xe2\x80\x93",
    "\xe2\x80\x94", "\xe2\x80\x95"};

static int
is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Adds the patterns of one string value: windash variants, then base64
 * encodings, each anchored per the modifiers. */
static int
string_value(struct loader *ld, uint32_t slot, unsigned mods,
    const char *text, size_t len, uint32_t *first, uint32_t *n)
{
	char variant[MAMORI_SIGMA_PATTERN_MAX * 3 + 1];
	char enc[(MAMORI_SIGMA_PATTERN_MAX * 3 + 3) / 3 * 4 + 8];
	unsigned char raw[MAMORI_SIGMA_PATTERN_MAX * 3 + 3];
	size_t nvar, v, i, o, dl, elen;
	unsigned off;
	int r, cased = (mods & M_CASED) != 0;

	nvar = (mods & M_WINDASH) ? sizeof(dashes) / sizeof(dashes[0]) : 1;
	for (v = 0; v < nvar; v++) {
		o = 0;
		for (i = 0; i < len; i++) {
			if ((mods & M_WINDASH) && (text[i] == '-' ||
			    text[i] == '/') && (i == 0 || !is_word(text[i - 1])) &&
			    i + 1 < len && is_word(text[i + 1])) {
				dl = strlen(dashes[v]);
				memcpy(variant + o, dashes[v], dl);
				o += dl;
			} else
				variant[o++] = text[i];
		}
		variant[o] = '\0';
		if (!(mods & (M_B64 | M_B64OFF))) {
			if ((r = string_pattern(ld, slot, mods, variant, o, 1,
			    cased, first, n)) != 0)
				return r;
			continue;
		}
		/* base64 text is case-sensitive, and the value is taken
		 * literally (no wildcards). */
		if (mods & M_B64) {
			base64((const unsigned char *)variant, o, enc);
			if ((r = string_pattern(ld, slot, mods, enc,
			    strlen(enc), 0, 1, first, n)) != 0)
				return r;
			continue;
		}
		for (off = 0; off < 3; off++) {
			static const size_t start[3] = {0, 2, 3};
			static const size_t cut[3] = {0, 3, 2};

			memset(raw, ' ', off);
			memcpy(raw + off, variant, o);
			base64(raw, o + off, enc);
			elen = strlen(enc);
			elen -= cut[(o + off) % 3];
			if (elen <= start[off])
				continue;
			if ((r = string_pattern(ld, slot, mods | M_CONTAINS,
			    enc + start[off], elen - start[off], 0, 1, first,
			    n)) != 0)
				return r;
		}
	}
	return 0;
}

static int
parse_number(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(*out))
		return MAMORI_ERR_INVALID;
	return 0;
}

static int
parse_cidr(const char *s, struct sigma_pattern *p)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	uint64_t prefix;
	size_t alen;

	alen = slash == NULL ? strlen(s) : (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return MAMORI_ERR_INVALID;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = 4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = 6;
	else
		return MAMORI_ERR_INVALID;
	if (slash == NULL)
		prefix = p->family == 4 ? 32 : 128;
	else if (mamori_parse_u64(slash + 1, 0, p->family == 4 ? 32 : 128,
	    &prefix) != 0)
		return MAMORI_ERR_INVALID;
	p->prefix = (unsigned)prefix;
	return 0;
}

/* Adds one value of a field item. */
static int
add_value(struct loader *ld, uint32_t slot, unsigned mods,
    const struct sigma_ynode *v)
{
	struct sigma_value val = {0, 0};
	struct sigma_pattern p;
	int r, errcode;
	PCRE2_SIZE erroff;
	uint32_t opts = 0;
	char msg[128];

	memset(&p, 0, sizeof(p));
	p.slot = slot;
	if (v->type != SIGMA_Y_SCALAR)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s", "a field value "
		    "is a map or nested list");
	if (++ld->nvalues > MAMORI_SIGMA_VALUES_MAX)
		return unsupported(ld, MAMORI_ERR_TOO_LARGE, "%s",
		    "too many values");
	if (v->len > MAMORI_SIGMA_PATTERN_MAX)
		return unsupported(ld, MAMORI_ERR_TOO_LARGE, "%s",
		    "a value is longer than the pattern limit");
	if (mods & M_EXISTS) {
		p.kind = SIGMA_PAT_EXISTS;
		if (strcasecmp(v->text, "true") == 0 ||
		    strcasecmp(v->text, "yes") == 0)
			p.exists = 1;
		else if (strcasecmp(v->text, "false") == 0 ||
		    strcasecmp(v->text, "no") == 0)
			p.exists = 0;
		else
			return unsupported(ld, MAMORI_ERR_INVALID, "%s",
			    "|exists needs true or false");
		r = push_pattern(ld, &p, &val.first, &val.n);
	} else if (is_null(v)) {
		p.kind = SIGMA_PAT_NULL;
		r = push_pattern(ld, &p, &val.first, &val.n);
	} else if (mods & M_NUMERIC) {
		p.kind = SIGMA_PAT_NUM;
		p.op = (mods & M_LT) ? SIGMA_LT : (mods & M_LTE) ? SIGMA_LTE :
		    (mods & M_GT) ? SIGMA_GT : SIGMA_GTE;
		if (parse_number(v->text, &p.num) != 0)
			return unsupported(ld, MAMORI_ERR_INVALID, "%s",
			    "|lt, |lte, |gt and |gte need a number");
		r = push_pattern(ld, &p, &val.first, &val.n);
	} else if (mods & M_CIDR) {
		p.kind = SIGMA_PAT_CIDR;
		if (parse_cidr(v->text, &p) != 0)
			return unsupported(ld, MAMORI_ERR_INVALID, "|cidr "
			    "value \"%.64s\" is not an address/prefix",
			    v->text);
		r = push_pattern(ld, &p, &val.first, &val.n);
	} else if (mods & M_RE) {
		p.kind = SIGMA_PAT_RE;
		if (mods & M_RE_I)
			opts |= PCRE2_CASELESS;
		if (mods & M_RE_M)
			opts |= PCRE2_MULTILINE;
		if (mods & M_RE_S)
			opts |= PCRE2_DOTALL;
		p.re = pcre2_compile((PCRE2_SPTR)v->text, v->len, opts,
		    &errcode, &erroff, NULL);
		if (p.re == NULL) {
			pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg,
			    sizeof(msg));
			return unsupported(ld, MAMORI_ERR_INVALID,
			    "|re: %s", msg);
		}
		(void)pcre2_jit_compile(p.re, PCRE2_JIT_COMPLETE);
		r = push_pattern(ld, &p, &val.first, &val.n);
	} else
		r = string_value(ld, slot, mods, v->text, v->len, &val.first,
		    &val.n);
	if (r != 0)
		return r;
	return sigma_array_push(&ld->rs->values, &val, NULL);
}

/* Adds a field item "Field|mod|mod: value(s)" to the current map. */
static int
add_item(struct loader *ld, const char *key, const struct sigma_ynode *v,
    uint32_t *item_idx)
{
	char field[MAMORI_SIGMA_TEXT_MAX];
	struct sigma_item item = {0, 0, 0};
	const char *bar = strchr(key, '|'), *m, *why = "";
	unsigned mods = 0, bit;
	uint32_t slot;
	size_t flen, mlen, i, k;
	int r;

	flen = bar == NULL ? strlen(key) : (size_t)(bar - key);
	if (flen >= sizeof(field))
		return unsupported(ld, MAMORI_ERR_TOO_LARGE, "%s",
		    "a field name is too long");
	memcpy(field, key, flen);
	field[flen] = '\0';
	for (m = bar; m != NULL; m = strchr(m + 1, '|')) {
		const char *e = strchr(m + 1, '|');

		mlen = e == NULL ? strlen(m + 1) : (size_t)(e - m - 1);
		bit = 0;
		for (k = 0; k < sizeof(modifiers) / sizeof(modifiers[0]); k++)
			if (strlen(modifiers[k].name) == mlen &&
			    strncmp(modifiers[k].name, m + 1, mlen) == 0)
				bit = modifiers[k].bit;
		if (bit == 0) {
			char name[64];

			snprintf(name, sizeof(name), "%.*s",
			    (int)(mlen > 40 ? 40 : mlen), m + 1);
			return unsupported(ld, MAMORI_ERR_INVALID, "modifier "
			    "\"%s\" is not supported", name);
		}
		mods |= bit;
	}
	if ((mods & (M_RE_I | M_RE_M | M_RE_S)) && !(mods & M_RE))
		return unsupported(ld, MAMORI_ERR_INVALID, "%s", "modifiers i, "
		    "m and s go only with re");
	if ((mods & M_B64) && (mods & M_B64OFF))
		return unsupported(ld, MAMORI_ERR_INVALID, "%s", "base64 and "
		    "base64offset together");
	if (flen == 0) {
		snprintf(field, sizeof(field), "%s", MAMORI_SIGMA_KEYWORDS);
		mods |= M_KEYWORDS;
	}
	if (ld->rs->schema.field(ld->rs->schema.arg, ld->rule->category, field,
	    &slot, &why) != 0 || slot >= MAMORI_SIGMA_SLOTS_MAX)
		return snprintf(ld->reason, ld->reasonlen, "field \"%.64s\": "
		    "%s", field, why), MAMORI_ERR_NOT_FOUND;
	item.all = (mods & M_ALL) != 0;
	if (v->type == SIGMA_Y_SEQ) {
		if (v->nkids == 0)
			return unsupported(ld, MAMORI_ERR_INVALID, "field \"%.64s\""
			    " has an empty list of values", field);
		for (i = 0; i < v->nkids; i++) {
			if ((r = add_value(ld, slot, mods, v->kids[i])) != 0)
				return r;
			if (i == 0)
				item.first = (uint32_t)(ld->rs->values.n - 1);
			item.n++;
		}
	} else {
		if ((r = add_value(ld, slot, mods, v)) != 0)
			return r;
		item.first = (uint32_t)(ld->rs->values.n - 1);
		item.n = 1;
	}
	return sigma_array_push(&ld->rs->items, &item, item_idx);
}

/* Adds a map of a search: every key is a field item. */
static int
add_map(struct loader *ld, const struct sigma_ynode *n)
{
	struct sigma_map map = {0, 0};
	uint32_t idx;
	size_t i;
	int r;

	if (n->nkids == 0)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "a search has an empty map");
	for (i = 0; i + 1 < n->nkids; i += 2) {
		if (n->kids[i]->type != SIGMA_Y_SCALAR)
			return unsupported(ld, MAMORI_ERR_INVALID, "%s",
			    "a field name is not text");
		if ((r = add_item(ld, n->kids[i]->text, n->kids[i + 1],
		    &idx)) != 0)
			return r;
		if (map.n == 0)
			map.first = idx;
		map.n++;
	}
	return sigma_array_push(&ld->rs->maps, &map, NULL);
}

/* Adds keyword values (strings without a field): contains semantics
 * against the keywords slot. */
static int
add_keywords(struct loader *ld, const struct sigma_ynode *n)
{
	struct sigma_map map = {0, 1};
	int r;

	if ((r = add_item(ld, "|contains", n, &map.first)) != 0)
		return r;
	return sigma_array_push(&ld->rs->maps, &map, NULL);
}

static int
add_search(struct loader *ld, const char *name, const struct sigma_ynode *n)
{
	struct sigma_search s = {NULL, 0, 0};
	size_t i, first = ld->rs->maps.n, maps = 0, scalars = 0;
	int r;

	if (strlen(name) > MAMORI_SIGMA_TEXT_MAX)
		return unsupported(ld, MAMORI_ERR_TOO_LARGE, "%s",
		    "a search identifier is too long");
	if (n->type == SIGMA_Y_MAP)
		r = add_map(ld, n);
	else if (n->type == SIGMA_Y_SCALAR)
		r = add_keywords(ld, n);
	else {
		for (i = 0; i < n->nkids; i++) {
			if (n->kids[i]->type == SIGMA_Y_MAP)
				maps++;
			else if (n->kids[i]->type == SIGMA_Y_SCALAR)
				scalars++;
		}
		if (n->nkids == 0 || (maps != n->nkids && scalars != n->nkids))
			return unsupported(ld, MAMORI_ERR_INVALID, "search "
			    "\"%.64s\" must be a map, a list of maps or a list "
			    "of values", name);
		r = 0;
		if (scalars > 0)
			r = add_keywords(ld, n);
		for (i = 0; i < n->nkids && maps > 0 && r == 0; i++)
			r = add_map(ld, n->kids[i]);
	}
	if (r != 0)
		return r;
	s.first = (uint32_t)first;
	s.n = (uint32_t)(ld->rs->maps.n - first);
	if ((s.name = mamori_memdup_str(name, strlen(name))) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = sigma_array_push(&ld->rs->searches, &s, NULL)) != 0)
		free(s.name);
	return r;
}

static const char *
own_text(struct sigma_rule *rule, size_t slot, const struct sigma_ynode *n)
{
	if (n == NULL || n->type != SIGMA_Y_SCALAR)
		return "";
	free(rule->owned[slot]);
	rule->owned[slot] = mamori_memdup_str(n->text,
	    n->len > MAMORI_SIGMA_TEXT_MAX ? MAMORI_SIGMA_TEXT_MAX : n->len);
	return rule->owned[slot] == NULL ? "" : rule->owned[slot];
}

static int
own_list(const struct sigma_ynode *n, char ***out, size_t *count)
{
	size_t i, k = 0, total;
	char **list;

	*out = NULL;
	*count = 0;
	if (n == NULL)
		return 0;
	total = n->type == SIGMA_Y_SEQ ? n->nkids : 1;
	if (total > MAMORI_SIGMA_TAGS_MAX)
		total = MAMORI_SIGMA_TAGS_MAX;
	if ((list = calloc(total + 1, sizeof(*list))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < total; i++) {
		const struct sigma_ynode *e = n->type == SIGMA_Y_SEQ ?
		    n->kids[i] : n;

		if (e->type != SIGMA_Y_SCALAR)
			continue;
		if ((list[k] = mamori_memdup_str(e->text, e->len >
		    MAMORI_SIGMA_TEXT_MAX ? MAMORI_SIGMA_TEXT_MAX : e->len)) ==
		    NULL)
			break;
		k++;
	}
	*out = list;
	*count = k;
	return 0;
}

static const struct {
	const char *name;
	enum mamori_sigma_level level;
} levels[] = {
	{"informational", MAMORI_SIGMA_LEVEL_INFORMATIONAL},
	{"low", MAMORI_SIGMA_LEVEL_LOW},
	{"medium", MAMORI_SIGMA_LEVEL_MEDIUM},
	{"high", MAMORI_SIGMA_LEVEL_HIGH},
	{"critical", MAMORI_SIGMA_LEVEL_CRITICAL},
};

const char *
mamori_sigma_level_name(enum mamori_sigma_level level)
{
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "unknown";
}

/* Fills the metadata of rule from the YAML root. */
static int
rule_metadata(struct sigma_rule *rule, const struct sigma_ynode *root)
{
	const struct sigma_ynode *ls = sigma_yaml_get(root, "logsource");
	size_t i;
	int r;

	rule->info.title = own_text(rule, 0, sigma_yaml_get(root, "title"));
	rule->info.id = own_text(rule, 1, sigma_yaml_get(root, "id"));
	rule->info.status = own_text(rule, 2, sigma_yaml_get(root, "status"));
	rule->info.level_text = own_text(rule, 3,
	    sigma_yaml_get(root, "level"));
	rule->info.product = own_text(rule, 4, sigma_yaml_get(ls, "product"));
	rule->info.category = own_text(rule, 5,
	    sigma_yaml_get(ls, "category"));
	rule->info.service = own_text(rule, 6, sigma_yaml_get(ls, "service"));
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(levels[i].name, rule->info.level_text) == 0)
			rule->info.level = levels[i].level;
	if ((r = own_list(sigma_yaml_get(root, "tags"), &rule->tags,
	    &rule->info.ntags)) != 0)
		return r;
	rule->info.tags = (const char *const *)rule->tags;
	if ((r = own_list(sigma_yaml_get(root, "falsepositives"), &rule->fps,
	    &rule->info.nfalsepositives)) != 0)
		return r;
	rule->info.falsepositives = (const char *const *)rule->fps;
	return 0;
}

/* Loads detection and condition; fills reason on failure. */
static int
rule_detection(struct loader *ld, const struct sigma_ynode *root)
{
	const struct sigma_ynode *det = sigma_yaml_get(root, "detection");
	const struct sigma_ynode *cond, *title = sigma_yaml_get(root, "title");
	struct mamori_sigma_logsource ls;
	struct sigma_cnode or_node;
	uint32_t roots[MAMORI_SIGMA_SEARCHES_MAX], k, first = 0;
	const char *why = "";
	size_t i, nsearch = 0;
	int r;

	if (root->type != SIGMA_Y_MAP)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "the rule is not a YAML map");
	if (title == NULL || title->type != SIGMA_Y_SCALAR || title->len == 0)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "the rule has no title");
	if (sigma_yaml_get(root, "correlation") != NULL)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "correlation rules are not supported");
	if (sigma_yaml_get(root, "logsource") == NULL ||
	    sigma_yaml_get(root, "logsource")->type != SIGMA_Y_MAP)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "the rule has no logsource map");
	if (det == NULL || det->type != SIGMA_Y_MAP)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "the rule has no detection map");
	ls.product = ld->rule->info.product[0] ? ld->rule->info.product : NULL;
	ls.category = ld->rule->info.category[0] ? ld->rule->info.category :
	    NULL;
	ls.service = ld->rule->info.service[0] ? ld->rule->info.service : NULL;
	if (ld->rs->schema.logsource(ld->rs->schema.arg, &ls,
	    &ld->rule->category, &why) != 0)
		return unsupported(ld, MAMORI_ERR_NOT_FOUND, "logsource: %s",
		    why);
	if ((cond = sigma_yaml_get(det, "condition")) == NULL)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "detection has no condition");
	if (sigma_yaml_get(det, "timeframe") != NULL)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "timeframe (aggregation) is not supported");
	ld->rule->search_first = (uint32_t)ld->rs->searches.n;
	for (i = 0; i + 1 < det->nkids; i += 2) {
		const struct sigma_ynode *key = det->kids[i];

		if (key->type != SIGMA_Y_SCALAR)
			return unsupported(ld, MAMORI_ERR_INVALID, "%s",
			    "a search identifier is not text");
		if (strcmp(key->text, "condition") == 0)
			continue;
		if (++nsearch > MAMORI_SIGMA_SEARCHES_MAX)
			return unsupported(ld, MAMORI_ERR_TOO_LARGE, "%s",
			    "too many search identifiers");
		if ((r = add_search(ld, key->text, det->kids[i + 1])) != 0)
			return r;
	}
	ld->rule->search_n = (uint32_t)nsearch;
	if (cond->type == SIGMA_Y_SCALAR)
		return sigma_cond_parse(ld->rs, ld->rule, cond->text,
		    &ld->rule->root, ld->reason, ld->reasonlen);
	if (cond->type != SIGMA_Y_SEQ || cond->nkids == 0 ||
	    cond->nkids > MAMORI_SIGMA_SEARCHES_MAX)
		return unsupported(ld, MAMORI_ERR_INVALID, "%s",
		    "condition must be text or a list of text");
	/* A list of conditions means any of them: parse each, then push
	 * the roots as one contiguous run of kids of an OR node. */
	for (i = 0; i < cond->nkids; i++) {
		if (cond->kids[i]->type != SIGMA_Y_SCALAR)
			return unsupported(ld, MAMORI_ERR_INVALID, "%s",
			    "condition must be text or a list of text");
		if ((r = sigma_cond_parse(ld->rs, ld->rule, cond->kids[i]->text,
		    &roots[i], ld->reason, ld->reasonlen)) != 0)
			return r;
	}
	for (i = 0; i < cond->nkids; i++) {
		if ((r = sigma_array_push(&ld->rs->ckids, &roots[i], &k)) != 0)
			return r;
		if (i == 0)
			first = k;
	}
	or_node.op = SIGMA_C_OR;
	or_node.first = first;
	or_node.n = (uint32_t)cond->nkids;
	return sigma_array_push(&ld->rs->cnodes, &or_node, &ld->rule->root);
}

/* Frees what a rule owns (not the searches and patterns it added). */
void
sigma_rule_free(struct sigma_rule *rule)
{
	size_t i;

	if (rule == NULL)
		return;
	for (i = 0; i < sizeof(rule->owned) / sizeof(rule->owned[0]); i++)
		free(rule->owned[i]);
	for (i = 0; rule->tags != NULL && rule->tags[i] != NULL; i++)
		free(rule->tags[i]);
	free(rule->tags);
	for (i = 0; rule->fps != NULL && rule->fps[i] != NULL; i++)
		free(rule->fps[i]);
	free(rule->fps);
	free(rule);
}

/* Removes what a failed rule added past the given array lengths. */
static void
truncate_to(struct mamori_sigma_ruleset *rs, const size_t mark[8])
{
	size_t i;

	for (i = mark[0]; i < rs->patterns.n; i++)
		pattern_clear(SIGMA_AT(rs->patterns, struct sigma_pattern, i));
	for (i = mark[3]; i < rs->searches.n; i++)
		free(SIGMA_AT(rs->searches, struct sigma_search, i)->name);
	rs->patterns.n = mark[0];
	rs->values.n = mark[1];
	rs->items.n = mark[2];
	rs->searches.n = mark[3];
	rs->maps.n = mark[4];
	rs->cnodes.n = mark[5];
	rs->ckids.n = mark[6];
}

/* Records a new rule named name; *out is owned by rs->rules. */
static int
new_rule(struct mamori_sigma_ruleset *rs, const char *name,
    struct sigma_rule **out, uint32_t *idx)
{
	struct sigma_rule *rule;
	int r;

	*out = NULL;
	if (rs->compiled)
		return MAMORI_ERR_INVALID;
	if (rs->rules.n >= MAMORI_SIGMA_RULES_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((rule = calloc(1, sizeof(*rule))) == NULL)
		return MAMORI_ERR_ALLOC;
	rule->info.title = rule->info.id = rule->info.status = "";
	rule->info.level_text = rule->info.product = "";
	rule->info.category = rule->info.service = "";
	rule->info.reason = rule->reason;
	rule->owned[7] = mamori_memdup_str(name, strlen(name));
	rule->info.path = rule->owned[7] == NULL ? "" : rule->owned[7];
	if ((r = sigma_array_push(&rs->rules, &rule, idx)) != 0) {
		sigma_rule_free(rule);
		return r;
	}
	*out = rule;
	return 0;
}

int
mamori_sigma_ruleset_add_yaml(struct mamori_sigma_ruleset *rs,
    const char *name, const char *yaml, size_t len)
{
	struct sigma_ynode *root = NULL;
	struct sigma_rule *rule;
	struct loader ld;
	size_t mark[8];
	uint32_t idx;
	int r;

	if ((r = new_rule(rs, name, &rule, &idx)) != 0)
		return r;
	mark[0] = rs->patterns.n;
	mark[1] = rs->values.n;
	mark[2] = rs->items.n;
	mark[3] = rs->searches.n;
	mark[4] = rs->maps.n;
	mark[5] = rs->cnodes.n;
	mark[6] = rs->ckids.n;
	memset(&ld, 0, sizeof(ld));
	ld.rs = rs;
	ld.rule = rule;
	ld.rule_idx = idx;
	ld.reason = rule->reason;
	ld.reasonlen = sizeof(rule->reason);
	if ((r = sigma_yaml_parse(yaml, len, &root, rule->reason,
	    sizeof(rule->reason))) != 0)
		goto out;
	if ((r = rule_metadata(rule, root)) != 0)
		goto out;
	r = rule_detection(&ld, root);
out:
	if (r == 0) {
		rule->info.loaded = 1;
		rule->reason[0] = '\0';
		rs->nloaded++;
	} else {
		truncate_to(rs, mark);
		if (rule->reason[0] == '\0')
			snprintf(rule->reason, sizeof(rule->reason), "%s",
			    mamori_strerror(r));
	}
	sigma_yaml_free(root);
	/* Only running out of memory stops the caller. */
	return r == MAMORI_ERR_ALLOC ? r : 0;
}

static int
record_failure(struct mamori_sigma_ruleset *rs, const char *name,
    const char *reason)
{
	struct sigma_rule *rule;
	uint32_t idx;
	int r;

	if ((r = new_rule(rs, name, &rule, &idx)) != 0)
		return r;
	snprintf(rule->reason, sizeof(rule->reason), "%s", reason);
	return 0;
}

static int
has_rule_suffix(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	    (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int
add_file(struct mamori_sigma_ruleset *rs, const char *path)
{
	struct mamori_buf b;
	char why[MAMORI_SIGMA_REASON_MAX];
	int r;

	mamori_buf_init(&b, MAMORI_SIGMA_FILE_MAX);
	r = mamori_buf_read_file(&b, path);
	if (r == MAMORI_ERR_TOO_LARGE) {
		snprintf(why, sizeof(why), "file larger than %d bytes",
		    MAMORI_SIGMA_FILE_MAX);
		r = record_failure(rs, path, why);
	} else if (r != 0) {
		snprintf(why, sizeof(why), "cannot read the file: %s",
		    mamori_strerror(r));
		r = record_failure(rs, path, why);
	} else
		r = mamori_sigma_ruleset_add_yaml(rs, path,
		    b.data == NULL ? "" : (const char *)b.data, b.len);
	mamori_buf_free(&b);
	return r;
}

static int
add_dir(struct mamori_sigma_ruleset *rs, const char *path, unsigned depth)
{
	struct dirent **ents = NULL;
	char sub[RULE_PATH_MAX];
	struct stat st;
	int n, i, r = 0;

	if (depth > MAMORI_SIGMA_DIR_DEPTH_MAX)
		return record_failure(rs, path, "directory nested too deep");
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0)
		return record_failure(rs, path, "cannot read the directory");
	for (i = 0; i < n; i++) {
		if (r != 0 || ents[i]->d_name[0] == '.')
			continue;
		if (mamori_path_join(sub, sizeof(sub), path,
		    ents[i]->d_name) != 0) {
			r = record_failure(rs, path, "path too long");
			continue;
		}
		if (stat(sub, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = add_dir(rs, sub, depth + 1);
		else if (S_ISREG(st.st_mode) && has_rule_suffix(sub))
			r = add_file(rs, sub);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

int
mamori_sigma_ruleset_add_path(struct mamori_sigma_ruleset *rs,
    const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return MAMORI_ERR_NOT_FOUND;
	if (S_ISDIR(st.st_mode))
		return add_dir(rs, path, 0);
	return add_file(rs, path);
}
