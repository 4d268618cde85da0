/*
 * usb.c - the USB event source: a device attached or detached.
 *
 * Live, it listens to the kernel's own uevents on a NETLINK_KOBJECT_UEVENT
 * socket (multicast group 1, not udev's group 2) and accepts only messages
 * sent by the kernel (sender port 0, credentials of uid 0).  For tests it
 * reads a recording instead (ctx->opt->uevent_replay): a file of messages
 * byte for byte as the kernel sends them, each preceded by a 4-byte
 * big-endian length, fed through the same code from the event loop.
 *
 * Only SUBSYSTEM=usb DEVTYPE=usb_device with ACTION add or remove counts;
 * interfaces and other actions are skipped.  On add the ids come from
 * PRODUCT (else sysfs idVendor/idProduct) and the strings from sysfs under
 * ctx->root + "/sys" + DEVPATH; they are cached by DEVPATH so the remove,
 * when sysfs is already gone, still names the device.  Manufacturer,
 * product and serial are chosen by the device, so a hostile one writes
 * them: they are data, checked for NUL, capped and made valid UTF-8.
 * When the agent gave it USB device control (ctx->usbctl), each attached
 * device is first put to mamori_usbctl_on_attach(), which deauthorizes a
 * blocked one; the ATTACHED event then says blocked = true.  This file
 * must never write to sysfs itself (usbctl.c alone writes "authorized"),
 * never run a program, and never block the loop: the socket is
 * non-blocking and each wake handles a bounded number of messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "parse.h"
#include "source.h"
#include "uevent.h"
#include "usbctl.h"

#define USB_UEVENT_GROUP 1u             /* the kernel's multicast group */
#define USB_RCVBUF (1024 * 1024)        /* socket buffer asked for */
#define USB_MSGS_PER_WAKE 64            /* messages handled per callback */
#define USB_CACHE_MAX 512               /* attached devices remembered */
#define USB_REPLAY_MAX (16 * 1024 * 1024) /* a recording file */
#define USB_PATH_MAX 4096               /* root + /sys + DEVPATH + attr */
#define USB_ATTR_MAX 512                /* one sysfs value kept */

/* What the add told us about a device, for its remove. */
struct usb_known {
	char *devpath;
	char vendor_id[5];
	char product_id[5];
	char device_class[3];
	char serial[USB_ATTR_MAX];
	char manufacturer[USB_ATTR_MAX];
	char product[USB_ATTR_MAX];
	int blocked;                    /* deauthorized on attach by usbctl */
};

struct usb_state {
	struct event_base *base;
	char *root;
	mamori_emit_fn emit;
	void *sink;
	struct mamori_usbctl *usbctl;   /* NULL: report only */
	int fd;                         /* live socket, -1 in replay */
	struct event *ev;               /* read event, or replay timer */
	struct mamori_buf replay;       /* the recording */
	size_t replay_off;
	struct usb_known cache[USB_CACHE_MAX];
	size_t n_cache;
	int warned_cache;
};

static void
usb_known_clear(struct usb_known *k)
{
	free(k->devpath);
	memset(k, 0, sizeof(*k));
}

static struct usb_known *
usb_cache_find(struct usb_state *st, const char *devpath)
{
	size_t i;

	for (i = 0; i < st->n_cache; i++)
		if (strcmp(st->cache[i].devpath, devpath) == 0)
			return &st->cache[i];
	return NULL;
}

static void
usb_cache_remove(struct usb_state *st, struct usb_known *k)
{
	size_t i = (size_t)(k - st->cache);

	usb_known_clear(k);
	memmove(&st->cache[i], &st->cache[i + 1],
	    (st->n_cache - i - 1) * sizeof(st->cache[0]));
	st->n_cache--;
	memset(&st->cache[st->n_cache], 0, sizeof(st->cache[0]));
}

