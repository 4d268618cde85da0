/*
 * inventory.c - category table and generic diff (see inventory.h).  Items
 * come from agents: keys are built with explicit lengths and separators, and
 * nothing here trusts a count it did not take from protobuf-c itself.
 */
#include "inventory.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char *const k_name[] = {"name", NULL};
static const char *const k_name_arch[] = {"name", "arch", NULL};
static const char *const k_socket[] = {"protocol", "address", "port", NULL};
static const char *const k_usb[] = {"bus_path", NULL};

static const char *const c_os[] = {"pretty_name", "kernel_release", "arch",
    "hostname", "machine_id", NULL};
static const char *const c_hw[] = {"cpu_model", "cpu_logical",
    "memory_bytes", "vendor", "product", "serial", NULL};
static const char *const c_disk[] = {"name", "size_bytes", "model", "serial",
    "rotational", "removable", NULL};
static const char *const c_if[] = {"name", "mac", "addresses", "mtu", "up",
    NULL};
static const char *const c_pkg[] = {"name", "version", "source", "arch",
    "status", NULL};
static const char *const c_user[] = {"name", "uid", "gid", "home", "shell",
    NULL};
static const char *const c_group[] = {"name", "gid", "members", NULL};
static const char *const c_sock[] = {"protocol", "address", "port", "pid",
    "process", "executable", NULL};
static const char *const c_mod[] = {"name", "size", "used_by", "state", NULL};
static const char *const c_usb[] = {"bus_path", "vendor_id", "product_id",
    "manufacturer", "product", "serial", "device_class", "authorized", NULL};
static const char *const c_blk[] = {"name", "type", "size_bytes",
    "mountpoint", "fstype", "encrypted", "encryption", "parents", NULL};

static const struct mamori_inv_category categories[] = {
	{MAMORI_INV_OS, "os", "Operating system",
	    NULL, c_os, 1},
	{MAMORI_INV_HARDWARE, "hardware", "Hardware",
	    NULL, c_hw, 1},
	{MAMORI_INV_DISKS, "disks", "Disks",
	    k_name, c_disk, 0},
	{MAMORI_INV_BLOCK_DEVICES, "block_devices",
	    "Block devices and encryption", k_name, c_blk, 0},
	{MAMORI_INV_INTERFACES, "interfaces",
	    "Network interfaces", k_name, c_if, 0},
	{MAMORI_INV_LISTENING_SOCKETS,
	    "listening_sockets", "Listening sockets", k_socket, c_sock, 0},
	{MAMORI_INV_USERS, "users", "Users", k_name,
	    c_user, 0},
	{MAMORI_INV_GROUPS, "groups", "Groups", k_name,
	    c_group, 0},
	{MAMORI_INV_KERNEL_MODULES, "kernel_modules",
	    "Kernel modules", k_name, c_mod, 0},
	{MAMORI_INV_USB_DEVICES, "usb_devices",
	    "USB devices", k_usb, c_usb, 0},
	{MAMORI_INV_PACKAGES, "packages", "Packages",
	    k_name_arch, c_pkg, 0},
};

#define N_CATEGORIES (sizeof(categories) / sizeof(categories[0]))

const struct mamori_inv_category *
mamori_inv_categories(size_t *n)
{
	*n = N_CATEGORIES;
	return categories;
}

const struct mamori_inv_category *
mamori_inv_category_by_id(unsigned id)
{
	size_t i;

	for (i = 0; i < N_CATEGORIES; i++)
		if (categories[i].field_id == id)
			return &categories[i];
	return NULL;
}

const struct mamori_inv_category *
mamori_inv_category_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_CATEGORIES; i++)
		if (strcmp(categories[i].name, name) == 0)
			return &categories[i];
	return NULL;
}

const char *
mamori_inv_change_name(int kind)
{
	switch (kind) {
	case MAMORI_INV_ADDED:
		return "added";
	case MAMORI_INV_REMOVED:
		return "removed";
	case MAMORI_INV_CHANGED:
		return "changed";
	default:
		return "unknown";
	}
}

static const ProtobufCFieldDescriptor *
cat_field(const struct mamori_inv_category *cat)
{
	return protobuf_c_message_descriptor_get_field(
	    &mamori__inventory__descriptor, cat->field_id);
}

size_t
mamori_inv_items(const Mamori__Inventory *inv,
    const struct mamori_inv_category *cat, ProtobufCMessage ***items)
{
	const ProtobufCFieldDescriptor *f = cat_field(cat);
	const char *base = (const char *)inv;

	*items = NULL;
	if (inv == NULL || f == NULL)
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		*items = *(ProtobufCMessage ***)(uintptr_t)(base + f->offset);
		return *(const size_t *)(base + f->quantifier_offset);
	}
	/* Singular: hand out the address of the pointer field itself. */
	if (*(ProtobufCMessage *const *)(base + f->offset) == NULL)
		return 0;
	*items = (ProtobufCMessage **)(uintptr_t)(base + f->offset);
	return 1;
}

