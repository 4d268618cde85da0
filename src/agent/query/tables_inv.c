/*
 * tables_inv.c - the tables served from the agent's inventory collectors:
 * deb_packages, users, groups, kernel_modules, usb_devices,
 * interface_addresses, os_version, system_info, listening_ports.
 *
 * Each scan runs the one collector its table needs into a fresh Inventory
 * and turns the items into rows with osquery's column names; what the
 * collectors do not record is NULL (see the notes at each table).  Nothing
 * here reads the host itself except the DMI uuid for system_info; nothing
 * here may run a program or write anything.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors.h"
#include "err.h"
#include "parse.h"
#include "tables.h"

#define COLS(a) a, sizeof(a) / sizeof(a[0])
#define I MAMORI_QCOL_INT
#define T MAMORI_QCOL_TEXT

typedef int (*collector_fn)(const struct mamori_collect_ctx *,
    Mamori__Inventory *);

/* Runs fn into a new inventory (*out, freed with mamori_inventory_free). */
static int
inv_run(const struct mamori_qctx *q, collector_fn fn, Mamori__Inventory **out)
{
	Mamori__Inventory *inv;
	int r;

	*out = NULL;
	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = fn(q->collect, inv)) != 0 && r != MAMORI_ERR_NOT_FOUND) {
		mamori_inventory_free(inv);
		return r;
	}
	*out = inv;
	return 0;
}

/* ---- deb_packages ------------------------------------------------------- */

enum { DEB_NAME, DEB_VERSION, DEB_SOURCE, DEB_SIZE, DEB_ARCH, DEB_REVISION,
	DEB_STATUS, DEB_MAINTAINER, DEB_SECTION, DEB_PRIORITY, DEB_ADMINDIR };
static const struct mamori_qcol deb_cols[] = {
	{"name", T}, {"version", T}, {"source", T}, {"size", I}, {"arch", T},
	{"revision", T}, {"status", T}, {"maintainer", T}, {"section", T},
	{"priority", T}, {"admindir", T},
};

/* size, maintainer, section and priority are not kept by the collector:
 * NULL.  status is dpkg's status word ("installed"), not the triple. */
static int
gen_deb(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	const char *dash;
	size_t i;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_packages, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_packages && r == 0; i++) {
		const Mamori__Package *p = inv->packages[i];

		dash = strrchr(p->version, '-');
		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_text(out, DEB_NAME, p->name)) != 0 ||
		    (r = mamori_qrow_text(out, DEB_VERSION, p->version)) != 0 ||
		    (r = mamori_qrow_text(out, DEB_SOURCE,
		    strcmp(p->source, p->name) == 0 ? "" : p->source)) != 0 ||
		    (r = mamori_qrow_text(out, DEB_ARCH, p->arch)) != 0 ||
		    (r = mamori_qrow_text(out, DEB_REVISION,
		    dash != NULL ? dash + 1 : "")) != 0 ||
		    (r = mamori_qrow_text(out, DEB_STATUS, p->status)) != 0 ||
		    (r = mamori_qrow_text(out, DEB_ADMINDIR,
		    "/var/lib/dpkg")) != 0)
			break;
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_deb_packages = {
	"deb_packages", COLS(deb_cols), {-1, -1}, 0, gen_deb,
};

/* ---- users, groups ------------------------------------------------------ */

enum { U_UID, U_GID, U_UID_SIGNED, U_GID_SIGNED, U_USERNAME, U_DESCRIPTION,
	U_DIRECTORY, U_SHELL, U_UUID };
static const struct mamori_qcol user_cols[] = {
	{"uid", I}, {"gid", I}, {"uid_signed", I}, {"gid_signed", I},
	{"username", T}, {"description", T}, {"directory", T}, {"shell", T},
	{"uuid", T},
};

