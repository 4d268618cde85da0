/*
 * test_usbctl.c - USB device control against a fake sysfs tree.
 *
 * Each test builds, in a fresh temporary directory, what the kernel shows
 * under /sys: devices under sys/devices/.../usb1 with idVendor, idProduct,
 * bDeviceClass, serial and authorized files, and the bus/usb/devices
 * symlinks to them.  The tests then prove what usbctl writes into the
 * "authorized" files: on rule changes, on attach (a recorded uevent
 * replayed through the real USB event source), after a reopen, and never
 * for hubs or when the rule file is damaged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "events/event.h"
#include "events/source.h"
#include "usbctl.h"

extern const struct mamori_event_source mamori_source_usb;

#define RECORDING FIXTURES "/uevents/usb.bin"
#define HC "/devices/pci0000:00/0000:00:14.0/usb1"
#define TEST_MAX_EVENTS 64
#define TEST_WAIT_MS 3000
#define TEST_LOG_MAX (64 * 1024)

struct tree {
	char root[64];          /* the temporary directory */
	char sys[128];          /* root/sys */
	char state[128];        /* root/state */
};

static void
put(const char *dir, const char *name, const char *value)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", value);
	fclose(f);
}

static void
get(const struct tree *t, const char *name, const char *attr, char *out,
    size_t outlen)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s" HC "/%s/%s", t->sys, name, attr);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
}

static void
assert_authorized(const struct tree *t, const char *name, const char *want)
{
	char v[16];

	get(t, name, "authorized", v, sizeof(v));
	assert_string_equal(v, want);
}

/* A device directory under usb1 and (with link set) its bus symlink. */
static void
device(const struct tree *t, const char *name, const char *vid,
    const char *pid, const char *cls, const char *serial, int link)
{
	char dir[512], lnk[512], target[512];

	snprintf(dir, sizeof(dir), "%s" HC "/%s", t->sys, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	put(dir, "idVendor", vid);
	put(dir, "idProduct", pid);
	put(dir, "bDeviceClass", cls);
	put(dir, "authorized", "1");
	put(dir, "manufacturer", "Maker");
	put(dir, "product", "Thing");
	if (serial != NULL)
		put(dir, "serial", serial);
	if (link) {
		snprintf(lnk, sizeof(lnk), "%s/bus/usb/devices/%s", t->sys,
		    name);
		snprintf(target, sizeof(target), "../../.." HC "/%s", name);
		assert_int_equal(symlink(target, lnk), 0);
	}
}

static void
mkdirs(const char *base, const char *rel)
{
	char path[512];
	size_t i, n;

	n = (size_t)snprintf(path, sizeof(path), "%s/%s", base, rel);
	for (i = strlen(base) + 1; i <= n; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			char c = path[i];

			path[i] = '\0';
			(void)mkdir(path, 0755);
			path[i] = c;
		}
	}
}

/* The tree: a root hub usb1, an interface, and (when devices is set) two
 * sticks of one model (serials A and B), a hub, a keyboard. */
