/*
 * stix_pattern.c - a hand-written recursive-descent parser for the STIX 2.1
 * patterning grammar (STIXPattern.g4) and the compiler from its tree to
 * mamori's matchable terms (see stix_pattern.h).
 *
 * Precedence, lowest first: FOLLOWEDBY, OR, AND between observations;
 * qualifiers bind to the observation before them; inside brackets OR, then
 * AND.  Chains of one operator are kept as one n-ary node, so recursion
 * depth grows only with nesting, which is bounded.  This file must never
 * read past the pattern's length, recurse without a bound, or accept a
 * pattern the grammar refuses.
 */
#include "stix_pattern.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "util.h"

enum tok_type {
	T_EOF, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COLON, T_DOT,
	T_COMMA, T_ASTERISK, T_EQ, T_NEQ, T_LT, T_LE, T_GT, T_GE, T_IDENT,
	T_STRING, T_INT, T_FLOAT, T_HEX, T_BINARY, T_TIMESTAMP, T_BOOL,
	T_AND, T_OR, T_NOT, T_FOLLOWEDBY, T_LIKE, T_MATCHES, T_ISSUPERSET,
	T_ISSUBSET, T_EXISTS, T_LAST, T_IN, T_START, T_STOP, T_SECONDS,
	T_WITHIN, T_REPEATS, T_TIMES
};

static const struct {
	const char *word;
	enum tok_type type;
} keywords[] = {
	{"AND", T_AND}, {"OR", T_OR}, {"NOT", T_NOT},
	{"FOLLOWEDBY", T_FOLLOWEDBY}, {"LIKE", T_LIKE}, {"MATCHES", T_MATCHES},
	{"ISSUPERSET", T_ISSUPERSET}, {"ISSUBSET", T_ISSUBSET},
	{"EXISTS", T_EXISTS}, {"LAST", T_LAST}, {"IN", T_IN},
	{"START", T_START}, {"STOP", T_STOP}, {"SECONDS", T_SECONDS},
	{"true", T_BOOL}, {"false", T_BOOL}, {"WITHIN", T_WITHIN},
	{"REPEATS", T_REPEATS}, {"TIMES", T_TIMES},
};

struct token {
	enum tok_type type;
	size_t pos;  /* offset of the first byte */
	size_t len;  /* bytes of the raw token */
	int hyphen;  /* T_IDENT: holds a '-' */
};

enum node_kind {
	N_OBS_FBY,     /* kids: observations */
	N_OBS_OR,
	N_OBS_AND,
	N_OBS,         /* kid: a comparison expression */
	N_QUAL,        /* kid: the observation; qual */
	N_CMP_OR,
	N_CMP_AND,
	N_TEST,        /* path op literal(s) */
	N_EXISTS       /* path */
};

enum qual_kind { Q_WITHIN, Q_REPEATS, Q_STARTSTOP };

struct literal {
	enum tok_type type; /* T_STRING (decoded), others raw */
	char *text;
};

struct path_part {
	int is_index;  /* "[...]" step: text holds "0", "-1" or "*" */
	int quoted;    /* written as a string literal */
	char *text;
};

struct node {
	enum node_kind kind;
	size_t pos;
	int *kids;
	size_t nkids;
	/* N_TEST, N_EXISTS */
	struct path_part *path;
	size_t npath;
	int negated;
	enum tok_type op;
	struct literal *lits;
	size_t nlits;
	int is_set;
	/* N_QUAL */
	enum qual_kind qual;
	char *qarg1, *qarg2;
};

struct mamori_stix_pattern {
	struct node *nodes;
	size_t nnodes;
	int root;
};

struct parser {
	const char *s;
	size_t len;
	size_t off;
	struct token tok;
	int depth;
	int err;
	struct mamori_stix_error *e;
	struct mamori_stix_pattern *p;
	size_t cap;
};

/* ---- errors ---- */

static int
fail_at(struct parser *ps, int code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail_at(struct parser *ps, int code, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (ps->err != 0)
		return ps->err;
	ps->err = code;
	if (ps->e != NULL) {
		ps->e->pos = pos;
		va_start(ap, fmt);
		vsnprintf(ps->e->msg, sizeof(ps->e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static const char *
tok_name(enum tok_type t)
{
	size_t i;

	switch (t) {
	case T_EOF: return "end of pattern";
	case T_LBRACK: return "'['";
	case T_RBRACK: return "']'";
	case T_LPAREN: return "'('";
	case T_RPAREN: return "')'";
	case T_COLON: return "':'";
	case T_DOT: return "'.'";
	case T_COMMA: return "','";
	case T_ASTERISK: return "'*'";
	case T_EQ: return "'='";
	case T_NEQ: return "'!='";
	case T_LT: return "'<'";
	case T_LE: return "'<='";
	case T_GT: return "'>'";
	case T_GE: return "'>='";
	case T_IDENT: return "a name";
	case T_STRING: return "a string";
	case T_INT: return "an integer";
	case T_FLOAT: return "a number";
	case T_HEX: return "a hex literal";
	case T_BINARY: return "a binary literal";
	case T_TIMESTAMP: return "a timestamp";
	case T_BOOL: return "true/false";
	default:
		for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (keywords[i].type == t)
				return keywords[i].word;
		return "a token";
	}
}

/* An operator as written in a pattern. */
static const char *
op_text(enum tok_type t)
{
	switch (t) {
	case T_EQ: return "=";
	case T_NEQ: return "!=";
	case T_LT: return "<";
	case T_LE: return "<=";
	case T_GT: return ">";
	case T_GE: return ">=";
	default: return tok_name(t);
	}
}

/* ---- lexer ---- */

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
is_b64(int c)
{
	return is_alpha(c) ? c != '_' : (is_digit(c) || c == '+' || c == '/');
}

/* Bytes of white space at s (ASCII and the Unicode spaces of the grammar,
 * in UTF-8), 0 if none. */
static size_t
space_len(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;
	if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

static int
skip_space(struct parser *ps)
{
	const unsigned char *u = (const unsigned char *)ps->s;
	size_t n;

	for (;;) {
		if ((n = space_len(u + ps->off, ps->len - ps->off)) > 0) {
			ps->off += n;
		} else if (ps->len - ps->off >= 2 && u[ps->off] == '/' &&
		    u[ps->off + 1] == '*') {
			size_t start = ps->off;

			ps->off += 2;
			while (ps->len - ps->off >= 2 && !(u[ps->off] == '*' &&
			    u[ps->off + 1] == '/'))
				ps->off++;
			if (ps->len - ps->off < 2)
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
				    "comment not closed");
			ps->off += 2;
		} else if (ps->len - ps->off >= 2 && u[ps->off] == '/' &&
		    u[ps->off + 1] == '/') {
			while (ps->off < ps->len && u[ps->off] != '\n' &&
			    u[ps->off] != '\r')
				ps->off++;
		} else {
			return 0;
		}
	}
}

/* A string literal starting at quote offset q; sets *end past it. */
static int
lex_string(struct parser *ps, size_t q, size_t *end)
{
	size_t i = q + 1;

	while (i < ps->len && ps->s[i] != '\'') {
		if (ps->s[i] == '\\') {
			if (i + 1 >= ps->len || (ps->s[i + 1] != '\'' &&
			    ps->s[i + 1] != '\\'))
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, i,
				    "invalid escape in string (only \\' and "
				    "\\\\ are allowed)");
			i += 2;
			continue;
		}
		i++;
	}
	if (i >= ps->len)
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, q,
		    "string not closed");
	*end = i + 1;
	return 0;
}

static int
two_digits(const char *s, int lo, int hi)
{
	int v;

	if (!is_digit(s[0]) || !is_digit(s[1]))
		return 0;
	v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi;
}

/* t'YYYY-MM-DDTHH:MM:SS(.f+)?Z' between offsets a (after the quote) and
 * b (the closing quote). */
static int
timestamp_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 20)
		return 0;
	for (i = 0; i < 4; i++)
		if (!is_digit(s[i]))
			return 0;
	if (s[4] != '-' || !two_digits(s + 5, 1, 12) || s[7] != '-' ||
	    !two_digits(s + 8, 1, 31) || s[10] != 'T' ||
	    !two_digits(s + 11, 0, 23) || s[13] != ':' ||
	    !two_digits(s + 14, 0, 59) || s[16] != ':' ||
	    !two_digits(s + 17, 0, 60))
		return 0;
	i = 19;
	if (s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i + 1 == n && s[i] == 'Z';
}

static int
binary_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n % 4 != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (is_b64(s[i]))
			continue;
		/* '=' only as the last one or two characters */
		if (s[i] == '=' && (i == n - 1 || (i == n - 2 &&
		    s[n - 1] == '=')))
			continue;
		return 0;
	}
	return 1;
}