static int
gen_users(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	size_t i;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_users, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_users && r == 0; i++) {
		const Mamori__User *u = inv->users[i];

		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_int(out, U_UID, u->uid)) != 0 ||
		    (r = mamori_qrow_int(out, U_GID, u->gid)) != 0 ||
		    (r = mamori_qrow_int(out, U_UID_SIGNED,
		    (int32_t)u->uid)) != 0 ||
		    (r = mamori_qrow_int(out, U_GID_SIGNED,
		    (int32_t)u->gid)) != 0 ||
		    (r = mamori_qrow_text(out, U_USERNAME, u->name)) != 0 ||
		    (r = mamori_qrow_text(out, U_DESCRIPTION, u->gecos)) != 0 ||
		    (r = mamori_qrow_text(out, U_DIRECTORY, u->home)) != 0 ||
		    (r = mamori_qrow_text(out, U_SHELL, u->shell)) != 0 ||
		    (r = mamori_qrow_text(out, U_UUID, "")) != 0)
			break;
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_users = {
	"users", COLS(user_cols), {-1, -1}, 0, gen_users,
};

enum { G_GID, G_GID_SIGNED, G_GROUPNAME };
static const struct mamori_qcol group_cols[] = {
	{"gid", I}, {"gid_signed", I}, {"groupname", T},
};

static int
gen_groups(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	size_t i;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_groups, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_groups && r == 0; i++) {
		const Mamori__Group *g = inv->groups[i];

		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_int(out, G_GID, g->gid)) != 0 ||
		    (r = mamori_qrow_int(out, G_GID_SIGNED,
		    (int32_t)g->gid)) != 0 ||
		    (r = mamori_qrow_text(out, G_GROUPNAME, g->name)) != 0)
			break;
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_groups = {
	"groups", COLS(group_cols), {-1, -1}, 0, gen_groups,
};

/* ---- kernel_modules ----------------------------------------------------- */

enum { KM_NAME, KM_SIZE, KM_USED_BY, KM_STATUS, KM_ADDRESS };
static const struct mamori_qcol km_cols[] = {
	{"name", T}, {"size", I}, {"used_by", T}, {"status", T},
	{"address", T},
};

/* address is not kept by the collector: NULL. */
static int
gen_modules(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	size_t i;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_modules, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_kernel_modules && r == 0; i++) {
		const Mamori__KernelModule *m = inv->kernel_modules[i];

		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_text(out, KM_NAME, m->name)) != 0 ||
		    (r = mamori_qrow_int(out, KM_SIZE,
		    (int64_t)m->size)) != 0 ||
		    (r = mamori_qrow_text(out, KM_USED_BY, m->used_by)) != 0 ||
		    (r = mamori_qrow_text(out, KM_STATUS, m->state)) != 0)
			break;
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_kernel_modules = {
	"kernel_modules", COLS(km_cols), {-1, -1}, 0, gen_modules,
};

/* ---- usb_devices -------------------------------------------------------- */

enum { USB_ADDRESS, USB_PORT, USB_VENDOR, USB_VENDOR_ID, USB_VERSION,
	USB_MODEL, USB_MODEL_ID, USB_SERIAL, USB_CLASS, USB_SUBCLASS,
	USB_PROTOCOL, USB_REMOVABLE };
static const struct mamori_qcol usb_cols[] = {
	{"usb_address", I}, {"usb_port", I}, {"vendor", T}, {"vendor_id", T},
	{"version", T}, {"model", T}, {"model_id", T}, {"serial", T},
	{"class", T}, {"subclass", T}, {"protocol", T}, {"removable", I},
};

/* usb_address is the bus number and usb_port the last port on the path
 * (sysfs name "1-1.2": bus 1, port 2; a root hub "usb1": bus 1, port 0).
 * version, subclass, protocol are NULL, removable -1 (unknown). */
