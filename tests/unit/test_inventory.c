/*
 * test_inventory.c - unit tests for the inventory categories, diff and
 * apply (src/common/inventory.c).
 *
 * The category table is checked against the mamori.Inventory descriptor by
 * reflection: every field id exists and is a message field of the right
 * arity, and every key and column names a field of the item message - so a
 * schema change that breaks the table fails here, not in production.  Diffs
 * must report exactly the items added, removed and changed, in key order,
 * for lists and for the singular os; apply must produce the expected set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "inventory.h"
#include "util.h"

static void
test_categories_table(void **state)
{
	const struct mamori_inv_category *cats;
	const ProtobufCMessageDescriptor *inv = &mamori__inventory__descriptor;
	size_t n, i, j, message_fields = 0;

	(void)state;
	cats = mamori_inv_categories(&n);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		const struct mamori_inv_category *c = &cats[i];
		const ProtobufCFieldDescriptor *f;
		const ProtobufCMessageDescriptor *item;
		const char *const *k;

		f = protobuf_c_message_descriptor_get_field(inv, c->field_id);
		if (f == NULL)
			fail_msg("category %s: no field %u", c->name,
			    c->field_id);
		/* The CLI/JSON name is the schema's field name. */
		assert_string_equal(f->name, c->name);
		assert_int_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
		assert_int_equal(c->singular,
		    f->label != PROTOBUF_C_LABEL_REPEATED);
		assert_int_equal(c->singular, c->key_fields == NULL);
		assert_non_null(c->title);
		item = f->descriptor;
		assert_non_null(item);

		for (k = c->key_fields; k != NULL && *k != NULL; k++) {
			const ProtobufCFieldDescriptor *kf =
			    protobuf_c_message_descriptor_get_field_by_name(
			    item, *k);

			if (kf == NULL)
				fail_msg("%s: key %s not in %s", c->name, *k,
				    item->name);
			/* Keys are single scalars. */
			assert_int_not_equal(kf->label,
			    PROTOBUF_C_LABEL_REPEATED);
			assert_int_not_equal(kf->type, PROTOBUF_C_TYPE_MESSAGE);
			assert_int_not_equal(kf->type, PROTOBUF_C_TYPE_BYTES);
		}
		assert_non_null(c->columns);
		assert_non_null(c->columns[0]);
		for (k = c->columns; *k != NULL; k++) {
			const ProtobufCFieldDescriptor *cf =
			    protobuf_c_message_descriptor_get_field_by_name(
			    item, *k);

			if (cf == NULL)
				fail_msg("%s: column %s not in %s", c->name,
				    *k, item->name);
			assert_int_not_equal(cf->type, PROTOBUF_C_TYPE_MESSAGE);
		}

		/* Lookups agree with the table; no duplicates. */
		assert_ptr_equal(mamori_inv_category_by_id(c->field_id), c);
		assert_true(c->field_id < MAMORI_INV_CODE_LIMIT);
		assert_ptr_equal(mamori_inv_category_by_name(c->name), c);
		for (j = 0; j < i; j++) {
			assert_int_not_equal(cats[j].field_id, c->field_id);
			assert_string_not_equal(cats[j].name, c->name);
		}
	}
	/* Every message field of Inventory is a category. */
	for (i = 0; i < inv->n_fields; i++)
		if (inv->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
			message_fields++;
			assert_non_null(mamori_inv_category_by_id(
			    inv->fields[i].id));
		}
	assert_int_equal(message_fields, n);
	assert_null(mamori_inv_category_by_id(1));
	assert_null(mamori_inv_category_by_id(99));
	assert_null(mamori_inv_category_by_name("nope"));
	assert_string_equal(mamori_inv_change_name(MAMORI_INV_ADDED), "added");
	assert_string_equal(mamori_inv_change_name(MAMORI_INV_REMOVED),
	    "removed");
	assert_string_equal(mamori_inv_change_name(MAMORI_INV_CHANGED),
	    "changed");
	assert_string_equal(mamori_inv_change_name(0), "unknown");
}

