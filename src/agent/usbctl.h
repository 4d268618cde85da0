/*
 * usbctl.h - USB device control on the agent: a persisted list of block and
 * allow rules, enforced through the kernel's USB authorization
 * (SYSFS/bus/usb/devices/<dev>/authorized: "0" unbinds the device's
 * interfaces, "1" lets them bind again).
 *
 * The rule (what "blocked" means):
 *   - every device is allowed by default;
 *   - a rule names vendor:product and, optionally, one serial; a rule with a
 *     serial is more specific than one without;
 *   - a device is blocked when a block rule matches it and no allow rule
 *     matches it that is at least as specific as the most specific matching
 *     block rule.  So "block 0781:5567" + "allow 0781:5567 serial X" blocks
 *     every such stick except X, while "block 0781:5567 serial X" +
 *     "allow 0781:5567" still blocks X;
 *   - root hubs (usbN) and hubs (bDeviceClass 09) are never blocked: taking
 *     one away would take every device behind it, keyboards included.
 *
 * How a rule changes the list (what a USB_BLOCK or USB_ALLOW task does):
 *   - block V:P[:S] adds that block rule and drops an identical allow rule;
 *     allow exceptions for single serials under a model-wide block stay;
 *   - allow V:P (no serial) drops every rule of that model, blocks and
 *     exceptions: the model is back to the default;
 *   - allow V:P:S drops the rules for that serial; if a model-wide block
 *     still matches it, it adds the allow exception for S.  An allow that
 *     undoes nothing is not stored: allowing is the default.
 *
 * Only the agent's privileged part may hold this: it writes sysfs.
 */
#ifndef MAMORI_USBCTL_H
#define MAMORI_USBCTL_H

#include <stddef.h>
#include <stdint.h>

#include "mamori.pb-c.h"

#define MAMORI_USBCTL_FILE "usb-rules"      /* in the agent's state dir */
#define MAMORI_USBCTL_DENY_MARK "usb-default-deny" /* mode on, in state */
#define MAMORI_USBCTL_RULES_MAX 1024        /* rules in the list */
#define MAMORI_USBCTL_SERIAL_MAX 255        /* bytes of a serial in a rule */
#define MAMORI_USBCTL_DEVICES_MAX 4096      /* sysfs entries looked at */
/* The rule file: a header line, one line per rule, a checksum line. */
#define MAMORI_USBCTL_FILE_MAX \
	(64 + (size_t)MAMORI_USBCTL_RULES_MAX * \
	(16 + 2 * MAMORI_USBCTL_SERIAL_MAX) + 80)

struct mamori_usb_rule {
	int block;                  /* 1 block, 0 allow (an exception) */
	uint16_t vendor_id;
	uint16_t product_id;
	char serial[MAMORI_USBCTL_SERIAL_MAX + 1];  /* "" matches any serial */
};

struct mamori_usbctl;

/*
 * Loads the rules from state_dir/usb-rules (missing file: no rules) and
 * remembers sysfs_root (the directory that holds bus/usb/devices: "/sys"
 * live, a fixture tree in tests).  Touches no device.  A damaged rule file
 * is refused with one log line and MAMORI_ERR_USB_RULES; *out is then NULL.
 * The caller frees *out with mamori_usbctl_free().
 */
int mamori_usbctl_open(const char *state_dir, const char *sysfs_root,
    struct mamori_usbctl **out);

/* Frees ctl (NULL allowed).  Devices stay as they are. */
void mamori_usbctl_free(struct mamori_usbctl *ctl);

/*
 * Enforces the rules on every device present now (at agent start):
 * deauthorizes each blocked device that is authorized.  Authorizes nothing.
 * *affected (may be NULL) counts the devices written.
 */
int mamori_usbctl_apply(struct mamori_usbctl *ctl, size_t *affected);

