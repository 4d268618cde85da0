/*
 * sigma_yaml.c - reads one Sigma rule file into a small tree of scalars,
 * maps and sequences with libyaml's event parser.
 *
 * The tree is built here rather than with libyaml's document loader so
 * that every bound is ours: file size, nesting depth and node count are
 * checked as events arrive, aliases are refused (Sigma rules have no use
 * for them, and they are how a small file expands into a huge tree), and
 * a file with several documents (a rule collection) is refused.  This
 * file must never build a tree past those limits, whatever the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "err.h"
#include "sigma_internal.h"
#include "util.h"

#define YAML_KIDS_START 4

void
sigma_yaml_free(struct sigma_ynode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		sigma_yaml_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

const struct sigma_ynode *
sigma_yaml_get(const struct sigma_ynode *n, const char *key)
{
	size_t i;

	if (n == NULL || n->type != SIGMA_Y_MAP)
		return NULL;
	for (i = 0; i + 1 < n->nkids; i += 2)
		if (n->kids[i]->type == SIGMA_Y_SCALAR &&
		    strcmp(n->kids[i]->text, key) == 0)
			return n->kids[i + 1];
	return NULL;
}

static int
add_kid(struct sigma_ynode *parent, struct sigma_ynode *kid)
{
	struct sigma_ynode **k;
	size_t cap;

	if (parent->nkids == parent->cap) {
		cap = parent->cap == 0 ? YAML_KIDS_START : parent->cap * 2;
		if ((k = realloc(parent->kids, cap * sizeof(*k))) == NULL)
			return MAMORI_ERR_ALLOC;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

int
sigma_yaml_parse(const char *text, size_t len, struct sigma_ynode **out,
    char *reason, size_t reasonlen)
{
	struct sigma_ynode *stack[MAMORI_SIGMA_YAML_DEPTH_MAX + 1];
	struct sigma_ynode *root = NULL, *node = NULL;
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t depth = 0, nodes = 0;
	int r = MAMORI_ERR_INTERNAL, have_event = 0, docs = 0, done = 0;

	*out = NULL;
	reason[0] = '\0';
	if (len > MAMORI_SIGMA_FILE_MAX) {
		snprintf(reason, reasonlen, "file larger than %d bytes",
		    MAMORI_SIGMA_FILE_MAX);
		return MAMORI_ERR_TOO_LARGE;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(reason, reasonlen, "file holds a NUL byte");
		return MAMORI_ERR_BAD_STRING;
	}
	if (!yaml_parser_initialize(&parser))
		return MAMORI_ERR_ALLOC;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(reason, reasonlen, "YAML error at line %zu: %s",
			    parser.problem_mark.line + 1,
			    parser.problem != NULL ? parser.problem : "?");
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		have_event = 1;
		node = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				snprintf(reason, reasonlen, "several YAML "
				    "documents (rule collections) are not "
				    "supported");
				r = MAMORI_ERR_INVALID;
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			snprintf(reason, reasonlen, "YAML aliases are not "
			    "supported (line %zu)", ev.start_mark.line + 1);
			r = MAMORI_ERR_INVALID;
			goto out;
		case YAML_SCALAR_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (++nodes > MAMORI_SIGMA_YAML_NODES_MAX) {
				snprintf(reason, reasonlen, "more than %d YAML "
				    "nodes", MAMORI_SIGMA_YAML_NODES_MAX);
				r = MAMORI_ERR_TOO_LARGE;
				goto out;
			}
			if ((node = calloc(1, sizeof(*node))) == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			if (ev.type == YAML_SCALAR_EVENT) {
				node->type = SIGMA_Y_SCALAR;
				node->len = ev.data.scalar.length;
				node->plain = ev.data.scalar.style ==
				    YAML_PLAIN_SCALAR_STYLE;
				node->text = mamori_memdup_str(
				    ev.data.scalar.value, node->len);
				if (node->text == NULL) {
					free(node);
					node = NULL;
					r = MAMORI_ERR_ALLOC;
					goto out;
				}
			} else
				node->type = ev.type == YAML_MAPPING_START_EVENT ?
				    SIGMA_Y_MAP : SIGMA_Y_SEQ;
			if (depth == 0) {
				if (root != NULL) {
					sigma_yaml_free(node);
					node = NULL;
					r = MAMORI_ERR_INTERNAL;
					goto out;
				}
				root = node;
			} else if ((r = add_kid(stack[depth - 1], node)) != 0) {
				sigma_yaml_free(node);
				node = NULL;
				goto out;
			}
			if (ev.type != YAML_SCALAR_EVENT) {
				if (depth >= MAMORI_SIGMA_YAML_DEPTH_MAX) {
					snprintf(reason, reasonlen, "YAML nested "
					    "deeper than %d",
					    MAMORI_SIGMA_YAML_DEPTH_MAX);
					r = MAMORI_ERR_TOO_LARGE;
					goto out;
				}
				stack[depth++] = node;
			}
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth == 0) {
				r = MAMORI_ERR_INTERNAL;
				goto out;
			}
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_event = 0;
	}
	if (root == NULL) {
		snprintf(reason, reasonlen, "empty file");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	*out = root;
	root = NULL;
	r = 0;
out:
	if (have_event)
		yaml_event_delete(&ev);
	yaml_parser_delete(&parser);
	sigma_yaml_free(root);
	return r;
}