static void
tree_new(struct tree *t, int devices)
{
	char dir[512], lnk[512];

	memset(t, 0, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "/tmp/mamori-usbctl-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->sys, sizeof(t->sys), "%s/sys", t->root);
	snprintf(t->state, sizeof(t->state), "%s/state", t->root);
	assert_int_equal(mkdir(t->state, 0700), 0);
	mkdirs(t->root, "sys" HC);
	mkdirs(t->root, "sys/bus/usb/devices");
	snprintf(dir, sizeof(dir), "%s" HC, t->sys);
	put(dir, "idVendor", "1d6b");
	put(dir, "idProduct", "0002");
	put(dir, "bDeviceClass", "09");
	put(dir, "authorized", "1");
	snprintf(lnk, sizeof(lnk), "%s/bus/usb/devices/usb1", t->sys);
	assert_int_equal(symlink("../../.." HC, lnk), 0);
	if (!devices)
		return;
	device(t, "1-1", "0781", "5567", "00", "AAAA0001", 1);
	device(t, "1-2", "0781", "5567", "00", "BBBB0002", 1);
	device(t, "1-3", "05e3", "0608", "09", NULL, 1);
	device(t, "1-4", "046d", "c31c", "00", NULL, 1);
	/* An interface directory: never a device, never written. */
	snprintf(dir, sizeof(dir), "%s" HC "/1-4/1-4:1.0", t->sys);
	assert_int_equal(mkdir(dir, 0755), 0);
	put(dir, "authorized", "1");
	snprintf(lnk, sizeof(lnk), "%s/bus/usb/devices/1-4:1.0", t->sys);
	assert_int_equal(symlink("../../.." HC "/1-4/1-4:1.0", lnk), 0);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tree_free(struct tree *t)
{
	assert_int_equal(nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---- the decision --------------------------------------------------------- */

static void
test_decision(void **unused)
{
	struct mamori_usbctl *ctl = NULL;
	const struct mamori_usb_rule *rules;
	struct tree t;
	size_t n, aff = 9;
	char why[256];

	(void)unused;
	tree_new(&t, 0);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	/* Allowed by default. */
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, "A"), 0);
	/* Model-wide block, one serial excepted. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, NULL,
	    &aff, why, sizeof(why)), 0);
	assert_int_equal(aff, 0);
	assert_non_null(strstr(why, "blocked 0781:5567 (any serial)"));
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, "A"), 1);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, ""), 1);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5568, "A"), 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 0, 0x0781, 0x5567, "A",
	    &aff, why, sizeof(why)), 0);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, "A"), 0);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, "B"), 1);
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rules[0].block, 1);
	assert_string_equal(rules[0].serial, "");
	assert_int_equal(rules[1].block, 0);
	assert_string_equal(rules[1].serial, "A");
	/* Blocking serial A again takes its exception away. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, "A",
	    NULL, NULL, 0), 0);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, "A"), 1);
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rules[1].block, 1);
	/* Allowing the model undoes every block of it: nothing is left. */
	assert_int_equal(mamori_usbctl_rule(ctl, 0, 0x0781, 0x5567, "", NULL,
	    NULL, 0), 0);
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 0);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567, "A"), 0);
	/* A serial-specific block leaves other serials alone (the table
	 * test covers it against a model-wide allow). */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x1234, 0x0001, "X", NULL,
	    NULL, 0), 0);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x1234, 0x0001, "X"), 1);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x1234, 0x0001, "Y"), 0);
	/* The same block twice is one rule. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x1234, 0x0001, "X", NULL,
	    NULL, 0), 0);
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 1);
	/* Serials that could never match are refused, with a reason. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 1, 2, "a\tb", &aff, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "control characters"));
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 1, 2, " x", NULL, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	{
		char longs[MAMORI_USBCTL_SERIAL_MAX + 2];

		memset(longs, 'x', sizeof(longs) - 1);
		longs[sizeof(longs) - 1] = '\0';
		assert_int_equal(mamori_usbctl_rule(ctl, 1, 1, 2, longs, NULL,
		    why, sizeof(why)), MAMORI_ERR_INVALID);
		longs[MAMORI_USBCTL_SERIAL_MAX] = '\0';
		assert_int_equal(mamori_usbctl_rule(ctl, 1, 1, 2, longs, NULL,
		    why, sizeof(why)), 0);
	}
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 2);
	mamori_usbctl_free(ctl);
	mamori_usbctl_free(NULL);
	tree_free(&t);
}

/* The written model of the table in usbctl.h, over every pair. */
static void
test_decision_table(void **unused)
{
	struct mamori_usb_rule r[2];
	static const struct {
		int bs, as;     /* block / allow: 0 none, 1 any serial, 2 "S" */
		int blocked;    /* for the device with serial "S" */
	} cases[] = {
		{0, 0, 0}, {0, 1, 0}, {0, 2, 0},
		{1, 0, 1}, {1, 1, 0}, {1, 2, 0},
		{2, 0, 1}, {2, 1, 1}, {2, 2, 0},
	};
	struct mamori_usb_rule *parsed = NULL;
	struct mamori_usbctl *ctl = NULL;
	char *text = NULL, path[256];
	struct tree t;
	size_t i, n, len;
	FILE *f;

	(void)unused;
	tree_new(&t, 0);
	snprintf(path, sizeof(path), "%s/%s", t.state, MAMORI_USBCTL_FILE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 0;
		memset(r, 0, sizeof(r));
		if (cases[i].bs != 0) {
			r[n].block = 1;
			r[n].vendor_id = 0xabcd;
			r[n].product_id = 0x0001;
			if (cases[i].bs == 2)
				memcpy(r[n].serial, "S", 2);
			n++;
		}
		if (cases[i].as != 0) {
			r[n].vendor_id = 0xabcd;
			r[n].product_id = 0x0001;
			if (cases[i].as == 2)
				memcpy(r[n].serial, "S", 2);
			n++;
		}
		assert_int_equal(mamori_usbctl_format(r, n, &text, &len), 0);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(text, 1, len, f), len);
		fclose(f);
		/* The file reads back to the same rules. */
		assert_int_equal(mamori_usbctl_parse((uint8_t *)text, len,
		    &parsed, &len), 0);
		assert_int_equal(len, n);
		free(parsed);
		free(text);
		assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
		assert_int_equal(mamori_usbctl_is_blocked(ctl, 0xabcd, 0x0001,
		    "S"), cases[i].blocked);
		/* Another serial is blocked only by a model-wide block with
		 * no model-wide allow. */
		assert_int_equal(mamori_usbctl_is_blocked(ctl, 0xabcd, 0x0001,
		    "T"), cases[i].bs == 1 && cases[i].as != 1);
		mamori_usbctl_free(ctl);
		ctl = NULL;
	}
	tree_free(&t);
}