static int
gen_usb(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	uint64_t bus, port;
	const char *p, *dash, *last;
	size_t i;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_usb, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_usb_devices && r == 0; i++) {
		const Mamori__UsbDevice *d = inv->usb_devices[i];

		p = d->bus_path;
		bus = port = 0;
		if (strncmp(p, "usb", 3) == 0)
			(void)mamori_parse_dec(p + 3, strlen(p + 3), 65535,
			    &bus);
		else if ((dash = strchr(p, '-')) != NULL) {
			(void)mamori_parse_dec(p, (size_t)(dash - p), 65535,
			    &bus);
			last = strrchr(dash, '.');
			last = last != NULL ? last + 1 : dash + 1;
			(void)mamori_parse_dec(last, strlen(last), 65535,
			    &port);
		}
		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_int(out, USB_ADDRESS,
		    (int64_t)bus)) != 0 ||
		    (r = mamori_qrow_int(out, USB_PORT, (int64_t)port)) != 0 ||
		    (r = mamori_qrow_text(out, USB_VENDOR,
		    d->manufacturer)) != 0 ||
		    (r = mamori_qrow_text(out, USB_VENDOR_ID,
		    d->vendor_id)) != 0 ||
		    (r = mamori_qrow_text(out, USB_MODEL, d->product)) != 0 ||
		    (r = mamori_qrow_text(out, USB_MODEL_ID,
		    d->product_id)) != 0 ||
		    (r = mamori_qrow_text(out, USB_SERIAL, d->serial)) != 0 ||
		    (r = mamori_qrow_text(out, USB_CLASS,
		    d->device_class)) != 0 ||
		    (r = mamori_qrow_int(out, USB_REMOVABLE, -1)) != 0)
			break;
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_usb_devices = {
	"usb_devices", COLS(usb_cols), {-1, -1}, 0, gen_usb,
};

/* ---- interface_addresses ------------------------------------------------ */

enum { IA_INTERFACE, IA_ADDRESS, IA_MASK, IA_BROADCAST, IA_P2P, IA_TYPE };
static const struct mamori_qcol ia_cols[] = {
	{"interface", T}, {"address", T}, {"mask", T}, {"broadcast", T},
	{"point_to_point", T}, {"type", T},
};

/* The netmask for a prefix length, as text; "" when it makes no sense. */
static void
prefix_mask(int v6, uint64_t prefix, char *out, size_t outlen)
{
	unsigned char b[16];
	size_t i, n = v6 ? 16 : 4;

	out[0] = '\0';
	if (prefix > n * 8)
		return;
	memset(b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		if (prefix >= 8) {
			b[i] = 0xff;
			prefix -= 8;
		} else {
			b[i] = (unsigned char)(0xff << (8 - prefix));
			prefix = 0;
		}
	}
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, b, out, (socklen_t)outlen) ==
	    NULL)
		out[0] = '\0';
}

/* broadcast, point_to_point and type are not kept by the collector:
 * NULL. */