void
mamori_inv_set_items(Mamori__Inventory *dst,
    const struct mamori_inv_category *cat, ProtobufCMessage **items, size_t n)
{
	const ProtobufCFieldDescriptor *f = cat_field(cat);
	char *base = (char *)dst;

	if (f == NULL)
		return;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		*(ProtobufCMessage ***)(void *)(base + f->offset) = items;
		*(size_t *)(void *)(base + f->quantifier_offset) = n;
	} else {
		*(ProtobufCMessage **)(void *)(base + f->offset) =
		    n > 0 ? items[0] : NULL;
	}
}

/* Text of one scalar value at p of type f->type. */
static void
scalar_text(const ProtobufCFieldDescriptor *f, const void *p, char *out,
    size_t outlen)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		snprintf(out, outlen, "%s", s == NULL ? "" : s);
		break;
	}
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		snprintf(out, outlen, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		snprintf(out, outlen, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(out, outlen, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(out, outlen, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		snprintf(out, outlen, "%s",
		    *(const protobuf_c_boolean *)p ? "yes" : "no");
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		snprintf(out, outlen, "<%zu bytes>", b->len);
		break;
	}
	default:
		snprintf(out, outlen, "?");
		break;
	}
}

static size_t
scalar_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	default:
		return 4;
	}
}

int
mamori_inv_field_text(const ProtobufCMessage *item, const char *field,
    char *out, size_t outlen)
{
	const ProtobufCFieldDescriptor *f;
	const char *base = (const char *)item;

	if (outlen == 0)
		return MAMORI_ERR_INVALID;
	out[0] = '\0';
	f = protobuf_c_message_descriptor_get_field_by_name(item->descriptor,
	    field);
	if (f == NULL || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return MAMORI_ERR_NOT_FOUND;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)(base + f->quantifier_offset), i,
		    o = 0;
		const char *arr = *(const char *const *)(base + f->offset);

		for (i = 0; i < n && o + 1 < outlen; i++) {
			char cell[512];

			scalar_text(f, arr + i * scalar_size(f), cell,
			    sizeof(cell));
			o += (size_t)snprintf(out + o, outlen - o, "%s%s",
			    i > 0 ? "," : "", cell);
		}
		return 0;
	}
	scalar_text(f, base + f->offset, out, outlen);
	return 0;
}

int
mamori_inv_item_key(const ProtobufCMessage *item,
    const struct mamori_inv_category *cat, struct mamori_buf *key)
{
	const char *const *k;
	char text[MAMORI_INV_MAX_KEY + 1];
	int r;

	if (cat->key_fields == NULL)
		return mamori_buf_put_u8(key, 0);
	for (k = cat->key_fields; *k != NULL; k++) {
		if ((r = mamori_inv_field_text(item, *k, text,
		    sizeof(text))) != 0)
			return r;
		/* A truncated value would make distinct items one key. */
		if (strlen(text) >= MAMORI_INV_MAX_KEY)
			return MAMORI_ERR_TOO_LARGE;
		if ((r = mamori_buf_append(key, text, strlen(text) + 1)) != 0)
			return r;
	}
	return 0;
}

/* One item with its key, for sorting. */
struct keyed {
	const ProtobufCMessage *item;
	size_t key_off;
	size_t key_len;
	size_t order;
};

struct keyed_set {
	struct keyed *v;
	size_t n;
	struct mamori_buf keys;
};

static const uint8_t *sort_keys; /* qsort has no context argument */

static int
keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(sort_keys + x->key_off, sort_keys + y->key_off, n);

	if (c != 0)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
keyed_free(struct keyed_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	mamori_buf_free(&s->keys);
}