/* A prefixed literal h'..', b'..' or t'..' at start. */
static int
lex_prefixed(struct parser *ps, size_t start, struct token *t)
{
	char c = ps->s[start];
	size_t q = start + 1, end = q + 1;
	const char *body;
	size_t n, i;

	while (end < ps->len && ps->s[end] != '\'')
		end++;
	if (end >= ps->len)
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
		    "%c'...' literal not closed", c);
	body = ps->s + q + 1;
	n = end - q - 1;
	t->pos = start;
	t->len = end + 1 - start;
	if (c == 'h') {
		t->type = T_HEX;
		if (n % 2 != 0)
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
			    "hex literal needs pairs of hex digits");
		for (i = 0; i < n; i++)
			if (!is_hex(body[i]))
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX,
				    q + 1 + i, "invalid hex digit");
	} else if (c == 'b') {
		t->type = T_BINARY;
		if (!binary_ok(body, n))
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
			    "invalid base64 in binary literal");
	} else {
		t->type = T_TIMESTAMP;
		if (!timestamp_ok(body, n))
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
			    "invalid timestamp (expected "
			    "t'YYYY-MM-DDTHH:MM:SS[.s]Z')");
	}
	return 0;
}

static int
lex_number(struct parser *ps, size_t start, struct token *t)
{
	size_t i = start, digits;
	int is_float = 0;

	if (ps->s[i] == '+' || ps->s[i] == '-')
		i++;
	digits = i;
	while (i < ps->len && is_digit(ps->s[i]))
		i++;
	if (i + 1 < ps->len && ps->s[i] == '.' && is_digit(ps->s[i + 1])) {
		is_float = 1;
		i++;
		while (i < ps->len && is_digit(ps->s[i]))
			i++;
	}
	if (i == digits)
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
		    "unexpected '%c'", ps->s[start]);
	if (!is_float && ps->s[digits] == '0' && i - digits > 1)
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
		    "integer with a leading zero");
	t->type = is_float ? T_FLOAT : T_INT;
	t->pos = start;
	t->len = i - start;
	return 0;
}

static int
lex_next(struct parser *ps)
{
	struct token *t = &ps->tok;
	size_t start, i = 0, k;
	char c, d;

	if (skip_space(ps) != 0)
		return ps->err;
	start = ps->off;
	memset(t, 0, sizeof(*t));
	t->pos = start;
	if (start >= ps->len) {
		t->type = T_EOF;
		return 0;
	}
	c = ps->s[start];
	d = start + 1 < ps->len ? ps->s[start + 1] : '\0';
	t->len = 1;
	switch (c) {
	case '[': t->type = T_LBRACK; break;
	case ']': t->type = T_RBRACK; break;
	case '(': t->type = T_LPAREN; break;
	case ')': t->type = T_RPAREN; break;
	case ':': t->type = T_COLON; break;
	case ',': t->type = T_COMMA; break;
	case '*': t->type = T_ASTERISK; break;
	case '=':
		t->type = T_EQ;
		t->len = d == '=' ? 2 : 1;
		break;
	case '!':
		if (d != '=')
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
			    "unexpected '!' (did you mean '!=')");
		t->type = T_NEQ;
		t->len = 2;
		break;
	case '<':
		t->type = d == '=' ? T_LE : d == '>' ? T_NEQ : T_LT;
		t->len = d == '=' || d == '>' ? 2 : 1;
		break;
	case '>':
		t->type = d == '=' ? T_GE : T_GT;
		t->len = d == '=' ? 2 : 1;
		break;
	case '\'':
		t->type = T_STRING;
		if (lex_string(ps, start, &i) != 0)
			return ps->err;
		t->len = i - start;
		break;
	case '.':
		if (is_digit(d)) {
			if (lex_number(ps, start, t) != 0)
				return ps->err;
		} else {
			t->type = T_DOT;
		}
		break;
	default:
		if ((c == 'h' || c == 'b' || c == 't') && d == '\'') {
			if (lex_prefixed(ps, start, t) != 0)
				return ps->err;
		} else if (is_alpha(c)) {
			i = start + 1;
			while (i < ps->len && (is_alpha(ps->s[i]) ||
			    is_digit(ps->s[i]) || ps->s[i] == '-')) {
				if (ps->s[i] == '-')
					t->hyphen = 1;
				i++;
			}
			t->type = T_IDENT;
			t->len = i - start;
			for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]);
			    k++)
				if (strlen(keywords[k].word) == t->len &&
				    memcmp(keywords[k].word, ps->s + start,
				    t->len) == 0)
					t->type = keywords[k].type;
		} else if (is_digit(c) || c == '+' || c == '-') {
			if (lex_number(ps, start, t) != 0)
				return ps->err;
		} else if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) {
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
			    "unexpected byte 0x%02x", (unsigned char)c);
		} else {
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, start,
			    "unexpected '%c'", c);
		}
	}
	ps->off = start + t->len;
	return 0;
}