static int
gen_addresses(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	char mask[INET6_ADDRSTRLEN];
	const char *a, *slash;
	uint64_t prefix;
	size_t i, j;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_net, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_interfaces && r == 0; i++) {
		const Mamori__NetInterface *nif = inv->interfaces[i];

		for (j = 0; j < nif->n_addresses && r == 0; j++) {
			a = nif->addresses[j];
			slash = strchr(a, '/');
			mask[0] = '\0';
			if (slash != NULL && mamori_parse_dec(slash + 1,
			    strlen(slash + 1), 128, &prefix) == 0)
				prefix_mask(memchr(a, ':', (size_t)(slash - a))
				    != NULL, prefix, mask, sizeof(mask));
			if ((r = mamori_qrow_add(out)) != 0 ||
			    (r = mamori_qrow_text(out, IA_INTERFACE,
			    nif->name)) != 0 ||
			    (r = mamori_qrow_textn(out, IA_ADDRESS, a,
			    slash != NULL ? (size_t)(slash - a) :
			    strlen(a))) != 0 ||
			    (r = mamori_qrow_text(out, IA_MASK, mask)) != 0)
				break;
		}
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_interface_addresses = {
	"interface_addresses", COLS(ia_cols), {-1, -1}, 0, gen_addresses,
};

/* ---- os_version --------------------------------------------------------- */

enum { OS_NAME, OS_VERSION, OS_MAJOR, OS_MINOR, OS_PATCH, OS_BUILD,
	OS_PLATFORM, OS_PLATFORM_LIKE, OS_CODENAME, OS_ARCH };
static const struct mamori_qcol os_cols[] = {
	{"name", T}, {"version", T}, {"major", I}, {"minor", I}, {"patch", I},
	{"build", T}, {"platform", T}, {"platform_like", T}, {"codename", T},
	{"arch", T},
};

/* major/minor/patch from VERSION_ID ("12", "22.04"); codename from the
 * parenthesis of VERSION ("12 (bookworm)"); build and platform_like are
 * not kept by the collector: NULL. */
static int
gen_os(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	const Mamori__OsInfo *os;
	uint64_t part[3] = {0, 0, 0};
	const char *p, *dot, *open, *close;
	size_t k;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_os, &inv)) != 0)
		return r;
	if ((os = inv->os) == NULL)
		goto out;
	p = os->version_id;
	for (k = 0; k < 3 && *p != '\0'; k++) {
		dot = strchr(p, '.');
		if (mamori_parse_dec(p, dot != NULL ? (size_t)(dot - p) :
		    strlen(p), UINT32_MAX, &part[k]) != 0)
			break;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	open = strchr(os->version, '(');
	close = open != NULL ? strchr(open, ')') : NULL;
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_text(out, OS_NAME, os->name)) != 0 ||
	    (r = mamori_qrow_text(out, OS_VERSION, os->version)) != 0 ||
	    (r = mamori_qrow_int(out, OS_MAJOR, (int64_t)part[0])) != 0 ||
	    (r = mamori_qrow_int(out, OS_MINOR, (int64_t)part[1])) != 0 ||
	    (r = mamori_qrow_int(out, OS_PATCH, (int64_t)part[2])) != 0 ||
	    (r = mamori_qrow_text(out, OS_PLATFORM, os->id)) != 0 ||
	    (r = mamori_qrow_textn(out, OS_CODENAME, open != NULL &&
	    close != NULL ? open + 1 : "", open != NULL && close != NULL ?
	    (size_t)(close - open - 1) : 0)) != 0 ||
	    (r = mamori_qrow_text(out, OS_ARCH, os->arch)) != 0)
		goto out;
out:
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_os_version = {
	"os_version", COLS(os_cols), {-1, -1}, 0, gen_os,
};

/* ---- system_info -------------------------------------------------------- */

enum { SI_HOSTNAME, SI_UUID, SI_CPU_TYPE, SI_CPU_BRAND, SI_CPU_PHYSICAL,
	SI_CPU_LOGICAL, SI_CPU_SOCKETS, SI_MEMORY, SI_HW_VENDOR, SI_HW_MODEL,
	SI_HW_VERSION, SI_HW_SERIAL, SI_BOARD_VENDOR, SI_BOARD_MODEL,
	SI_BOARD_SERIAL, SI_COMPUTER_NAME, SI_LOCAL_HOSTNAME };
static const struct mamori_qcol si_cols[] = {
	{"hostname", T}, {"uuid", T}, {"cpu_type", T}, {"cpu_brand", T},
	{"cpu_physical_cores", I}, {"cpu_logical_cores", I},
	{"cpu_sockets", I}, {"physical_memory", I}, {"hardware_vendor", T},
	{"hardware_model", T}, {"hardware_version", T},
	{"hardware_serial", T}, {"board_vendor", T}, {"board_model", T},
	{"board_serial", T}, {"computer_name", T}, {"local_hostname", T},
};

static int
collect_os_hw(const struct mamori_collect_ctx *ctx, Mamori__Inventory *inv)
{
	int r;

	if ((r = mamori_collector_os(ctx, inv)) != 0 &&
	    r != MAMORI_ERR_NOT_FOUND)
		return r;
	return mamori_collector_hardware(ctx, inv);
}

/* uuid is DMI's product_uuid (readable by root only); cpu_sockets,
 * hardware_version and board_serial are NULL. */
