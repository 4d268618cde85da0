/*
 * net.c - the network-interfaces collector: /sys/class/net for names, MAC,
 * MTU and state; getifaddrs() for addresses on a live host, or
 * /proc/net/if_inet6 (IPv6 only) under a fixture root.
 *
 * This file must never run ip or ifconfig, never open a socket, and never
 * change an interface.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define NET_CLASS_DIR "/sys/class/net"
#define MAMORI_IF_INET6_MAX (4 * 1024 * 1024)  /* bytes of /proc/net/if_inet6 */
#define IF_INET6_TOKENS 6     /* address ifindex prefix scope flags name */
#define IPV6_HEX_LEN 32
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN + 5)   /* address "/" prefix */
#define FLAGS_HEX_PREFIX "0x"

/* Appends "addr/prefix" to iface. */
static int
add_address(Mamori__NetInterface *iface, int family, const void *addr,
    unsigned prefix)
{
	char text[INET6_ADDRSTRLEN], entry[ADDR_TEXT_MAX];
	int n, r = MAMORI_ERR_INTERNAL;

	if (inet_ntop(family, addr, text, sizeof(text)) == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	n = snprintf(entry, sizeof(entry), "%s/%u", text, prefix);
	if (n < 0 || (size_t)n >= sizeof(entry)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	r = mamori_strv_append(&iface->addresses, &iface->n_addresses,
	    MAMORI_MAX_ADDRESSES, entry, (size_t)n);
out:
	return r;
}

/* Number of leading one bits of a netmask of len bytes. */
static unsigned
mask_prefix(const uint8_t *mask, size_t len)
{
	unsigned bits = 0;
	size_t i;
	uint8_t b;

	for (i = 0; i < len; i++) {
		for (b = mask[i]; b & 0x80; b = (uint8_t)(b << 1))
			bits++;
		if (mask[i] != 0xff)
			break;
	}
	return bits;
}

/* 1 when the getifaddrs name (maybe "eth0:1", an IPv4 label) is ifname. */
static int
ifa_name_is(const char *ifa_name, const char *ifname)
{
	size_t n = strlen(ifname);

	return strncmp(ifa_name, ifname, n) == 0 &&
	    (ifa_name[n] == '\0' || ifa_name[n] == ':');
}

static int
live_addresses(const struct ifaddrs *all, Mamori__NetInterface *iface)
{
	const struct ifaddrs *ifa;
	int r = MAMORI_ERR_INTERNAL;

	for (ifa = all; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_name == NULL ||
		    !ifa_name_is(ifa->ifa_name, iface->name))
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *a =
			    (const struct sockaddr_in *)(const void *)
			    ifa->ifa_addr;
			const struct sockaddr_in *m =
			    (const struct sockaddr_in *)(const void *)
			    ifa->ifa_netmask;

			r = add_address(iface, AF_INET, &a->sin_addr,
			    m != NULL ? mask_prefix((const uint8_t *)
			    &m->sin_addr, sizeof(m->sin_addr)) : 32);
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a =
			    (const struct sockaddr_in6 *)(const void *)
			    ifa->ifa_addr;
			const struct sockaddr_in6 *m =
			    (const struct sockaddr_in6 *)(const void *)
			    ifa->ifa_netmask;

			r = add_address(iface, AF_INET6, &a->sin6_addr,
			    m != NULL ? mask_prefix((const uint8_t *)
			    &m->sin6_addr, sizeof(m->sin6_addr)) : 128);
		} else {
			continue;
		}
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

/* IPv6 addresses of iface from /proc/net/if_inet6 (data, len). */
static int
if_inet6_addresses(const char *data, size_t len, Mamori__NetInterface *iface)
{
	struct mamori_token tok[IF_INET6_TOKENS];
	struct mamori_cursor c;
	uint8_t addr[16];
	uint64_t prefix, byte;
	const char *line;
	size_t line_len, i;
	int r = MAMORI_ERR_INTERNAL;

	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (mamori_split_ws(line, line_len, tok, IF_INET6_TOKENS) !=
		    IF_INET6_TOKENS || tok[0].len != IPV6_HEX_LEN ||
		    !mamori_tok_eq(tok[5].p, tok[5].len, iface->name) ||
		    mamori_parse_hex(tok[2].p, tok[2].len, 128, &prefix) != 0)
			continue;
		for (i = 0; i < sizeof(addr); i++) {
			if (mamori_parse_hex(tok[0].p + 2 * i, 2, UINT8_MAX,
			    &byte) != 0)
				break;
			addr[i] = (uint8_t)byte;
		}
		if (i != sizeof(addr))
			continue;
		if ((r = add_address(iface, AF_INET6, addr,
		    (unsigned)prefix)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

/* 1 when the interface is up by operstate or by IFF_UP in flags. */
static int
iface_up(const struct mamori_collect_ctx *ctx, const char *name)
{
	char path[MAMORI_COLLECT_PATH_MAX], v[MAMORI_COLLECT_ATTR_MAX];
	uint64_t flags;
	size_t plen = strlen(FLAGS_HEX_PREFIX);

	if (mamori_collect_pathf(ctx, path, sizeof(path),
	    NET_CLASS_DIR "/%s/operstate", name) == 0 &&
	    mamori_read_value(path, v, sizeof(v)) == 0 &&
	    strcmp(v, "up") == 0)
		return 1;
	if (mamori_collect_pathf(ctx, path, sizeof(path),
	    NET_CLASS_DIR "/%s/flags", name) == 0 &&
	    mamori_read_value(path, v, sizeof(v)) == 0 &&
	    strncmp(v, FLAGS_HEX_PREFIX, plen) == 0 &&
	    mamori_parse_hex(v + plen, strlen(v + plen), UINT64_MAX,
	    &flags) == 0)
		return (flags & IFF_UP) != 0;
	return 0;
}

static int
iface_one(const struct mamori_collect_ctx *ctx, const char *name,
    const struct ifaddrs *live, const struct mamori_buf *inet6,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	Mamori__NetInterface *iface = NULL;
	uint64_t mtu;
	int r = MAMORI_ERR_INTERNAL;

	if ((iface = mamori_msg_new(&mamori__net_interface__descriptor)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_set_cstr(&iface->name, name)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    NET_CLASS_DIR "/%s/address", name)) != 0 ||
	    (r = mamori_set_str_file(&iface->mac, path)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    NET_CLASS_DIR "/%s/mtu", name)) != 0)
		goto out;
	if (mamori_read_u64(path, UINT32_MAX, &mtu) == 0)
		iface->mtu = (uint32_t)mtu;
	iface->up = iface_up(ctx, name);
	if (live != NULL)
		r = live_addresses(live, iface);
	else if (inet6 != NULL)
		r = if_inet6_addresses((const char *)inet6->data, inet6->len,
		    iface);
	if (r != 0)
		goto out;
	if ((r = mamori_array_append(&inv->interfaces, &inv->n_interfaces,
	    MAMORI_MAX_INTERFACES, iface)) != 0)
		goto out;
	iface = NULL;
	r = 0;
out:
	mamori_msg_free(iface);
	return r;
}

int
mamori_collector_net(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	struct ifaddrs *live = NULL;
	struct mamori_buf inet6;
	int have_inet6 = 0;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&inet6, MAMORI_IF_INET6_MAX);
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "%s",
	    NET_CLASS_DIR)) != 0)
		goto out;
	if ((r = mamori_list_dir(path, MAMORI_MAX_INTERFACES, &names)) != 0)
		goto out;
	if (ctx->live) {
		if (getifaddrs(&live) != 0) {
			log_warn("net: getifaddrs failed; no addresses");
			live = NULL;
		}
	} else {
		if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
		    "/proc/net/if_inet6")) != 0)
			goto out;
		have_inet6 = mamori_collect_read(path, MAMORI_IF_INET6_MAX,
		    &inet6) == 0;
	}
	for (i = 0; i < names.n; i++)
		if ((r = iface_one(ctx, names.v[i], live,
		    have_inet6 ? &inet6 : NULL, inv)) != 0)
			goto out;
	r = 0;
out:
	if (live != NULL)
		freeifaddrs(live);
	mamori_buf_free(&inet6);
	mamori_names_free(&names);
	return r;
}
