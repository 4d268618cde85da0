/*
 * collect.c - the table of inventory collectors and the run over all of
 * them (see collect.h).
 *
 * A collector that fails is logged and its category emptied, so a snapshot
 * never carries half a category that would look like removals; the others
 * still run.  Only running out of memory fails the whole collection.  This
 * file must never run a program, and never let one collector's failure
 * stop the rest.
 */
#include "collect.h"

#include <stdlib.h>

#include "collectors.h"
#include "err.h"
#include "inventory.h"
#include "log.h"
#include "parse.h"
#include "util.h"

static const struct mamori_collector collectors[] = {
	{"os", MAMORI_INV_OS, mamori_collector_os},
	{"hardware", MAMORI_INV_HARDWARE, mamori_collector_hardware},
	{"disks", MAMORI_INV_DISKS, mamori_collector_disks},
	{"interfaces", MAMORI_INV_INTERFACES, mamori_collector_net},
	{"packages", MAMORI_INV_PACKAGES, mamori_collector_packages},
	{"users", MAMORI_INV_USERS, mamori_collector_users},
	{"groups", MAMORI_INV_GROUPS, mamori_collector_groups},
	{"listening_sockets", MAMORI_INV_LISTENING_SOCKETS,
	    mamori_collector_sockets},
	{"kernel_modules", MAMORI_INV_KERNEL_MODULES,
	    mamori_collector_modules},
	{"usb_devices", MAMORI_INV_USB_DEVICES, mamori_collector_usb},
	{"block_devices", MAMORI_INV_BLOCK_DEVICES, mamori_collector_block},
};

const struct mamori_collector *
mamori_collectors(size_t *n)
{
	*n = sizeof(collectors) / sizeof(collectors[0]);
	return collectors;
}

/* Frees everything in category cat of inv and leaves it empty. */
static void
category_clear(Mamori__Inventory *inv, unsigned category)
{
	const struct mamori_inv_category *cat;
	ProtobufCMessage **items;
	size_t i, n;

	if ((cat = mamori_inv_category_by_id(category)) == NULL)
		return;
	n = mamori_inv_items(inv, cat, &items);
	for (i = 0; i < n; i++)
		mamori_msg_free(items[i]);
	if (!cat->singular)
		free(items);
	mamori_inv_set_items(inv, cat, NULL, 0);
}

int
mamori_inventory_collect(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory **out)
{
	Mamori__Inventory *inv = NULL;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < sizeof(collectors) / sizeof(collectors[0]); i++) {
		r = collectors[i].collect(ctx, inv);
		if (r == 0)
			continue;
		category_clear(inv, collectors[i].category);
		if (r == MAMORI_ERR_ALLOC)
			goto out;
		log_warn("collector %s failed: %s", collectors[i].name,
		    mamori_strerror(r));
	}
	inv->collected_at = mamori_now();
	*out = inv;
	inv = NULL;
	r = 0;
out:
	mamori_inventory_free(inv);
	return r;
}

void
mamori_inventory_free(Mamori__Inventory *inv)
{
	mamori_msg_free(inv);
}
