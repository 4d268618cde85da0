/*
 * cmd_inventory.c - `mamori inventory AGENT`: an agent's inventory, or its
 * history of changes, as the server relays them in JSON.
 *
 * Sections follow the category table of src/common/inventory.h, so a new
 * category shows up here without a change.  Every value shown was written
 * by the agent: it is rendered to text here and escaped by the table,
 * never printed directly, and a value of an unexpected type is shown as
 * text rather than trusted to have the type the schema promises.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "err.h"
#include "inventory.h"
#include "table.h"
#include "util.h"

#define INV_CELL_MAX 4096       /* bytes of one rendered value */
#define INV_HEADER_MAX 64       /* bytes of a column header */
#define INV_AGENT_ARG_MAX 256   /* bytes of an AGENT argument */
#define INV_ITEM_MAX 4096       /* bytes of a history ITEM cell */
#define INV_MAX_DIFFS 3         /* changed fields named per history row */
#define INV_HELP_WIDTH 72

void
cmd_inventory_help(FILE *out)
{
	const struct mamori_inv_category *cats;
	size_t n, i, col;

	cats = mamori_inv_categories(&n);
	fprintf(out, "\nCategories (for --category):\n ");
	col = 1;
	for (i = 0; i < n; i++) {
		size_t len = strlen(cats[i].name) + 2;

		if (col + len > INV_HELP_WIDTH) {
			fprintf(out, "\n ");
			col = 1;
		}
		fprintf(out, " %s%s", cats[i].name, i + 1 < n ? "," : "");
		col += len;
	}
	fputc('\n', out);
}

static int
is_size_field(const char *field)
{
	return strcmp(field, "size_bytes") == 0 ||
	    strcmp(field, "memory_bytes") == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
is_time_field(const char *field)
{
	return ends_with(field, "_time") || ends_with(field, "_at");
}

/* "size_bytes" -> "SIZE", "used_by" -> "USED BY". */
static const char *
field_header(const char *field, char *out, size_t outlen)
{
	size_t i, n = strlen(field);

	if (ends_with(field, "_bytes"))
		n -= strlen("_bytes");
	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++) {
		char c = field[i];

		out[i] = c == '_' ? ' ' : (c >= 'a' && c <= 'z') ?
		    (char)(c - 'a' + 'A') : c;
	}
	out[n] = '\0';
	return out;
}

static const char *value_text_depth(const char *field, const json_t *v,
    char *out, size_t outlen, int depth);

/* Renders v (a value of field) as text into out; never fails, cuts. */
static const char *
value_text(const char *field, const json_t *v, char *out, size_t outlen)
{
	return value_text_depth(field, v, out, outlen, 0);
}

/* Arrays are joined with ","; an array inside one is shown as JSON, so
 * hostile nesting costs no stack. */
static const char *
value_text_depth(const char *field, const json_t *v, char *out,
    size_t outlen, int depth)
{
	char tmp[32];

	out[0] = '\0';
	if (v == NULL)
		return out;
	if (json_is_array(v) && depth > 0)
		goto as_json;
	switch (json_typeof(v)) {
	case JSON_STRING:
		mamori_strlcpy(out, json_string_value(v), outlen);
		break;
	case JSON_TRUE:
		mamori_strlcpy(out, "yes", outlen);
		break;
	case JSON_FALSE:
		mamori_strlcpy(out, "no", outlen);
		break;
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		if (i >= 0 && is_size_field(field))
			mamori_strlcpy(out, mamori_size_str((uint64_t)i, tmp),
			    outlen);
		else if (i > 0 && is_time_field(field))
			mamori_strlcpy(out, mamori_time_str((uint64_t)i, tmp),
			    outlen);
		else
			snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, i);
		break;
	}
	case JSON_REAL:
		snprintf(out, outlen, "%g", json_real_value(v));
		break;
	case JSON_ARRAY: {
		char elem[INV_CELL_MAX];
		size_t i, used = 0, n;
		json_t *e;

		json_array_foreach(v, i, e) {
			value_text_depth(field, e, elem, sizeof(elem),
			    depth + 1);
			n = strlen(elem);
			if (used + n + 2 > outlen)
				break;
			if (i > 0)
				out[used++] = ',';
			memcpy(out + used, elem, n);
			used += n;
			out[used] = '\0';
		}
		break;
	}
	case JSON_OBJECT:
		goto as_json;
	default:
		break;
	}
	return out;
