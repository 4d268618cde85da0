/*
 * collect.h - inventory collectors of the agent.
 *
 * Each collector is a plugin: a descriptor naming the inventory category it
 * fills (inventory.h) and a function that reads the host and appends to a
 * mamori.Inventory.  Every path a collector reads is taken relative to
 * ctx->root ("" on a live host), so tests run collectors over recorded
 * fixture trees (tests/unit/fixtures/...).  Collectors never run programs
 * and never write anything; they read files with capped sizes
 * (mamori_buf_read_file) and treat every byte as untrusted.
 *
 * Memory: everything a collector puts into the Inventory is allocated with
 * malloc (strings with strdup), so mamori_inventory_free() can release it
 * with protobuf-c's default allocator.  A string field is either malloc'ed
 * or left at protobuf_c_empty_string as __init() set it - never a literal.
 */
#ifndef MAMORI_COLLECT_H
#define MAMORI_COLLECT_H

#include <stddef.h>

#include "mamori.pb-c.h"

struct mamori_collect_ctx {
	const char *root;   /* prefix for every path: "" or a fixture tree */
	int live;           /* 1: may also ask the kernel (uname, getifaddrs) */
};

struct mamori_collector {
	const char *name;
	unsigned category;  /* MAMORI_INV_* */
	/* Appends what it finds to inv.  A collector that cannot read its
	 * source returns an error; the others still run. */
	int (*collect)(const struct mamori_collect_ctx *ctx,
	    Mamori__Inventory *inv);
};

/* All collectors; *n gets the count. */
const struct mamori_collector *mamori_collectors(size_t *n);

/* Runs every collector into a new Inventory (*out, freed with
 * mamori_inventory_free).  Fails only when no memory is left; a collector's
 * own failure is logged and its category left empty. */
int mamori_inventory_collect(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory **out);

void mamori_inventory_free(Mamori__Inventory *inv);

#endif