static void
test_field_text(void **state)
{
	Mamori__NetInterface nif = MAMORI__NET_INTERFACE__INIT;
	Mamori__Group grp = MAMORI__GROUP__INIT;
	Mamori__Disk disk = MAMORI__DISK__INIT;
	char *addrs[] = {"192.0.2.1/24", "fe80::1/64", "2001:db8::1/64"};
	char *members[] = {"alice"};
	char out[64], small[10];

	(void)state;
	nif.name = "eth0";
	nif.mtu = 1500;
	nif.up = 1;
	nif.n_addresses = 3;
	nif.addresses = addrs;
	assert_int_equal(mamori_inv_field_text(&nif.base, "addresses", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.1/24,fe80::1/64,2001:db8::1/64");
	assert_int_equal(mamori_inv_field_text(&nif.base, "name", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "eth0");
	assert_int_equal(mamori_inv_field_text(&nif.base, "mtu", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "1500");
	assert_int_equal(mamori_inv_field_text(&nif.base, "up", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "yes");
	assert_int_equal(mamori_inv_field_text(&nif.base, "mac", out,
	    sizeof(out)), 0);
	assert_string_equal(out, ""); /* default empty string */
	assert_int_equal(mamori_inv_field_text(&nif.base, "nope", out,
	    sizeof(out)), MAMORI_ERR_NOT_FOUND);
	assert_string_equal(out, "");
	assert_int_equal(mamori_inv_field_text(&nif.base, "name", out, 0),
	    MAMORI_ERR_INVALID);

	/* Truncated, never overrun, always terminated. */
	memset(small, 'Z', sizeof(small));
	assert_int_equal(mamori_inv_field_text(&nif.base, "addresses", small,
	    sizeof(small)), 0);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "192.0.2.1", 9);

	/* One item, none. */
	grp.name = "sudo";
	grp.gid = 27;
	grp.n_members = 1;
	grp.members = members;
	assert_int_equal(mamori_inv_field_text(&grp.base, "members", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "alice");
	grp.n_members = 0;
	grp.members = NULL;
	assert_int_equal(mamori_inv_field_text(&grp.base, "members", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");

	disk.size_bytes = 18446744073709551615ULL;
	disk.rotational = 0;
	assert_int_equal(mamori_inv_field_text(&disk.base, "size_bytes", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "18446744073709551615");
	assert_int_equal(mamori_inv_field_text(&disk.base, "rotational", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "no");
}

/* ---- fixtures: inventories of packages ------------------------------- */

#define MAX_ITEMS 16

struct pkgs {
	Mamori__Inventory inv;
	Mamori__Package p[MAX_ITEMS];
	Mamori__Package *ptr[MAX_ITEMS];
	Mamori__OsInfo os;
};

/* spec: "name:arch=version name:arch=version ..."; strings are strdup'ed
 * (free_pkgs frees them). */
static void
make_pkgs(struct pkgs *s, const char *spec)
{
	const char *p = spec;
	size_t n = 0;

	mamori__inventory__init(&s->inv);
	while (*p != '\0') {
		size_t a = strcspn(p, ":"), b, c;

		assert_true(n < MAX_ITEMS);
		b = strcspn(p + a + 1, "=");
		c = strcspn(p + a + 1 + b + 1, " ");
		mamori__package__init(&s->p[n]);
		assert_non_null(s->p[n].name = mamori_memdup_str(p, a));
		assert_non_null(s->p[n].arch = mamori_memdup_str(p + a + 1, b));
		assert_non_null(s->p[n].version = mamori_memdup_str(p + a + 1 + b + 1,
		    c));
		s->ptr[n] = &s->p[n];
		n++;
		p += a + 1 + b + 1 + c;
		while (*p == ' ')
			p++;
	}
	s->inv.n_packages = n;
	s->inv.packages = n > 0 ? s->ptr : NULL;
}

static void
free_pkgs(struct pkgs *s)
{
	size_t i;

	for (i = 0; i < s->inv.n_packages; i++) {
		free(s->p[i].name);
		free(s->p[i].arch);
		free(s->p[i].version);
	}
}

struct change {
	int kind;
	char name[32];
	char before[32];
	char after[32];
};

struct changes {
	struct change c[32];
	size_t n;
	int stop_after; /* return non-zero after this many; 0: never */
};

static void
describe(const ProtobufCMessage *m, char *out, size_t outlen)
{
	const char *field = m->descriptor == &mamori__package__descriptor ?
	    "version" : "pretty_name";

	assert_int_equal(mamori_inv_field_text(m, field, out, outlen), 0);
}

static int
record(void *ctx, const struct mamori_inv_category *cat, int kind,
    const ProtobufCMessage *before, const ProtobufCMessage *after)
{
	struct changes *ch = ctx;
	struct change *c;
	const ProtobufCMessage *any = after != NULL ? after : before;

	assert_non_null(cat);
	assert_true(ch->n < 32);
	c = &ch->c[ch->n++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	switch (kind) {
	case MAMORI_INV_ADDED:
		assert_null(before);
		assert_non_null(after);
		break;
	case MAMORI_INV_REMOVED:
		assert_non_null(before);
		assert_null(after);
		break;
	case MAMORI_INV_CHANGED:
		assert_non_null(before);
		assert_non_null(after);
		break;
	default:
		fail_msg("kind %d", kind);
	}
	if (any->descriptor == &mamori__package__descriptor)
		assert_int_equal(mamori_inv_field_text(any, "name", c->name,
		    sizeof(c->name)), 0);
	if (before != NULL)
		describe(before, c->before, sizeof(c->before));
	if (after != NULL)
		describe(after, c->after, sizeof(c->after));
	if (ch->stop_after != 0 && ch->n >= (size_t)ch->stop_after)
		return 42;
	return 0;
}

static void
expect_change(const struct changes *ch, size_t i, int kind, const char *name,
    const char *before, const char *after)
{
	assert_true(i < ch->n);
	assert_int_equal(ch->c[i].kind, kind);
	assert_string_equal(ch->c[i].name, name);
	assert_string_equal(ch->c[i].before, before);
	assert_string_equal(ch->c[i].after, after);
}

static void
test_diff_packages(void **state)
{
	const struct mamori_inv_category *cat =
	    mamori_inv_category_by_id(MAMORI_INV_PACKAGES);
	struct pkgs a, b;
	struct changes ch;

	(void)state;
	/* Deliberately unsorted input; output comes in key order. */
	make_pkgs(&a, "zsh:amd64=5.9 bash:amd64=5.2 curl:amd64=7.88 "
	    "libc6:amd64=2.36 libc6:i386=2.36");
	make_pkgs(&b, "libc6:i386=2.37 curl:amd64=7.88 apt:amd64=2.6 "
	    "bash:amd64=5.2 libc6:amd64=2.36 vim:amd64=9.0");
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, &b.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 4);
	expect_change(&ch, 0, MAMORI_INV_ADDED, "apt", "", "2.6");
	expect_change(&ch, 1, MAMORI_INV_CHANGED, "libc6", "2.36", "2.37");
	expect_change(&ch, 2, MAMORI_INV_ADDED, "vim", "", "9.0");
	expect_change(&ch, 3, MAMORI_INV_REMOVED, "zsh", "5.9", "");

	/* Against itself: nothing. */
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, &a.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 0);

	/* Against nothing: all added, or all removed. */
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(NULL, &a.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 5);
	expect_change(&ch, 0, MAMORI_INV_ADDED, "bash", "", "5.2");
	expect_change(&ch, 4, MAMORI_INV_ADDED, "zsh", "", "5.9");
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, NULL, cat, record, &ch), 0);
	assert_int_equal(ch.n, 5);
	expect_change(&ch, 2, MAMORI_INV_REMOVED, "libc6", "2.36", "");
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(NULL, NULL, cat, record, &ch), 0);
	assert_int_equal(ch.n, 0);

	/* The callback's non-zero result stops the walk and is returned. */
	memset(&ch, 0, sizeof(ch));
	ch.stop_after = 2;
	assert_int_equal(mamori_inv_diff(&a.inv, &b.inv, cat, record, &ch),
	    42);
	assert_int_equal(ch.n, 2);

	/* Another category of the same inventories: no change. */
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, &b.inv,
	    mamori_inv_category_by_id(MAMORI_INV_USERS), record, &ch), 0);
	assert_int_equal(ch.n, 0);
	free_pkgs(&a);
	free_pkgs(&b);
}

static void
test_diff_duplicates(void **state)
{
	const struct mamori_inv_category *cat =
	    mamori_inv_category_by_id(MAMORI_INV_PACKAGES);
	struct pkgs a, b;
	struct changes ch;

	(void)state;
	/* Duplicate keys on one side: the last one counts. */
	make_pkgs(&a, "bash:amd64=1 bash:amd64=2");
	make_pkgs(&b, "bash:amd64=2");
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, &b.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 0);
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&b.inv, &a.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 0);
	free_pkgs(&b);
	make_pkgs(&b, "bash:amd64=1");
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, &b.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 1);
	expect_change(&ch, 0, MAMORI_INV_CHANGED, "bash", "2", "1");
	free_pkgs(&a);
	free_pkgs(&b);

	/* Keys are the fields' values with separators: "ab"+"c" is not
	 * "a"+"bc". */
	make_pkgs(&a, "ab:c=1");
	make_pkgs(&b, "a:bc=1");
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a.inv, &b.inv, cat, record, &ch), 0);
	assert_int_equal(ch.n, 2);
	free_pkgs(&a);
	free_pkgs(&b);
}

