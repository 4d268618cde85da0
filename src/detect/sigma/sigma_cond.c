/*
 * sigma_cond.c - the parser of Sigma conditions (specification v2):
 *
 *   or   := and ("or" and)*
 *   and  := not ("and" not)*
 *   not  := "not" not | prim
 *   prim := "(" or ")" | ("1" | "all") "of" (PATTERN | "them") | IDENT
 *
 * so not binds tighter than and, and tighter than or.  "1 of X*" becomes an
 * OR of the search identifiers X* matches, "all of" an AND; "them" takes
 * every identifier but those starting with "_".  Keywords are
 * case-insensitive.  The aggregation pipe ("| count() > 5") of Sigma 1 is
 * refused with a reason.
 *
 * The condition is untrusted text: its length, the nesting of the
 * recursive descent and the number of nodes are bounded, and nothing here
 * may recurse past MAMORI_SIGMA_CONDITION_DEPTH_MAX.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "sigma_internal.h"

#define COND_TOKEN_MAX 128

enum tok {
	T_END, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_ONE, T_ALL, T_OF,
	T_THEM, T_IDENT, T_PIPE, T_BAD,
};

struct parser {
	struct mamori_sigma_ruleset *rs;
	const struct sigma_rule *rule;
	const char *p;
	enum tok tok;
	char ident[COND_TOKEN_MAX + 1];
	size_t nodes;
	char *reason;
	size_t reasonlen;
};

int
sigma_glob(const char *pat, const char *s)
{
	const char *star = NULL, *back = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			back = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++back;
		} else
			return 0;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static int
is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '*' || c == '?' ||
	    c == '-' || c == '.';
}

static void
next(struct parser *ps)
{
	size_t n = 0;

	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	    *ps->p == '\r')
		ps->p++;
	ps->ident[0] = '\0';
	switch (*ps->p) {
	case '\0':
		ps->tok = T_END;
		return;
	case '(':
		ps->p++;
		ps->tok = T_LPAREN;
		return;
	case ')':
		ps->p++;
		ps->tok = T_RPAREN;
		return;
	case '|':
		ps->tok = T_PIPE;
		return;
	default:
		break;
	}
	while (is_ident_char(ps->p[n])) {
		if (n >= COND_TOKEN_MAX) {
			ps->tok = T_BAD;
			return;
		}
		ps->ident[n] = ps->p[n];
		n++;
	}
	if (n == 0) {
		ps->ident[0] = *ps->p;
		ps->ident[1] = '\0';
		ps->tok = T_BAD;
		return;
	}
	ps->ident[n] = '\0';
	ps->p += n;
	if (strcasecmp(ps->ident, "and") == 0)
		ps->tok = T_AND;
	else if (strcasecmp(ps->ident, "or") == 0)
		ps->tok = T_OR;
	else if (strcasecmp(ps->ident, "not") == 0)
		ps->tok = T_NOT;
	else if (strcmp(ps->ident, "1") == 0)
		ps->tok = T_ONE;
	else if (strcasecmp(ps->ident, "all") == 0)
		ps->tok = T_ALL;
	else if (strcasecmp(ps->ident, "of") == 0)
		ps->tok = T_OF;
	else if (strcasecmp(ps->ident, "them") == 0)
		ps->tok = T_THEM;
	else
		ps->tok = T_IDENT;
}

static int
fail(struct parser *ps, const char *what)
{
	if (ps->tok == T_PIPE)
		snprintf(ps->reason, ps->reasonlen, "condition: aggregations "
		    "(\"| ...\") are not supported");
	else if (ps->tok == T_END)
		snprintf(ps->reason, ps->reasonlen, "condition: %s, found the "
		    "end", what);
	else
		snprintf(ps->reason, ps->reasonlen, "condition: %s, found "
		    "\"%s\"", what, ps->ident);
	return MAMORI_ERR_INVALID;
}

static int
new_node(struct parser *ps, enum sigma_cop op, uint32_t first, uint32_t n,
    uint32_t *idx)
{
	struct sigma_cnode c = {op, first, n};

	if (++ps->nodes > MAMORI_SIGMA_CONDITION_NODES_MAX) {
		snprintf(ps->reason, ps->reasonlen, "condition has more than "
		    "%d nodes", MAMORI_SIGMA_CONDITION_NODES_MAX);
		return MAMORI_ERR_TOO_LARGE;
	}
	return sigma_array_push(&ps->rs->cnodes, &c, idx);
}

/* Makes an n-ary node of op over the n node indices in kids (n >= 1; a
 * single kid is returned as is). */
static int
make_nary(struct parser *ps, enum sigma_cop op, const uint32_t *kids,
    uint32_t n, uint32_t *idx)
{
	uint32_t first = 0, k;
	uint32_t i;
	int r;

	if (n == 1) {
		*idx = kids[0];
		return 0;
	}
	for (i = 0; i < n; i++) {
		if ((r = sigma_array_push(&ps->rs->ckids, &kids[i], &k)) != 0)
			return r;
		if (i == 0)
			first = k;
	}
	return new_node(ps, op, first, n, idx);
}

static int parse_or(struct parser *ps, unsigned depth, uint32_t *idx);