static int
keyed_build(const Mamori__Inventory *inv,
    const struct mamori_inv_category *cat, struct keyed_set *s)
{
	ProtobufCMessage **items;
	size_t n = mamori_inv_items(inv, cat, &items), i, w;
	int r;

	s->v = NULL;
	s->n = 0;
	mamori_buf_init(&s->keys, (size_t)256 * 1024 * 1024);
	if (n == 0)
		return 0;
	if ((s->v = calloc(n, sizeof(*s->v))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		s->v[i].item = items[i];
		s->v[i].key_off = s->keys.len;
		s->v[i].order = i;
		if ((r = mamori_inv_item_key(items[i], cat, &s->keys)) != 0) {
			keyed_free(s);
			return r;
		}
		s->v[i].key_len = s->keys.len - s->v[i].key_off;
	}
	sort_keys = s->keys.data;
	qsort(s->v, n, sizeof(*s->v), keyed_cmp);
	/* Keep the last of equal keys. */
	for (i = 0, w = 0; i < n; i++) {
		if (i + 1 < n && s->v[i].key_len == s->v[i + 1].key_len &&
		    memcmp(s->keys.data + s->v[i].key_off,
		    s->keys.data + s->v[i + 1].key_off, s->v[i].key_len) == 0)
			continue;
		s->v[w++] = s->v[i];
	}
	s->n = w;
	return 0;
}

static int
key_cmp2(const struct keyed_set *a, size_t i, const struct keyed_set *b,
    size_t j)
{
	const struct keyed *x = &a->v[i], *y = &b->v[j];
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(a->keys.data + x->key_off, b->keys.data + y->key_off,
	    n);

	if (c != 0)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static int
items_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = protobuf_c_message_get_packed_size(a);
	size_t nb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa, *pb;
	int eq;

	if (na != nb)
		return 0;
	if (na == 0)
		return 1;
	pa = malloc(na);
	pb = malloc(nb);
	if (pa == NULL || pb == NULL) {
		free(pa);
		free(pb);
		return 0;
	}
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	eq = memcmp(pa, pb, na) == 0;
	free(pa);
	free(pb);
	return eq;
}

int
mamori_inv_diff(const Mamori__Inventory *before,
    const Mamori__Inventory *after, const struct mamori_inv_category *cat,
    mamori_inv_change_fn fn, void *ctx)
{
	struct keyed_set a, b;
	size_t i = 0, j = 0;
	int r, c;

	if ((r = keyed_build(before, cat, &a)) != 0)
		return r;
	if ((r = keyed_build(after, cat, &b)) != 0) {
		keyed_free(&a);
		return r;
	}
	while (r == 0 && (i < a.n || j < b.n)) {
		if (i >= a.n)
			c = 1;
		else if (j >= b.n)
			c = -1;
		else
			c = key_cmp2(&a, i, &b, j);
		if (c < 0) {
			r = fn(ctx, cat, MAMORI_INV_REMOVED, a.v[i].item, NULL);
			i++;
		} else if (c > 0) {
			r = fn(ctx, cat, MAMORI_INV_ADDED, NULL, b.v[j].item);
			j++;
		} else {
			if (!items_equal(a.v[i].item, b.v[j].item))
				r = fn(ctx, cat, MAMORI_INV_CHANGED,
				    a.v[i].item, b.v[j].item);
			i++;
			j++;
		}
	}
	keyed_free(&a);
	keyed_free(&b);
	return r;
}

int
mamori_inv_apply(const Mamori__Inventory *cur,
    const Mamori__Inventory *upsert, const Mamori__Inventory *remove,
    const struct mamori_inv_category *cat, Mamori__Inventory *out,
    ProtobufCMessage ***array_out)
{
	struct keyed_set c, u, d;
	ProtobufCMessage **arr = NULL;
	size_t i = 0, j = 0, k = 0, n = 0;
	int r, cmp;

	*array_out = NULL;
	if ((r = keyed_build(cur, cat, &c)) != 0)
		return r;
	if ((r = keyed_build(upsert, cat, &u)) != 0) {
		keyed_free(&c);
		return r;
	}
	if ((r = keyed_build(remove, cat, &d)) != 0) {
		keyed_free(&c);
		keyed_free(&u);
		return r;
	}
	if ((arr = calloc(c.n + u.n + 1, sizeof(*arr))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* Merge current and upserts (upserts win), skipping removed keys. */
	while (i < c.n || j < u.n) {
		const struct keyed_set *src;
		size_t idx;

		if (i >= c.n)
			cmp = 1;
		else if (j >= u.n)
			cmp = -1;
		else
			cmp = key_cmp2(&c, i, &u, j);
		if (cmp < 0) {
			src = &c;
			idx = i++;
		} else {
			src = &u;
			idx = j++;
			if (cmp == 0)
				i++;
		}
		while (k < d.n && key_cmp2(&d, k, src, idx) < 0)
			k++;
		if (k < d.n && key_cmp2(&d, k, src, idx) == 0 && src == &c)
			continue; /* removed; an upsert of the key wins */
		arr[n++] = (ProtobufCMessage *)(uintptr_t)src->v[idx].item;
	}
	mamori_inv_set_items(out, cat, arr, n);
	*array_out = arr;
	arr = NULL;
	r = 0;
out:
	free(arr);
	keyed_free(&c);
	keyed_free(&u);
	keyed_free(&d);
	return r;
}