/* Names longer than a key may hold must not merge distinct items. */
static void
test_diff_long_keys(void **state)
{
	const struct mamori_inv_category *cat =
	    mamori_inv_category_by_id(MAMORI_INV_PACKAGES);
	Mamori__Inventory before = MAMORI__INVENTORY__INIT;
	Mamori__Inventory after = MAMORI__INVENTORY__INIT;
	Mamori__Package p1 = MAMORI__PACKAGE__INIT, p2 = MAMORI__PACKAGE__INIT;
	Mamori__Package *items[2] = {&p1, &p2};
	char n1[MAMORI_INV_MAX_KEY + 1000], n2[MAMORI_INV_MAX_KEY + 1000];
	struct changes ch;
	struct mamori_buf key;
	int r;

	(void)state;
	memset(n1, 'a', sizeof(n1));
	memset(n2, 'a', sizeof(n2));
	n1[sizeof(n1) - 2] = '1';
	n2[sizeof(n2) - 2] = '2';
	n1[sizeof(n1) - 1] = '\0';
	n2[sizeof(n2) - 1] = '\0';
	p1.name = n1;
	p2.name = n2;
	after.n_packages = 2;
	after.packages = items;
	memset(&ch, 0, sizeof(ch));
	r = mamori_inv_diff(&before, &after, cat, record, &ch);
	/* Either both are reported, or the diff refuses; never one. */
	if (r == 0)
		assert_int_equal(ch.n, 2);
	else
		assert_int_equal(r, MAMORI_ERR_TOO_LARGE);

	mamori_buf_init(&key, 1 << 20);
	assert_int_equal(mamori_inv_item_key(&p1.base, cat, &key),
	    MAMORI_ERR_TOO_LARGE);
	/* The longest name that fits. */
	mamori_buf_reset(&key);
	n1[MAMORI_INV_MAX_KEY - 1] = '\0';
	assert_int_equal(mamori_inv_item_key(&p1.base, cat, &key), 0);
	assert_int_equal(key.len, MAMORI_INV_MAX_KEY - 1 + 1 + 1);
	mamori_buf_free(&key);
}

