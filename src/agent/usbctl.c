/*
 * usbctl.c - USB device control: the rule list, its file, and enforcement
 * through sysfs "authorized" (see usbctl.h for the rule itself).
 *
 * The rule file is written only through mamori_file_write (temporary file,
 * fsync, rename) and read back with a strict decoder and a SHA-256 over its
 * text, so a torn or edited file is refused whole rather than half-believed.
 * A refused file leaves USB control off and every device as it was.
 *
 * Device strings (the serial) are chosen by the device, so a hostile one
 * writes them: they are compared byte for byte, never parsed, and logged
 * escaped.  This file must never write anything in sysfs but an
 * "authorized" attribute of a USB device (never of a root hub or a hub),
 * never follow a devpath with "..", and never run a program.
 */
#include "usbctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "parse.h"
#include "util.h"

#define USBCTL_HEADER "mamori-usb-rules 1\n"
#define USBCTL_SUM_PREFIX "sha256 "
#define USBCTL_PATH_MAX 4096            /* a sysfs or state path */
#define USBCTL_LOG_MAX 96               /* an escaped serial in a log line */
#define USBCTL_HUB_CLASS 0x09

struct mamori_usbctl {
	char *file;                     /* state_dir/usb-rules */
	char *deny_mark;                /* state_dir/usb-default-deny */
	char *sysfs;                    /* holds bus/usb/devices */
	struct mamori_usb_rule *rules;
	size_t n;
	int deny_default;               /* new devices start deauthorized */
};

/* One device as sysfs shows it. */
struct usbctl_dev {
	char dir[USBCTL_PATH_MAX];      /* its sysfs directory */
	char name[64];                  /* "1-1.2" */
	uint16_t vid;
	uint16_t pid;
	int hub;
	int authorized;                 /* 1, 0, or -1 unknown */
	char serial[MAMORI_USBCTL_SERIAL_MAX + 1];
};

/* ---- rules and the decision ---------------------------------------------- */

/* Why a serial cannot be in a rule, or NULL when it can.  sysfs values are
 * read trimmed, so a serial with outer spaces would never match. */
static const char *
usbctl_serial_problem(const char *s)
{
	size_t i, len = strlen(s);

	if (len > MAMORI_USBCTL_SERIAL_MAX)
		return "the serial is longer than 255 bytes";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return "the serial holds control characters";
	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return "the serial begins or ends with a space";
	return NULL;
}

/* 0 no match, 1 matches by ids, 2 matches by ids and serial. */
static int
usbctl_match(const struct mamori_usb_rule *r, uint16_t vid, uint16_t pid,
    const char *serial)
{
	if (r->vendor_id != vid || r->product_id != pid)
		return 0;
	if (r->serial[0] == '\0')
		return 1;
	return strcmp(r->serial, serial) == 0 ? 2 : 0;
}

static int
usbctl_blocked_by(const struct mamori_usb_rule *rules, size_t n,
    uint16_t vid, uint16_t pid, const char *serial)
{
	int m, best_block = 0, best_allow = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		m = usbctl_match(&rules[i], vid, pid, serial);
		if (rules[i].block && m > best_block)
			best_block = m;
		else if (!rules[i].block && m > best_allow)
			best_allow = m;
	}
	return best_block > best_allow;
}

int
mamori_usbctl_is_blocked(const struct mamori_usbctl *ctl, uint16_t vid,
    uint16_t pid, const char *serial)
{
	return usbctl_blocked_by(ctl->rules, ctl->n, vid, pid,
	    serial != NULL ? serial : "");
}

void
mamori_usbctl_list(const struct mamori_usbctl *ctl,
    const struct mamori_usb_rule **rules, size_t *n)
{
	*rules = ctl->rules;
	*n = ctl->n;
}