/* ---- tree ---- */

static int
new_node(struct parser *ps, enum node_kind kind, size_t pos, int *out)
{
	struct node *n;
	size_t cap;

	*out = -1;
	if (ps->p->nnodes >= MAMORI_STIX_NODES_MAX)
		return fail_at(ps, MAMORI_ERR_TOO_LARGE, pos,
		    "pattern has more than %d parts", MAMORI_STIX_NODES_MAX);
	if (ps->p->nnodes == ps->cap) {
		cap = ps->cap == 0 ? 16 : ps->cap * 2;
		if ((n = realloc(ps->p->nodes, cap * sizeof(*n))) == NULL)
			return fail_at(ps, MAMORI_ERR_ALLOC, pos,
			    "out of memory");
		ps->p->nodes = n;
		ps->cap = cap;
	}
	n = &ps->p->nodes[ps->p->nnodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	*out = (int)ps->p->nnodes++;
	return 0;
}

static int
add_kid(struct parser *ps, int parent, int kid)
{
	struct node *n = &ps->p->nodes[parent];
	int *k;

	if ((k = realloc(n->kids, (n->nkids + 1) * sizeof(*k))) == NULL)
		return fail_at(ps, MAMORI_ERR_ALLOC, n->pos, "out of memory");
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 0;
}

/* The decoded text of the current string token (escapes resolved). */
static char *
string_text(const struct parser *ps)
{
	const char *s = ps->s + ps->tok.pos + 1;
	size_t n = ps->tok.len - 2, i, j = 0;
	char *out;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		out[j++] = s[i];
	}
	out[j] = '\0';
	return out;
}

static char *
raw_text(const struct parser *ps)
{
	return mamori_memdup_str(ps->s + ps->tok.pos, ps->tok.len);
}

static int
expect(struct parser *ps, enum tok_type t, const char *what)
{
	if (ps->tok.type != t)
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, ps->tok.pos,
		    "expected %s, found %s", what, tok_name(ps->tok.type));
	return lex_next(ps);
}

static int
enter(struct parser *ps)
{
	if (++ps->depth > MAMORI_STIX_DEPTH_MAX)
		return fail_at(ps, MAMORI_ERR_TOO_LARGE, ps->tok.pos,
		    "nested deeper than %d", MAMORI_STIX_DEPTH_MAX);
	return 0;
}

static int parse_obs_fby(struct parser *ps, int *out);
static int parse_cmp_or(struct parser *ps, int *out);

/* Parses "sub (OP sub)*" into one n-ary node of kind, or just sub. */
static int
parse_chain(struct parser *ps, enum tok_type op, enum node_kind kind,
    int (*sub)(struct parser *, int *), int *out)
{
	int first, next, n = -1;
	size_t pos = ps->tok.pos;

	*out = -1;
	if (sub(ps, &first) != 0)
		return ps->err;
	if (ps->tok.type != op) {
		*out = first;
		return 0;
	}
	if (new_node(ps, kind, pos, &n) != 0 || add_kid(ps, n, first) != 0)
		return ps->err;
	while (ps->tok.type == op) {
		if (lex_next(ps) != 0 || sub(ps, &next) != 0 ||
		    add_kid(ps, n, next) != 0)
			return ps->err;
	}
	*out = n;
	return 0;
}

static int
parse_path(struct parser *ps, int n)
{
	struct node *nd;
	struct path_part part;
	struct path_part *pp;
	size_t pos;

	for (;;) {
		memset(&part, 0, sizeof(part));
		pos = ps->tok.pos;
		nd = &ps->p->nodes[n];
		if (nd->npath == 0) {
			if (ps->tok.type != T_IDENT)
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, pos,
				    "expected an object type, found %s",
				    tok_name(ps->tok.type));
			part.text = raw_text(ps);
		} else if (nd->npath == 1 || ps->tok.type == T_DOT) {
			if (nd->npath > 1 && lex_next(ps) != 0)
				return ps->err;
			pos = ps->tok.pos;
			if (ps->tok.type == T_STRING) {
				part.quoted = 1;
				part.text = string_text(ps);
			} else if (ps->tok.type == T_IDENT && !ps->tok.hyphen) {
				part.text = raw_text(ps);
			} else {
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, pos,
				    "expected a property name (without '-', "
				    "or quoted), found %s",
				    ps->tok.type == T_IDENT ? "a name with '-'" :
				    tok_name(ps->tok.type));
			}
		} else if (ps->tok.type == T_LBRACK) {
			if (lex_next(ps) != 0)
				return ps->err;
			pos = ps->tok.pos;
			if (ps->tok.type == T_ASTERISK) {
				part.text = mamori_memdup_str("*", 1);
			} else if (ps->tok.type == T_INT) {
				part.text = raw_text(ps);
			} else {
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, pos,
				    "expected an index or '*', found %s",
				    tok_name(ps->tok.type));
			}
			part.is_index = 1;
			if (part.text == NULL)
				return fail_at(ps, MAMORI_ERR_ALLOC, pos,
				    "out of memory");
			if (lex_next(ps) != 0 || ps->tok.type != T_RBRACK) {
				free(part.text);
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX,
				    ps->tok.pos, "expected ']' after index");
			}
		} else {
			return 0;
		}
		if (part.text == NULL)
			return fail_at(ps, MAMORI_ERR_ALLOC, pos,
			    "out of memory");
		if (nd->npath >= MAMORI_STIX_PATH_MAX) {
			free(part.text);
			return fail_at(ps, MAMORI_ERR_TOO_LARGE, pos,
			    "object path longer than %d steps",
			    MAMORI_STIX_PATH_MAX);
		}
		if ((pp = realloc(nd->path, (nd->npath + 1) *
		    sizeof(*pp))) == NULL) {
			free(part.text);
			return fail_at(ps, MAMORI_ERR_ALLOC, pos,
			    "out of memory");
		}
		nd->path = pp;
		nd->path[nd->npath++] = part;
		if (lex_next(ps) != 0)
			return ps->err;
		if (nd->npath == 1) {
			if (ps->tok.type != T_COLON)
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX,
				    ps->tok.pos, "expected ':' after the object "
				    "type, found %s", tok_name(ps->tok.type));
			if (lex_next(ps) != 0)
				return ps->err;
		}
	}
}

static int
is_primitive(enum tok_type t)
{
	return t == T_INT || t == T_FLOAT || t == T_STRING || t == T_BINARY ||
	    t == T_HEX || t == T_TIMESTAMP || t == T_BOOL;
}

