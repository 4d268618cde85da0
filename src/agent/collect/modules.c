/*
 * modules.c - the kernel-modules collector: /proc/modules.
 *
 * Each line is "name size refcount used_by state address [taints]", where
 * used_by is "-" or a comma-terminated list of module names.  A kernel
 * built without module support has no /proc/modules: that is an empty
 * list, not an error.  This file must never run lsmod or modinfo, and
 * never load or unload anything.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_PROC_MODULES_MAX (4 * 1024 * 1024)  /* bytes of the file */
#define MODULE_TOKENS 5                            /* up to state */

static int
module_line(const char *line, size_t len, Mamori__Inventory *inv)
{
	struct mamori_token tok[MODULE_TOKENS];
	Mamori__KernelModule *mod = NULL;
	struct mamori_token used;
	uint64_t size;
	int r = MAMORI_ERR_INTERNAL;

	r = 0;              /* a line we cannot read is skipped */
	if (mamori_split_ws(line, len, tok, MODULE_TOKENS) < MODULE_TOKENS ||
	    mamori_parse_dec(tok[1].p, tok[1].len, UINT64_MAX, &size) != 0)
		goto out;
	used = tok[3];
	if (mamori_tok_eq(used.p, used.len, "-"))
		used.len = 0;
	else if (used.len > 0 && used.p[used.len - 1] == ',')
		used.len--;
	if ((mod = mamori_msg_new(&mamori__kernel_module__descriptor)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	mod->size = size;
	if ((r = mamori_set_str(&mod->name, tok[0].p, tok[0].len)) != 0 ||
	    (r = mamori_set_str(&mod->used_by, used.p, used.len)) != 0 ||
	    (r = mamori_set_str(&mod->state, tok[4].p, tok[4].len)) != 0) {
		if (r != MAMORI_ERR_ALLOC)
			r = 0;
		goto out;
	}
	if ((r = mamori_array_append(&inv->kernel_modules,
	    &inv->n_kernel_modules, MAMORI_MAX_MODULES, mod)) != 0)
		goto out;
	mod = NULL;
	r = 0;
out:
	mamori_msg_free(mod);
	return r;
}

int
mamori_parse_proc_modules(const char *data, size_t len,
    Mamori__Inventory *inv)
{
	struct mamori_cursor c;
	const char *line;
	size_t line_len;
	int r = MAMORI_ERR_INTERNAL;

	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len))
		if ((r = module_line(line, line_len, inv)) != 0)
			goto out;
	r = 0;
out:
	return r;
}

int
mamori_collector_modules(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_buf b;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_PROC_MODULES_MAX);
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/modules")) != 0)
		goto out;
	r = mamori_collect_read(path, MAMORI_PROC_MODULES_MAX, &b);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;      /* no loadable-module support */
		goto out;
	}
	if (r != 0)
		goto out;
	r = mamori_parse_proc_modules((const char *)b.data, b.len, inv);
out:
	mamori_buf_free(&b);
	return r;
}