/* ---- enforcement ----------------------------------------------------------- */

static void
test_block_allow_devices(void **unused)
{
	struct mamori_usbctl *ctl = NULL;
	const struct mamori_usb_rule *rules;
	struct tree t;
	size_t aff = 0, n;
	char why[256];
	int blocked = 7;

	(void)unused;
	tree_new(&t, 1);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	/* Block the model: both sticks go, nothing else. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, NULL,
	    &aff, why, sizeof(why)), 0);
	assert_int_equal(aff, 2);
	assert_non_null(strstr(why, "2 devices deauthorized"));
	assert_authorized(&t, "1-1", "0");
	assert_authorized(&t, "1-2", "0");
	assert_authorized(&t, "1-3", "1");
	assert_authorized(&t, "1-4", "1");
	assert_authorized(&t, "1-4/1-4:1.0", "1");
	/* The same again changes nothing. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, NULL,
	    &aff, why, sizeof(why)), 0);
	assert_int_equal(aff, 0);
	/* Allow one serial: that stick comes back. */
	assert_int_equal(mamori_usbctl_rule(ctl, 0, 0x0781, 0x5567,
	    "BBBB0002", &aff, why, sizeof(why)), 0);
	assert_int_equal(aff, 1);
	assert_non_null(strstr(why, "1 device authorized again"));
	assert_authorized(&t, "1-1", "0");
	assert_authorized(&t, "1-2", "1");
	/* Persisted: a reopened control has the same rules, and applying
	 * them at start writes nothing (already enforced). */
	mamori_usbctl_free(ctl);
	ctl = NULL;
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 2);
	assert_int_equal(mamori_usbctl_apply(ctl, &aff), 0);
	assert_int_equal(aff, 0);
	/* A stick re-authorized behind the agent's back is taken again at
	 * start. */
	{
		char dir[512];

		snprintf(dir, sizeof(dir), "%s" HC "/1-1", t.sys);
		put(dir, "authorized", "1");
	}
	assert_int_equal(mamori_usbctl_apply(ctl, &aff), 0);
	assert_int_equal(aff, 1);
	assert_authorized(&t, "1-1", "0");
	assert_authorized(&t, "1-2", "1");
	/* on_attach by bus name and by DEVPATH. */
	assert_int_equal(mamori_usbctl_on_attach(ctl, "1-2", &blocked), 0);
	assert_int_equal(blocked, 0);
	assert_int_equal(mamori_usbctl_on_attach(ctl, HC "/1-1", &blocked), 0);
	assert_int_equal(blocked, 1);
	assert_int_equal(mamori_usbctl_on_attach(ctl, HC "/../1-1", &blocked),
	    MAMORI_ERR_INVALID);
	assert_int_equal(blocked, 0);
	assert_int_equal(mamori_usbctl_on_attach(ctl, HC "/1-9", &blocked),
	    MAMORI_ERR_NOT_FOUND);
	/* A device deauthorized by someone else is not authorized by an
	 * allow that did not block it. */
	{
		char dir[512];

		snprintf(dir, sizeof(dir), "%s" HC "/1-4", t.sys);
		put(dir, "authorized", "0");
	}
	assert_int_equal(mamori_usbctl_rule(ctl, 0, 0x046d, 0xc31c, NULL,
	    &aff, why, sizeof(why)), 0);
	assert_int_equal(aff, 0);
	assert_authorized(&t, "1-4", "0");
	/* Allow the model: the last stick comes back, no rule is left. */
	assert_int_equal(mamori_usbctl_rule(ctl, 0, 0x0781, 0x5567, NULL,
	    &aff, why, sizeof(why)), 0);
	assert_int_equal(aff, 1);
	assert_authorized(&t, "1-1", "1");
	mamori_usbctl_list(ctl, &rules, &n);
	assert_int_equal(n, 0);
	mamori_usbctl_free(ctl);
	tree_free(&t);
}