/*
 * Adds a block (block = 1) or allow (block = 0) rule for vid:pid and serial
 * (NULL or "" = any), as described at the top, persists the list
 * atomically, then enforces it on every present device: a device that the
 * change blocks is deauthorized, one that it unblocks is authorized again
 * (only when the rules had blocked it, so a device deauthorized by someone
 * else stays so).  *affected (may be NULL) counts the devices written.
 * why (may be NULL) gets one line for the task result, on success and on
 * failure.  When the list cannot be saved nothing changes (rules or
 * devices).  INVALID for a serial that is too long, holds control bytes or
 * leading/trailing spaces; TOO_LARGE past MAMORI_USBCTL_RULES_MAX.
 */
int mamori_usbctl_rule(struct mamori_usbctl *ctl, int block, uint16_t vid,
    uint16_t pid, const char *serial, size_t *affected, char *why,
    size_t whylen);

/*
 * Default-deny mode (off unless the operator asks for it): with on, writes
 * 0 to every root hub's authorized_default, so the kernel leaves each new
 * device deauthorized (no driver binds) until the agent authorizes the
 * allowed ones on attach - no window in which a blocked device works.
 * Present devices that are allowed but deauthorized, hubs included, are
 * authorized now (*affected counts them).  With on = 0, writes 1 back.
 * The trade-off: while the agent is not running (stopped, crashed,
 * upgrading) no new USB device works, keyboards included.  Root hubs
 * themselves are never deauthorized.  The mode is remembered in
 * state_dir/usb-default-deny so that turning it off later (an agent
 * started without it) writes the kernel's default back.
 */
int mamori_usbctl_set_default_deny(struct mamori_usbctl *ctl, int on,
    size_t *affected);

/* 1 when default-deny was left on by an earlier run (see above). */
int mamori_usbctl_default_deny_was_on(const struct mamori_usbctl *ctl);

/*
 * Runs a verified USB_BLOCK or USB_ALLOW task: checks that its ids fit in
 * 16 bits, then mamori_usbctl_rule().  ctl may be NULL (control is off:
 * the rule file was refused or the usb source is disabled), which fails
 * with USB_RULES and says so in why.  INVALID for any other task type or
 * an id past 0xffff.
 */
int mamori_usbctl_task(struct mamori_usbctl *ctl, const Mamori__TaskBody *body,
    size_t *affected, char *why, size_t whylen);

/*
 * A device was attached: devpath is the kernel's DEVPATH ("/devices/...",
 * taken under sysfs_root) or a name under bus/usb/devices ("1-1").  When the
 * rules block it, it is deauthorized and *blocked is 1; otherwise *blocked
 * is 0 and nothing is written (in default-deny mode an allowed device, or
 * a hub, is authorized).  *blocked is 1 only when the device is
 * deauthorized now.  INVALID for a devpath with "..", NOT_FOUND when the
 * device is not (or no longer) in sysfs.
 */
int mamori_usbctl_on_attach(struct mamori_usbctl *ctl, const char *devpath,
    int *blocked);

/*
 * The decision alone, on the current rules: 1 when a device with these ids
 * and serial ("" for none) is blocked, else 0.  Hub classes are not
 * considered here (see mamori_usbctl_on_attach).
 */
int mamori_usbctl_is_blocked(const struct mamori_usbctl *ctl, uint16_t vid,
    uint16_t pid, const char *serial);

/*
 * The current rules, in the order they were added.  *rules points into ctl
 * and stays valid until the next mamori_usbctl_rule() or free.
 */
void mamori_usbctl_list(const struct mamori_usbctl *ctl,
    const struct mamori_usb_rule **rules, size_t *n);

/*
 * The rule file's strict decoder (exported for the fuzz target): a header
 * "mamori-usb-rules 1", lines "block|allow VVVV:PPPP -|SERIALHEX", and
 * "sha256 HEX" over every byte before it, as the last line.  Lowercase
 * hex, single spaces, "\n" endings, no duplicate rule, nothing after the
 * checksum.  *rules is malloc'ed (free()), *n its count; both cleared on
 * failure (USB_RULES).
 */
int mamori_usbctl_parse(const uint8_t *data, size_t len,
    struct mamori_usb_rule **rules, size_t *n);

/* Writes the file text for rules into a malloc'ed *out of *outlen bytes. */
int mamori_usbctl_format(const struct mamori_usb_rule *rules, size_t n,
    char **out, size_t *outlen);

#endif
