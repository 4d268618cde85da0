/*
 * test_usb.c - the USB event source and its uevent parser.
 *
 * The source replays recordings made by hand in the kernel's own format
 * (FIXTURES/uevents, written by gen.py there) against a sysfs fixture
 * (FIXTURES/usb-sys), through the real event loop, and must yield exactly
 * the expected ATTACHED and DETACHED events; malformed messages cost a log
 * line each and nothing else.  The parser is also run over inline edge
 * cases.  Tests never open the live netlink socket.
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
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "events/event.h"
#include "events/source.h"
#include "events/uevent.h"

/* Exported by usb.c; the agent reaches it through its source table. */
extern const struct mamori_event_source mamori_source_usb;

#define USB_SYS FIXTURES "/usb-sys"
#define RECORDING(name) FIXTURES "/uevents/" name
#define TEST_MAX_EVENTS 64
#define TEST_WAIT_MS 3000
#define TEST_LOG_MAX (64 * 1024)

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
sink_free(struct sink *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		mamori_event_free(s->ev[i]);
	s->n = 0;
}

/* Captures stderr (the log) into a temporary file while a replay runs. */
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

/* Ends the capture; returns the text (malloc'ed). */
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
	fputs(text, stderr);            /* still visible in the test log */
	return text;
}

static size_t
count_substr(const char *s, const char *sub)
{
	size_t n = 0;

	while ((s = strstr(s, sub)) != NULL) {
		n++;
		s += strlen(sub);
	}
	return n;
}

/* Runs the USB source over a recording until want events came or the
 * bounded wait ends, then a little longer to catch any extra event. */
static void
replay(const char *recording, struct sink *s, size_t want)
{
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	struct timeval tick = {0, 20 * 1000};
	void *state = NULL;
	int waited = 0;

	memset(&opt, 0, sizeof(opt));
	opt.uevent_replay = recording;
	base = event_base_new();
	assert_non_null(base);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.root = USB_SYS;
	ctx.state_dir = "";
	ctx.opt = &opt;
	ctx.emit = sink_emit;
	ctx.sink = s;
	assert_int_equal(mamori_source_usb.start(&ctx, &state), 0);
	assert_non_null(state);
	while (s->n < want && waited < TEST_WAIT_MS) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
		waited += 20;
	}
	event_base_loopexit(base, &tick);
	event_base_dispatch(base);
	mamori_source_usb.stop(state);
	event_base_free(base);
}

static void
expect_usb(const Mamori__Event *ev, Mamori__UsbEvent__Action action,
    const char *bus, const char *vendor, const char *product_id,
    const char *serial, const char *cls, const char *manufacturer,
    const char *product)
{
	assert_int_equal(ev->body_case, MAMORI__EVENT__BODY_USB);
	assert_int_equal(ev->usb->action, action);
	assert_string_equal(ev->usb->bus_path, bus);
	assert_string_equal(ev->usb->vendor_id, vendor);
	assert_string_equal(ev->usb->product_id, product_id);
	assert_string_equal(ev->usb->serial, serial);
	assert_string_equal(ev->usb->device_class, cls);
	assert_string_equal(ev->usb->manufacturer, manufacturer);
	assert_string_equal(ev->usb->product, product);
	assert_true(ev->time_ns > 0);
}

#define ATT MAMORI__USB_EVENT__ACTION__ATTACHED
#define DET MAMORI__USB_EVENT__ACTION__DETACHED