static void
test_hubs_never_blocked(void **unused)
{
	struct mamori_usbctl *ctl = NULL;
	struct tree t;
	size_t aff = 9;
	int blocked = 7;

	(void)unused;
	tree_new(&t, 1);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	/* The hub's own ids, and the root hub's. */
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x05e3, 0x0608, NULL,
	    &aff, NULL, 0), 0);
	assert_int_equal(aff, 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x1d6b, 0x0002, NULL,
	    &aff, NULL, 0), 0);
	assert_int_equal(aff, 0);
	assert_authorized(&t, "1-3", "1");
	{
		char v[16], path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s" HC "/authorized", t.sys);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(v, sizeof(v), f));
		fclose(f);
		assert_string_equal(v, "1\n");
	}
	assert_int_equal(mamori_usbctl_on_attach(ctl, HC "/1-3", &blocked), 0);
	assert_int_equal(blocked, 0);
	assert_int_equal(mamori_usbctl_on_attach(ctl, HC, &blocked), 0);
	assert_int_equal(blocked, 0);
	assert_int_equal(mamori_usbctl_apply(ctl, &aff), 0);
	assert_int_equal(aff, 0);
	assert_authorized(&t, "1-3", "1");
	mamori_usbctl_free(ctl);
	tree_free(&t);
}

/* The entry the task runner calls with a verified task's body. */
static void
test_task(void **unused)
{
	Mamori__TaskBody body = MAMORI__TASK_BODY__INIT;
	Mamori__UsbDeviceParams p = MAMORI__USB_DEVICE_PARAMS__INIT;
	Mamori__KillProcessParams kill = MAMORI__KILL_PROCESS_PARAMS__INIT;
	struct mamori_usbctl *ctl = NULL;
	struct tree t;
	size_t aff = 9;
	char why[256];

	(void)unused;
	tree_new(&t, 1);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	body.params_case = MAMORI__TASK_BODY__PARAMS_USB_BLOCK;
	body.usb_block = &p;
	p.vendor_id = 0x10781;          /* past 16 bits */
	p.product_id = 0x5567;
	assert_int_equal(mamori_usbctl_task(ctl, &body, &aff, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "16-bit"));
	assert_authorized(&t, "1-1", "1");
	p.vendor_id = 0x0781;
	p.serial = (char *)"AAAA0001";
	assert_int_equal(mamori_usbctl_task(ctl, &body, &aff, why,
	    sizeof(why)), 0);
	assert_int_equal(aff, 1);
	assert_non_null(strstr(why, "serial \"AAAA0001\": 1 device "
	    "deauthorized"));
	assert_authorized(&t, "1-1", "0");
	assert_authorized(&t, "1-2", "1");
	/* Off (no control): refused with the reason. */
	assert_int_equal(mamori_usbctl_task(NULL, &body, &aff, why,
	    sizeof(why)), MAMORI_ERR_USB_RULES);
	assert_non_null(strstr(why, "USB device control is off"));
	body.params_case = MAMORI__TASK_BODY__PARAMS_USB_ALLOW;
	body.usb_block = NULL;
	body.usb_allow = &p;
	assert_int_equal(mamori_usbctl_task(ctl, &body, &aff, why,
	    sizeof(why)), 0);
	assert_int_equal(aff, 1);
	assert_authorized(&t, "1-1", "1");
	body.params_case = MAMORI__TASK_BODY__PARAMS_KILL_PROCESS;
	body.kill_process = &kill;
	assert_int_equal(mamori_usbctl_task(ctl, &body, &aff, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	mamori_usbctl_free(ctl);
	tree_free(&t);
}

/* ---- the file --------------------------------------------------------------- */

struct capture {
	int saved;
	FILE *f;
};

static void
capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fileno(c->f), 2), 2);
}

