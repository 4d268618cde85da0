/*
 * fuzz_inventory_value.c - libFuzzer target for an inventory as the server
 * reads it (from an agent's frame, or sealed in the store): strict decoding
 * of a mamori.Inventory under MAMORI_DECODE_BUDGET, then the generic diff
 * and apply of src/common/inventory.c over every category.
 *
 * For each category: diff against an empty inventory must report only
 * additions, one per distinct key; diff against itself must report
 * nothing; apply with itself as the removals must leave nothing, and apply
 * of itself onto nothing must give as many items as the diff added.  Any
 * violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "inventory.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
	size_t added;
	size_t other;
};

static int
count_change(void *ctx, const struct mamori_inv_category *cat, int kind,
    const ProtobufCMessage *before, const ProtobufCMessage *after)
{
	struct count *c = ctx;

	(void)cat;
	if (kind == MAMORI_INV_ADDED && before == NULL && after != NULL)
		c->added++;
	else
		c->other++;
	return 0;
}

static int
self_change(void *ctx, const struct mamori_inv_category *cat, int kind,
    const ProtobufCMessage *before, const ProtobufCMessage *after)
{
	(void)ctx;
	(void)cat;
	(void)kind;
	(void)before;
	(void)after;
	abort(); /* an inventory never differs from itself */
}

static void
check_category(const Mamori__Inventory *inv,
    const struct mamori_inv_category *cat)
{
	Mamori__Inventory empty = MAMORI__INVENTORY__INIT;
	Mamori__Inventory out = MAMORI__INVENTORY__INIT;
	ProtobufCMessage **arr = NULL, **items;
	struct count c = {0, 0};
	size_t n = mamori_inv_items(inv, cat, &items);
	int r;

	r = mamori_inv_diff(&empty, inv, cat, count_change, &c);
	if (r != 0) {
		/* Only a key too long to hold may stop a diff. */
		if (r != MAMORI_ERR_TOO_LARGE)
			abort();
		return;
	}
	if (c.other != 0 || c.added > n || (n > 0 && c.added == 0))
		abort();
	if (mamori_inv_diff(inv, inv, cat, self_change, NULL) != 0)
		abort();

	if (mamori_inv_apply(inv, NULL, inv, cat, &out, &arr) != 0)
		abort();
	if (mamori_inv_items(&out, cat, &items) != 0)
		abort();
	free(arr);

	if (mamori_inv_apply(NULL, inv, NULL, cat, &out, &arr) != 0)
		abort();
	if (mamori_inv_items(&out, cat, &items) != c.added)
		abort();
	free(arr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mamori_inv_category *cats;
	ProtobufCMessage *m = NULL;
	size_t n, i;

	if (mamori_pb_decode(&mamori__inventory__descriptor, data, size,
	    MAMORI_DECODE_BUDGET, &m) != 0) {
		if (m != NULL)
			abort();
		return 0;
	}
	cats = mamori_inv_categories(&n);
	for (i = 0; i < n; i++)
		check_category((const Mamori__Inventory *)m, &cats[i]);
	mamori_pb_free(m);
	return 0;
}
