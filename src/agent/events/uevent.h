/*
 * uevent.h - the parser of one kernel uevent, as the kernel sends it on a
 * NETLINK_KOBJECT_UEVENT socket (multicast group 1):
 *
 *   "ACTION@DEVPATH" NUL  then  "KEY=VALUE" NUL  repeated
 *
 * Only the fields the USB source needs are kept; other keys are checked
 * for shape and skipped.  Pure: no I/O and no state, so the fuzz target
 * calls it directly.  The bytes may come from a recording on disk, so they
 * are treated as hostile: a message that is cut short, lacks a field the
 * kernel always sends, holds a kept value with control bytes or one too long
 * for its field, repeats a kept key, or names a DEVPATH with "." or ".."
 * components is refused whole, never truncated or guessed at.
 */
#ifndef MAMORI_UEVENT_H
#define MAMORI_UEVENT_H

#include <stddef.h>
#include <stdint.h>

#define MAMORI_UEVENT_MAX 8192          /* one message (the kernel's own
                                         * buffer is 2048 bytes) */
#define MAMORI_UEVENT_MAX_VARS 128      /* KEY=VALUE strings in one */
#define MAMORI_UEVENT_DEVPATH_MAX 1024  /* with its NUL */
#define MAMORI_UEVENT_FIELD_MAX 64      /* any other kept value, with NUL */

struct mamori_uevent {
	char action[MAMORI_UEVENT_FIELD_MAX];   /* add, remove, bind, ... */
	char devpath[MAMORI_UEVENT_DEVPATH_MAX]; /* /devices/..., under /sys */
	char subsystem[MAMORI_UEVENT_FIELD_MAX];
	char devtype[MAMORI_UEVENT_FIELD_MAX];  /* "" when absent */
	char product[MAMORI_UEVENT_FIELD_MAX];  /* PRODUCT=v/p/bcd, "" absent */
	char type[MAMORI_UEVENT_FIELD_MAX];     /* TYPE=c/s/p, "" absent */
	char busnum[MAMORI_UEVENT_FIELD_MAX];
	char devnum[MAMORI_UEVENT_FIELD_MAX];
	uint64_t seqnum;                        /* 0 when absent */
};

/*
 * Parses the len bytes at data (one whole message, not NUL-terminated by
 * the caller) into *out, which is cleared first.  Returns 0, TOO_LARGE,
 * TRUNCATED or BAD_MESSAGE; on failure *out holds nothing useful.
 */
int mamori_uevent_parse(const void *data, size_t len,
    struct mamori_uevent *out);

/*
 * From a PRODUCT value ("46d/c31c/110": hex without leading zeroes), the
 * vendor and product ids as 4 lowercase hex digits each ("046d", "c31c").
 * BAD_MESSAGE when it is not three '/'-separated hex numbers, the first two
 * at most ffff.
 */
int mamori_uevent_product(const char *product, char vendor_id[5],
    char product_id[5]);

/* From a TYPE value ("9/0/1": decimal class/subclass/protocol), the
 * device class as 2 lowercase hex digits ("09"). */
int mamori_uevent_class(const char *type, char device_class[3]);

#endif
