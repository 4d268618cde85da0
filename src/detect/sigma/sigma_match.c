/*
 * sigma_match.c - the compiled matcher: one Vectorscan database per slot
 * over every loaded rule's string patterns, and the evaluation of rule
 * conditions for the rules a scan hit, plus the rules whose condition can
 * hold with no hit at all (found at compile time by evaluating the
 * condition in three-valued logic with every string pattern false and
 * every other check unknown).
 *
 * Per event the cost is one Vectorscan scan per present slot that has
 * patterns of the event's category, and condition evaluation only for
 * candidate rules; no field name is looked up and nothing is allocated.
 * The ruleset is read-only once compiled; all per-event state lives in the
 * matcher, one per thread.  Regular expressions run with a match limit, so
 * a hostile rule or event cannot make a match run without bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sigma_internal.h"
#include "util.h"

#define MATCH_NUM_TEXT_MAX 64

enum tri { TRI_FALSE, TRI_TRUE, TRI_UNKNOWN };

struct mamori_sigma_matcher {
	const struct mamori_sigma_ruleset *rs;
	hs_scratch_t *scratch;
	uint8_t *hit;         /* per pattern */
	uint32_t *touched;    /* patterns hit in this event */
	size_t ntouched;
	uint8_t *mark;        /* per rule: already a candidate */
	uint32_t *cands;
	size_t ncands;
	uint32_t *result;
	size_t nresult;
	const struct mamori_sigma_slot *slots;
	size_t nslots;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

static struct sigma_rule *
rule_at(const struct mamori_sigma_ruleset *rs, size_t i)
{
	return *SIGMA_AT(rs->rules, struct sigma_rule *, i);
}

int
mamori_sigma_ruleset_new(const struct mamori_sigma_schema *schema,
    struct mamori_sigma_ruleset **out)
{
	struct mamori_sigma_ruleset *rs;

	*out = NULL;
	if (schema == NULL || schema->logsource == NULL ||
	    schema->field == NULL || schema->nslots == NULL)
		return MAMORI_ERR_INVALID;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return MAMORI_ERR_ALLOC;
	rs->schema = *schema;
	rs->rules.elem = sizeof(struct sigma_rule *);
	rs->patterns.elem = sizeof(struct sigma_pattern);
	rs->values.elem = sizeof(struct sigma_value);
	rs->items.elem = sizeof(struct sigma_item);
	rs->maps.elem = sizeof(struct sigma_map);
	rs->searches.elem = sizeof(struct sigma_search);
	rs->cnodes.elem = sizeof(struct sigma_cnode);
	rs->ckids.elem = sizeof(uint32_t);
	*out = rs;
	return 0;
}

void
mamori_sigma_ruleset_free(struct mamori_sigma_ruleset *rs)
{
	struct sigma_pattern *p;
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->rules.n; i++)
		sigma_rule_free(rule_at(rs, i));
	for (i = 0; i < rs->patterns.n; i++) {
		p = SIGMA_AT(rs->patterns, struct sigma_pattern, i);
		free(p->expr);
		pcre2_code_free(p->re);
	}
	for (i = 0; i < rs->searches.n; i++)
		free(SIGMA_AT(rs->searches, struct sigma_search, i)->name);
	for (i = 0; rs->dbs != NULL && i < (rs->ncats + 1) * rs->nslots; i++)
		hs_free_database(rs->dbs[i]);
	free(rs->dbs);
	free(rs->always);
	free(rs->rules.data);
	free(rs->patterns.data);
	free(rs->values.data);
	free(rs->items.data);
	free(rs->maps.data);
	free(rs->searches.data);
	free(rs->cnodes.data);
	free(rs->ckids.data);
	free(rs);
}

size_t
mamori_sigma_ruleset_count(const struct mamori_sigma_ruleset *rs)
{
	return rs->rules.n;
}

size_t
mamori_sigma_ruleset_loaded(const struct mamori_sigma_ruleset *rs)
{
	return rs->nloaded;
}

const struct mamori_sigma_rule_info *
mamori_sigma_rule_info(const struct mamori_sigma_ruleset *rs, size_t i)
{
	if (rs == NULL || i >= rs->rules.n)
		return NULL;
	return &rule_at(rs, i)->info;
}