static char *
capture_end(struct capture *c)
{
	char *text = calloc(1, TEST_LOG_MAX + 1);
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(c->saved, 2), 2);
	close(c->saved);
	assert_non_null(text);
	rewind(c->f);
	n = fread(text, 1, TEST_LOG_MAX, c->f);
	text[n] = '\0';
	fclose(c->f);
	fputs(text, stderr);
	return text;
}

/* Rewrites the rule file through edit, then expects open to refuse it
 * with a log line and no device touched. */
static void
expect_refused(struct tree *t, void (*edit)(struct mamori_buf *))
{
	struct mamori_usbctl *ctl = (struct mamori_usbctl *)t;
	struct mamori_buf b;
	struct capture c;
	char path[256], *log;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->state, MAMORI_USBCTL_FILE);
	mamori_buf_init(&b, MAMORI_USBCTL_FILE_MAX + 64);
	assert_int_equal(mamori_buf_read_file(&b, path), 0);
	edit(&b);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	capture_start(&c);
	assert_int_equal(mamori_usbctl_open(t->state, t->sys, &ctl),
	    MAMORI_ERR_USB_RULES);
	log = capture_end(&c);
	assert_null(ctl);
	assert_non_null(strstr(log, "is damaged"));
	assert_non_null(strstr(log, "no device was touched"));
	free(log);
	mamori_buf_free(&b);
	/* Untouched: 1-1 stays deauthorized, 1-2 authorized (as left). */
	assert_authorized(t, "1-1", "0");
	assert_authorized(t, "1-2", "1");
	assert_authorized(t, "1-4", "1");
}

static struct mamori_buf saved;

static void
edit_restore(struct mamori_buf *b)
{
	mamori_buf_reset(b);
	assert_int_equal(mamori_buf_append(b, saved.data, saved.len), 0);
}

static void
edit_flip(struct mamori_buf *b)
{
	edit_restore(b);
	b->data[22] ^= 0x01;            /* inside the first rule's ids */
}

static void
edit_truncate(struct mamori_buf *b)
{
	edit_restore(b);
	b->len -= 10;
}

static void
edit_trailing(struct mamori_buf *b)
{
	edit_restore(b);
	assert_int_equal(mamori_buf_append(b, "x\n", 2), 0);
}

static void
edit_empty(struct mamori_buf *b)
{
	mamori_buf_reset(b);
}

static void
test_corrupt_file(void **unused)
{
	struct mamori_usbctl *ctl = NULL;
	struct tree t;
	char path[256];
	size_t aff;

	(void)unused;
	tree_new(&t, 1);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, NULL,
	    &aff, NULL, 0), 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 0, 0x0781, 0x5567,
	    "BBBB0002", &aff, NULL, 0), 0);
	mamori_usbctl_free(ctl);
	ctl = NULL;
	snprintf(path, sizeof(path), "%s/%s", t.state, MAMORI_USBCTL_FILE);
	mamori_buf_init(&saved, MAMORI_USBCTL_FILE_MAX);
	assert_int_equal(mamori_buf_read_file(&saved, path), 0);
	assert_int_equal(memcmp(saved.data, "mamori-usb-rules 1\nblock "
	    "0781:5567 -\nallow 0781:5567 4242424230303032\nsha256 ", 71), 0);
	expect_refused(&t, edit_flip);
	expect_refused(&t, edit_truncate);
	expect_refused(&t, edit_trailing);
	expect_refused(&t, edit_empty);
	/* Put back as it was, it opens again with both rules. */
	expect_refused(&t, edit_flip);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(saved.data, 1, saved.len, f),
		    saved.len);
		fclose(f);
	}
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567,
	    "AAAA0001"), 1);
	assert_int_equal(mamori_usbctl_is_blocked(ctl, 0x0781, 0x5567,
	    "BBBB0002"), 0);
	mamori_usbctl_free(ctl);
	mamori_buf_free(&saved);
	tree_free(&t);
}