static void
test_replay_devices(void **unused)
{
	struct sink s = {{0}, 0};

	(void)unused;
	replay(RECORDING("usb.bin"), &s, 6);
	assert_int_equal(s.n, 6);
	expect_usb(s.ev[0], ATT, "1-1", "0781", "5567",
	    "4C530001160722117071", "00", "SanDisk", "Cruzer Blade");
	expect_usb(s.ev[1], ATT, "1-2", "046d", "c31c", "", "00", "Logitech",
	    "USB Keyboard");
	expect_usb(s.ev[2], ATT, "1-3", "05e3", "0608", "", "09", "",
	    "USB2.0 Hub");
	/* Detach: sysfs is gone on a real host, the cache names the
	 * device (the serial is in no remove uevent). */
	expect_usb(s.ev[3], DET, "1-1", "0781", "5567",
	    "4C530001160722117071", "00", "SanDisk", "Cruzer Blade");
	expect_usb(s.ev[4], DET, "1-2", "046d", "c31c", "", "00", "Logitech",
	    "USB Keyboard");
	expect_usb(s.ev[5], DET, "1-3", "05e3", "0608", "", "09", "",
	    "USB2.0 Hub");
	sink_free(&s);
}

static void
test_replay_malformed(void **unused)
{
	struct sink s = {{0}, 0};
	struct capture c;
	char *log;

	(void)unused;
	capture_start(&c);
	replay(RECORDING("malformed.bin"), &s, 2);
	log = capture_end(&c);
	assert_int_equal(count_substr(log, "skipped a malformed uevent"), 5);
	free(log);
	assert_int_equal(s.n, 2);
	/* No PRODUCT in this add: the ids come from sysfs. */
	expect_usb(s.ev[0], ATT, "1-2", "046d", "c31c", "", "00", "Logitech",
	    "USB Keyboard");
	expect_usb(s.ev[1], DET, "1-2", "046d", "c31c", "", "00", "Logitech",
	    "USB Keyboard");
	sink_free(&s);
}

static void
test_replay_truncated(void **unused)
{
	struct sink s = {{0}, 0};
	struct capture c;
	char *log;

	(void)unused;
	capture_start(&c);
	replay(RECORDING("truncated.bin"), &s, 1);
	log = capture_end(&c);
	assert_non_null(strstr(log, "recording is damaged"));
	free(log);
	assert_int_equal(s.n, 1);
	expect_usb(s.ev[0], ATT, "1-1", "0781", "5567",
	    "4C530001160722117071", "00", "SanDisk", "Cruzer Blade");
	sink_free(&s);
}

static void
test_replay_missing_file(void **unused)
{
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	void *state = (void *)&opt;

	(void)unused;
	memset(&opt, 0, sizeof(opt));
	opt.uevent_replay = RECORDING("no-such-file.bin");
	base = event_base_new();
	assert_non_null(base);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.root = USB_SYS;
	ctx.opt = &opt;
	ctx.emit = sink_emit;
	assert_int_equal(mamori_source_usb.start(&ctx, &state),
	    MAMORI_ERR_NOT_FOUND);
	assert_null(state);
	event_base_free(base);
}

/* Builds a message from NUL-separated literal parts. */
static size_t
build(uint8_t *out, size_t cap, const char *const *parts)
{
	size_t n = 0, l;

	for (; *parts != NULL; parts++) {
		l = strlen(*parts) + 1;
		assert_true(n + l <= cap);
		memcpy(out + n, *parts, l);
		n += l;
	}
	return n;
}