as_json: {
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (s != NULL)
		mamori_strlcpy(out, s, outlen);
	free(s);
	return out;
}
}

static int
print_singular(const json_t *obj, const struct mamori_inv_category *cat)
{
	struct cli_table t;
	char text[INV_CELL_MAX];
	const char *key, *cells[2];
	const json_t *v;
	size_t i;
	int shown, r = MAMORI_ERR_INTERNAL;

	memset(&t, 0, sizeof(t));
	if ((r = cli_table_init(&t, 2, NULL)) != 0)
		goto out;
	/* The category's columns first, in order, then anything else. */
	for (i = 0; cat->columns[i] != NULL; i++) {
		cells[0] = cat->columns[i];
		cells[1] = value_text(cat->columns[i],
		    json_object_get(obj, cat->columns[i]), text, sizeof(text));
		if ((r = cli_table_add(&t, cells)) != 0)
			goto out;
	}
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		shown = 0;
		for (i = 0; cat->columns[i] != NULL; i++)
			if (strcmp(cat->columns[i], key) == 0)
				shown = 1;
		if (shown)
			continue;
		cells[0] = key;
		cells[1] = value_text(key, v, text, sizeof(text));
		if ((r = cli_table_add(&t, cells)) != 0)
			goto out;
	}
	r = cli_table_print(&t, stdout, 2);
out:
	cli_table_free(&t);
	return r;
}

static int
print_list(const json_t *arr, const struct mamori_inv_category *cat)
{
	char headers[CLI_TABLE_MAX_COLUMNS][INV_HEADER_MAX];
	const char *hp[CLI_TABLE_MAX_COLUMNS], *cells[CLI_TABLE_MAX_COLUMNS];
	static char texts[CLI_TABLE_MAX_COLUMNS][INV_CELL_MAX];
	struct cli_table t;
	const json_t *item;
	size_t ncols = 0, i, c;
	int r = MAMORI_ERR_INTERNAL;

	memset(&t, 0, sizeof(t));
	while (cat->columns[ncols] != NULL && ncols < CLI_TABLE_MAX_COLUMNS) {
		hp[ncols] = field_header(cat->columns[ncols], headers[ncols],
		    INV_HEADER_MAX);
		ncols++;
	}
	if ((r = cli_table_init(&t, ncols, hp)) != 0)
		goto out;
	json_array_foreach(arr, i, item) {
		if (!json_is_object(item))
			continue; /* not an item: nothing to show */
		for (c = 0; c < ncols; c++)
			cells[c] = value_text(cat->columns[c],
			    json_object_get(item, cat->columns[c]), texts[c],
			    INV_CELL_MAX);
		if ((r = cli_table_add(&t, cells)) != 0)
			goto out;
	}
	r = cli_table_print(&t, stdout, 2);
out:
	cli_table_free(&t);
	return r;
}

static int
print_section(const json_t *inv, const struct mamori_inv_category *cat)
{
	const json_t *v = json_object_get(inv, cat->name);
	int r = MAMORI_ERR_INTERNAL;

	if (cat->singular) {
		printf("%s\n", cat->title);
		if (!json_is_object(v))
			printf("  (not reported)\n");
		else if ((r = print_singular(v, cat)) != 0)
			goto out;
	} else {
		if (!json_is_array(v)) {
			printf("%s\n  (not reported)\n", cat->title);
		} else {
			printf("%s (%zu)\n", cat->title, json_array_size(v));
			if (json_array_size(v) == 0)
				printf("  (none)\n");
			else if ((r = print_list(v, cat)) != 0)
				goto out;
		}
	}
	r = 0;
out:
	return r;
}