static void
drop_rule(struct mamori_sigma_ruleset *rs, uint32_t idx, const char *what,
    const char *detail)
{
	struct sigma_rule *rule = rule_at(rs, idx);

	if (!rule->info.loaded)
		return;
	rule->info.loaded = 0;
	snprintf(rule->reason, sizeof(rule->reason), "%s: %s", what, detail);
	rs->nloaded--;
}

/* Patterns that can match empty text cannot go to Vectorscan (a scan
 * reports nothing for them): they become PCRE2 patterns. */
static int
check_patterns(struct mamori_sigma_ruleset *rs)
{
	struct sigma_pattern *p;
	hs_expr_info_t *info;
	hs_compile_error_t *err;
	PCRE2_SIZE off;
	uint32_t opts;
	size_t i;
	int code;

	for (i = 0; i < rs->patterns.n; i++) {
		p = SIGMA_AT(rs->patterns, struct sigma_pattern, i);
		if (p->kind != SIGMA_PAT_HS || !rule_at(rs, p->rule)->info.loaded)
			continue;
		if (p->slot >= rs->nslots) {
			drop_rule(rs, p->rule, "field", "slot out of range");
			continue;
		}
		info = NULL;
		err = NULL;
		if (hs_expression_info(p->expr, p->hs_flags, &info, &err) !=
		    HS_SUCCESS) {
			drop_rule(rs, p->rule, "pattern", err != NULL ?
			    err->message : "refused");
			hs_free_compile_error(err);
			continue;
		}
		if (info->min_width > 0) {
			free(info);
			continue;
		}
		free(info);
		opts = ((p->hs_flags & HS_FLAG_CASELESS) ? PCRE2_CASELESS : 0) |
		    ((p->hs_flags & HS_FLAG_DOTALL) ? PCRE2_DOTALL : 0);
		p->re = pcre2_compile((PCRE2_SPTR)p->expr, PCRE2_ZERO_TERMINATED,
		    opts, &code, &off, NULL);
		if (p->re == NULL) {
			drop_rule(rs, p->rule, "pattern", "refused by PCRE2");
			continue;
		}
		(void)pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);
		p->kind = SIGMA_PAT_PCRE;
	}
	return 0;
}

/* Builds the database of one slot for events of category set `set`
 * (rules of that category and of any category; set 0: only the latter).
 * A rule whose pattern the compiler refuses is dropped and the database
 * built again without it. */
static int
build_slot(struct mamori_sigma_ruleset *rs, size_t set, uint32_t slot)
{
	hs_database_t **db = &rs->dbs[set * rs->nslots + slot];
	const char **exprs = NULL;
	unsigned *flags = NULL, *ids = NULL;
	hs_compile_error_t *err = NULL;
	struct sigma_pattern *p;
	size_t i;
	unsigned n;
	int r = MAMORI_ERR_ALLOC, tries;

	if ((exprs = calloc(rs->patterns.n + 1, sizeof(*exprs))) == NULL ||
	    (flags = calloc(rs->patterns.n + 1, sizeof(*flags))) == NULL ||
	    (ids = calloc(rs->patterns.n + 1, sizeof(*ids))) == NULL)
		goto out;
	for (tries = 0; tries <= (int)rs->rules.n; tries++) {
		n = 0;
		for (i = 0; i < rs->patterns.n; i++) {
			struct sigma_rule *rule;

			p = SIGMA_AT(rs->patterns, struct sigma_pattern, i);
			rule = rule_at(rs, p->rule);
			if (p->kind != SIGMA_PAT_HS || p->slot != slot ||
			    !rule->info.loaded ||
			    (rule->category != MAMORI_SIGMA_ANY_CATEGORY &&
			    (set == 0 || rule->category != rs->cats[set - 1])))
				continue;
			exprs[n] = p->expr;
			flags[n] = p->hs_flags;
			ids[n] = (unsigned)i;
			n++;
		}
		if (n == 0) {
			r = 0;
			goto out;
		}
		if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL,
		    db, &err) == HS_SUCCESS) {
			r = 0;
			goto out;
		}
		if (err == NULL || err->expression < 0 ||
		    (unsigned)err->expression >= n) {
			r = MAMORI_ERR_INTERNAL;
			goto out;
		}
		p = SIGMA_AT(rs->patterns, struct sigma_pattern,
		    ids[err->expression]);
		drop_rule(rs, p->rule, "pattern", err->message);
		hs_free_compile_error(err);
		err = NULL;
	}
	r = MAMORI_ERR_INTERNAL;