static int
add_literal(struct parser *ps, int n)
{
	struct node *nd = &ps->p->nodes[n];
	struct literal *l;
	char *text;

	if (nd->nlits >= MAMORI_STIX_SET_MAX)
		return fail_at(ps, MAMORI_ERR_TOO_LARGE, ps->tok.pos,
		    "set of more than %d values", MAMORI_STIX_SET_MAX);
	text = ps->tok.type == T_STRING ? string_text(ps) : raw_text(ps);
	if (text == NULL)
		return fail_at(ps, MAMORI_ERR_ALLOC, ps->tok.pos,
		    "out of memory");
	if ((l = realloc(nd->lits, (nd->nlits + 1) * sizeof(*l))) == NULL) {
		free(text);
		return fail_at(ps, MAMORI_ERR_ALLOC, ps->tok.pos,
		    "out of memory");
	}
	nd->lits = l;
	nd->lits[nd->nlits].type = ps->tok.type;
	nd->lits[nd->nlits].text = text;
	nd->nlits++;
	return lex_next(ps);
}

static int
parse_test(struct parser *ps, int *out)
{
	size_t pos = ps->tok.pos;
	enum tok_type op;
	int n = -1;

	*out = -1;
	if (ps->tok.type == T_LPAREN) {
		if (enter(ps) != 0 || lex_next(ps) != 0 ||
		    parse_cmp_or(ps, out) != 0 ||
		    expect(ps, T_RPAREN, "')'") != 0)
			return ps->err;
		ps->depth--;
		return 0;
	}
	if (ps->tok.type == T_NOT || ps->tok.type == T_EXISTS) {
		if (new_node(ps, N_EXISTS, pos, &n) != 0)
			return ps->err;
		if (ps->tok.type == T_NOT) {
			ps->p->nodes[n].negated = 1;
			if (lex_next(ps) != 0)
				return ps->err;
		}
		if (expect(ps, T_EXISTS, "EXISTS") != 0 || parse_path(ps, n) != 0)
			return ps->err;
		*out = n;
		return 0;
	}
	if (new_node(ps, N_TEST, pos, &n) != 0 || parse_path(ps, n) != 0)
		return ps->err;
	if (ps->tok.type == T_NOT) {
		ps->p->nodes[n].negated = 1;
		if (lex_next(ps) != 0)
			return ps->err;
	}
	op = ps->tok.type;
	ps->p->nodes[n].op = op;
	switch (op) {
	case T_EQ: case T_NEQ:
	case T_LT: case T_LE: case T_GT: case T_GE:
		if (lex_next(ps) != 0)
			return ps->err;
		if (!is_primitive(ps->tok.type) || (ps->tok.type == T_BOOL &&
		    op != T_EQ && op != T_NEQ))
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, ps->tok.pos,
			    "expected a value after %s, found %s",
			    tok_name(op), tok_name(ps->tok.type));
		if (add_literal(ps, n) != 0)
			return ps->err;
		break;
	case T_IN:
		ps->p->nodes[n].is_set = 1;
		if (lex_next(ps) != 0 || expect(ps, T_LPAREN, "'(' after IN") != 0)
			return ps->err;
		while (ps->tok.type != T_RPAREN) {
			if (ps->p->nodes[n].nlits > 0 &&
			    expect(ps, T_COMMA, "',' or ')'") != 0)
				return ps->err;
			if (!is_primitive(ps->tok.type))
				return fail_at(ps, MAMORI_ERR_STIX_SYNTAX,
				    ps->tok.pos, "expected a value in the set, "
				    "found %s", tok_name(ps->tok.type));
			if (add_literal(ps, n) != 0)
				return ps->err;
		}
		if (lex_next(ps) != 0)
			return ps->err;
		break;
	case T_LIKE: case T_MATCHES: case T_ISSUBSET: case T_ISSUPERSET:
		if (lex_next(ps) != 0)
			return ps->err;
		if (ps->tok.type != T_STRING)
			return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, ps->tok.pos,
			    "expected a string after %s, found %s",
			    tok_name(op), tok_name(ps->tok.type));
		if (add_literal(ps, n) != 0)
			return ps->err;
		break;
	default:
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, ps->tok.pos,
		    "expected a comparison operator, found %s",
		    tok_name(op));
	}
	*out = n;
	return 0;
}

static int
parse_cmp_and(struct parser *ps, int *out)
{
	return parse_chain(ps, T_AND, N_CMP_AND, parse_test, out);
}

static int
parse_cmp_or(struct parser *ps, int *out)
{
	return parse_chain(ps, T_OR, N_CMP_OR, parse_cmp_and, out);
}

/* Copies the current token's raw text into *dst after checking its type. */
static int
take_arg(struct parser *ps, enum tok_type a, enum tok_type b,
    const char *what, char **dst)
{
	if (ps->tok.type != a && ps->tok.type != b)
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, ps->tok.pos,
		    "expected %s, found %s", what, tok_name(ps->tok.type));
	if (ps->s[ps->tok.pos] == '-')
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, ps->tok.pos,
		    "expected %s, found a negative number", what);
	if ((*dst = raw_text(ps)) == NULL)
		return fail_at(ps, MAMORI_ERR_ALLOC, ps->tok.pos,
		    "out of memory");
	return lex_next(ps);
}

static int
parse_obs(struct parser *ps, int *out)
{
	size_t pos = ps->tok.pos;
	int n = -1, kid, q;
	struct node *nd;

	*out = -1;
	if (enter(ps) != 0)
		return ps->err;
	if (ps->tok.type == T_LBRACK) {
		if (lex_next(ps) != 0 || parse_cmp_or(ps, &kid) != 0 ||
		    expect(ps, T_RBRACK, "']'") != 0 ||
		    new_node(ps, N_OBS, pos, &n) != 0 || add_kid(ps, n, kid) != 0)
			return ps->err;
	} else if (ps->tok.type == T_LPAREN) {
		if (lex_next(ps) != 0 || parse_obs_fby(ps, &n) != 0 ||
		    expect(ps, T_RPAREN, "')'") != 0)
			return ps->err;
	} else {
		return fail_at(ps, MAMORI_ERR_STIX_SYNTAX, pos,
		    "expected '[' or '(' to start an observation, found %s",
		    tok_name(ps->tok.type));
	}
	for (;;) {
		enum tok_type t = ps->tok.type;

		if (t != T_WITHIN && t != T_REPEATS && t != T_START)
			break;
		if (new_node(ps, N_QUAL, ps->tok.pos, &q) != 0 ||
		    add_kid(ps, q, n) != 0 || lex_next(ps) != 0)
			return ps->err;
		nd = &ps->p->nodes[q];
		if (t == T_WITHIN) {
			nd->qual = Q_WITHIN;
			if (take_arg(ps, T_INT, T_FLOAT, "a positive number of "
			    "seconds", &nd->qarg1) != 0 ||
			    expect(ps, T_SECONDS, "SECONDS") != 0)
				return ps->err;
		} else if (t == T_REPEATS) {
			nd->qual = Q_REPEATS;
			if (take_arg(ps, T_INT, T_INT, "a positive integer",
			    &nd->qarg1) != 0 ||
			    expect(ps, T_TIMES, "TIMES") != 0)
				return ps->err;
		} else {
			nd->qual = Q_STARTSTOP;
			if (take_arg(ps, T_TIMESTAMP, T_TIMESTAMP, "a timestamp",
			    &nd->qarg1) != 0 ||
			    expect(ps, T_STOP, "STOP") != 0)
				return ps->err;
			nd = &ps->p->nodes[q];
			if (take_arg(ps, T_TIMESTAMP, T_TIMESTAMP, "a timestamp",
			    &nd->qarg2) != 0)
				return ps->err;
		}
		n = q;
	}
	ps->depth--;
	*out = n;
	return 0;
}