static int
print_inventory(const json_t *res, const struct mamori_inv_category *only)
{
	const struct mamori_inv_category *cats;
	const json_t *agent = json_object_get(res, "agent");
	const json_t *inv = json_object_get(res, "inventory");
	char safe[CLI_MSG_MAX], safe2[CLI_MSG_MAX], ts[32];
	size_t n, i;
	int r = MAMORI_ERR_INTERNAL;

	printf("Agent      %s (%s)\n", cli_safe(cli_json_str(agent, "id"), safe,
	    sizeof(safe)), cli_safe(cli_json_str(agent, "hostname"), safe2,
	    sizeof(safe2)));
	printf("Collected  %s\n", mamori_time_str(cli_json_u64(res,
	    "collected_at"), ts));
	cats = mamori_inv_categories(&n);
	for (i = 0; i < n; i++) {
		if (only != NULL && only != &cats[i])
			continue;
		printf("\n");
		if ((r = print_section(inv, &cats[i])) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

/* The category of a history entry, named or numbered. */
static const struct mamori_inv_category *
entry_category(const json_t *entry)
{
	const json_t *c = json_object_get(entry, "category");

	if (json_is_string(c))
		return mamori_inv_category_by_name(json_string_value(c));
	if (json_is_integer(c) && json_integer_value(c) > 0 &&
	    json_integer_value(c) < 1000)
		return mamori_inv_category_by_id((unsigned)json_integer_value(c));
	return NULL;
}

static int
append_str(struct mamori_buf *b, const char *s)
{
	return mamori_buf_append(b, s, strlen(s));
}

/*
 * ITEM of a history row: "openssl 3.0.1 -> 3.0.2 (amd64)": the first key
 * field, the version (or its change) when the item has one, the other key
 * fields in parentheses, and for a change that left the version alone the
 * fields that changed.  Cut at INV_ITEM_MAX.
 */
static void
history_item(const json_t *entry, const struct mamori_inv_category *cat,
    char *out, size_t outlen)
{
	static const char *const name_only[] = {"name", NULL};
	const json_t *before = json_object_get(entry, "before");
	const json_t *after = json_object_get(entry, "after");
	const json_t *item = json_is_object(after) ? after : before;
	const char *const *keys = cat != NULL && cat->key_fields != NULL ?
	    cat->key_fields : name_only;
	char a[INV_CELL_MAX], bt[INV_CELL_MAX];
	struct mamori_buf b;
	const char *field;
	const json_t *v;
	size_t i, extra = 0, diffs = 0;

	out[0] = '\0';
	mamori_buf_init(&b, INV_ITEM_MAX);
	if (!json_is_object(item))
		goto out;
	append_str(&b, value_text(keys[0], json_object_get(item, keys[0]), a,
	    sizeof(a)));
	if (json_is_string(json_object_get(item, "version"))) {
		const char *va = cli_json_str(after, "version");
		const char *vb = cli_json_str(before, "version");

		append_str(&b, " ");
		if (json_is_object(before) && json_is_object(after) &&
		    strcmp(va, vb) != 0) {
			append_str(&b, vb);
			append_str(&b, " -> ");
			append_str(&b, va);
			diffs = INV_MAX_DIFFS; /* the version says it */
		} else {
			append_str(&b, cli_json_str(item, "version"));
		}
	}
	for (i = 1; keys[i] != NULL; i++) {
		value_text(keys[i], json_object_get(item, keys[i]), a, sizeof(a));
		if (*a == '\0')
			continue;
		append_str(&b, extra++ == 0 ? " (" : ", ");
		append_str(&b, a);
	}
	if (extra > 0)
		append_str(&b, ")");
	if (!json_is_object(before) || !json_is_object(after))
		goto out;
	json_object_foreach((json_t *)(uintptr_t)after, field, v) {
		if (diffs >= INV_MAX_DIFFS)
			break;
		value_text(field, v, a, sizeof(a));
		value_text(field, json_object_get(before, field), bt,
		    sizeof(bt));
		if (strcmp(a, bt) == 0)
			continue;
		append_str(&b, diffs++ == 0 ? ": " : ", ");
		append_str(&b, field);
		append_str(&b, " ");
		append_str(&b, bt);
		append_str(&b, " -> ");
		append_str(&b, a);
	}
out:
	if (b.data != NULL)
		mamori_strlcpy(out, (const char *)b.data, outlen);
	mamori_buf_free(&b);
}

static int
print_history(const json_t *res, const struct mamori_inv_category *only)
{
	static const char *const headers[] = {"TIME", "CATEGORY", "CHANGE",
	    "ITEM"};
	static char item[INV_ITEM_MAX];
	const struct mamori_inv_category *cat;
	struct cli_table t;
	const json_t *e, *c;
	char ts[32], catbuf[32];
	const char *cells[4];
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	memset(&t, 0, sizeof(t));
	if ((r = cli_table_init(&t, 4, headers)) != 0)
		goto out;
	json_array_foreach(res, i, e) {
		if (!json_is_object(e))
			continue;
		cat = entry_category(e);
		if (only != NULL && cat != only)
			continue;
		c = json_object_get(e, "category");
		if (cat != NULL)
			cells[1] = cat->name;
		else
			cells[1] = value_text("category", c, catbuf,
			    sizeof(catbuf));
		cells[0] = mamori_time_str(cli_json_u64(e, "time"), ts);
		cells[2] = cli_json_str(e, "kind");
		history_item(e, cat, item, sizeof(item));
		cells[3] = item;
		if ((r = cli_table_add(&t, cells)) != 0)
			goto out;
	}
	r = cli_table_print(&t, stdout, 0);
out:
	cli_table_free(&t);
	return r;
}

int
cmd_inventory(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *agent = NULL, *category = NULL;
	int json = 0, history = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{"--history", NULL, NULL, &history},
		{"--category", "NAME", &category, NULL},
		{NULL, NULL, NULL, NULL},
	};
	const struct mamori_inv_category *only = NULL;
	json_t *req = NULL, *res = NULL, *out_json = NULL;
	char safe[CLI_MSG_MAX];
	int r = CLI_EXIT_FAIL;

	if ((r = cli_parse(ctx, argc, argv, opts, "AGENT", &agent)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (*agent == '\0' || strlen(agent) > INV_AGENT_ARG_MAX) {
		r = cli_usage_error(ctx, "AGENT must be 1 to %d bytes",
		    INV_AGENT_ARG_MAX);
		goto out;
	}
	if (category != NULL &&
	    (only = mamori_inv_category_by_name(category)) == NULL) {
		r = cli_usage_error(ctx, "unknown category %s",
		    cli_safe(category, safe, sizeof(safe)));
		goto out;
	}
	if ((req = json_pack("{s:s, s:s}", "cmd", history ? "history" :
	    "inventory", "agent", agent)) == NULL) {
		r = cli_usage_error(ctx, "AGENT must be UTF-8 text");
		goto out;
	}
	if (cli_admin_call(ctx, req, &res) != 0)
		goto out;
	if (history && !json_is_array(res)) {
		cli_fail("mamorid answered history without a list");
		goto out;
	}
	if (!history && !json_is_object(res)) {
		cli_fail("mamorid answered inventory without an object");
		goto out;
	}
	if (json) {
		if (only == NULL) {
			r = cli_print_json(res);
		} else if (history) {
			size_t i;
			json_t *e;

			if ((out_json = json_array()) == NULL)
				goto nomem;
			json_array_foreach(res, i, e)
				if (entry_category(e) == only &&
				    json_array_append(out_json, e) != 0)
					goto nomem;
			r = cli_print_json(out_json);
		} else {
			json_t *v = json_object_get(json_object_get(res,
			    "inventory"), only->name);

			r = cli_print_json(v != NULL ? v : json_null());
		}
		goto out;
	}
	if ((history ? print_history(res, only) : print_inventory(res,
	    only)) != 0) {
		cli_fail("cannot print the %s", history ? "history" :
		    "inventory");
		goto out;
	}
	if (fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	json_decref(req);
	json_decref(res);
	json_decref(out_json);
	return r;
}