out:
	hs_free_compile_error(err);
	free(exprs);
	free(flags);
	free(ids);
	return r;
}

static enum tri
tri_pattern(const struct sigma_pattern *p)
{
	return p->kind == SIGMA_PAT_HS ? TRI_FALSE : TRI_UNKNOWN;
}

/* Kleene AND/OR over n results produced by fn(i). */
#define TRI_FOLD(is_and, n, expr)                                           \
	do {                                                                \
		enum tri acc_ = (is_and) ? TRI_TRUE : TRI_FALSE, v_;        \
		uint32_t i_;                                                \
		for (i_ = 0; i_ < (n); i_++) {                              \
			uint32_t k_ = i_;                                   \
			v_ = (expr);                                        \
			if ((is_and) && v_ == TRI_FALSE)                    \
				return TRI_FALSE;                           \
			if (!(is_and) && v_ == TRI_TRUE)                    \
				return TRI_TRUE;                            \
			if (v_ == TRI_UNKNOWN)                              \
				acc_ = TRI_UNKNOWN;                         \
			(void)k_;                                           \
		}                                                           \
		return acc_;                                                \
	} while (0)

static enum tri
tri_value(const struct mamori_sigma_ruleset *rs, const struct sigma_value *v)
{
	TRI_FOLD(0, v->n, tri_pattern(SIGMA_AT(rs->patterns,
	    struct sigma_pattern, v->first + k_)));
}

static enum tri
tri_item(const struct mamori_sigma_ruleset *rs, const struct sigma_item *it)
{
	TRI_FOLD(it->all, it->n, tri_value(rs, SIGMA_AT(rs->values,
	    struct sigma_value, it->first + k_)));
}

static enum tri
tri_map(const struct mamori_sigma_ruleset *rs, const struct sigma_map *m)
{
	TRI_FOLD(1, m->n, tri_item(rs, SIGMA_AT(rs->items, struct sigma_item,
	    m->first + k_)));
}

static enum tri
tri_search(const struct mamori_sigma_ruleset *rs,
    const struct sigma_search *s)
{
	TRI_FOLD(0, s->n, tri_map(rs, SIGMA_AT(rs->maps, struct sigma_map,
	    s->first + k_)));
}

static enum tri
tri_node(const struct mamori_sigma_ruleset *rs, uint32_t idx)
{
	const struct sigma_cnode *c = SIGMA_AT(rs->cnodes, struct sigma_cnode,
	    idx);
	enum tri v;

	switch (c->op) {
	case SIGMA_C_SEARCH:
		return tri_search(rs, SIGMA_AT(rs->searches,
		    struct sigma_search, c->first));
	case SIGMA_C_NOT:
		v = tri_node(rs, *SIGMA_AT(rs->ckids, uint32_t, c->first));
		return v == TRI_UNKNOWN ? v : v == TRI_TRUE ? TRI_FALSE :
		    TRI_TRUE;
	case SIGMA_C_AND:
		TRI_FOLD(1, c->n, tri_node(rs, *SIGMA_AT(rs->ckids, uint32_t,
		    c->first + k_)));
	case SIGMA_C_OR:
	default:
		TRI_FOLD(0, c->n, tri_node(rs, *SIGMA_AT(rs->ckids, uint32_t,
		    c->first + k_)));
	}
}

