/*
 * sigma_internal.h - what the Sigma engine's files share: the parsed YAML
 * tree, the compiled form of rules (flat arrays owned by the ruleset, so a
 * rule that fails half way is removed by truncating them), and the
 * condition parser's entry point.  Nothing here is for other modules.
 */
#ifndef MAMORI_SIGMA_INTERNAL_H
#define MAMORI_SIGMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include "sigma.h"

/* A YAML node of a parsed rule file. */
enum sigma_ynode_type { SIGMA_Y_SCALAR, SIGMA_Y_MAP, SIGMA_Y_SEQ };

struct sigma_ynode {
	enum sigma_ynode_type type;
	char *text;   /* scalar, NUL-terminated */
	size_t len;
	int plain;    /* scalar written without quotes */
	struct sigma_ynode **kids; /* map: key, value, key, value, ... */
	size_t nkids;
	size_t cap;
};

/* Parses one YAML document of at most MAMORI_SIGMA_FILE_MAX bytes;
 * aliases, several documents and the limits fail with reason set. */
int sigma_yaml_parse(const char *text, size_t len, struct sigma_ynode **out,
    char *reason, size_t reasonlen);
void sigma_yaml_free(struct sigma_ynode *n);
/* The value of key in map n, or NULL. */
const struct sigma_ynode *sigma_yaml_get(const struct sigma_ynode *n,
    const char *key);

enum sigma_pat_kind {
	SIGMA_PAT_HS,     /* string expression in the slot's database */
	SIGMA_PAT_PCRE,   /* string expression that can match empty text */
	SIGMA_PAT_RE,     /* |re */
	SIGMA_PAT_CIDR,
	SIGMA_PAT_NUM,
	SIGMA_PAT_EXISTS,
	SIGMA_PAT_NULL,
};

enum sigma_num_op { SIGMA_LT, SIGMA_LTE, SIGMA_GT, SIGMA_GTE };

struct sigma_pattern {
	enum sigma_pat_kind kind;
	uint32_t slot;
	uint32_t rule;
	char *expr;          /* HS/PCRE expression */
	unsigned hs_flags;
	pcre2_code *re;      /* PCRE, RE */
	int family;          /* CIDR: 4 or 6 */
	unsigned prefix;
	uint8_t addr[16];
	enum sigma_num_op op;
	double num;
	int exists;          /* EXISTS: wanted presence */
};

/* A value of a field item: true when any of its patterns match (a value
 * becomes several patterns under windash and base64offset). */
struct sigma_value {
	uint32_t first, n;   /* into patterns */
};

/* A field with its values: OR over them, AND with |all. */
struct sigma_item {
	uint32_t first, n;   /* into values */
	int all;
};

/* A map of a search: AND over its items. */
struct sigma_map {
	uint32_t first, n;   /* into items */
};

/* A search identifier: OR over its maps. */
struct sigma_search {
	char *name;
	uint32_t first, n;   /* into maps */
};

enum sigma_cop { SIGMA_C_SEARCH, SIGMA_C_AND, SIGMA_C_OR, SIGMA_C_NOT };

/* A condition node: SEARCH names searches[first]; others have n children
 * at ckids[first..]. */
struct sigma_cnode {
	enum sigma_cop op;
	uint32_t first, n;
};

struct sigma_rule {
	struct mamori_sigma_rule_info info;
	char *owned[12];       /* the info strings we allocated */
	char **tags;
	char **fps;
	char reason[MAMORI_SIGMA_REASON_MAX];
	uint32_t category;
	uint32_t root;         /* cnode */
	uint32_t search_first, search_n;
	int always;            /* condition may hold with no pattern hit */
};

struct sigma_array {
	void *data;
	size_t n, cap, elem;
};

struct mamori_sigma_ruleset {
	struct mamori_sigma_schema schema;
	struct sigma_array rules, patterns, values, items, maps, searches,
	    cnodes, ckids;
	int compiled;
	size_t nloaded;
	size_t nslots;
	uint32_t cats[MAMORI_SIGMA_CATEGORIES_MAX]; /* named by rules */
	size_t ncats;
	/* (ncats + 1) sets of nslots databases: set 0 for events of a
	 * category no rule names, set k + 1 for cats[k]; NULL when a slot
	 * has no pattern. */
	hs_database_t **dbs;
	uint32_t *always;      /* rules evaluated on every event */
	size_t nalways;
};

void sigma_rule_free(struct sigma_rule *rule);
int sigma_array_push(struct sigma_array *a, const void *elem, uint32_t *idx);
#define SIGMA_AT(arr, type, i) (&((type *)(arr).data)[i])

/* Parses condition text of the rule whose searches are
 * searches[rule->search_first..]; appends nodes and sets *root. */
int sigma_cond_parse(struct mamori_sigma_ruleset *rs,
    const struct sigma_rule *rule, const char *text, uint32_t *root,
    char *reason, size_t reasonlen);

/* Glob match of an identifier against a pattern with '*' and '?'. */
int sigma_glob(const char *pat, const char *s);

#endif