static void
test_parse(void **unused)
{
	static const char *const good[] = {"add@/devices/x/1-1",
	    "ACTION=add", "DEVPATH=/devices/x/1-1", "SUBSYSTEM=usb",
	    "DEVTYPE=usb_device", "PRODUCT=46d/c31c/110", "TYPE=9/0/1",
	    "SEQNUM=42", "EMPTY=", NULL};
	static const char *const dup[] = {"add@/d/1", "ACTION=add",
	    "DEVPATH=/d/1", "SUBSYSTEM=usb", "SUBSYSTEM=block", NULL};
	static const char *const nosub[] = {"add@/d/1", "ACTION=add",
	    "DEVPATH=/d/1", NULL};
	static const char *const dots[] = {"add@/d/./1", "ACTION=add",
	    "DEVPATH=/d/./1", "SUBSYSTEM=usb", NULL};
	static const char *const nokey[] = {"add@/d/1", "ACTION=add",
	    "DEVPATH=/d/1", "SUBSYSTEM=usb", "=x", NULL};
	static const char *const ctl[] = {"add@/d/1", "ACTION=add",
	    "DEVPATH=/d/1", "SUBSYSTEM=us\tb", NULL};
	static const char *const badseq[] = {"add@/d/1", "ACTION=add",
	    "DEVPATH=/d/1", "SUBSYSTEM=usb", "SEQNUM=12x", NULL};
	uint8_t buf[MAMORI_UEVENT_MAX + 16];
	struct mamori_uevent u;
	char v[5], p[5], c[3];
	size_t n;

	(void)unused;
	n = build(buf, sizeof(buf), good);
	assert_int_equal(mamori_uevent_parse(buf, n, &u), 0);
	assert_string_equal(u.action, "add");
	assert_string_equal(u.devpath, "/devices/x/1-1");
	assert_string_equal(u.subsystem, "usb");
	assert_string_equal(u.devtype, "usb_device");
	assert_string_equal(u.product, "46d/c31c/110");
	assert_int_equal(u.seqnum, 42);
	assert_int_equal(mamori_uevent_parse(buf, n - 1, &u),
	    MAMORI_ERR_TRUNCATED);
	assert_int_equal(mamori_uevent_parse(buf, 0, &u),
	    MAMORI_ERR_TRUNCATED);
	n = build(buf, sizeof(buf), dup);
	assert_int_equal(mamori_uevent_parse(buf, n, &u),
	    MAMORI_ERR_BAD_MESSAGE);
	n = build(buf, sizeof(buf), nosub);
	assert_int_equal(mamori_uevent_parse(buf, n, &u),
	    MAMORI_ERR_BAD_MESSAGE);
	n = build(buf, sizeof(buf), dots);
	assert_int_equal(mamori_uevent_parse(buf, n, &u),
	    MAMORI_ERR_BAD_MESSAGE);
	n = build(buf, sizeof(buf), nokey);
	assert_int_equal(mamori_uevent_parse(buf, n, &u),
	    MAMORI_ERR_BAD_MESSAGE);
	n = build(buf, sizeof(buf), ctl);
	assert_int_equal(mamori_uevent_parse(buf, n, &u),
	    MAMORI_ERR_BAD_MESSAGE);
	n = build(buf, sizeof(buf), badseq);
	assert_int_equal(mamori_uevent_parse(buf, n, &u),
	    MAMORI_ERR_BAD_MESSAGE);
	memset(buf, 'A', sizeof(buf));
	buf[MAMORI_UEVENT_MAX] = '\0';
	assert_int_equal(mamori_uevent_parse(buf, MAMORI_UEVENT_MAX + 1, &u),
	    MAMORI_ERR_TOO_LARGE);

	assert_int_equal(mamori_uevent_product("46d/c31c/110", v, p), 0);
	assert_string_equal(v, "046d");
	assert_string_equal(p, "c31c");
	assert_int_equal(mamori_uevent_product("ABCD/1/0", v, p), 0);
	assert_string_equal(v, "abcd");
	assert_string_equal(p, "0001");
	assert_int_equal(mamori_uevent_product("12345/1/0", v, p),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_int_equal(mamori_uevent_product("1/2", v, p),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_int_equal(mamori_uevent_product("1//2", v, p),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_int_equal(mamori_uevent_product("g/1/2", v, p),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_int_equal(mamori_uevent_class("9/0/1", c), 0);
	assert_string_equal(c, "09");
	assert_int_equal(mamori_uevent_class("255/0/0", c), 0);
	assert_string_equal(c, "ff");
	assert_int_equal(mamori_uevent_class("256/0/0", c),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_int_equal(mamori_uevent_class("9", c), MAMORI_ERR_BAD_MESSAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_devices),
		cmocka_unit_test(test_replay_malformed),
		cmocka_unit_test(test_replay_truncated),
		cmocka_unit_test(test_replay_missing_file),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