/* Hand-made files with a correct checksum but a wrong body. */
static void
test_parse_strict(void **unused)
{
	static const char *const bodies[] = {
		"mamori-usb-rules 2\n",
		"mamori-usb-rules 1\nblock 0781:5567 -\nblock 0781:5567 -\n",
		"mamori-usb-rules 1\nblock 0781:5567  -\n",
		"mamori-usb-rules 1\nblock 0781:556 -\n",
		"mamori-usb-rules 1\nblock 0781:5567 4\n",
		"mamori-usb-rules 1\nblock 0781:5567 4G\n",
		"mamori-usb-rules 1\nblock 0781:5567 4A\n",
		"mamori-usb-rules 1\nblock 0781:5567 0041\n",  /* NUL */
		"mamori-usb-rules 1\nblock 0781:5567 09\n",    /* tab */
		"mamori-usb-rules 1\ndeny 0781:5567 -\n",
		"mamori-usb-rules 1\nBLOCK 0781:5567 -\n",
		"mamori-usb-rules 1\nblock 0781:5567 -\r\n",
		"mamori-usb-rules 1\nblock 0781:5567 -",
	};
	struct mamori_usb_rule *rules = (struct mamori_usb_rule *)bodies, r;
	struct mamori_buf b;
	uint8_t sum[32];
	char hex[65];
	size_t i, n = 5;
	char *text;
	size_t len;

	(void)unused;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		mamori_buf_init(&b, 4096);
		assert_int_equal(mamori_buf_append(&b, bodies[i],
		    strlen(bodies[i])), 0);
		mamori_sha256(b.data, b.len, sum);
		mamori_hex(sum, 32, hex);
		assert_int_equal(mamori_buf_append(&b, "sha256 ", 7), 0);
		assert_int_equal(mamori_buf_append(&b, hex, 64), 0);
		assert_int_equal(mamori_buf_append(&b, "\n", 1), 0);
		assert_int_equal(mamori_usbctl_parse(b.data, b.len, &rules,
		    &n), MAMORI_ERR_USB_RULES);
		assert_null(rules);
		assert_int_equal(n, 0);
		mamori_buf_free(&b);
	}
	/* Round trip of an odd but valid serial: spaces inside, UTF-8. */
	memset(&r, 0, sizeof(r));
	r.block = 1;
	r.vendor_id = 0xffff;
	memcpy(r.serial, "a b \xc3\xa9", 7);
	assert_int_equal(mamori_usbctl_format(&r, 1, &text, &len), 0);
	assert_int_equal(mamori_usbctl_parse((uint8_t *)text, len, &rules,
	    &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rules[0].serial, "a b \xc3\xa9");
	assert_int_equal(rules[0].vendor_id, 0xffff);
	assert_int_equal(rules[0].product_id, 0);
	free(rules);
	free(text);
	/* No rules at all is a valid file. */
	assert_int_equal(mamori_usbctl_format(NULL, 0, &text, &len), 0);
	assert_int_equal(mamori_usbctl_parse((uint8_t *)text, len, &rules,
	    &n), 0);
	assert_int_equal(n, 0);
	free(text);
}

/* ---- attach through the USB event source ------------------------------------ */

struct sink {
	Mamori__Event *ev[TEST_MAX_EVENTS];
	size_t n;
};

static int
sink_emit(void *arg, Mamori__Event *ev)
{
	struct sink *s = arg;

	if (s->n >= TEST_MAX_EVENTS) {
		mamori_event_free(ev);
		return MAMORI_ERR_TOO_LARGE;
	}
	s->ev[s->n++] = ev;
	return 0;
}