static int
parse_obs_and(struct parser *ps, int *out)
{
	return parse_chain(ps, T_AND, N_OBS_AND, parse_obs, out);
}

static int
parse_obs_or(struct parser *ps, int *out)
{
	return parse_chain(ps, T_OR, N_OBS_OR, parse_obs_and, out);
}

static int
parse_obs_fby(struct parser *ps, int *out)
{
	return parse_chain(ps, T_FOLLOWEDBY, N_OBS_FBY, parse_obs_or, out);
}

void
mamori_stix_pattern_free(struct mamori_stix_pattern *p)
{
	size_t i, j;
	struct node *n;

	if (p == NULL)
		return;
	for (i = 0; i < p->nnodes; i++) {
		n = &p->nodes[i];
		free(n->kids);
		for (j = 0; j < n->npath; j++)
			free(n->path[j].text);
		free(n->path);
		for (j = 0; j < n->nlits; j++)
			free(n->lits[j].text);
		free(n->lits);
		free(n->qarg1);
		free(n->qarg2);
	}
	free(p->nodes);
	free(p);
}

int
mamori_stix_pattern_parse(const char *text, size_t len,
    struct mamori_stix_pattern **out, struct mamori_stix_error *err)
{
	struct parser ps;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.s = text;
	ps.len = len;
	ps.e = err;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (len > MAMORI_STIX_PATTERN_MAX) {
		r = fail_at(&ps, MAMORI_ERR_TOO_LARGE, 0, "pattern longer than "
		    "%d bytes", MAMORI_STIX_PATTERN_MAX);
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		r = fail_at(&ps, MAMORI_ERR_STIX_SYNTAX,
		    (size_t)((const char *)memchr(text, '\0', len) - text),
		    "NUL byte in pattern");
		goto out;
	}
	if ((ps.p = calloc(1, sizeof(*ps.p))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	ps.p->root = -1;
	if (lex_next(&ps) != 0 || parse_obs_fby(&ps, &ps.p->root) != 0 ||
	    expect(&ps, T_EOF, "end of pattern") != 0) {
		r = ps.err;
		goto out;
	}
	*out = ps.p;
	ps.p = NULL;
	r = 0;
out:
	mamori_stix_pattern_free(ps.p);
	return r;
}

/* ---- dump ---- */

struct dump {
	char *out;
	size_t len, used;
	int cut;
};

static void
put(struct dump *d, const char *s, size_t n)
{
	size_t room = d->len - d->used - 1;

	if (n > room) {
		n = room;
		d->cut = 1;
	}
	memcpy(d->out + d->used, s, n);
	d->used += n;
	d->out[d->used] = '\0';
}

static void
puts_(struct dump *d, const char *s)
{
	put(d, s, strlen(s));
}

static void
put_quoted(struct dump *d, const char *s)
{
	put(d, "'", 1);
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			put(d, "\\", 1);
		put(d, s, 1);
	}
	put(d, "'", 1);
}

static void
dump_path(struct dump *d, const struct node *n)
{
	size_t i;

	for (i = 0; i < n->npath; i++) {
		if (i == 1)
			put(d, ":", 1);
		else if (i > 1 && !n->path[i].is_index)
			put(d, ".", 1);
		if (n->path[i].is_index) {
			put(d, "[", 1);
			puts_(d, n->path[i].text);
			put(d, "]", 1);
		} else if (n->path[i].quoted) {
			put_quoted(d, n->path[i].text);
		} else {
			puts_(d, n->path[i].text);
		}
	}
}

static void
dump_lit(struct dump *d, const struct literal *l)
{
	if (l->type == T_STRING)
		put_quoted(d, l->text);
	else
		puts_(d, l->text);
}

static void
dump_node(struct dump *d, const struct mamori_stix_pattern *p, int i)
{
	const struct node *n = &p->nodes[i];
	const char *sep = NULL;
	size_t k;

	switch (n->kind) {
	case N_OBS_FBY: sep = " FOLLOWEDBY "; break;
	case N_OBS_OR: case N_CMP_OR: sep = " OR "; break;
	case N_OBS_AND: case N_CMP_AND: sep = " AND "; break;
	case N_OBS:
		put(d, "[", 1);
		dump_node(d, p, n->kids[0]);
		put(d, "]", 1);
		return;
	case N_QUAL:
		put(d, "(", 1);
		dump_node(d, p, n->kids[0]);
		if (n->qual == Q_WITHIN) {
			puts_(d, " WITHIN ");
			puts_(d, n->qarg1);
			puts_(d, " SECONDS");
		} else if (n->qual == Q_REPEATS) {
			puts_(d, " REPEATS ");
			puts_(d, n->qarg1);
			puts_(d, " TIMES");
		} else {
			puts_(d, " START ");
			puts_(d, n->qarg1);
			puts_(d, " STOP ");
			puts_(d, n->qarg2);
		}
		put(d, ")", 1);
		return;
	case N_EXISTS:
		puts_(d, n->negated ? "NOT EXISTS " : "EXISTS ");
		dump_path(d, n);
		return;
	case N_TEST:
		dump_path(d, n);
		if (n->negated)
			puts_(d, " NOT");
		put(d, " ", 1);
		puts_(d, op_text(n->op));
		put(d, " ", 1);
		if (n->is_set) {
			put(d, "(", 1);
			for (k = 0; k < n->nlits; k++) {
				if (k > 0)
					puts_(d, ", ");
				dump_lit(d, &n->lits[k]);
			}
			put(d, ")", 1);
		} else {
			dump_lit(d, &n->lits[0]);
		}
		return;
	}
	put(d, "(", 1);
	for (k = 0; k < n->nkids; k++) {
		if (k > 0)
			puts_(d, sep);
		dump_node(d, p, n->kids[k]);
	}
	put(d, ")", 1);
}

int
mamori_stix_pattern_dump(const struct mamori_stix_pattern *p, char *out,
    size_t outlen)
{
	struct dump d = {out, outlen, 0, 0};

	if (outlen == 0)
		return MAMORI_ERR_TOO_LARGE;
	out[0] = '\0';
	if (p != NULL && p->root >= 0)
		dump_node(&d, p, p->root);
	return d.cut ? MAMORI_ERR_TOO_LARGE : 0;
}

/* ---- normalisation shared with events ---- */

int
mamori_stix_domain_normalise(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), i, label = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return MAMORI_ERR_INVALID;
	if (n + 1 > outlen)
		return MAMORI_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return MAMORI_ERR_INVALID;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' ||
		    c == '_') {
			if (++label > 63)
				return MAMORI_ERR_INVALID;
		} else {
			return MAMORI_ERR_INVALID;
		}
		out[i] = c;
	}
	if (label == 0)
		return MAMORI_ERR_INVALID;
	out[n] = '\0';
	return 0;
}