/* Stores k (taking its devpath); when full the oldest entry goes. */
static void
usb_cache_put(struct usb_state *st, struct usb_known *k)
{
	struct usb_known *old;

	if ((old = usb_cache_find(st, k->devpath)) != NULL)
		usb_cache_remove(st, old);
	if (st->n_cache == USB_CACHE_MAX) {
		if (!st->warned_cache) {
			log_warn("usb: more than %d attached devices; the "
			    "oldest are forgotten (their detach names no ids)",
			    USB_CACHE_MAX);
			st->warned_cache = 1;
		}
		usb_cache_remove(st, &st->cache[0]);
	}
	st->cache[st->n_cache++] = *k;
	memset(k, 0, sizeof(*k));
}

/* Reads one sysfs attribute of the device into out ("" when missing). */
static void
usb_sysfs(const struct usb_state *st, const char *devpath, const char *attr,
    char *out, size_t outlen)
{
	char path[USB_PATH_MAX];

	out[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/sys%s/%s", st->root,
	    devpath, attr) >= sizeof(path))
		return;
	if (mamori_read_value(path, out, outlen) != 0)
		out[0] = '\0';
}

static int
usb_is_hex4(const char *s)
{
	uint64_t v;

	return strlen(s) == 4 && mamori_parse_hex(s, 4, 0xffff, &v) == 0;
}

/* Lowercases a hex id read from sysfs, which the kernel writes lowercase
 * already; a recording might not. */
static void
usb_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

/* The device's name on the bus ("1-1.2"): DEVPATH's last part. */
static const char *
usb_bus_name(const char *devpath)
{
	const char *bus = strrchr(devpath, '/');

	return bus != NULL ? bus + 1 : devpath;
}

static int
usb_emit(struct usb_state *st, Mamori__UsbEvent__Action action,
    const struct mamori_uevent *u, const struct usb_known *k)
{
	Mamori__Event *ev = NULL;
	Mamori__UsbEvent *e;
	const char *bus;
	int r = MAMORI_ERR_INTERNAL;

	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_USB)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	e = ev->usb;
	e->action = action;
	bus = usb_bus_name(u->devpath);
	if ((r = mamori_set_cstr(&e->bus_path, bus)) != 0 ||
	    (r = mamori_set_cstr(&e->vendor_id, k->vendor_id)) != 0 ||
	    (r = mamori_set_cstr(&e->product_id, k->product_id)) != 0 ||
	    (r = mamori_set_cstr(&e->device_class, k->device_class)) != 0 ||
	    (r = mamori_set_cstr(&e->serial, k->serial)) != 0 ||
	    (r = mamori_set_cstr(&e->manufacturer, k->manufacturer)) != 0 ||
	    (r = mamori_set_cstr(&e->product, k->product)) != 0)
		goto out;
	e->blocked = action == MAMORI__USB_EVENT__ACTION__ATTACHED &&
	    k->blocked ? 1 : 0;
	r = st->emit(st->sink, ev);
	ev = NULL;
	if (r != 0)
		log_warn("usb: event not spooled: %s", mamori_strerror(r));
out:
	mamori_event_free(ev);
	return r;
}

/* Fills ids and class from the uevent's own PRODUCT and TYPE. */
static void
usb_from_uevent(const struct mamori_uevent *u, struct usb_known *k)
{
	if (u->product[0] != '\0')
		(void)mamori_uevent_product(u->product, k->vendor_id,
		    k->product_id);
	if (u->type[0] != '\0')
		(void)mamori_uevent_class(u->type, k->device_class);
}