static int
usbctl_same(const struct mamori_usb_rule *a, const struct mamori_usb_rule *b)
{
	return a->block == b->block && a->vendor_id == b->vendor_id &&
	    a->product_id == b->product_id && strcmp(a->serial, b->serial) == 0;
}

/* ---- the file ------------------------------------------------------------ */

int
mamori_usbctl_format(const struct mamori_usb_rule *rules, size_t n,
    char **out, size_t *outlen)
{
	struct mamori_buf b;
	uint8_t sum[MAMORI_SHA256_LEN];
	char line[32], hex[2 * MAMORI_USBCTL_SERIAL_MAX + 1];
	char sumhex[2 * MAMORI_SHA256_LEN + 1];
	size_t i, slen;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	mamori_buf_init(&b, MAMORI_USBCTL_FILE_MAX + 1);
	if (n > MAMORI_USBCTL_RULES_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_buf_append(&b, USBCTL_HEADER,
	    strlen(USBCTL_HEADER))) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		slen = strlen(rules[i].serial);
		(void)snprintf(line, sizeof(line), "%s %04x:%04x ",
		    rules[i].block ? "block" : "allow", rules[i].vendor_id,
		    rules[i].product_id);
		mamori_hex(rules[i].serial, slen, hex);
		if ((r = mamori_buf_append(&b, line, strlen(line))) != 0 ||
		    (r = mamori_buf_append(&b, slen == 0 ? "-" : hex,
		    slen == 0 ? 1 : 2 * slen)) != 0 ||
		    (r = mamori_buf_append(&b, "\n", 1)) != 0)
			goto out;
	}
	mamori_sha256(b.data, b.len, sum);
	mamori_hex(sum, sizeof(sum), sumhex);
	if ((r = mamori_buf_append(&b, USBCTL_SUM_PREFIX,
	    strlen(USBCTL_SUM_PREFIX))) != 0 ||
	    (r = mamori_buf_append(&b, sumhex, strlen(sumhex))) != 0 ||
	    (r = mamori_buf_append(&b, "\n", 1)) != 0)
		goto out;
	if ((*out = mamori_memdup_str(b.data, b.len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	*outlen = b.len;
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

static int
usbctl_is_lowhex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* "VVVV:PPPP" exactly. */
static int
usbctl_parse_ids(const char *s, size_t len, uint16_t *vid, uint16_t *pid)
{
	uint64_t v, p;

	if (len != 9 || s[4] != ':' || !usbctl_is_lowhex(s, 4) ||
	    !usbctl_is_lowhex(s + 5, 4) ||
	    mamori_parse_hex(s, 4, 0xffff, &v) != 0 ||
	    mamori_parse_hex(s + 5, 4, 0xffff, &p) != 0)
		return MAMORI_ERR_USB_RULES;
	*vid = (uint16_t)v;
	*pid = (uint16_t)p;
	return 0;
}

/* One rule line (without its "\n") into r. */
static int
usbctl_parse_line(const char *s, size_t len, struct mamori_usb_rule *rule)
{
	const char *ids, *ser;
	size_t slen;

	memset(rule, 0, sizeof(*rule));
	if (len > 6 && memcmp(s, "block ", 6) == 0)
		rule->block = 1;
	else if (len > 6 && memcmp(s, "allow ", 6) == 0)
		rule->block = 0;
	else
		return MAMORI_ERR_USB_RULES;
	ids = s + 6;
	if (len < 6 + 9 + 1 + 1 || ids[9] != ' ')
		return MAMORI_ERR_USB_RULES;
	if (usbctl_parse_ids(ids, 9, &rule->vendor_id,
	    &rule->product_id) != 0)
		return MAMORI_ERR_USB_RULES;
	ser = ids + 10;
	slen = len - 16;
	if (slen == 1 && ser[0] == '-')
		return 0;
	if (slen % 2 != 0 || slen / 2 > MAMORI_USBCTL_SERIAL_MAX ||
	    !usbctl_is_lowhex(ser, slen))
		return MAMORI_ERR_USB_RULES;
	{
		char hex[2 * MAMORI_USBCTL_SERIAL_MAX + 1];

		memcpy(hex, ser, slen);
		hex[slen] = '\0';
		if (mamori_unhex(hex, (uint8_t *)rule->serial, slen / 2) != 0)
			return MAMORI_ERR_USB_RULES;
	}
	rule->serial[slen / 2] = '\0';
	if (strlen(rule->serial) != slen / 2 ||
	    usbctl_serial_problem(rule->serial) != NULL)
		return MAMORI_ERR_USB_RULES;
	return 0;
}

int
mamori_usbctl_parse(const uint8_t *data, size_t len,
    struct mamori_usb_rule **rules, size_t *n)
{
	struct mamori_usb_rule *v = NULL, rule;
	uint8_t sum[MAMORI_SHA256_LEN];
	char want[2 * MAMORI_SHA256_LEN + 1];
	const char *s = (const char *)data, *line, *nl;
	size_t hlen = strlen(USBCTL_HEADER), plen = strlen(USBCTL_SUM_PREFIX);
	size_t off, llen, count = 0, i;
	int r = MAMORI_ERR_USB_RULES;

	*rules = NULL;
	*n = 0;
	if (len > MAMORI_USBCTL_FILE_MAX || len < hlen ||
	    memcmp(s, USBCTL_HEADER, hlen) != 0 ||
	    memchr(data, '\0', len) != NULL)
		goto out;
	if ((v = calloc(MAMORI_USBCTL_RULES_MAX, sizeof(*v))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	off = hlen;
	for (;;) {
		line = s + off;
		if ((nl = memchr(line, '\n', len - off)) == NULL)
			goto out;       /* every line ends in "\n" */
		llen = (size_t)(nl - line);
		if (llen > plen && memcmp(line, USBCTL_SUM_PREFIX, plen) == 0)
			break;
		if (count == MAMORI_USBCTL_RULES_MAX ||
		    usbctl_parse_line(line, llen, &rule) != 0)
			goto out;
		for (i = 0; i < count; i++)
			if (usbctl_same(&v[i], &rule))
				goto out;
		v[count++] = rule;
		off += llen + 1;
	}
	/* The checksum line: the last, over every byte before it. */
	if (off + llen + 1 != len || llen != plen + 2 * MAMORI_SHA256_LEN)
		goto out;
	mamori_sha256(data, off, sum);
	mamori_hex(sum, sizeof(sum), want);
	if (!mamori_equal(want, line + plen, 2 * MAMORI_SHA256_LEN))
		goto out;
	if (count == 0) {
		free(v);
		v = NULL;
	}
	*rules = v;
	*n = count;
	v = NULL;
	r = 0;
out:
	free(v);
	return r;
}

/* Saves rules (n of them) to ctl->file atomically. */
static int
usbctl_save(const struct mamori_usbctl *ctl,
    const struct mamori_usb_rule *rules, size_t n)
{
	char *text = NULL;
	size_t len;
	int r;

	if ((r = mamori_usbctl_format(rules, n, &text, &len)) != 0)
		goto out;
	if ((r = mamori_file_write(ctl->file, text, len, 0600, 0)) != 0)
		log_error("usbctl: cannot write %s: %s", ctl->file,
		    mamori_strerror(r));
out:
	free(text);
	return r;
}

void
mamori_usbctl_free(struct mamori_usbctl *ctl)
{
	if (ctl == NULL)
		return;
	free(ctl->file);
	free(ctl->deny_mark);
	free(ctl->sysfs);
	free(ctl->rules);
	free(ctl);
}

int
mamori_usbctl_open(const char *state_dir, const char *sysfs_root,
    struct mamori_usbctl **out)
{
	struct mamori_usbctl *ctl = NULL;
	struct mamori_buf b;
	char path[USBCTL_PATH_MAX];
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	mamori_buf_init(&b, MAMORI_USBCTL_FILE_MAX);
	if (state_dir == NULL || sysfs_root == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = mamori_path_join(path, sizeof(path), state_dir,
	    MAMORI_USBCTL_FILE)) != 0)
		goto out;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->file = strdup(path)) == NULL ||
	    (ctl->sysfs = strdup(sysfs_root)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_path_join(path, sizeof(path), state_dir,
	    MAMORI_USBCTL_DENY_MARK)) != 0)
		goto out;
	if ((ctl->deny_mark = strdup(path)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_path_join(path, sizeof(path), state_dir,
	    MAMORI_USBCTL_FILE)) != 0)
		goto out;
	r = mamori_buf_read_file(&b, path);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;
	} else if (r != 0 || (r = mamori_usbctl_parse(b.data, b.len,
	    &ctl->rules, &ctl->n)) != 0) {
		log_error("usbctl: the USB rule file %s is damaged or "
		    "unreadable (%s); USB control is off and no device was "
		    "touched.  Move the file away and send the USB rules again",
		    path, mamori_strerror(r));
		if (r != MAMORI_ERR_ALLOC)
			r = MAMORI_ERR_USB_RULES;
		goto out;
	}
	*out = ctl;
	ctl = NULL;
	r = 0;
out:
	mamori_buf_free(&b);
	mamori_usbctl_free(ctl);
	return r;
}

/* ---- sysfs --------------------------------------------------------------- */

/* Reads dev's ids, class, serial and authorized from dev->dir.  NOT_FOUND
 * when it has no idVendor (an interface, a port, or gone). */
static int
usbctl_dev_read(struct usbctl_dev *dev)
{
	char path[USBCTL_PATH_MAX + 32], v[MAMORI_COLLECT_ATTR_MAX];
	uint64_t x;

	dev->authorized = -1;
	dev->hub = 0;
	dev->serial[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s/idVendor", dev->dir);
	if (mamori_read_value(path, v, sizeof(v)) != 0)
		return MAMORI_ERR_NOT_FOUND;
	if (strlen(v) != 4 || mamori_parse_hex(v, 4, 0xffff, &x) != 0)
		return MAMORI_ERR_BAD_STRING;
	dev->vid = (uint16_t)x;
	(void)snprintf(path, sizeof(path), "%s/idProduct", dev->dir);
	if (mamori_read_value(path, v, sizeof(v)) != 0 || strlen(v) != 4 ||
	    mamori_parse_hex(v, 4, 0xffff, &x) != 0)
		return MAMORI_ERR_BAD_STRING;
	dev->pid = (uint16_t)x;
	(void)snprintf(path, sizeof(path), "%s/bDeviceClass", dev->dir);
	if (mamori_read_value(path, v, sizeof(v)) == 0 && strlen(v) == 2 &&
	    mamori_parse_hex(v, 2, 0xff, &x) == 0 && x == USBCTL_HUB_CLASS)
		dev->hub = 1;
	(void)snprintf(path, sizeof(path), "%s/serial", dev->dir);
	if (mamori_read_value(path, dev->serial, sizeof(dev->serial)) != 0)
		dev->serial[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s/authorized", dev->dir);
	if (mamori_read_value(path, v, sizeof(v)) == 0 && strlen(v) == 1 &&
	    (v[0] == '0' || v[0] == '1'))
		dev->authorized = v[0] - '0';
	return 0;
}

/* Root hubs ("usb1") and interfaces ("1-1:1.0") are never controlled. */
static int
usbctl_name_controllable(const char *name)
{
	return name[0] != '\0' && strncmp(name, "usb", 3) != 0 &&
	    strchr(name, ':') == NULL && name[0] != '.';
}

static void
usbctl_log_dev(const char *what, const struct usbctl_dev *dev)
{
	char safe[USBCTL_LOG_MAX];

	log_info("usbctl: %s %s (%04x:%04x serial \"%s\")", what, dev->name,
	    dev->vid, dev->pid, mamori_log_safe(dev->serial, safe,
	    sizeof(safe)));
}

/* Writes the one-character value to the sysfs attribute at path. */
static int
usbctl_write_attr(const char *path, const char *value)
{
	ssize_t w;
	int fd, r = MAMORI_ERR_INTERNAL;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_error("usbctl: cannot open %s: %s", path, strerror(errno));
		return errno == EACCES || errno == EPERM ?
		    MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
	}
	do {
		w = write(fd, value, 1);
	} while (w < 0 && errno == EINTR);
	if (w != 1) {
		log_error("usbctl: cannot write %s: %s", path,
		    w < 0 ? strerror(errno) : "short write");
		r = MAMORI_ERR_SYSTEM;
	} else {
		r = 0;
	}
	if (close(fd) != 0 && r == 0) {
		log_error("usbctl: writing %s failed: %s", path,
		    strerror(errno));
		r = MAMORI_ERR_SYSTEM;
	}
	return r;
}

/* Writes "0" or "1" to dev's authorized attribute.  A hub may be
 * authorized (in default-deny mode it starts deauthorized), never
 * deauthorized. */
static int
usbctl_authorize(struct usbctl_dev *dev, int on)
{
	char path[USBCTL_PATH_MAX + 32];
	int r;

	if ((dev->hub && !on) || !usbctl_name_controllable(dev->name))
		return MAMORI_ERR_INVALID;
	(void)snprintf(path, sizeof(path), "%s/authorized", dev->dir);
	if ((r = usbctl_write_attr(path, on ? "1" : "0")) == 0) {
		dev->authorized = on;
		usbctl_log_dev(on ? "authorized" : "deauthorized", dev);
	}
	return r;
}

/* Every device under bus/usb/devices but root hubs and interfaces, hubs
 * included (marked), into *devs (malloc'ed). */
static int
usbctl_scan(const struct mamori_usbctl *ctl, struct usbctl_dev **devs,
    size_t *n)
{
	struct mamori_names names = {NULL, 0};
	struct usbctl_dev *v = NULL;
	char dir[USBCTL_PATH_MAX];
	size_t i, count = 0;
	int r = MAMORI_ERR_INTERNAL;

	*devs = NULL;
	*n = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bus/usb/devices",
	    ctl->sysfs) >= sizeof(dir)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	r = mamori_list_dir(dir, MAMORI_USBCTL_DEVICES_MAX, &names);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;          /* no USB bus */
		goto out;
	}
	if (r != 0) {
		log_error("usbctl: cannot list %s: %s", dir,
		    mamori_strerror(r));
		goto out;
	}
	if (names.n > 0 && (v = calloc(names.n, sizeof(*v))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < names.n; i++) {
		struct usbctl_dev *d = &v[count];

		if (!usbctl_name_controllable(names.v[i]) ||
		    strlen(names.v[i]) >= sizeof(d->name) ||
		    (size_t)snprintf(d->dir, sizeof(d->dir), "%s/%s", dir,
		    names.v[i]) >= sizeof(d->dir))
			continue;
		memcpy(d->name, names.v[i], strlen(names.v[i]) + 1);
		if (usbctl_dev_read(d) != 0)
			continue;
		count++;
	}
	*devs = v;
	*n = count;
	v = NULL;
	r = 0;
out:
	free(v);
	mamori_names_free(&names);
	return r;
}

/*
 * Makes one device follow the rules: a blocked one is deauthorized; an
 * allowed one that is deauthorized is authorized again when the rules had
 * blocked it (was_blocked) or, in default-deny mode, always.  Hubs are
 * only ever authorized, and only in default-deny mode.  Returns 1 when it
 * wrote, 0 when nothing was needed, or an error.
 */
static int
usbctl_enforce(const struct mamori_usbctl *ctl, struct usbctl_dev *dev,
    int was_blocked)
{
	int r, want;

	if (dev->hub)
		want = dev->authorized == 0 && ctl->deny_default ? 1 : -1;
	else if (usbctl_blocked_by(ctl->rules, ctl->n, dev->vid, dev->pid,
	    dev->serial))
		want = dev->authorized != 0 ? 0 : -1;
	else
		want = dev->authorized == 0 && (was_blocked ||
		    ctl->deny_default) ? 1 : -1;
	if (want < 0)
		return 0;
	if ((r = usbctl_authorize(dev, want)) != 0)
		return r;
	return 1;
}

int
mamori_usbctl_apply(struct mamori_usbctl *ctl, size_t *affected)
{
	struct usbctl_dev *devs = NULL;
	size_t n = 0, i, count = 0;
	int r, r2;

	if (affected != NULL)
		*affected = 0;
	if ((r = usbctl_scan(ctl, &devs, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* An unknown state (no readable "authorized") is left. */
		if (devs[i].authorized < 0)
			continue;
		if ((r2 = usbctl_enforce(ctl, &devs[i], 0)) > 0)
			count++;
		else if (r2 < 0 && r == 0)
			r = r2;
	}
out:
	if (affected != NULL)
		*affected = count;
	free(devs);
	return r;
}

/* ---- rule changes -------------------------------------------------------- */

/* The list after applying the change, into *out (malloc'ed, *nout).  See
 * usbctl.h for what block and allow do. */
static int
usbctl_change(const struct mamori_usbctl *ctl,
    const struct mamori_usb_rule *req, struct mamori_usb_rule **out,
    size_t *nout)
{
	struct mamori_usb_rule *v = NULL, allow;
	size_t i, count = 0;
	int drop, r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	*nout = 0;
	if ((v = calloc(ctl->n + 1, sizeof(*v))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < ctl->n; i++) {
		const struct mamori_usb_rule *o = &ctl->rules[i];

		if (req->block) {
			/* The same rule once; an identical allow goes. */
			drop = o->vendor_id == req->vendor_id &&
			    o->product_id == req->product_id &&
			    strcmp(o->serial, req->serial) == 0;
		} else {
			/* A model-wide allow drops every rule of the
			 * model; a serial's allow drops the rules of that
			 * serial (its exception is re-added below if a
			 * model-wide block still covers it). */
			drop = o->vendor_id == req->vendor_id &&
			    o->product_id == req->product_id &&
			    (req->serial[0] == '\0' ||
			    strcmp(o->serial, req->serial) == 0);
		}
		if (!drop)
			v[count++] = *o;
	}
	if (req->block) {
		v[count++] = *req;
	} else if (usbctl_blocked_by(v, count, req->vendor_id,
	    req->product_id, req->serial)) {
		/* A model-wide block still covers it: the exception. */
		allow = *req;
		v[count++] = allow;
	}
	if (count > MAMORI_USBCTL_RULES_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	*out = v;
	*nout = count;
	v = NULL;
	r = 0;
out:
	free(v);
	return r;
}

int
mamori_usbctl_rule(struct mamori_usbctl *ctl, int block, uint16_t vid,
    uint16_t pid, const char *serial, size_t *affected, char *why,
    size_t whylen)
{
	struct mamori_usb_rule req, *next = NULL;
	struct usbctl_dev *devs = NULL;
	char safe[USBCTL_LOG_MAX];
	const char *problem;
	size_t n = 0, nnext = 0, i, count = 0, failed = 0;
	int *before = NULL, now, r = MAMORI_ERR_INTERNAL;

	if (affected != NULL)
		*affected = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (serial == NULL)
		serial = "";
	if ((problem = usbctl_serial_problem(serial)) != NULL) {
		if (why != NULL)
			(void)snprintf(why, whylen, "refused: %s", problem);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.block = block ? 1 : 0;
	req.vendor_id = vid;
	req.product_id = pid;
	memcpy(req.serial, serial, strlen(serial) + 1);
	if ((r = usbctl_change(ctl, &req, &next, &nnext)) != 0) {
		if (why != NULL)
			(void)snprintf(why, whylen, "refused: %s",
			    r == MAMORI_ERR_TOO_LARGE ? "the agent holds "
			    "1024 USB rules already; allow some first" :
			    mamori_strerror(r));
		goto out;
	}
	/* What the old rules decided, before anything changes. */
	if ((r = usbctl_scan(ctl, &devs, &n)) != 0) {
		if (why != NULL)
			(void)snprintf(why, whylen, "cannot list the USB "
			    "devices: %s", mamori_strerror(r));
		goto out;
	}
	if (n > 0 && (before = calloc(n, sizeof(*before))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++)
		before[i] = usbctl_blocked_by(ctl->rules, ctl->n, devs[i].vid,
		    devs[i].pid, devs[i].serial);
	if ((r = usbctl_save(ctl, next, nnext)) != 0) {
		if (why != NULL)
			(void)snprintf(why, whylen, "the USB rules could not "
			    "be saved (%s); nothing changed",
			    mamori_strerror(r));
		goto out;
	}
	free(ctl->rules);
	ctl->rules = next;
	ctl->n = nnext;
	next = NULL;
	for (i = 0; i < n; i++) {
		if (devs[i].authorized < 0 || devs[i].hub)
			continue;
		if ((now = usbctl_enforce(ctl, &devs[i], before[i])) > 0)
			count++;
		else if (now < 0)
			failed++;
	}
	if (why != NULL)
		(void)snprintf(why, whylen, "%s %04x:%04x%s%s%s: %zu device%s "
		    "%s%s", block ? "blocked" : "allowed", vid, pid,
		    serial[0] != '\0' ? " serial \"" : " (any serial)",
		    serial[0] != '\0' ? mamori_log_safe(serial, safe,
		    sizeof(safe)) : "", serial[0] != '\0' ? "\"" : "", count,
		    count == 1 ? "" : "s",
		    block ? "deauthorized" : "authorized again",
		    failed > 0 ? "; some devices could not be written (see "
		    "the agent log)" : "");
	r = failed > 0 ? MAMORI_ERR_SYSTEM : 0;
out:
	if (affected != NULL)
		*affected = count;
	free(before);
	free(devs);
	free(next);
	return r;
}

int
mamori_usbctl_set_default_deny(struct mamori_usbctl *ctl, int on,
    size_t *affected)
{
	struct mamori_names names = {NULL, 0};
	char dir[USBCTL_PATH_MAX], path[USBCTL_PATH_MAX + 64];
	size_t i, hubs = 0;
	int r = MAMORI_ERR_INTERNAL, r2;

	if (affected != NULL)
		*affected = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bus/usb/devices",
	    ctl->sysfs) >= sizeof(dir)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	ctl->deny_default = on ? 1 : 0;
	r = mamori_list_dir(dir, MAMORI_USBCTL_DEVICES_MAX, &names);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	/* Each bus's root hub decides for the devices that come next. */
	for (i = 0; i < names.n; i++) {
		if (strncmp(names.v[i], "usb", 3) != 0 ||
		    strchr(names.v[i], ':') != NULL ||
		    (size_t)snprintf(path, sizeof(path),
		    "%s/%s/authorized_default", dir, names.v[i]) >=
		    sizeof(path))
			continue;
		if ((r2 = usbctl_write_attr(path, on ? "0" : "1")) != 0) {
			r = r2;
			continue;
		}
		hubs++;
	}
	log_info("usbctl: default-deny %s on %zu USB bus%s", on ? "on" : "off",
	    hubs, hubs == 1 ? "" : "es");
	if (r != 0)
		goto out;
	/* Remembered, so an agent started later without the mode puts the
	 * kernel's default back instead of leaving every new device off. */
	if (on)
		r = mamori_file_write(ctl->deny_mark, "1\n", 2, 0600, 0);
	else if (unlink(ctl->deny_mark) != 0 && errno != ENOENT)
		r = MAMORI_ERR_SYSTEM;
	if (r != 0) {
		log_error("usbctl: cannot record the default-deny mode in %s",
		    ctl->deny_mark);
		goto out;
	}
	/* On: authorize what is allowed and present (it may have come while
	 * the agent was down).  Off: nothing changes for present devices. */
	if (on)
		r = mamori_usbctl_apply(ctl, affected);
out:
	mamori_names_free(&names);
	return r;
}

int
mamori_usbctl_default_deny_was_on(const struct mamori_usbctl *ctl)
{
	return access(ctl->deny_mark, F_OK) == 0;
}

int
mamori_usbctl_task(struct mamori_usbctl *ctl, const Mamori__TaskBody *body,
    size_t *affected, char *why, size_t whylen)
{
	const Mamori__UsbDeviceParams *p;
	int block;

	if (affected != NULL)
		*affected = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (body == NULL)
		return MAMORI_ERR_INVALID;
	if (body->params_case == MAMORI__TASK_BODY__PARAMS_USB_BLOCK) {
		p = body->usb_block;
		block = 1;
	} else if (body->params_case == MAMORI__TASK_BODY__PARAMS_USB_ALLOW) {
		p = body->usb_allow;
		block = 0;
	} else {
		if (why != NULL)
			(void)snprintf(why, whylen, "not a USB task");
		return MAMORI_ERR_INVALID;
	}
	if (p == NULL || p->vendor_id > 0xffff || p->product_id > 0xffff) {
		if (why != NULL)
			(void)snprintf(why, whylen, "refused: USB vendor and "
			    "product ids are 16-bit numbers");
		return MAMORI_ERR_INVALID;
	}
	if (ctl == NULL) {
		if (why != NULL)
			(void)snprintf(why, whylen, "USB device control is off "
			    "on this agent (its rule file was refused, or the "
			    "usb source is disabled); see the agent log");
		return MAMORI_ERR_USB_RULES;
	}
	return mamori_usbctl_rule(ctl, block, (uint16_t)p->vendor_id,
	    (uint16_t)p->product_id, p->serial, affected, why, whylen);
}

int
mamori_usbctl_on_attach(struct mamori_usbctl *ctl, const char *devpath,
    int *blocked)
{
	struct usbctl_dev dev;
	const char *name;
	int r = MAMORI_ERR_INTERNAL;

	*blocked = 0;
	memset(&dev, 0, sizeof(dev));
	if (devpath == NULL || devpath[0] == '\0' ||
	    strstr(devpath, "..") != NULL || strstr(devpath, "//") != NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	name = strrchr(devpath, '/');
	name = name != NULL ? name + 1 : devpath;
	if (strlen(name) >= sizeof(dev.name)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	memcpy(dev.name, name, strlen(name) + 1);
	if (!usbctl_name_controllable(dev.name)) {
		r = 0;          /* a root hub or an interface */
		goto out;
	}
	if ((size_t)snprintf(dev.dir, sizeof(dev.dir), devpath[0] == '/' ?
	    "%s%s" : "%s/bus/usb/devices/%s", ctl->sysfs, devpath) >=
	    sizeof(dev.dir)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = usbctl_dev_read(&dev)) != 0)
		goto out;
	if ((r = usbctl_enforce(ctl, &dev, 0)) < 0)
		goto out;
	*blocked = !dev.hub && dev.authorized == 0 &&
	    usbctl_blocked_by(ctl->rules, ctl->n, dev.vid, dev.pid,
	    dev.serial);
	r = 0;
out:
	return r;
}
