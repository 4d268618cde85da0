/*
 * usb.c - the USB-devices collector: /sys/bus/usb/devices.
 *
 * Devices are the entries with an idVendor file; interfaces ("1-1:1.0")
 * are skipped.  Strings such as manufacturer and serial come from the
 * device itself, so a hostile device chooses them: they are stored as
 * checked data and nothing else.  A host without a USB bus has no such
 * directory, which is an empty list.  This file must never run lsusb and
 * never write "authorized" or anything else.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define USB_DEVICES_DIR "/sys/bus/usb/devices"

/* One-value files copied as they are into string fields. */
static const struct {
	const char *file;
	size_t offset;
} usb_attrs[] = {
	{"idProduct", offsetof(Mamori__UsbDevice, product_id)},
	{"manufacturer", offsetof(Mamori__UsbDevice, manufacturer)},
	{"product", offsetof(Mamori__UsbDevice, product)},
	{"serial", offsetof(Mamori__UsbDevice, serial)},
	{"bDeviceClass", offsetof(Mamori__UsbDevice, device_class)},
};

static int
usb_one(const struct mamori_collect_ctx *ctx, const char *name,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX], v[MAMORI_COLLECT_ATTR_MAX];
	Mamori__UsbDevice *dev = NULL;
	uint64_t authorized;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    USB_DEVICES_DIR "/%s/idVendor", name)) != 0)
		goto out;
	if (mamori_read_value(path, v, sizeof(v)) != 0) {
		r = 0;      /* not a device: a hub port, or gone */
		goto out;
	}
	if ((dev = mamori_msg_new(&mamori__usb_device__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_set_cstr(&dev->bus_path, name)) != 0 ||
	    (r = mamori_set_cstr(&dev->vendor_id, v)) != 0)
		goto out;
	for (i = 0; i < sizeof(usb_attrs) / sizeof(usb_attrs[0]); i++) {
		char **field = (char **)(void *)((char *)dev +
		    usb_attrs[i].offset);

		if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
		    USB_DEVICES_DIR "/%s/%s", name, usb_attrs[i].file)) != 0 ||
		    (r = mamori_set_str_file(field, path)) != 0)
			goto out;
	}
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    USB_DEVICES_DIR "/%s/authorized", name)) != 0)
		goto out;
	dev->authorized = mamori_read_u64(path, UINT64_MAX, &authorized) == 0 &&
	    authorized == 1;
	if ((r = mamori_array_append(&inv->usb_devices, &inv->n_usb_devices,
	    MAMORI_MAX_USB, dev)) != 0)
		goto out;
	dev = NULL;
	r = 0;
out:
	mamori_msg_free(dev);
	return r;
}

int
mamori_collector_usb(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "%s",
	    USB_DEVICES_DIR)) != 0)
		goto out;
	r = mamori_list_dir(path, MAMORI_COLLECT_DIR_MAX, &names);
	if (r == MAMORI_ERR_NOT_FOUND) {
		r = 0;      /* no USB bus on this machine */
		goto out;
	}
	if (r != 0)
		goto out;
	for (i = 0; i < names.n; i++) {
		if (strchr(names.v[i], ':') != NULL)
			continue;   /* an interface of a device */
		if ((r = usb_one(ctx, names.v[i], inv)) != 0)
			goto out;
	}
	r = 0;
out:
	mamori_names_free(&names);
	return r;
}