int
mamori_stix_url_normalise(const char *s, char *out, size_t outlen)
{
	const char *colon, *host, *hend, *frag;
	size_t n, i, used = 0;

	if (outlen > 0)
		out[0] = '\0';
	if ((colon = strstr(s, "://")) == NULL || colon == s)
		return MAMORI_ERR_INVALID;
	for (i = 0; s + i < colon; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			return MAMORI_ERR_INVALID;
	host = colon + 3;
	hend = host + strcspn(host, "/?#");
	if (hend == host)
		return MAMORI_ERR_INVALID;
	frag = strchr(hend, '#');
	n = frag != NULL ? (size_t)(frag - s) : strlen(s);
	/* scheme://host, lower-cased, then "/" if the path is empty */
	if (n + 2 > outlen)
		return MAMORI_ERR_TOO_LARGE;
	for (i = 0; s + i < hend; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((unsigned char)c < 0x21 || c == 0x7f)
			return MAMORI_ERR_INVALID;
		out[used++] = c;
	}
	if (*hend != '/')
		out[used++] = '/';
	for (i = (size_t)(hend - s); i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return MAMORI_ERR_INVALID;
		out[used++] = s[i];
	}
	out[used] = '\0';
	return 0;
}

/* ---- compiler ---- */

struct cconj {
	uint32_t t[MAMORI_STIX_CONJ_TERMS_MAX];
	size_t n;
};

struct dnf {
	struct cconj *c;
	size_t n;
};

struct compiler {
	const struct mamori_stix_pattern *p;
	struct mamori_stix_term *terms; /* pool, deduplicated */
	size_t nterms, cap;
	char *reason;
	size_t reasonlen;
};

static const char *const kind_names[MAMORI_STIX_KIND_COUNT] = {
	"sha256", "sha1", "md5", "ipv4", "ipv6", "domain", "url",
};

const char *
mamori_stix_kind_name(enum mamori_stix_kind kind)
{
	return (unsigned)kind < MAMORI_STIX_KIND_COUNT ? kind_names[kind] :
	    "unknown";
}

static int
unsupported(struct compiler *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
unsupported(struct compiler *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, c->reasonlen, fmt, ap);
	va_end(ap);
	return MAMORI_ERR_STIX_UNSUPPORTED;
}

static void
dnf_free(struct dnf *d)
{
	free(d->c);
	d->c = NULL;
	d->n = 0;
}

static const char *
path_str(const struct node *n, char *buf, size_t len)
{
	struct dump d = {buf, len, 0, 0};

	buf[0] = '\0';
	dump_path(&d, n);
	return buf;
}

/* "SHA-256", "sha256", "SHA_256" -> the kind; -1 for other hashes. */
static int
hash_kind(const char *name)
{
	char norm[16];
	size_t i, j = 0;

	for (i = 0; name[i] != '\0' && j < sizeof(norm) - 1; i++) {
		char ch = name[i];

		if (ch == '-' || ch == '_')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		norm[j++] = ch;
	}
	if (name[i] != '\0')
		return -1;
	norm[j] = '\0';
	if (strcmp(norm, "SHA256") == 0)
		return MAMORI_STIX_SHA256;
	if (strcmp(norm, "SHA1") == 0)
		return MAMORI_STIX_SHA1;
	if (strcmp(norm, "MD5") == 0)
		return MAMORI_STIX_MD5;
	return -1;
}

/* Parses "addr" or "addr/len" of the family into t. */
static int
parse_address(const char *s, int v6, struct mamori_stix_term *t)
{
	char host[64], text[80];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	uint64_t plen;
	unsigned int bits, i;
	uint8_t a[16];

	if (hl == 0 || hl >= sizeof(host))
		return MAMORI_ERR_INVALID;
	memcpy(host, s, hl);
	host[hl] = '\0';
	bits = v6 ? 128 : 32;
	plen = bits;
	if (slash != NULL && mamori_parse_u64(slash + 1, 0, bits, &plen) != 0)
		return MAMORI_ERR_INVALID;
	memset(a, 0, sizeof(a));
	if (v6) {
		if (inet_pton(AF_INET6, host, a) != 1)
			return MAMORI_ERR_INVALID;
	} else {
		a[10] = 0xff;
		a[11] = 0xff;
		if (inet_pton(AF_INET, host, a + 12) != 1)
			return MAMORI_ERR_INVALID;
	}
	t->prefix = (uint8_t)(plen + (v6 ? 0 : 96));
	for (i = t->prefix; i < 128; i++)
		a[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	memcpy(t->addr, a, 16);
	t->addr_len = 16;
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? a : a + 12, host,
	    sizeof(host)) == NULL)
		return MAMORI_ERR_INVALID;
	if (plen == bits)
		snprintf(text, sizeof(text), "%s", host);
	else
		snprintf(text, sizeof(text), "%s/%u", host, (unsigned)plen);
	if ((t->value = mamori_memdup_str(text, strlen(text))) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

/* Builds one term from a literal of test node n with the given kind; the
 * reason names the problem when it is refused. */
static int
make_term(struct compiler *c, const struct node *n, int kind,
    const struct literal *l, struct mamori_stix_term *t)
{
	static const size_t hash_len[] = {32, 20, 16};
	char path[128], buf[MAMORI_STIX_URL_MAX];
	const char *v = l->text;
	size_t i, hl;
	int r;

	memset(t, 0, sizeof(*t));
	t->kind = (enum mamori_stix_kind)kind;
	path_str(n, path, sizeof(path));
	if (kind <= MAMORI_STIX_MD5) {
		hl = hash_len[kind];
		if (l->type == T_HEX) {
			/* h'...': the digits between the quotes */
			i = strlen(l->text);
			if (i - 3 >= sizeof(buf))
				return unsupported(c, "%s: value is not %zu "
				    "bytes", path, hl);
			memcpy(buf, l->text + 2, i - 3);
			buf[i - 3] = '\0';
			v = buf;
		} else if (l->type != T_STRING) {
			return unsupported(c, "%s compared with a value that is "
			    "not a string", path);
		}
		if (strlen(v) != 2 * hl || mamori_unhex(v, t->addr, hl) != 0)
			return unsupported(c, "%s: '%.80s' is not %zu hex "
			    "digits", path, l->text, 2 * hl);
		t->addr_len = (uint8_t)hl;
		mamori_hex(t->addr, hl, buf);
		if ((t->value = mamori_memdup_str(buf, 2 * hl)) == NULL)
			return MAMORI_ERR_ALLOC;
		return 0;
	}
	if (l->type != T_STRING)
		return unsupported(c, "%s compared with a value that is not a "
		    "string", path);
	switch (kind) {
	case MAMORI_STIX_IPV4:
	case MAMORI_STIX_IPV6:
		if ((r = parse_address(v, kind == MAMORI_STIX_IPV6, t)) != 0)
			return r == MAMORI_ERR_ALLOC ? r : unsupported(c,
			    "%s: '%.80s' is not an %s address or CIDR", path,
			    v, kind == MAMORI_STIX_IPV6 ? "IPv6" : "IPv4");
		return 0;
	case MAMORI_STIX_DOMAIN:
		if (mamori_stix_domain_normalise(v, buf, sizeof(buf)) != 0)
			return unsupported(c, "%s: '%.80s' is not a host name",
			    path, v);
		if (strchr(buf, '.') == NULL)
			return unsupported(c, "%s: '%.80s' is a single label "
			    "(it would match a whole top-level domain)", path,
			    v);
		break;
	default:
		r = mamori_stix_url_normalise(v, buf, sizeof(buf));
		if (r == MAMORI_ERR_TOO_LARGE)
			return unsupported(c, "%s: URL longer than %d bytes",
			    path, MAMORI_STIX_URL_MAX - 2);
		if (r != 0)
			return unsupported(c, "%s: '%.80s' is not a URL "
			    "(scheme://host...)", path, v);
		break;
	}
	for (i = 0; buf[i] != '\0'; i++)
		;
	if ((t->value = mamori_memdup_str(buf, i)) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

static int
same_term(const struct mamori_stix_term *a, const struct mamori_stix_term *b)
{
	return a->kind == b->kind && strcmp(a->value, b->value) == 0;
}

/* Adds t to the pool (taking its value) unless an equal term is there;
 * *idx gets its index. */
static int
pool_add(struct compiler *c, struct mamori_stix_term *t, uint32_t *idx)
{
	struct mamori_stix_term *nt;
	size_t i, cap;

	for (i = 0; i < c->nterms; i++)
		if (same_term(&c->terms[i], t)) {
			free(t->value);
			t->value = NULL;
			*idx = (uint32_t)i;
			return 0;
		}
	if (c->nterms == c->cap) {
		cap = c->cap == 0 ? 8 : c->cap * 2;
		if ((nt = realloc(c->terms, cap * sizeof(*nt))) == NULL) {
			free(t->value);
			t->value = NULL;
			return MAMORI_ERR_ALLOC;
		}
		c->terms = nt;
		c->cap = cap;
	}
	c->terms[c->nterms] = *t;
	t->value = NULL;
	*idx = (uint32_t)c->nterms++;
	return 0;
}

static int
compile_test(struct compiler *c, const struct node *n, struct dnf *out)
{
	char path[128];
	const char *type = n->path[0].text;
	struct mamori_stix_term t;
	uint32_t idx;
	size_t i;
	int kind = -1, r;

	path_str(n, path, sizeof(path));
	if (strcmp(type, "file") == 0) {
		if (n->npath == 3 && strcmp(n->path[1].text, "hashes") == 0 &&
		    !n->path[2].is_index)
			kind = hash_kind(n->path[2].text);
		if (kind < 0)
			return unsupported(c, "%s is not matched by mamori (of "
			    "file, only hashes.'SHA-256', 'SHA-1' and 'MD5')",
			    path);
	} else {
		if (strcmp(type, "ipv4-addr") == 0)
			kind = MAMORI_STIX_IPV4;
		else if (strcmp(type, "ipv6-addr") == 0)
			kind = MAMORI_STIX_IPV6;
		else if (strcmp(type, "domain-name") == 0)
			kind = MAMORI_STIX_DOMAIN;
		else if (strcmp(type, "url") == 0)
			kind = MAMORI_STIX_URL;
		else
			return unsupported(c, "object type %.64s is not matched "
			    "by mamori (%s)", type, path);
		if (n->npath != 2 || n->path[1].is_index ||
		    strcmp(n->path[1].text, "value") != 0)
			return unsupported(c, "%s is not matched by mamori (of "
			    "%s, only value)", path, type);
	}
	if (n->negated)
		return unsupported(c, "%s NOT %s: negated comparisons are not "
		    "matched", path, op_text(n->op));
	if (n->op != T_EQ && n->op != T_IN && !(n->op == T_ISSUBSET &&
	    (kind == MAMORI_STIX_IPV4 || kind == MAMORI_STIX_IPV6)))
		return unsupported(c, "%s %s: operator %s is not matched (only "
		    "=, IN, and ISSUBSET for addresses)", path, op_text(n->op),
		    op_text(n->op));
	if (n->nlits == 0)
		return unsupported(c, "%s IN (): an empty set never matches",
		    path);
	if ((out->c = calloc(n->nlits, sizeof(*out->c))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < n->nlits; i++) {
		if ((r = make_term(c, n, kind, &n->lits[i], &t)) != 0)
			return r;
		if ((r = pool_add(c, &t, &idx)) != 0)
			return r;
		out->c[out->n].t[0] = idx;
		out->c[out->n].n = 1;
		out->n++;
	}
	return 0;
}

static int compile_node(struct compiler *c, int i, struct dnf *out);

static int
compile_or(struct compiler *c, const struct node *n, struct dnf *out)
{
	struct dnf kid = {NULL, 0};
	struct cconj *nc;
	size_t k;
	int r = 0;

	for (k = 0; k < n->nkids; k++) {
		if ((r = compile_node(c, n->kids[k], &kid)) != 0)
			break;
		if (out->n + kid.n > MAMORI_STIX_DNF_MAX) {
			r = unsupported(c, "more than %d alternatives",
			    MAMORI_STIX_DNF_MAX);
			break;
		}
		if ((nc = realloc(out->c, (out->n + kid.n) *
		    sizeof(*nc))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			break;
		}
		out->c = nc;
		memcpy(out->c + out->n, kid.c, kid.n * sizeof(*nc));
		out->n += kid.n;
		dnf_free(&kid);
	}
	dnf_free(&kid);
	return r;
}

/* out = out AND d (every pair of alternatives joined). */
static int
dnf_and(struct compiler *c, struct dnf *out, const struct dnf *d)
{
	struct cconj *nc, *x;
	size_t i, j, k, m, n = 0;

	if (out->n * d->n > MAMORI_STIX_DNF_MAX)
		return unsupported(c, "more than %d alternatives after "
		    "expanding AND over OR", MAMORI_STIX_DNF_MAX);
	if ((nc = calloc(out->n * d->n + 1, sizeof(*nc))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < out->n; i++)
		for (j = 0; j < d->n; j++) {
			x = &nc[n++];
			*x = out->c[i];
			for (k = 0; k < d->c[j].n; k++) {
				for (m = 0; m < x->n; m++)
					if (x->t[m] == d->c[j].t[k])
						break;
				if (m < x->n)
					continue;
				if (x->n >= MAMORI_STIX_CONJ_TERMS_MAX) {
					free(nc);
					return unsupported(c, "more than %d "
					    "comparisons AND'ed",
					    MAMORI_STIX_CONJ_TERMS_MAX);
				}
				x->t[x->n++] = d->c[j].t[k];
			}
		}
	free(out->c);
	out->c = nc;
	out->n = n;
	return 0;
}

static int
compile_and(struct compiler *c, const struct node *n, struct dnf *out)
{
	struct dnf kid = {NULL, 0};
	size_t k;
	int r;

	if ((r = compile_node(c, n->kids[0], out)) != 0)
		return r;
	for (k = 1; k < n->nkids; k++) {
		if ((r = compile_node(c, n->kids[k], &kid)) != 0 ||
		    (r = dnf_and(c, out, &kid)) != 0)
			break;
		dnf_free(&kid);
	}
	dnf_free(&kid);
	return r;
}

static int
compile_node(struct compiler *c, int i, struct dnf *out)
{
	const struct node *n = &c->p->nodes[i];
	char path[128];

	switch (n->kind) {
	case N_TEST:
		return compile_test(c, n, out);
	case N_CMP_OR:
	case N_OBS_OR:
		return compile_or(c, n, out);
	case N_CMP_AND:
		return compile_and(c, n, out);
	case N_OBS:
		return compile_node(c, n->kids[0], out);
	case N_OBS_AND:
		return unsupported(c, "AND between observations needs several "
		    "events together; mamori matches one event at a time");
	case N_OBS_FBY:
		return unsupported(c, "FOLLOWEDBY needs a sequence of events; "
		    "mamori matches one event at a time");
	case N_QUAL:
		return unsupported(c, "qualifier %s needs a window of events; "
		    "mamori matches one event at a time",
		    n->qual == Q_WITHIN ? "WITHIN" : n->qual == Q_REPEATS ?
		    "REPEATS" : "START/STOP");
	case N_EXISTS:
		return unsupported(c, "%sEXISTS %s is not matched",
		    n->negated ? "NOT " : "", path_str(n, path, sizeof(path)));
	}
	return MAMORI_ERR_INTERNAL;
}

/* Refuses alternatives that can never match (one file with two different
 * SHA-256 values, one connection to two different addresses) and notes
 * hashes mamori's own events do not carry. */
static int
check_conj(struct compiler *c, const struct dnf *d, int *other_hash)
{
	const struct mamori_stix_term *a, *b;
	size_t i, j, k;

	*other_hash = 0;
	for (i = 0; i < d->n; i++)
		for (j = 0; j < d->c[i].n; j++) {
			a = &c->terms[d->c[i].t[j]];
			if (a->kind == MAMORI_STIX_SHA1 ||
			    a->kind == MAMORI_STIX_MD5)
				*other_hash = 1;
			for (k = j + 1; k < d->c[i].n; k++) {
				b = &c->terms[d->c[i].t[k]];
				if (a->kind != b->kind)
					continue;
				if (a->kind <= MAMORI_STIX_MD5 ||
				    a->kind == MAMORI_STIX_URL ||
				    ((a->kind == MAMORI_STIX_IPV4 ||
				    a->kind == MAMORI_STIX_IPV6) &&
				    a->prefix == 128 && b->prefix == 128))
					return unsupported(c, "%s = '%.80s' AND "
					    "%s = '%.80s' can never both hold for "
					    "one event", kind_names[a->kind],
					    a->value, kind_names[b->kind],
					    b->value);
			}
		}
	return 0;
}

void
mamori_stix_compiled_free(struct mamori_stix_compiled *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nterms; i++)
		free(c->terms[i].value);
	free(c->terms);
	free(c->conj);
	free(c->note);
	free(c);
}

int
mamori_stix_pattern_compile(const struct mamori_stix_pattern *p,
    struct mamori_stix_compiled **out, char *reason, size_t reasonlen)
{
	static const char other_note[] = "mamori's events carry SHA-256 only: "
	    "a SHA-1 or MD5 comparison matches only where such a hash is "
	    "supplied (as with mamori intel check --sha1/--md5)";
	struct compiler c;
	struct dnf d = {NULL, 0};
	struct mamori_stix_compiled *res = NULL;
	char dummy[8];
	size_t i, j, nt = 0;
	int r = MAMORI_ERR_INTERNAL, other = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.reason = reasonlen > 0 ? reason : dummy;
	c.reasonlen = reasonlen > 0 ? reasonlen : sizeof(dummy);
	c.reason[0] = '\0';
	if (p == NULL || p->root < 0) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = compile_node(&c, p->root, &d)) != 0 ||
	    (r = check_conj(&c, &d, &other)) != 0)
		goto out;
	if ((res = calloc(1, sizeof(*res))) == NULL)
		goto fail_alloc;
	for (i = 0; i < d.n; i++)
		nt += d.c[i].n;
	if ((res->terms = calloc(nt, sizeof(*res->terms))) == NULL ||
	    (res->conj = calloc(d.n, sizeof(*res->conj))) == NULL)
		goto fail_alloc;
	for (i = 0; i < d.n; i++) {
		res->conj[i].first = res->nterms;
		res->conj[i].count = d.c[i].n;
		res->nconj++;
		for (j = 0; j < d.c[i].n; j++) {
			struct mamori_stix_term *t = &res->terms[res->nterms];

			*t = c.terms[d.c[i].t[j]];
			if ((t->value = mamori_memdup_str(t->value,
			    strlen(t->value))) == NULL)
				goto fail_alloc;
			res->nterms++;
		}
	}
	if (other && (res->note = mamori_memdup_str(other_note,
	    sizeof(other_note) - 1)) == NULL)
		goto fail_alloc;
	*out = res;
	res = NULL;
	r = 0;
	goto out;
fail_alloc:
	r = MAMORI_ERR_ALLOC;
out:
	mamori_stix_compiled_free(res);
	for (i = 0; i < c.nterms; i++)
		free(c.terms[i].value);
	free(c.terms);
	dnf_free(&d);
	return r;
}