static void
test_item_key(void **state)
{
	const struct mamori_inv_category *sock =
	    mamori_inv_category_by_id(MAMORI_INV_LISTENING_SOCKETS);
	const struct mamori_inv_category *os =
	    mamori_inv_category_by_id(MAMORI_INV_OS);
	Mamori__ListeningSocket s = MAMORI__LISTENING_SOCKET__INIT;
	Mamori__OsInfo o = MAMORI__OS_INFO__INIT;
	struct mamori_buf key;

	(void)state;
	s.protocol = "tcp6";
	s.address = "::";
	s.port = 22;
	s.pid = 100; /* not part of the key */
	mamori_buf_init(&key, 4096);
	assert_int_equal(mamori_inv_item_key(&s.base, sock, &key), 0);
	assert_int_equal(key.len, 11);
	assert_memory_equal(key.data, "tcp6\0::\0" "22", 11);
	mamori_buf_reset(&key);
	o.pretty_name = "x";
	assert_int_equal(mamori_inv_item_key(&o.base, os, &key), 0);
	assert_int_equal(key.len, 1);
	mamori_buf_free(&key);
}

static void
test_diff_os(void **state)
{
	const struct mamori_inv_category *cat =
	    mamori_inv_category_by_id(MAMORI_INV_OS);
	Mamori__Inventory a = MAMORI__INVENTORY__INIT;
	Mamori__Inventory b = MAMORI__INVENTORY__INIT;
	Mamori__OsInfo o1 = MAMORI__OS_INFO__INIT, o2 = MAMORI__OS_INFO__INIT;
	ProtobufCMessage **items;
	struct changes ch;

	(void)state;
	o1.pretty_name = "Debian 12";
	o2.pretty_name = "Debian 13";
	assert_int_equal(mamori_inv_items(&a, cat, &items), 0);
	assert_null(items);

	b.os = &o1;
	assert_int_equal(mamori_inv_items(&b, cat, &items), 1);
	assert_ptr_equal(items[0], &o1.base);

	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&a, &b, cat, record, &ch), 0);
	assert_int_equal(ch.n, 1);
	expect_change(&ch, 0, MAMORI_INV_ADDED, "", "", "Debian 12");

	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&b, &a, cat, record, &ch), 0);
	assert_int_equal(ch.n, 1);
	expect_change(&ch, 0, MAMORI_INV_REMOVED, "", "Debian 12", "");

	a.os = &o2;
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&b, &a, cat, record, &ch), 0);
	assert_int_equal(ch.n, 1);
	expect_change(&ch, 0, MAMORI_INV_CHANGED, "", "Debian 12",
	    "Debian 13");

	o2.pretty_name = "Debian 12";
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&b, &a, cat, record, &ch), 0);
	assert_int_equal(ch.n, 0);
	/* A change in a field that is not a column still counts. */
	o2.boot_time = 5;
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(mamori_inv_diff(&b, &a, cat, record, &ch), 0);
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.c[0].kind, MAMORI_INV_CHANGED);
}