int
mamori_sigma_ruleset_compile(struct mamori_sigma_ruleset *rs)
{
	struct sigma_rule *rule;
	uint32_t slot;
	size_t i;
	int r;

	if (rs->compiled)
		return MAMORI_ERR_INVALID;
	rs->nslots = rs->schema.nslots(rs->schema.arg);
	if (rs->nslots > MAMORI_SIGMA_SLOTS_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((rs->always = calloc(rs->rules.n + 1, sizeof(*rs->always))) ==
	    NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = check_patterns(rs)) != 0)
		return r;
	/* One set of databases per category the rules name, so an event
	 * is scanned only for the patterns of rules that apply to it. */
	for (i = 0; i < rs->rules.n; i++) {
		uint32_t cat = rule_at(rs, i)->category;
		size_t k;

		if (!rule_at(rs, i)->info.loaded ||
		    cat == MAMORI_SIGMA_ANY_CATEGORY)
			continue;
		for (k = 0; k < rs->ncats && rs->cats[k] != cat; k++)
			;
		if (k < rs->ncats)
			continue;
		if (rs->ncats >= MAMORI_SIGMA_CATEGORIES_MAX)
			return MAMORI_ERR_TOO_LARGE;
		rs->cats[rs->ncats++] = cat;
	}
	if ((rs->dbs = calloc((rs->ncats + 1) * rs->nslots + 1,
	    sizeof(*rs->dbs))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i <= rs->ncats; i++)
		for (slot = 0; slot < rs->nslots; slot++)
			if ((r = build_slot(rs, i, slot)) != 0)
				return r;
	for (i = 0; i < rs->rules.n; i++) {
		rule = rule_at(rs, i);
		if (!rule->info.loaded)
			continue;
		rule->always = tri_node(rs, rule->root) != TRI_FALSE;
		if (rule->always)
			rs->always[rs->nalways++] = (uint32_t)i;
	}
	rs->compiled = 1;
	return 0;
}

int
mamori_sigma_matcher_new(const struct mamori_sigma_ruleset *rs,
    struct mamori_sigma_matcher **out)
{
	struct mamori_sigma_matcher *m;
	size_t i;
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	if (!rs->compiled)
		return MAMORI_ERR_INVALID;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return MAMORI_ERR_ALLOC;
	m->rs = rs;
	if ((m->hit = calloc(rs->patterns.n + 1, 1)) == NULL ||
	    (m->touched = calloc(rs->patterns.n + 1, sizeof(uint32_t))) ==
	    NULL ||
	    (m->mark = calloc(rs->rules.n + 1, 1)) == NULL ||
	    (m->cands = calloc(rs->rules.n + 1, sizeof(uint32_t))) == NULL ||
	    (m->result = calloc(rs->rules.n + 1, sizeof(uint32_t))) == NULL ||
	    (m->md = pcre2_match_data_create(1, NULL)) == NULL ||
	    (m->mctx = pcre2_match_context_create(NULL)) == NULL)
		goto out;
	pcre2_set_match_limit(m->mctx, MAMORI_SIGMA_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(m->mctx, MAMORI_SIGMA_REGEX_MATCH_LIMIT);
	for (i = 0; i < (rs->ncats + 1) * rs->nslots; i++)
		if (rs->dbs[i] != NULL &&
		    hs_alloc_scratch(rs->dbs[i], &m->scratch) != HS_SUCCESS)
			goto out;
	*out = m;
	m = NULL;
	r = 0;
out:
	mamori_sigma_matcher_free(m);
	return r;
}

void
mamori_sigma_matcher_free(struct mamori_sigma_matcher *m)
{
	if (m == NULL)
		return;
	hs_free_scratch(m->scratch);
	free(m->hit);
	free(m->touched);
	free(m->mark);
	free(m->cands);
	free(m->result);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	free(m);
}

static int
on_hit(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *ctx)
{
	struct mamori_sigma_matcher *m = ctx;
	uint32_t rule;

	(void)from;
	(void)to;
	(void)flags;
	if (m->hit[id])
		return 0;
	m->hit[id] = 1;
	m->touched[m->ntouched++] = id;
	rule = SIGMA_AT(m->rs->patterns, struct sigma_pattern, id)->rule;
	if (!m->mark[rule]) {
		m->mark[rule] = 1;
		m->cands[m->ncands++] = rule;
	}
	return 0;
}

/* Copies a slot's text into out (outlen bytes) as a C string; 0 when it
 * does not fit. */
static int
slot_text(const struct mamori_sigma_slot *s, char *out, size_t outlen)
{
	if (s->len >= outlen || (s->len > 0 && s->value == NULL) ||
	    (s->len > 0 && memchr(s->value, '\0', s->len) != NULL))
		return 0;
	if (s->len > 0)
		memcpy(out, s->value, s->len);
	out[s->len] = '\0';
	return 1;
}

static int
match_cidr(const struct sigma_pattern *p, const struct mamori_sigma_slot *s)
{
	char text[INET6_ADDRSTRLEN + 1];
	uint8_t addr[16];
	unsigned full, rest;

	if (!slot_text(s, text, sizeof(text)))
		return 0;
	if (inet_pton(p->family == 4 ? AF_INET : AF_INET6, text, addr) != 1)
		return 0;
	full = p->prefix / 8;
	rest = p->prefix % 8;
	if (memcmp(addr, p->addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((addr[full] ^ p->addr[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

static int
match_num(const struct sigma_pattern *p, const struct mamori_sigma_slot *s)
{
	char text[MATCH_NUM_TEXT_MAX], *end;
	double v;

	if (!slot_text(s, text, sizeof(text)) || text[0] == '\0')
		return 0;
	errno = 0;
	v = strtod(text, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v))
		return 0;
	switch (p->op) {
	case SIGMA_LT:
		return v < p->num;
	case SIGMA_LTE:
		return v <= p->num;
	case SIGMA_GT:
		return v > p->num;
	case SIGMA_GTE:
	default:
		return v >= p->num;
	}
}

static int
eval_pattern(struct mamori_sigma_matcher *m, uint32_t pid)
{
	const struct sigma_pattern *p = SIGMA_AT(m->rs->patterns,
	    struct sigma_pattern, pid);
	const struct mamori_sigma_slot *s = p->slot < m->nslots ?
	    &m->slots[p->slot] : NULL;
	int present = s != NULL && s->present;

	switch (p->kind) {
	case SIGMA_PAT_HS:
		return m->hit[pid];
	case SIGMA_PAT_PCRE:
	case SIGMA_PAT_RE:
		if (!present)
			return 0;
		return pcre2_match(p->re, (PCRE2_SPTR)(s->value == NULL ? "" :
		    s->value), s->len, 0, 0, m->md, m->mctx) >= 0;
	case SIGMA_PAT_CIDR:
		return present && match_cidr(p, s);
	case SIGMA_PAT_NUM:
		return present && match_num(p, s);
	case SIGMA_PAT_EXISTS:
		return present == p->exists;
	case SIGMA_PAT_NULL:
	default:
		return !present || s->len == 0;
	}
}

static int
eval_item(struct mamori_sigma_matcher *m, const struct sigma_item *it)
{
	const struct sigma_value *v;
	uint32_t i, k;
	int any;

	for (i = 0; i < it->n; i++) {
		v = SIGMA_AT(m->rs->values, struct sigma_value, it->first + i);
		any = 0;
		for (k = 0; k < v->n && !any; k++)
			any = eval_pattern(m, v->first + k);
		if (it->all && !any)
			return 0;
		if (!it->all && any)
			return 1;
	}
	return it->all;
}

static int
eval_search(struct mamori_sigma_matcher *m, const struct sigma_search *s)
{
	const struct sigma_map *map;
	uint32_t i, k;
	int ok;

	for (i = 0; i < s->n; i++) {
		map = SIGMA_AT(m->rs->maps, struct sigma_map, s->first + i);
		ok = 1;
		for (k = 0; k < map->n && ok; k++)
			ok = eval_item(m, SIGMA_AT(m->rs->items,
			    struct sigma_item, map->first + k));
		if (ok)
			return 1;
	}
	return 0;
}

static int
eval_node(struct mamori_sigma_matcher *m, uint32_t idx)
{
	const struct sigma_cnode *c = SIGMA_AT(m->rs->cnodes,
	    struct sigma_cnode, idx);
	uint32_t i;

	switch (c->op) {
	case SIGMA_C_SEARCH:
		return eval_search(m, SIGMA_AT(m->rs->searches,
		    struct sigma_search, c->first));
	case SIGMA_C_NOT:
		return !eval_node(m, *SIGMA_AT(m->rs->ckids, uint32_t,
		    c->first));
	case SIGMA_C_AND:
		for (i = 0; i < c->n; i++)
			if (!eval_node(m, *SIGMA_AT(m->rs->ckids, uint32_t,
			    c->first + i)))
				return 0;
		return 1;
	case SIGMA_C_OR:
	default:
		for (i = 0; i < c->n; i++)
			if (eval_node(m, *SIGMA_AT(m->rs->ckids, uint32_t,
			    c->first + i)))
				return 1;
		return 0;
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
mamori_sigma_match(struct mamori_sigma_matcher *m, uint32_t category,
    const struct mamori_sigma_slot *slots, size_t nslots,
    const uint32_t **rules, size_t *nrules)
{
	const struct mamori_sigma_ruleset *rs = m->rs;
	hs_database_t *const *dbs;
	const struct sigma_rule *rule;
	size_t i, set = 0;
	int r = 0;

	*rules = m->result;
	*nrules = 0;
	m->nresult = 0;
	m->slots = slots;
	m->nslots = nslots < rs->nslots ? nslots : rs->nslots;
	if (category != MAMORI_SIGMA_ANY_CATEGORY)
		for (i = 0; i < rs->ncats; i++)
			if (rs->cats[i] == category) {
				set = i + 1;
				break;
			}
	dbs = rs->dbs + set * rs->nslots;
	for (i = 0; i < m->nslots; i++) {
		if (dbs[i] == NULL || !slots[i].present ||
		    slots[i].len == 0 || slots[i].value == NULL)
			continue;
		if (hs_scan(dbs[i], slots[i].value,
		    slots[i].len > UINT32_MAX ? UINT32_MAX :
		    (unsigned)slots[i].len, 0, m->scratch, on_hit, m) !=
		    HS_SUCCESS) {
			r = MAMORI_ERR_INTERNAL;
			goto out;
		}
	}
	for (i = 0; i < rs->nalways; i++)
		if (!m->mark[rs->always[i]]) {
			m->mark[rs->always[i]] = 1;
			m->cands[m->ncands++] = rs->always[i];
		}
	for (i = 0; i < m->ncands; i++) {
		rule = rule_at(rs, m->cands[i]);
		if (!rule->info.loaded || (rule->category != category &&
		    rule->category != MAMORI_SIGMA_ANY_CATEGORY))
			continue;
		if (eval_node(m, rule->root))
			m->result[m->nresult++] = m->cands[i];
	}
	if (m->nresult > 1)
		qsort(m->result, m->nresult, sizeof(uint32_t), cmp_u32);
	*nrules = m->nresult;
out:
	for (i = 0; i < m->ntouched; i++)
		m->hit[m->touched[i]] = 0;
	m->ntouched = 0;
	for (i = 0; i < m->ncands; i++)
		m->mark[m->cands[i]] = 0;
	m->ncands = 0;
	m->slots = NULL;
	return r;
}

/* The dynamic schema. */
struct mamori_sigma_dynamic {
	char *names[MAMORI_SIGMA_SLOTS_MAX];
	size_t n;
};

int
mamori_sigma_dynamic_new(struct mamori_sigma_dynamic **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? MAMORI_ERR_ALLOC : 0;
}

void
mamori_sigma_dynamic_free(struct mamori_sigma_dynamic *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d);
}

int
mamori_sigma_dynamic_slot(const struct mamori_sigma_dynamic *d,
    const char *name, uint32_t *slot)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->names[i], name) == 0) {
			*slot = (uint32_t)i;
			return 0;
		}
	return MAMORI_ERR_NOT_FOUND;
}

static int
dynamic_logsource(void *arg, const struct mamori_sigma_logsource *ls,
    uint32_t *category, const char **reason)
{
	(void)arg;
	(void)ls;
	*category = MAMORI_SIGMA_ANY_CATEGORY;
	*reason = "";
	return 0;
}

static int
dynamic_field(void *arg, uint32_t category, const char *name, uint32_t *slot,
    const char **reason)
{
	struct mamori_sigma_dynamic *d = arg;

	(void)category;
	*reason = "";
	if (mamori_sigma_dynamic_slot(d, name, slot) == 0)
		return 0;
	if (d->n >= MAMORI_SIGMA_SLOTS_MAX) {
		*reason = "the rules use too many distinct fields";
		return MAMORI_ERR_NOT_FOUND;
	}
	if ((d->names[d->n] = mamori_memdup_str(name, strlen(name))) == NULL) {
		*reason = "out of memory";
		return MAMORI_ERR_NOT_FOUND;
	}
	*slot = (uint32_t)d->n++;
	return 0;
}

static size_t
dynamic_nslots(void *arg)
{
	return ((struct mamori_sigma_dynamic *)arg)->n;
}

void
mamori_sigma_dynamic_schema(struct mamori_sigma_dynamic *d,
    struct mamori_sigma_schema *schema)
{
	schema->arg = d;
	schema->logsource = dynamic_logsource;
	schema->field = dynamic_field;
	schema->nslots = dynamic_nslots;
}

size_t
mamori_sigma_dynamic_count(const struct mamori_sigma_dynamic *d)
{
	return d->n;
}

const char *
mamori_sigma_dynamic_name(const struct mamori_sigma_dynamic *d, uint32_t slot)
{
	return slot < d->n ? d->names[slot] : NULL;
}
