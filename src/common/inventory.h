/*
 * inventory.h - what the agent reports about its machine, as categories.
 *
 * Each category is one field of mamori.Inventory (proto/mamori.proto):
 * a repeated list of items (packages, users, ...) or a single message (os,
 * hardware).  This table says how items are keyed and shown; diffs,
 * deltas, storage and display are all driven by it through protobuf-c's
 * reflection, so adding a category is one table row and one collector.
 */
#ifndef MAMORI_INVENTORY_H
#define MAMORI_INVENTORY_H

#include <stddef.h>

#include "buf.h"
#include "mamori.pb-c.h"

#define MAMORI_INV_MAX_KEY 8192 /* bytes of one key field; collectors cap
                                  * strings at 4 KiB, so only a hostile
                                  * agent meets it */

/* Category codes: the field numbers in mamori.Inventory. */
enum mamori_inv_code {
	MAMORI_INV_OS = 3,
	MAMORI_INV_HARDWARE = 4,
	MAMORI_INV_DISKS = 5,
	MAMORI_INV_INTERFACES = 6,
	MAMORI_INV_PACKAGES = 7,
	MAMORI_INV_USERS = 8,
	MAMORI_INV_GROUPS = 9,
	MAMORI_INV_LISTENING_SOCKETS = 10,
	MAMORI_INV_KERNEL_MODULES = 11,
	MAMORI_INV_USB_DEVICES = 12,
	MAMORI_INV_BLOCK_DEVICES = 13,
};

/* Above every category code: arrays indexed by code use this size. */
#define MAMORI_INV_CODE_LIMIT 32

enum mamori_inv_change_kind {
	MAMORI_INV_ADDED = 1,
	MAMORI_INV_REMOVED = 2,
	MAMORI_INV_CHANGED = 3,
};

struct mamori_inv_category {
	unsigned field_id;              /* field number in mamori.Inventory */
	const char *name;               /* "packages": CLI and JSON name */
	const char *title;              /* "Packages": heading for people */
	const char *const *key_fields;  /* identify an item; NULL: singular */
	const char *const *columns;     /* shown in tables, in order */
	int singular;                   /* os, hardware: one message */
};

/* The categories, in display order; *n gets their count. */
const struct mamori_inv_category *mamori_inv_categories(size_t *n);
const struct mamori_inv_category *mamori_inv_category_by_id(unsigned id);
const struct mamori_inv_category *mamori_inv_category_by_name(
    const char *name);

/* Name of a change kind ("added"). */
const char *mamori_inv_change_name(int kind);

/*
 * Items of category cat in inv: sets *items to the (borrowed) item array and
 * returns the count.  For a singular category, the one message or none.
 */
size_t mamori_inv_items(const Mamori__Inventory *inv,
    const struct mamori_inv_category *cat, ProtobufCMessage ***items);

/*
 * Points category cat of dst at items (borrowed, count n): dst's other
 * fields are untouched.  Used to build inventories that share items with
 * others; such an inventory must never be freed with protobuf-c's
 * free_unpacked, only its own arrays by whoever allocated them.
 */
void mamori_inv_set_items(Mamori__Inventory *dst,
    const struct mamori_inv_category *cat, ProtobufCMessage **items,
    size_t n);

/* Appends the item's key (its key fields' values, each followed by NUL)
 * to key. */
int mamori_inv_item_key(const ProtobufCMessage *item,
    const struct mamori_inv_category *cat, struct mamori_buf *key);

/* Formats one field of item as text for a table cell (repeated fields
 * joined with ","). */
int mamori_inv_field_text(const ProtobufCMessage *item, const char *field,
    char *out, size_t outlen);

typedef int (*mamori_inv_change_fn)(void *ctx,
    const struct mamori_inv_category *cat, int kind,
    const ProtobufCMessage *before, const ProtobufCMessage *after);

/*
 * Compares category cat between before and after (either may be NULL, as
 * an empty inventory) and calls fn once per item added, removed or changed,
 * in key order.  Items are "changed" when their key matches and their
 * serialized form differs.  Duplicate keys within one side are compared as
 * the last one.  Stops and returns fn's result when fn returns non-zero.
 */
int mamori_inv_diff(const Mamori__Inventory *before,
    const Mamori__Inventory *after, const struct mamori_inv_category *cat,
    mamori_inv_change_fn fn, void *ctx);

/*
 * Applies a delta to category cat of cur: items in remove are taken out by
 * key, items in upsert added or replaced.  The result is written into out
 * (category cat only) as borrowed pointers into cur and upsert, in a new
 * array *array_out the caller frees with free().
 */
int mamori_inv_apply(const Mamori__Inventory *cur,
    const Mamori__Inventory *upsert, const Mamori__Inventory *remove,
    const struct mamori_inv_category *cat, Mamori__Inventory *out,
    ProtobufCMessage ***array_out);

#endif