static int
gen_system(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	const Mamori__OsInfo *os;
	const Mamori__Hardware *hw;
	char path[MAMORI_COLLECT_PATH_MAX], uuid[64];
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, collect_os_hw, &inv)) != 0)
		return r;
	os = inv->os;
	hw = inv->hardware;
	uuid[0] = '\0';
	if (mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/sys/class/dmi/id/product_uuid") != 0 ||
	    mamori_read_value(path, uuid, sizeof(uuid)) != 0)
		uuid[0] = '\0';
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_text(out, SI_UUID, uuid)) != 0)
		goto out;
	if (os != NULL && ((r = mamori_qrow_text(out, SI_HOSTNAME,
	    os->hostname)) != 0 ||
	    (r = mamori_qrow_text(out, SI_CPU_TYPE, os->arch)) != 0 ||
	    (r = mamori_qrow_text(out, SI_COMPUTER_NAME, os->hostname)) != 0 ||
	    (r = mamori_qrow_text(out, SI_LOCAL_HOSTNAME, os->hostname)) != 0))
		goto out;
	if (hw != NULL && ((r = mamori_qrow_text(out, SI_CPU_BRAND,
	    hw->cpu_model)) != 0 ||
	    (r = mamori_qrow_int(out, SI_CPU_PHYSICAL, hw->cpu_physical)) != 0 ||
	    (r = mamori_qrow_int(out, SI_CPU_LOGICAL, hw->cpu_logical)) != 0 ||
	    (r = mamori_qrow_int(out, SI_MEMORY,
	    (int64_t)hw->memory_bytes)) != 0 ||
	    (r = mamori_qrow_text(out, SI_HW_VENDOR, hw->vendor)) != 0 ||
	    (r = mamori_qrow_text(out, SI_HW_MODEL, hw->product)) != 0 ||
	    (r = mamori_qrow_text(out, SI_HW_SERIAL, hw->serial)) != 0 ||
	    (r = mamori_qrow_text(out, SI_BOARD_VENDOR,
	    hw->board_vendor)) != 0 ||
	    (r = mamori_qrow_text(out, SI_BOARD_MODEL, hw->board_name)) != 0))
		goto out;
out:
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_system_info = {
	"system_info", COLS(si_cols), {-1, -1}, 0, gen_system,
};

/* ---- listening_ports ---------------------------------------------------- */

enum { LP_PID, LP_PORT, LP_PROTOCOL, LP_FAMILY, LP_ADDRESS, LP_FD,
	LP_SOCKET, LP_PATH, LP_NET_NAMESPACE };
static const struct mamori_qcol lp_cols[] = {
	{"pid", I}, {"port", I}, {"protocol", I}, {"family", I},
	{"address", T}, {"fd", I}, {"socket", I}, {"path", T},
	{"net_namespace", T},
};

/* pid is -1 when no owner was found; fd is -1 (the collector keeps the
 * owner, not the descriptor); path is "" (inet sockets only). */
static int
gen_listening(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	Mamori__Inventory *inv;
	size_t i;
	int r;

	(void)key;
	(void)value;
	if ((r = inv_run(q, mamori_collector_sockets, &inv)) != 0)
		return r;
	for (i = 0; i < inv->n_listening_sockets && r == 0; i++) {
		const Mamori__ListeningSocket *s = inv->listening_sockets[i];

		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_int(out, LP_PID, s->pid == 0 ? -1 :
		    (int64_t)s->pid)) != 0 ||
		    (r = mamori_qrow_int(out, LP_PORT, s->port)) != 0 ||
		    (r = mamori_qrow_int(out, LP_PROTOCOL,
		    s->protocol[0] == 't' ? 6 : 17)) != 0 ||
		    (r = mamori_qrow_int(out, LP_FAMILY,
		    strchr(s->protocol, '6') != NULL ? 10 : 2)) != 0 ||
		    (r = mamori_qrow_text(out, LP_ADDRESS, s->address)) != 0 ||
		    (r = mamori_qrow_int(out, LP_FD, -1)) != 0 ||
		    (r = mamori_qrow_int(out, LP_SOCKET,
		    (int64_t)s->inode)) != 0 ||
		    (r = mamori_qrow_text(out, LP_PATH, "")) != 0 ||
		    (r = mamori_qrow_text(out, LP_NET_NAMESPACE, "")) != 0)
			break;
	}
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_listening_ports = {
	"listening_ports", COLS(lp_cols), {-1, -1}, 0, gen_listening,
};