/* The names in category packages of inv, in order, space-separated,
 * each as name=version. */
static void
pkg_list(const Mamori__Inventory *inv, char *out, size_t outlen)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < inv->n_packages; i++) {
		int n = snprintf(out + o, outlen - o, "%s%s:%s=%s",
		    i > 0 ? " " : "", inv->packages[i]->name,
		    inv->packages[i]->arch, inv->packages[i]->version);

		assert_true(n > 0 && (size_t)n < outlen - o);
		o += (size_t)n;
	}
}

static void
test_apply(void **state)
{
	const struct mamori_inv_category *cat =
	    mamori_inv_category_by_id(MAMORI_INV_PACKAGES);
	struct pkgs cur, up, rm;
	Mamori__Inventory out = MAMORI__INVENTORY__INIT;
	ProtobufCMessage **arr = NULL;
	char list[512];

	(void)state;
	make_pkgs(&cur, "bash:amd64=5.1 curl:amd64=7 zsh:amd64=5.8 "
	    "libc6:amd64=2.36");
	make_pkgs(&up, "bash:amd64=5.2 apt:amd64=2.6 zsh:amd64=5.9");
	make_pkgs(&rm, "curl:amd64= zsh:amd64= nothere:amd64=");
	out.collected_at = 99;
	assert_int_equal(mamori_inv_apply(&cur.inv, &up.inv, &rm.inv, cat, &out,
	    &arr), 0);
	assert_non_null(arr);
	pkg_list(&out, list, sizeof(list));
	/* curl removed; zsh removed and upserted: the upsert wins. */
	assert_string_equal(list, "apt:amd64=2.6 bash:amd64=5.2 "
	    "libc6:amd64=2.36 zsh:amd64=5.9");
	assert_true(out.collected_at == 99); /* other fields untouched */
	/* Borrowed pointers into cur and upsert. */
	assert_ptr_equal(out.packages[2], &cur.p[3]);
	assert_ptr_equal(out.packages[0], &up.p[1]);
	free(arr);

	/* Without upserts or removals: cur, sorted. */
	assert_int_equal(mamori_inv_apply(&cur.inv, NULL, NULL, cat, &out,
	    &arr), 0);
	pkg_list(&out, list, sizeof(list));
	assert_string_equal(list, "bash:amd64=5.1 curl:amd64=7 "
	    "libc6:amd64=2.36 zsh:amd64=5.8");
	free(arr);

	/* Removing everything. */
	assert_int_equal(mamori_inv_apply(&cur.inv, NULL, &cur.inv, cat, &out,
	    &arr), 0);
	assert_int_equal(out.n_packages, 0);
	free(arr);

	/* From nothing: just the upserts. */
	assert_int_equal(mamori_inv_apply(NULL, &up.inv, &rm.inv, cat, &out,
	    &arr), 0);
	pkg_list(&out, list, sizeof(list));
	assert_string_equal(list, "apt:amd64=2.6 bash:amd64=5.2 "
	    "zsh:amd64=5.9");
	free(arr);

	/* The result diffs against cur as exactly the delta. */
	{
		struct changes ch;

		assert_int_equal(mamori_inv_apply(&cur.inv, &up.inv, &rm.inv,
		    cat, &out, &arr), 0);
		memset(&ch, 0, sizeof(ch));
		assert_int_equal(mamori_inv_diff(&cur.inv, &out, cat, record,
		    &ch), 0);
		assert_int_equal(ch.n, 4);
		expect_change(&ch, 0, MAMORI_INV_ADDED, "apt", "", "2.6");
		expect_change(&ch, 1, MAMORI_INV_CHANGED, "bash", "5.1", "5.2");
		expect_change(&ch, 2, MAMORI_INV_REMOVED, "curl", "7", "");
		expect_change(&ch, 3, MAMORI_INV_CHANGED, "zsh", "5.8", "5.9");
		free(arr);
	}
	free_pkgs(&cur);
	free_pkgs(&up);
	free_pkgs(&rm);
}