static void
test_attach_replay(void **unused)
{
	struct mamori_usbctl *ctl = NULL;
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	struct timeval tick = {0, 20 * 1000};
	struct sink s;
	struct tree t;
	void *state = NULL;
	size_t aff = 9, i;
	int waited = 0;

	(void)unused;
	/* The devices of the recording exist in sysfs but are not on the
	 * bus list yet: the block rule finds nothing to do now. */
	tree_new(&t, 0);
	device(&t, "1-1", "0781", "5567", "00", "4C530001160722117071", 0);
	device(&t, "1-2", "046d", "c31c", "00", NULL, 0);
	device(&t, "1-3", "05e3", "0608", "09", NULL, 0);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, NULL,
	    &aff, NULL, 0), 0);
	assert_int_equal(aff, 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x05e3, 0x0608, NULL,
	    &aff, NULL, 0), 0);
	assert_authorized(&t, "1-1", "1");

	memset(&s, 0, sizeof(s));
	memset(&opt, 0, sizeof(opt));
	opt.uevent_replay = RECORDING;
	base = event_base_new();
	assert_non_null(base);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.root = t.root;
	ctx.state_dir = t.state;
	ctx.opt = &opt;
	ctx.emit = sink_emit;
	ctx.sink = &s;
	ctx.usbctl = ctl;
	assert_int_equal(mamori_source_usb.start(&ctx, &state), 0);
	while (s.n < 6 && waited < TEST_WAIT_MS) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
		waited += 20;
	}
	mamori_source_usb.stop(state);
	event_base_free(base);

	assert_int_equal(s.n, 6);
	assert_int_equal(s.ev[0]->usb->action,
	    MAMORI__USB_EVENT__ACTION__ATTACHED);
	assert_string_equal(s.ev[0]->usb->bus_path, "1-1");
	assert_true(s.ev[0]->usb->blocked);
	assert_string_equal(s.ev[1]->usb->bus_path, "1-2");
	assert_false(s.ev[1]->usb->blocked);
	/* The hub is blocked by a rule, but hubs never are. */
	assert_string_equal(s.ev[2]->usb->bus_path, "1-3");
	assert_false(s.ev[2]->usb->blocked);
	for (i = 3; i < 6; i++) {
		assert_int_equal(s.ev[i]->usb->action,
		    MAMORI__USB_EVENT__ACTION__DETACHED);
		assert_false(s.ev[i]->usb->blocked);
	}
	assert_authorized(&t, "1-1", "0");
	assert_authorized(&t, "1-2", "1");
	assert_authorized(&t, "1-3", "1");
	for (i = 0; i < s.n; i++)
		mamori_event_free(s.ev[i]);
	mamori_usbctl_free(ctl);
	tree_free(&t);
}

static void
assert_file(const struct tree *t, const char *rel, const char *want)
{
	char path[512], v[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->sys, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(v, sizeof(v), f));
	fclose(f);
	v[strcspn(v, "\n")] = '\0';
	assert_string_equal(v, want);
}

/* Default-deny: root hubs told to leave new devices off; the agent
 * authorizes the allowed ones (hubs too) and leaves the blocked ones. */