static int
parse_of(struct parser *ps, enum sigma_cop op, uint32_t *idx)
{
	uint32_t kids[MAMORI_SIGMA_SEARCHES_MAX], n = 0, i, k;
	const struct sigma_search *s;
	int them, r;

	next(ps);
	if (ps->tok != T_OF)
		return fail(ps, "expected \"of\"");
	next(ps);
	if (ps->tok != T_THEM && ps->tok != T_IDENT)
		return fail(ps, "expected a search identifier or \"them\" "
		    "after \"of\"");
	them = ps->tok == T_THEM;
	for (i = 0; i < ps->rule->search_n; i++) {
		s = SIGMA_AT(ps->rs->searches, struct sigma_search,
		    ps->rule->search_first + i);
		if (them ? s->name[0] == '_' : !sigma_glob(ps->ident, s->name))
			continue;
		if ((r = new_node(ps, SIGMA_C_SEARCH,
		    ps->rule->search_first + i, 0, &k)) != 0)
			return r;
		kids[n++] = k;
	}
	if (n == 0) {
		snprintf(ps->reason, ps->reasonlen, "condition: no search "
		    "identifier matches \"%s\"", them ? "them" : ps->ident);
		return MAMORI_ERR_INVALID;
	}
	next(ps);
	return make_nary(ps, op, kids, n, idx);
}

static int
parse_prim(struct parser *ps, unsigned depth, uint32_t *idx)
{
	const struct sigma_search *s;
	uint32_t i;
	int r;

	switch (ps->tok) {
	case T_LPAREN:
		next(ps);
		if ((r = parse_or(ps, depth + 1, idx)) != 0)
			return r;
		if (ps->tok != T_RPAREN)
			return fail(ps, "expected \")\"");
		next(ps);
		return 0;
	case T_ONE:
		return parse_of(ps, SIGMA_C_OR, idx);
	case T_ALL:
		return parse_of(ps, SIGMA_C_AND, idx);
	case T_IDENT:
		for (i = 0; i < ps->rule->search_n; i++) {
			s = SIGMA_AT(ps->rs->searches, struct sigma_search,
			    ps->rule->search_first + i);
			if (strcmp(s->name, ps->ident) == 0)
				break;
		}
		if (i == ps->rule->search_n) {
			snprintf(ps->reason, ps->reasonlen, "condition: unknown "
			    "search identifier \"%s\"", ps->ident);
			return MAMORI_ERR_INVALID;
		}
		if ((r = new_node(ps, SIGMA_C_SEARCH,
		    ps->rule->search_first + i, 0, idx)) != 0)
			return r;
		next(ps);
		return 0;
	default:
		return fail(ps, "expected a search identifier, \"not\", "
		    "\"(\", \"1 of\" or \"all of\"");
	}
}

static int
parse_not(struct parser *ps, unsigned depth, uint32_t *idx)
{
	uint32_t kid;
	int r;

	if (depth > MAMORI_SIGMA_CONDITION_DEPTH_MAX) {
		snprintf(ps->reason, ps->reasonlen, "condition nested deeper "
		    "than %d", MAMORI_SIGMA_CONDITION_DEPTH_MAX);
		return MAMORI_ERR_TOO_LARGE;
	}
	if (ps->tok != T_NOT)
		return parse_prim(ps, depth, idx);
	next(ps);
	if ((r = parse_not(ps, depth + 1, &kid)) != 0)
		return r;
	if ((r = sigma_array_push(&ps->rs->ckids, &kid, &kid)) != 0)
		return r;
	return new_node(ps, SIGMA_C_NOT, kid, 1, idx);
}

/* Parses a chain of sub (parse_not or parse_and) joined by tok. */
static int
parse_chain(struct parser *ps, unsigned depth, enum tok tok,
    enum sigma_cop op, uint32_t *idx)
{
	uint32_t kids[MAMORI_SIGMA_CONDITION_NODES_MAX];
	uint32_t n = 0;
	int r;

	if (depth > MAMORI_SIGMA_CONDITION_DEPTH_MAX) {
		snprintf(ps->reason, ps->reasonlen, "condition nested deeper "
		    "than %d", MAMORI_SIGMA_CONDITION_DEPTH_MAX);
		return MAMORI_ERR_TOO_LARGE;
	}
	for (;;) {
		if (n >= MAMORI_SIGMA_CONDITION_NODES_MAX) {
			snprintf(ps->reason, ps->reasonlen, "condition has more "
			    "than %d nodes", MAMORI_SIGMA_CONDITION_NODES_MAX);
			return MAMORI_ERR_TOO_LARGE;
		}
		r = tok == T_OR ? parse_chain(ps, depth + 1, T_AND,
		    SIGMA_C_AND, &kids[n]) : parse_not(ps, depth + 1, &kids[n]);
		if (r != 0)
			return r;
		n++;
		if (ps->tok != tok)
			break;
		next(ps);
	}
	return make_nary(ps, op, kids, n, idx);
}

static int
parse_or(struct parser *ps, unsigned depth, uint32_t *idx)
{
	return parse_chain(ps, depth, T_OR, SIGMA_C_OR, idx);
}

int
sigma_cond_parse(struct mamori_sigma_ruleset *rs,
    const struct sigma_rule *rule, const char *text, uint32_t *root,
    char *reason, size_t reasonlen)
{
	struct parser ps;
	int r;

	*root = 0;
	if (strlen(text) > MAMORI_SIGMA_CONDITION_MAX) {
		snprintf(reason, reasonlen, "condition longer than %d bytes",
		    MAMORI_SIGMA_CONDITION_MAX);
		return MAMORI_ERR_TOO_LARGE;
	}
	memset(&ps, 0, sizeof(ps));
	ps.rs = rs;
	ps.rule = rule;
	ps.p = text;
	ps.reason = reason;
	ps.reasonlen = reasonlen;
	next(&ps);
	if ((r = parse_or(&ps, 0, root)) != 0)
		return r;
	if (ps.tok != T_END)
		return fail(&ps, "expected \"and\", \"or\" or the end");
	return 0;
}