static void
usb_attached(struct usb_state *st, const struct mamori_uevent *u)
{
	struct usb_known k;
	char v[USB_ATTR_MAX];
	uint64_t c;
	int r;

	memset(&k, 0, sizeof(k));
	usb_from_uevent(u, &k);
	if (k.vendor_id[0] == '\0' || k.product_id[0] == '\0') {
		usb_sysfs(st, u->devpath, "idVendor", v, sizeof(v));
		if (usb_is_hex4(v))
			memcpy(k.vendor_id, v, 5);
		usb_sysfs(st, u->devpath, "idProduct", v, sizeof(v));
		if (usb_is_hex4(v))
			memcpy(k.product_id, v, 5);
		usb_lower(k.vendor_id);
		usb_lower(k.product_id);
	}
	usb_sysfs(st, u->devpath, "bDeviceClass", v, sizeof(v));
	if (strlen(v) == 2 && mamori_parse_hex(v, 2, 0xff, &c) == 0) {
		memcpy(k.device_class, v, 3);
		usb_lower(k.device_class);
	}
	usb_sysfs(st, u->devpath, "serial", k.serial, sizeof(k.serial));
	usb_sysfs(st, u->devpath, "manufacturer", k.manufacturer,
	    sizeof(k.manufacturer));
	usb_sysfs(st, u->devpath, "product", k.product, sizeof(k.product));
	if (st->usbctl != NULL && (r = mamori_usbctl_on_attach(st->usbctl,
	    u->devpath, &k.blocked)) != 0)
		log_warn("usb: the USB rules could not be checked for %s: %s",
		    usb_bus_name(u->devpath), mamori_strerror(r));
	(void)usb_emit(st, MAMORI__USB_EVENT__ACTION__ATTACHED, u, &k);
	if ((k.devpath = strdup(u->devpath)) == NULL) {
		log_warn("usb: out of memory; the detach of %s will name no "
		    "strings", u->devpath);
		return;
	}
	usb_cache_put(st, &k);
}

static void
usb_detached(struct usb_state *st, const struct mamori_uevent *u)
{
	struct usb_known *cached, k;

	if ((cached = usb_cache_find(st, u->devpath)) != NULL) {
		(void)usb_emit(st, MAMORI__USB_EVENT__ACTION__DETACHED, u,
		    cached);
		usb_cache_remove(st, cached);
		return;
	}
	memset(&k, 0, sizeof(k));
	usb_from_uevent(u, &k);
	(void)usb_emit(st, MAMORI__USB_EVENT__ACTION__DETACHED, u, &k);
}

/* One message as the kernel sent it. */
static void
usb_handle(struct usb_state *st, const uint8_t *msg, size_t len)
{
	struct mamori_uevent u;
	int r;

	if ((r = mamori_uevent_parse(msg, len, &u)) != 0) {
		log_warn("usb: skipped a malformed uevent of %zu bytes: %s",
		    len, mamori_strerror(r));
		return;
	}
	if (strcmp(u.subsystem, "usb") != 0 ||
	    strcmp(u.devtype, "usb_device") != 0)
		return;
	if (strcmp(u.action, "add") == 0)
		usb_attached(st, &u);
	else if (strcmp(u.action, "remove") == 0)
		usb_detached(st, &u);
}

/* Live: reads up to USB_MSGS_PER_WAKE datagrams from the kernel. */
static void
usb_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usb_state *st = arg;
	uint8_t buf[MAMORI_UEVENT_MAX];
	char control[CMSG_SPACE(sizeof(struct ucred))];
	struct sockaddr_nl sender;
	struct cmsghdr *cm;
	struct ucred *cred;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < USB_MSGS_PER_WAKE; i++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_name = &sender;
		mh.msg_namelen = sizeof(sender);
		mh.msg_control = control;
		mh.msg_controllen = sizeof(control);
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				log_warn("usb: the kernel dropped uevents (the "
				    "receive buffer overflowed); some attach "
				    "or detach events are lost");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("usb: reading uevents failed: %s",
				    strerror(errno));
			return;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			log_warn("usb: skipped a uevent longer than %d bytes",
			    MAMORI_UEVENT_MAX);
			continue;
		}
		/* Only the kernel itself: port 0 and root credentials. */
		cm = CMSG_FIRSTHDR(&mh);
		if (mh.msg_namelen < sizeof(sender) || sender.nl_pid != 0 ||
		    cm == NULL || cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_CREDENTIALS ||
		    cm->cmsg_len < CMSG_LEN(sizeof(struct ucred)))
			continue;
		cred = (struct ucred *)(void *)CMSG_DATA(cm);
		if (cred->uid != 0)
			continue;
		usb_handle(st, buf, (size_t)n);
	}
}