static void
test_apply_os(void **state)
{
	const struct mamori_inv_category *cat =
	    mamori_inv_category_by_id(MAMORI_INV_OS);
	Mamori__Inventory cur = MAMORI__INVENTORY__INIT;
	Mamori__Inventory up = MAMORI__INVENTORY__INIT;
	Mamori__Inventory rm = MAMORI__INVENTORY__INIT;
	Mamori__Inventory out = MAMORI__INVENTORY__INIT;
	Mamori__OsInfo o1 = MAMORI__OS_INFO__INIT, o2 = MAMORI__OS_INFO__INIT;
	ProtobufCMessage **arr;

	(void)state;
	cur.os = &o1;
	up.os = &o2;
	assert_int_equal(mamori_inv_apply(&cur, &up, NULL, cat, &out, &arr),
	    0);
	assert_ptr_equal(out.os, &o2);
	free(arr);
	assert_int_equal(mamori_inv_apply(&cur, NULL, NULL, cat, &out, &arr),
	    0);
	assert_ptr_equal(out.os, &o1);
	free(arr);
	rm.os = &o2; /* any os: only the (empty) key matters */
	assert_int_equal(mamori_inv_apply(&cur, NULL, &rm, cat, &out, &arr),
	    0);
	assert_null(out.os);
	free(arr);
	assert_int_equal(mamori_inv_apply(&cur, &up, &rm, cat, &out, &arr), 0);
	assert_ptr_equal(out.os, &o2);
	free(arr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_categories_table),
		cmocka_unit_test(test_field_text),
		cmocka_unit_test(test_diff_packages),
		cmocka_unit_test(test_diff_duplicates),
		cmocka_unit_test(test_diff_long_keys),
		cmocka_unit_test(test_item_key),
		cmocka_unit_test(test_diff_os),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_os),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