static void
test_default_deny(void **unused)
{
	struct mamori_usbctl *ctl = NULL;
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	struct timeval tick = {0, 20 * 1000};
	char dir[512], mark[256];
	struct sink s;
	struct tree t;
	void *state = NULL;
	size_t aff = 9, i;
	int waited = 0;

	(void)unused;
	tree_new(&t, 0);
	snprintf(dir, sizeof(dir), "%s" HC, t.sys);
	put(dir, "authorized_default", "1");
	/* One present device that came while the agent was down (off), and
	 * the recording's devices, not yet on the bus, as the kernel leaves
	 * them in this mode: deauthorized. */
	device(&t, "1-4", "046d", "c31c", "00", NULL, 1);
	snprintf(dir, sizeof(dir), "%s" HC "/1-4", t.sys);
	put(dir, "authorized", "0");
	device(&t, "1-1", "0781", "5567", "00", "4C530001160722117071", 0);
	device(&t, "1-2", "046d", "c31c", "00", NULL, 0);
	device(&t, "1-3", "05e3", "0608", "09", NULL, 0);
	for (i = 1; i <= 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "/1-%zu", i);
		snprintf(dir, sizeof(dir), "%s" HC "%s", t.sys, name);
		put(dir, "authorized", "0");
	}
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	assert_int_equal(mamori_usbctl_default_deny_was_on(ctl), 0);
	assert_int_equal(mamori_usbctl_rule(ctl, 1, 0x0781, 0x5567, NULL,
	    NULL, NULL, 0), 0);
	assert_int_equal(mamori_usbctl_set_default_deny(ctl, 1, &aff), 0);
	assert_int_equal(aff, 1);               /* 1-4, allowed */
	assert_file(&t, "devices/pci0000:00/0000:00:14.0/usb1/"
	    "authorized_default", "0");
	assert_authorized(&t, "1-4", "1");
	snprintf(mark, sizeof(mark), "%s/%s", t.state,
	    MAMORI_USBCTL_DENY_MARK);
	assert_int_equal(access(mark, F_OK), 0);

	memset(&s, 0, sizeof(s));
	memset(&opt, 0, sizeof(opt));
	opt.uevent_replay = RECORDING;
	base = event_base_new();
	assert_non_null(base);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.root = t.root;
	ctx.opt = &opt;
	ctx.emit = sink_emit;
	ctx.sink = &s;
	ctx.usbctl = ctl;
	assert_int_equal(mamori_source_usb.start(&ctx, &state), 0);
	while (s.n < 6 && waited < TEST_WAIT_MS) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
		waited += 20;
	}
	mamori_source_usb.stop(state);
	event_base_free(base);
	assert_int_equal(s.n, 6);
	assert_true(s.ev[0]->usb->blocked);
	assert_false(s.ev[1]->usb->blocked);
	assert_false(s.ev[2]->usb->blocked);
	assert_authorized(&t, "1-1", "0");      /* blocked: never turned on */
	assert_authorized(&t, "1-2", "1");      /* allowed: authorized */
	assert_authorized(&t, "1-3", "1");      /* a hub: authorized */
	for (i = 0; i < s.n; i++)
		mamori_event_free(s.ev[i]);

	/* A later run sees the mode was on; turning it off writes the
	 * kernel's default back and forgets it. */
	mamori_usbctl_free(ctl);
	assert_int_equal(mamori_usbctl_open(t.state, t.sys, &ctl), 0);
	assert_int_equal(mamori_usbctl_default_deny_was_on(ctl), 1);
	assert_int_equal(mamori_usbctl_set_default_deny(ctl, 0, &aff), 0);
	assert_int_equal(aff, 0);
	assert_file(&t, "devices/pci0000:00/0000:00:14.0/usb1/"
	    "authorized_default", "1");
	assert_int_equal(mamori_usbctl_default_deny_was_on(ctl), 0);
	assert_authorized(&t, "1-1", "0");
	mamori_usbctl_free(ctl);
	tree_free(&t);
}

/* Without usbctl the source reports and writes nothing. */
static void
test_attach_without_control(void **unused)
{
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	struct timeval tick = {0, 20 * 1000};
	struct sink s;
	struct tree t;
	void *state = NULL;
	size_t i;
	int waited = 0;

	(void)unused;
	tree_new(&t, 0);
	device(&t, "1-1", "0781", "5567", "00", "4C530001160722117071", 0);
	memset(&s, 0, sizeof(s));
	memset(&opt, 0, sizeof(opt));
	opt.uevent_replay = RECORDING;
	base = event_base_new();
	assert_non_null(base);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.root = t.root;
	ctx.opt = &opt;
	ctx.emit = sink_emit;
	ctx.sink = &s;
	assert_int_equal(mamori_source_usb.start(&ctx, &state), 0);
	while (s.n < 6 && waited < TEST_WAIT_MS) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
		waited += 20;
	}
	mamori_source_usb.stop(state);
	event_base_free(base);
	assert_int_equal(s.n, 6);
	assert_false(s.ev[0]->usb->blocked);
	assert_authorized(&t, "1-1", "1");
	for (i = 0; i < s.n; i++)
		mamori_event_free(s.ev[i]);
	tree_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision),
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_block_allow_devices),
		cmocka_unit_test(test_hubs_never_blocked),
		cmocka_unit_test(test_task),
		cmocka_unit_test(test_corrupt_file),
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_attach_replay),
		cmocka_unit_test(test_attach_without_control),
		cmocka_unit_test(test_default_deny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
