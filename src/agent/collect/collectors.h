/*
 * collectors.h - the collector functions behind the table in collect.c.
 *
 * Each one follows struct mamori_collector's contract (collect.h): it reads
 * only under ctx->root, asks the kernel directly only when ctx->live is set,
 * appends malloc'ed items to inv and returns 0 or a MAMORI_ERR_* code.  None
 * may run a program or write anything.
 */
#ifndef MAMORI_COLLECTORS_H
#define MAMORI_COLLECTORS_H

#include "collect.h"

int mamori_collector_os(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_hardware(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_disks(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_packages(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_users(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_groups(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_sockets(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_modules(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_usb(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_block(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);
int mamori_collector_net(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv);

#endif