/* Replay: up to USB_MSGS_PER_WAKE recorded messages per turn of the loop. */
static void
usb_replay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usb_state *st = arg;
	struct mamori_cursor c;
	const uint8_t *msg;
	uint32_t len;
	size_t left;
	int i, r;

	(void)fd;
	(void)what;
	mamori_cursor_init(&c, st->replay.data + st->replay_off,
	    st->replay.len - st->replay_off);
	for (i = 0; i < USB_MSGS_PER_WAKE; i++) {
		if ((left = mamori_cursor_remaining(&c)) == 0)
			goto done;
		if ((r = mamori_cursor_u32(&c, &len)) != 0 ||
		    (r = len > MAMORI_UEVENT_MAX ? MAMORI_ERR_TOO_LARGE : 0) != 0 ||
		    (r = mamori_cursor_bytes(&c, len, &msg)) != 0) {
			log_warn("usb: the uevent recording is damaged at byte "
			    "%zu (%s); replay stopped", st->replay.len - left,
			    mamori_strerror(r));
			goto done;
		}
		usb_handle(st, msg, len);
	}
	st->replay_off = st->replay.len - mamori_cursor_remaining(&c);
	{
		struct timeval now = {0, 0};

		(void)evtimer_add(st->ev, &now);
	}
	return;
done:
	st->replay_off = st->replay.len;
	log_info("usb: uevent replay finished");
}

static void
usb_stop(void *state)
{
	struct usb_state *st = state;
	size_t i;

	if (st == NULL)
		return;
	if (st->ev != NULL)
		event_free(st->ev);
	if (st->fd >= 0)
		close(st->fd);
	for (i = 0; i < st->n_cache; i++)
		usb_known_clear(&st->cache[i]);
	mamori_buf_free(&st->replay);
	free(st->root);
	free(st);
}

static int
usb_open_socket(int *out)
{
	struct sockaddr_nl addr;
	int fd = -1, one = 1, size = USB_RCVBUF, r = MAMORI_ERR_INTERNAL;

	*out = -1;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_KOBJECT_UEVENT);
	if (fd < 0) {
		log_error("usb: cannot open the uevent socket: %s",
		    strerror(errno));
		r = errno == EPERM || errno == EACCES ? MAMORI_ERR_PERMISSION :
		    MAMORI_ERR_SYSTEM;
		goto out;
	}
	/* A bigger buffer rides out a hub full of devices plugged at once;
	 * FORCE needs CAP_NET_ADMIN, the plain one is the fallback. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
		log_error("usb: SO_PASSCRED: %s", strerror(errno));
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	memset(&addr, 0, sizeof(addr));
	addr.nl_family = AF_NETLINK;
	addr.nl_groups = USB_UEVENT_GROUP;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		log_error("usb: cannot bind the uevent socket: %s",
		    strerror(errno));
		r = errno == EPERM ? MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		goto out;
	}
	*out = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int
usb_start(const struct mamori_source_ctx *ctx, void **state)
{
	struct usb_state *st = NULL;
	const char *replay = ctx->opt != NULL ? ctx->opt->uevent_replay : NULL;
	int r = MAMORI_ERR_INTERNAL;

	*state = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	st->fd = -1;
	st->base = ctx->base;
	st->emit = ctx->emit;
	st->sink = ctx->sink;
	st->usbctl = ctx->usbctl;
	mamori_buf_init(&st->replay, USB_REPLAY_MAX);
	if ((st->root = strdup(ctx->root != NULL ? ctx->root : "")) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (replay != NULL && replay[0] != '\0') {
		struct timeval now = {0, 0};

		if ((r = mamori_buf_read_file(&st->replay, replay)) != 0) {
			log_error("usb: cannot read the uevent recording %s: %s",
			    replay, mamori_strerror(r));
			goto out;
		}
		if ((st->ev = evtimer_new(st->base, usb_replay_cb,
		    st)) == NULL || evtimer_add(st->ev, &now) != 0) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
	} else {
		if ((r = usb_open_socket(&st->fd)) != 0)
			goto out;
		if ((st->ev = event_new(st->base, st->fd, EV_READ | EV_PERSIST,
		    usb_read_cb, st)) == NULL || event_add(st->ev, NULL) != 0) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
	}
	*state = st;
	st = NULL;
	r = 0;
out:
	usb_stop(st);
	return r;
}

const struct mamori_event_source mamori_source_usb = {
	.name = "usb",
	.start = usb_start,
	.stop = usb_stop,
};
