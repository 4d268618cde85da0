/*
 * test_collect.c - the agent's inventory collectors.
 *
 * Each collector runs over recorded fixture trees (FIXTURES/collect/host1,
 * host2) with exact expected values, malformed lines included; the whole
 * file parsers also run over inline edge cases.  Live tests then compare
 * the collectors with this host: packages with dpkg-query's output (run
 * here, in the test, never in a collector), users with /etc/passwd, and
 * sockets the test itself opens.  Tests must never change the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "buf.h"
#include "collect.h"
#include "collectors.h"
#include "err.h"
#include "inventory.h"
#include "parse.h"
#include "util.h"

#define HOST1 FIXTURES "/collect/host1"
#define HOST2 FIXTURES "/collect/host2"
#define TEST_LINE_MAX 4096
#define TEST_LIST_MAX 100000

static const struct mamori_collect_ctx host1 = {HOST1, 0};
static const struct mamori_collect_ctx host2 = {HOST2, 0};
static const struct mamori_collect_ctx live = {"", 1};

static Mamori__Inventory *
inv_new(void)
{
	Mamori__Inventory *inv = mamori_msg_new(&mamori__inventory__descriptor);

	assert_non_null(inv);
	return inv;
}

static Mamori__Package *
find_pkg(const Mamori__Inventory *inv, const char *name, const char *arch)
{
	size_t i;

	for (i = 0; i < inv->n_packages; i++)
		if (strcmp(inv->packages[i]->name, name) == 0 &&
		    strcmp(inv->packages[i]->arch, arch) == 0)
			return inv->packages[i];
	return NULL;
}

static Mamori__ListeningSocket *
find_sock(const Mamori__Inventory *inv, const char *proto, const char *addr,
    uint32_t port)
{
	size_t i;

	for (i = 0; i < inv->n_listening_sockets; i++) {
		Mamori__ListeningSocket *s = inv->listening_sockets[i];

		if (strcmp(s->protocol, proto) == 0 &&
		    strcmp(s->address, addr) == 0 && s->port == port)
			return s;
	}
	return NULL;
}

static Mamori__BlockDevice *
find_blk(const Mamori__Inventory *inv, const char *name)
{
	size_t i;

	for (i = 0; i < inv->n_block_devices; i++)
		if (strcmp(inv->block_devices[i]->name, name) == 0)
			return inv->block_devices[i];
	return NULL;
}

static Mamori__NetInterface *
find_iface(const Mamori__Inventory *inv, const char *name)
{
	size_t i;

	for (i = 0; i < inv->n_interfaces; i++)
		if (strcmp(inv->interfaces[i]->name, name) == 0)
			return inv->interfaces[i];
	return NULL;
}

static int
strv_has(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void
test_text_helpers(void **state)
{
	struct mamori_token tok[3], k, v;
	const char *s;
	uint64_t x;
	size_t len;

	(void)state;
	assert_int_equal(mamori_split_ws("  a\tbb  ccc d ", 14, tok, 3), 4);
	assert_int_equal(tok[0].len, 1);
	assert_memory_equal(tok[1].p, "bb", 2);
	assert_memory_equal(tok[2].p, "ccc", 3);
	assert_int_equal(mamori_split_ws("   ", 3, tok, 3), 0);

	assert_int_equal(mamori_split_kv(" Key : a: b \r", 13, ':', &k, &v), 0);
	assert_true(mamori_tok_eq(k.p, k.len, "Key"));
	assert_true(mamori_tok_eq(v.p, v.len, "a: b"));
	assert_int_equal(mamori_split_kv("novalue", 7, ':', &k, &v),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_split_kv(" :x", 3, ':', &k, &v),
	    MAMORI_ERR_INVALID);

	s = " \t x y\n";
	len = strlen(s);
	mamori_trim(&s, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "x y", 3);

	assert_int_equal(mamori_parse_hex("0A", 2, 255, &x), 0);
	assert_int_equal(x, 10);
	assert_int_equal(mamori_parse_hex("ffffffffffffffff", 16, UINT64_MAX,
	    &x), 0);
	assert_true(x == UINT64_MAX);
	assert_int_equal(mamori_parse_hex("1ffffffffffffffff", 17, UINT64_MAX,
	    &x), MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_hex("100", 3, 255, &x),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_hex("0x1", 3, 255, &x),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_hex("", 0, 255, &x), MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_dec("4294967295", 10, UINT32_MAX, &x), 0);
	assert_int_equal(x, 4294967295u);
	assert_int_equal(mamori_parse_dec("4294967296", 10, UINT32_MAX, &x),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_dec("-1", 2, UINT32_MAX, &x),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_dec("12 ", 3, UINT32_MAX, &x),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_dec("123456789012345678901", 21,
	    UINT64_MAX, &x), MAMORI_ERR_INVALID);
}

static void
test_set_str(void **state)
{
	Mamori__User *u = mamori_msg_new(&mamori__user__descriptor);
	char big[MAMORI_COLLECT_STR_MAX + 1];

	(void)state;
	assert_non_null(u);
	assert_ptr_equal(u->name, protobuf_c_empty_string);
	assert_int_equal(mamori_set_str(&u->name, "abc", 3), 0);
	assert_string_equal(u->name, "abc");
	/* Replacing frees the old value (ASan would catch a leak). */
	assert_int_equal(mamori_set_str(&u->name, "de", 2), 0);
	assert_string_equal(u->name, "de");
	/* A NUL byte is refused and the old value kept. */
	assert_int_equal(mamori_set_str(&u->name, "a\0b", 3),
	    MAMORI_ERR_BAD_STRING);
	assert_string_equal(u->name, "de");
	/* Invalid UTF-8 becomes '?'; valid multibyte text is kept. */
	assert_int_equal(mamori_set_str(&u->gecos, "a\xff\xc3\xa9\xe2\x82",
	    6), 0);
	assert_string_equal(u->gecos, "a?\xc3\xa9??");
	assert_int_equal(mamori_set_str(&u->home, "\xed\xa0\x80\xc0\xaf",
	    5), 0);
	assert_string_equal(u->home, "?????");
	memset(big, 'x', sizeof(big));
	assert_int_equal(mamori_set_str(&u->shell, big, sizeof(big)),
	    MAMORI_ERR_TOO_LARGE);
	assert_ptr_equal(u->shell, protobuf_c_empty_string);
	assert_int_equal(mamori_set_str(&u->shell, big, sizeof(big) - 1), 0);
	assert_int_equal(strlen(u->shell), MAMORI_COLLECT_STR_MAX);
	mamori_msg_free(u);
}

static void
test_array_append(void **state)
{
	Mamori__Group *g = mamori_msg_new(&mamori__group__descriptor);
	char name[16];
	size_t i;

	(void)state;
	assert_non_null(g);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		assert_int_equal(mamori_strv_append(&g->members, &g->n_members,
		    1000, name, strlen(name)), 0);
	}
	assert_int_equal(g->n_members, 1000);
	assert_string_equal(g->members[0], "m0");
	assert_string_equal(g->members[511], "m511");
	assert_string_equal(g->members[999], "m999");
	assert_int_equal(mamori_strv_append(&g->members, &g->n_members, 1000,
	    "x", 1), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(g->n_members, 1000);
	mamori_msg_free(g);
}

static void
test_collector_table(void **state)
{
	const struct mamori_collector *c;
	size_t n, i, j, ncat;

	(void)state;
	c = mamori_collectors(&n);
	mamori_inv_categories(&ncat);
	assert_int_equal(n, ncat);
	for (i = 0; i < n; i++) {
		assert_non_null(mamori_inv_category_by_id(c[i].category));
		assert_non_null(c[i].collect);
		for (j = i + 1; j < n; j++)
			assert_int_not_equal(c[i].category, c[j].category);
	}
}

/* ---- os ----------------------------------------------------------------- */

static void
test_os_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();
	Mamori__OsInfo *os;

	(void)state;
	assert_int_equal(mamori_collector_os(&host1, inv), 0);
	os = inv->os;
	assert_non_null(os);
	assert_string_equal(os->name, "Debian GNU/Linux");
	assert_string_equal(os->version, "12 (bookworm)");
	assert_string_equal(os->id, "debian");
	assert_string_equal(os->version_id, "12");
	assert_string_equal(os->pretty_name, "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(os->kernel_release, "6.1.0-18-amd64");
	assert_string_equal(os->kernel_version,
	    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)");
	assert_string_equal(os->arch, "");        /* not live */
	assert_string_equal(os->hostname, "fixture-host");
	assert_string_equal(os->machine_id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(os->boot_time, 1700000000);
	mamori_inventory_free(inv);
}

static void
test_os_release_quoting(void **state)
{
	static const char text[] =
	    "NAME=\"A \\\"q\\\" \\\\ \\$x \\n\"\n"
	    "ID=a\\ b\n"
	    "VERSION=two words\n"
	    "VERSION_ID='x \"y\" \\z'\n"
	    "PRETTY_NAME=\"con\"'cat'enated\n"
	    "PRETTY_NAME=\"unterminated\n";
	Mamori__Inventory *inv = inv_new();
	Mamori__OsInfo *os = mamori_msg_new(&mamori__os_info__descriptor);

	(void)state;
	assert_non_null(os);
	assert_int_equal(mamori_parse_os_release(text, sizeof(text) - 1, os),
	    0);
	assert_string_equal(os->name, "A \"q\" \\ $x \\n");
	assert_string_equal(os->id, "a b");
	assert_string_equal(os->version, "");     /* unquoted space refused */
	assert_string_equal(os->version_id, "x \"y\" \\z");
	assert_string_equal(os->pretty_name, "concatenated");
	mamori_msg_free(os);

	/* host2 has no /etc/os-release: /usr/lib/os-release is used. */
	assert_int_equal(mamori_collector_os(&host2, inv), 0);
	assert_string_equal(inv->os->name, "Tiny \"Quoted\" OS");
	assert_string_equal(inv->os->id, "tiny");
	assert_string_equal(inv->os->pretty_name, "Tiny OS 1");
	assert_string_equal(inv->os->version, "");
	assert_string_equal(inv->os->version_id, "1.0");
	assert_string_equal(inv->os->kernel_release, "6.6.0-arm");
	assert_string_equal(inv->os->hostname, "");
	assert_int_equal(inv->os->boot_time, 0);
	mamori_inventory_free(inv);
}

/* ---- hardware ----------------------------------------------------------- */

static void
test_hardware_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();
	Mamori__Hardware *hw;

	(void)state;
	assert_int_equal(mamori_collector_hardware(&host1, inv), 0);
	hw = inv->hardware;
	assert_non_null(hw);
	assert_string_equal(hw->cpu_model,
	    "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz");
	assert_int_equal(hw->cpu_logical, 4);
	assert_int_equal(hw->cpu_physical, 2);
	assert_int_equal(hw->memory_bytes, 16314584ULL * 1024);
	assert_string_equal(hw->vendor, "QEMU");
	assert_string_equal(hw->product, "Standard PC (Q35 + ICH9, 2009)");
	assert_string_equal(hw->serial, "");      /* file missing */
	assert_string_equal(hw->board_vendor, "");
	assert_string_equal(hw->board_name, "Q35 board");
	assert_string_equal(hw->bios_version, "1.16.2-debian-1.16.2-1");
	mamori_inventory_free(inv);

	/* No model name, no core ids: physical falls back to logical. */
	inv = inv_new();
	assert_int_equal(mamori_collector_hardware(&host2, inv), 0);
	assert_string_equal(inv->hardware->cpu_model, "");
	assert_int_equal(inv->hardware->cpu_logical, 2);
	assert_int_equal(inv->hardware->cpu_physical, 2);
	assert_int_equal(inv->hardware->memory_bytes, 2048 * 1024);
	assert_string_equal(inv->hardware->vendor, "");
	mamori_inventory_free(inv);
}

static void
test_disks_fixture(void **state)
{
	static const char *const names[] = {"nvme0n1", "sda", "sdb", "sr0",
	    "vda"};
	Mamori__Inventory *inv = inv_new();
	Mamori__Disk **d;
	size_t i;

	(void)state;
	assert_int_equal(mamori_collector_disks(&host1, inv), 0);
	/* loop0, zram0, md0 and dm-* are not disks. */
	assert_int_equal(inv->n_disks, 5);
	d = inv->disks;
	for (i = 0; i < 5; i++)
		assert_string_equal(d[i]->name, names[i]);
	assert_int_equal(d[0]->size_bytes, 1953525168ULL * 512);
	assert_string_equal(d[0]->model, "Samsung SSD 980 PRO 1TB");
	assert_string_equal(d[0]->serial, "S5GXNF0R123456");
	assert_false(d[0]->rotational);
	assert_false(d[0]->removable);
	assert_string_equal(d[1]->model, "ST2000DM008-2FR1");
	assert_string_equal(d[1]->serial, "");
	assert_true(d[1]->rotational);
	assert_false(d[1]->removable);
	assert_true(d[2]->removable);
	assert_int_equal(d[2]->size_bytes, 60063744ULL * 512);
	assert_string_equal(d[4]->serial, "vd-serial-1");
	assert_string_equal(d[4]->model, "");
	mamori_inventory_free(inv);
}

/* ---- packages ----------------------------------------------------------- */

static void
check_pkg(const Mamori__Inventory *inv, const char *name, const char *arch,
    const char *version, const char *source, const char *source_version,
    const char *status)
{
	Mamori__Package *p = find_pkg(inv, name, arch);

	assert_non_null(p);
	assert_string_equal(p->version, version);
	assert_string_equal(p->source, source);
	assert_string_equal(p->source_version, source_version);
	assert_string_equal(p->status, status);
}

static void
test_dpkg_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();

	(void)state;
	assert_int_equal(mamori_collector_packages(&host1, inv), 0);
	assert_int_equal(inv->n_packages, 8);
	check_pkg(inv, "bash", "amd64", "5.2.15-2+b2", "bash", "5.2.15-2+b2",
	    "installed");
	check_pkg(inv, "libc6", "amd64", "2.36-9+deb12u4", "glibc",
	    "2.36-9+deb12u4", "installed");
	check_pkg(inv, "libc6", "i386", "2.36-9+deb12u4", "glibc",
	    "2.36-9+deb12u4", "installed");
	check_pkg(inv, "oldpkg", "all", "1:1.0-1", "oldpkg", "1:1.0-1",
	    "config-files");
	check_pkg(inv, "libfoo1", "amd64", "1.2-3+b1", "foo", "1.2-3",
	    "installed");
	check_pkg(inv, "half", "amd64", "2.0~rc1", "half", "2.0~rc1",
	    "half-installed");
	check_pkg(inv, "lowercase-fields", "arm64", "3.0", "lower-src", "3.0",
	    "installed");
	/* "(0.1-1) trailing" is not a version in parentheses. */
	check_pkg(inv, "last", "amd64", "0.1", "last-src", "0.1", "installed");
	/* not-installed, no Package, a line without a colon, a two-word
	 * Status, a repeated field, a continuation line: none reported. */
	assert_null(find_pkg(inv, "gone", "amd64"));
	assert_null(find_pkg(inv, "nocolon", ""));
	assert_null(find_pkg(inv, "twowords", ""));
	assert_null(find_pkg(inv, "dup", ""));
	assert_null(find_pkg(inv, "dup2", ""));
	assert_null(find_pkg(inv, "not-a-field-this-is-a-continuation", ""));
	mamori_inventory_free(inv);

	/* A missing status file is the collector's failure. */
	inv = inv_new();
	assert_int_equal(mamori_collector_packages(&host2, inv),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(inv->n_packages, 0);
	mamori_inventory_free(inv);
}

static void
test_dpkg_edge_cases(void **state)
{
	static const char nul[] = "Package: a\nStatus: i o installed\n"
	    "Version: 1\0x\n\nPackage: b\nStatus: i o installed\n";
	static const char cont_first[] = " Package: x\nStatus: i o installed"
	    "\n\nPackage: y\r\nStatus: i o installed\r\n";
	static const char utf8[] = "Package: caf\xc3\xa9\xff\n"
	    "Status: i o triggers-pending\nSource:  (1.0)\nVersion: 2\n";
	static const char stanza_hdr[] = "Package: huge\n"
	    "Status: install ok installed\nDescription: x\n";
	Mamori__Inventory *inv = inv_new();
	size_t biglen, off, i;
	char *big;

	(void)state;
	assert_int_equal(mamori_parse_dpkg_status("", 0, inv), 0);
	assert_int_equal(mamori_parse_dpkg_status("\n\n\n", 3, inv), 0);
	assert_int_equal(inv->n_packages, 0);

	/* A NUL byte in a kept field drops that stanza only. */
	assert_int_equal(mamori_parse_dpkg_status(nul, sizeof(nul) - 1, inv),
	    0);
	assert_int_equal(inv->n_packages, 1);
	assert_string_equal(inv->packages[0]->name, "b");
	assert_string_equal(inv->packages[0]->version, "");
	mamori_inventory_free(inv);

	/* A continuation line with no field before it spoils its stanza;
	 * CR is part of the value (dpkg does not write CRLF). */
	inv = inv_new();
	assert_int_equal(mamori_parse_dpkg_status(cont_first,
	    sizeof(cont_first) - 1, inv), 0);
	assert_int_equal(inv->n_packages, 1);
	assert_string_equal(inv->packages[0]->name, "y");
	assert_string_equal(inv->packages[0]->status, "installed");
	mamori_inventory_free(inv);

	/* Invalid UTF-8 is kept visible as '?'; an empty Source name keeps
	 * the package name but takes the version in parentheses. */
	inv = inv_new();
	assert_int_equal(mamori_parse_dpkg_status(utf8, sizeof(utf8) - 1,
	    inv), 0);
	assert_int_equal(inv->n_packages, 1);
	assert_string_equal(inv->packages[0]->name, "caf\xc3\xa9?");
	assert_string_equal(inv->packages[0]->status, "triggers-pending");
	assert_string_equal(inv->packages[0]->source, "caf\xc3\xa9?");
	assert_string_equal(inv->packages[0]->source_version, "1.0");
	mamori_inventory_free(inv);

	/* A stanza past the stanza limit is skipped; the next one is not. */
	biglen = sizeof(stanza_hdr) + 2 * 1024 * 1024 + 64;
	big = malloc(biglen);
	assert_non_null(big);
	memcpy(big, stanza_hdr, sizeof(stanza_hdr) - 1);
	off = sizeof(stanza_hdr) - 1;
	for (i = 0; i < 2 * 1024 * 1024 / 64; i++) {
		memset(big + off, 'y', 64);
		big[off] = ' ';
		big[off + 63] = '\n';
		off += 64;
	}
	memcpy(big + off, "\nPackage: ok\nStatus: i o installed\n", 35);
	off += 35;
	inv = inv_new();
	assert_int_equal(mamori_parse_dpkg_status(big, off, inv), 0);
	assert_int_equal(inv->n_packages, 1);
	assert_string_equal(inv->packages[0]->name, "ok");
	mamori_inventory_free(inv);
	free(big);
}

/* ---- accounts ----------------------------------------------------------- */

static void
test_passwd_fixture(void **state)
{
	static const char *const names[] = {"root", "daemon", "alice",
	    "noshell", "maxuid", "last"};
	Mamori__Inventory *inv = inv_new();
	Mamori__User **u;
	size_t i;

	(void)state;
	assert_int_equal(mamori_collector_users(&host1, inv), 0);
	assert_int_equal(inv->n_users, 6);
	u = inv->users;
	for (i = 0; i < 6; i++)
		assert_string_equal(u[i]->name, names[i]);
	assert_int_equal(u[0]->uid, 0);
	assert_string_equal(u[0]->shell, "/bin/bash");
	assert_int_equal(u[2]->uid, 1000);
	assert_int_equal(u[2]->gid, 1000);
	assert_string_equal(u[2]->gecos, "Alice Example,Room 1,,");
	assert_string_equal(u[2]->home, "/home/alice");
	assert_string_equal(u[3]->shell, "");
	assert_string_equal(u[3]->gecos, "");
	assert_int_equal(u[4]->uid, 4294967295u);
	assert_int_equal(u[4]->gid, 4294967295u);
	assert_string_equal(u[5]->gecos, "no newline at end");
	mamori_inventory_free(inv);
}

static void
test_group_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();
	Mamori__Group **g;

	(void)state;
	assert_int_equal(mamori_collector_groups(&host1, inv), 0);
	assert_int_equal(inv->n_groups, 4);
	g = inv->groups;
	assert_string_equal(g[0]->name, "root");
	assert_int_equal(g[0]->n_members, 0);
	assert_string_equal(g[1]->name, "sudo");
	assert_int_equal(g[1]->gid, 27);
	assert_int_equal(g[1]->n_members, 2);
	assert_string_equal(g[1]->members[0], "alice");
	assert_string_equal(g[1]->members[1], "bob");
	assert_string_equal(g[2]->name, "users");
	assert_int_equal(g[2]->n_members, 2);   /* empty members dropped */
	assert_string_equal(g[2]->members[1], "bob");
	assert_string_equal(g[3]->name, "empty");
	assert_int_equal(g[3]->gid, 200);
	mamori_inventory_free(inv);
}

/* ---- sockets ------------------------------------------------------------ */

static void
check_sock(const Mamori__Inventory *inv, const char *proto, const char *addr,
    uint32_t port, uint64_t inode, uint32_t pid, const char *process,
    const char *exe)
{
	Mamori__ListeningSocket *s = find_sock(inv, proto, addr, port);

	assert_non_null(s);
	assert_int_equal(s->inode, inode);
	assert_int_equal(s->pid, pid);
	assert_string_equal(s->process, process);
	assert_string_equal(s->executable, exe);
}

static void
test_sockets_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();

	(void)state;
	assert_int_equal(mamori_collector_sockets(&host1, inv), 0);
	assert_int_equal(inv->n_listening_sockets, 6);
	/* Held by 1234 and its child 2000: the lowest pid is the owner. */
	check_sock(inv, "tcp", "127.0.0.1", 22, 1001, 1234, "sshd",
	    "/usr/sbin/sshd");
	check_sock(inv, "tcp", "0.0.0.0", 80, 1002, 555, "nginx",
	    "/usr/sbin/nginx (deleted)");
	check_sock(inv, "tcp6", "::", 22, 1003, 1234, "sshd",
	    "/usr/sbin/sshd");
	check_sock(inv, "tcp6", "::ffff:127.0.0.1", 8080, 1004, 0, "", "");
	/* Only /proc/notapid holds 2001: not a process, no owner. */
	check_sock(inv, "udp", "0.0.0.0", 68, 2001, 0, "", "");
	check_sock(inv, "udp6", "::1", 53, 2002, 555, "nginx",
	    "/usr/sbin/nginx (deleted)");
	/* Established TCP, connected UDP, malformed rows: absent. */
	assert_null(find_sock(inv, "tcp", "127.0.0.1", 40000));
	assert_null(find_sock(inv, "udp", "127.0.0.1", 53));
	assert_null(find_sock(inv, "udp", "127.0.0.1", 54));
	assert_null(find_sock(inv, "tcp6", "fe80::5054:ff:fe12:34ea", 22));
	mamori_inventory_free(inv);

	inv = inv_new();
	assert_int_equal(mamori_collector_sockets(&host2, inv),
	    MAMORI_ERR_NOT_FOUND);
	mamori_inventory_free(inv);
}

static void
test_proc_net_decode(void **state)
{
	static const char v6[] =
	    "  sl  local_address remote_address st\n"
	    "   0: 000080FE00000000FF005450EA3412FE:0016 "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000 0 0 77\n"
	    "   1: 00000000000000000000000001000000:FFFF "
	    "00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 "
	    "18446744073709551615\n"
	    "   2: 00000000000000000000000001000000:0001 "
	    "00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 "
	    "18446744073709551616\n";
	static const char v4[] =
	    "0: 0101A8C0:1F90 00000000:0000 0A 0 0 0 0 0 5\n"
	    "1: 0101A8C0:1F91 00000000:0000 0a 0 0 0 0 0 6\n"
	    "2: 0101A8C0:1F92 00000000:0000 A 0 0 0 0 0 7\n"
	    "3: 0101A8C0:1F93 00000000:0000 0A 0 0 0 0 0\n";
	Mamori__Inventory *inv = inv_new();

	(void)state;
	assert_int_equal(mamori_parse_proc_net(v6, sizeof(v6) - 1, inv,
	    "tcp6"), 0);
	assert_int_equal(inv->n_listening_sockets, 2);
	assert_string_equal(inv->listening_sockets[0]->address,
	    "fe80::5054:ff:fe12:34ea");
	assert_int_equal(inv->listening_sockets[0]->port, 22);
	assert_int_equal(inv->listening_sockets[0]->inode, 77);
	assert_string_equal(inv->listening_sockets[1]->address, "::1");
	assert_int_equal(inv->listening_sockets[1]->port, 65535);
	assert_true(inv->listening_sockets[1]->inode == UINT64_MAX);
	/* The same rows read as IPv4 do not fit: nothing added. */
	assert_int_equal(mamori_parse_proc_net(v6, sizeof(v6) - 1, inv,
	    "tcp"), 0);
	assert_int_equal(inv->n_listening_sockets, 2);
	/* 192.168.1.1 as x86 prints it; a lowercase state is hex too; a
	 * one-digit state and a row without an inode are refused. */
	assert_int_equal(mamori_parse_proc_net(v4, sizeof(v4) - 1, inv,
	    "tcp"), 0);
	assert_int_equal(inv->n_listening_sockets, 4);
	assert_string_equal(inv->listening_sockets[2]->address, "192.168.1.1");
	assert_int_equal(inv->listening_sockets[2]->port, 8080);
	assert_int_equal(inv->listening_sockets[3]->port, 8081);
	assert_int_equal(mamori_parse_proc_net(v4, sizeof(v4) - 1, inv,
	    "sctp"), MAMORI_ERR_INVALID);
	mamori_inventory_free(inv);
}

/* ---- modules, usb ------------------------------------------------------- */

static void
test_modules_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();
	Mamori__KernelModule **m;

	(void)state;
	assert_int_equal(mamori_collector_modules(&host1, inv), 0);
	assert_int_equal(inv->n_kernel_modules, 4);
	m = inv->kernel_modules;
	assert_string_equal(m[0]->name, "nf_tables");
	assert_int_equal(m[0]->size, 344064);
	assert_string_equal(m[0]->used_by, "nft_chain_nat,nft_compat");
	assert_string_equal(m[0]->state, "Live");
	assert_string_equal(m[1]->name, "dm_crypt");
	assert_string_equal(m[1]->used_by, "");
	assert_string_equal(m[2]->name, "vboxdrv");
	assert_string_equal(m[2]->used_by, "vboxnetadp,vboxnetflt");
	assert_string_equal(m[3]->state, "Loading");
	mamori_inventory_free(inv);

	/* No /proc/modules: a kernel without modules, not an error. */
	inv = inv_new();
	assert_int_equal(mamori_collector_modules(&host2, inv), 0);
	assert_int_equal(inv->n_kernel_modules, 0);
	mamori_inventory_free(inv);
}

static void
test_usb_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();
	Mamori__UsbDevice **u;

	(void)state;
	assert_int_equal(mamori_collector_usb(&host1, inv), 0);
	assert_int_equal(inv->n_usb_devices, 3);   /* interfaces skipped */
	u = inv->usb_devices;
	assert_string_equal(u[0]->bus_path, "1-1");
	assert_string_equal(u[0]->vendor_id, "0781");
	assert_string_equal(u[0]->product_id, "5583");
	assert_string_equal(u[0]->manufacturer, "SanDisk");
	assert_string_equal(u[0]->product, "Ultra Fit");
	assert_string_equal(u[0]->serial, "4C530001234567891234");
	assert_string_equal(u[0]->device_class, "00");
	assert_true(u[0]->authorized);
	assert_string_equal(u[1]->bus_path, "1-2");
	assert_string_equal(u[1]->vendor_id, "046d");
	assert_string_equal(u[1]->manufacturer, "");
	assert_string_equal(u[1]->serial, "");
	assert_false(u[1]->authorized);
	assert_string_equal(u[2]->bus_path, "usb1");
	assert_string_equal(u[2]->device_class, "09");
	assert_string_equal(u[2]->serial, "0000:00:14.0");
	assert_true(u[2]->authorized);
	mamori_inventory_free(inv);

	inv = inv_new();
	assert_int_equal(mamori_collector_usb(&host2, inv), 0);
	assert_int_equal(inv->n_usb_devices, 0);
	mamori_inventory_free(inv);
}

/* ---- block devices ------------------------------------------------------ */

static void
check_blk(const Mamori__Inventory *inv, const char *name, const char *type,
    int encrypted, const char *encryption, const char *parent,
    const char *mountpoint, const char *fstype)
{
	Mamori__BlockDevice *b = find_blk(inv, name);

	assert_non_null(b);
	assert_string_equal(b->type, type);
	assert_int_equal(b->encrypted, encrypted);
	assert_string_equal(b->encryption, encryption);
	if (parent == NULL) {
		assert_int_equal(b->n_parents, 0);
	} else {
		assert_int_equal(b->n_parents, 1);
		assert_string_equal(b->parents[0], parent);
	}
	assert_string_equal(b->mountpoint, mountpoint);
	assert_string_equal(b->fstype, fstype);
}

static void
test_block_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();

	(void)state;
	assert_int_equal(mamori_collector_block(&host1, inv), 0);
	assert_int_equal(inv->n_block_devices, 17);
	/* LVM on LUKS2 on a partition: the top is encrypted, by luks2. */
	check_blk(inv, "dm-1", "lvm", 1, "luks2", "dm-0", "/", "ext4");
	check_blk(inv, "dm-0", "crypt", 1, "luks2", "sda2", "", "");
	check_blk(inv, "sda2", "part", 0, "", "sda", "", "");
	check_blk(inv, "sda1", "part", 0, "", "sda", "/boot/efi", "vfat");
	check_blk(inv, "sda", "disk", 0, "", NULL, "", "");
	/* Verity is device-mapper "CRYPT-" but not encryption. */
	check_blk(inv, "dm-2", "dm", 0, "", "sda1", "", "");
	check_blk(inv, "dm-3", "crypt", 1, "luks1", "nvme0n1p1",
	    "/home/my files", "ext4");
	check_blk(inv, "nvme0n1p1", "part", 0, "", "nvme0n1", "", "");
	check_blk(inv, "sr0", "rom", 0, "", NULL, "", "");
	check_blk(inv, "loop0", "loop", 0, "", NULL, "", "");
	check_blk(inv, "md0", "raid", 0, "", "sdz1", "", "");
	check_blk(inv, "zram0", "disk", 0, "", NULL, "", "");
	/* A cycle of slaves links ends, unencrypted. */
	check_blk(inv, "dm-4", "lvm", 0, "", "dm-5", "", "");
	check_blk(inv, "dm-5", "lvm", 0, "", "dm-4", "", "");
	assert_int_equal(find_blk(inv, "dm-1")->size_bytes, 104857600ULL * 512);
	assert_int_equal(find_blk(inv, "loop0")->size_bytes, 2048ULL * 512);
	/* loop1 has nothing attached (size 0): left out, like lsblk does. */
	assert_null(find_blk(inv, "loop1"));
	mamori_inventory_free(inv);
}

/* ---- network ------------------------------------------------------------ */

static void
test_net_fixture(void **state)
{
	Mamori__Inventory *inv = inv_new();
	Mamori__NetInterface *i;

	(void)state;
	assert_int_equal(mamori_collector_net(&host1, inv), 0);
	assert_int_equal(inv->n_interfaces, 3);
	i = find_iface(inv, "eth0");
	assert_non_null(i);
	assert_string_equal(i->mac, "52:54:00:12:34:ea");
	assert_int_equal(i->mtu, 1500);
	assert_true(i->up);
	assert_int_equal(i->n_addresses, 2);
	assert_string_equal(i->addresses[0], "fe80::5054:ff:fe12:34ea/64");
	assert_string_equal(i->addresses[1], "2001:db8::1/64");
	i = find_iface(inv, "lo");
	assert_non_null(i);
	assert_true(i->up);                 /* operstate unknown, IFF_UP */
	assert_int_equal(i->mtu, 65536);
	assert_int_equal(i->n_addresses, 1);
	assert_string_equal(i->addresses[0], "::1/128");
	i = find_iface(inv, "wlan0");
	assert_non_null(i);
	assert_false(i->up);
	assert_int_equal(i->n_addresses, 0);
	mamori_inventory_free(inv);
}

/* ---- whole runs --------------------------------------------------------- */

static void
test_collect_fixture_all(void **state)
{
	Mamori__Inventory *inv = NULL;
	uint64_t now = mamori_now();

	(void)state;
	assert_int_equal(mamori_inventory_collect(&host1, &inv), 0);
	assert_non_null(inv);
	assert_true(inv->collected_at >= now && inv->collected_at <= now + 60);
	assert_non_null(inv->os);
	assert_non_null(inv->hardware);
	assert_int_equal(inv->n_packages, 8);
	assert_int_equal(inv->n_users, 6);
	assert_int_equal(inv->n_groups, 4);
	assert_int_equal(inv->n_listening_sockets, 6);
	assert_int_equal(inv->n_kernel_modules, 4);
	assert_int_equal(inv->n_usb_devices, 3);
	assert_int_equal(inv->n_block_devices, 17);
	assert_int_equal(inv->n_interfaces, 3);
	assert_int_equal(inv->n_disks, 5);
	mamori_inventory_free(inv);

	/* host2 lacks a dpkg database and /proc/net: those categories are
	 * left empty, the rest is there. */
	assert_int_equal(mamori_inventory_collect(&host2, &inv), 0);
	assert_int_equal(inv->n_packages, 0);
	assert_null(inv->packages);
	assert_int_equal(inv->n_listening_sockets, 0);
	assert_int_equal(inv->n_users, 1);
	assert_int_equal(inv->n_groups, 1);
	assert_string_equal(inv->os->id, "tiny");
	assert_int_equal(inv->n_block_devices, 1);
	assert_string_equal(inv->block_devices[0]->type, "disk");
	assert_int_equal(inv->n_interfaces, 1);
	assert_string_equal(inv->interfaces[0]->mac, "02:00:00:00:00:01");
	mamori_inventory_free(inv);
	mamori_inventory_free(NULL);
}

/* ---- live --------------------------------------------------------------- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_add(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);

	assert_non_null(copy);
	assert_int_equal(mamori_array_append(v, n, TEST_LIST_MAX, copy), 0);
}

static void
list_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
assert_lists_equal(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	qsort(a, na, sizeof(*a), str_cmp);
	qsort(b, nb, sizeof(*b), str_cmp);
	for (i = 0; i < na && i < nb; i++)
		assert_string_equal(a[i], b[i]);
	assert_int_equal(na, nb);
}

static void
test_live_packages(void **state)
{
	char line[TEST_LINE_MAX], **want = NULL, **got = NULL;
	size_t nwant = 0, ngot = 0, i, len;
	Mamori__Inventory *inv;
	FILE *p;

	(void)state;
	if (access("/var/lib/dpkg/status", R_OK) != 0)
		skip();
	p = popen("dpkg-query -W -f='${Package} ${Version}\\n'", "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		list_add(&want, &nwant, line);
	}
	assert_int_equal(pclose(p), 0);
	assert_true(nwant > 0);

	inv = inv_new();
	assert_int_equal(mamori_collector_packages(&live, inv), 0);
	for (i = 0; i < inv->n_packages; i++) {
		snprintf(line, sizeof(line), "%s %s", inv->packages[i]->name,
		    inv->packages[i]->version);
		list_add(&got, &ngot, line);
	}
	assert_lists_equal(want, nwant, got, ngot);
	list_free(want, nwant);
	list_free(got, ngot);
	mamori_inventory_free(inv);
}

static void
test_live_users(void **state)
{
	char line[TEST_LINE_MAX], **want = NULL, **got = NULL, *colon;
	size_t nwant = 0, ngot = 0, i;
	Mamori__Inventory *inv;
	FILE *f;

	(void)state;
	f = fopen("/etc/passwd", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n' || line[0] == '+' ||
		    line[0] == '-' || (colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		list_add(&want, &nwant, line);
	}
	fclose(f);
	assert_true(nwant > 0);

	inv = inv_new();
	assert_int_equal(mamori_collector_users(&live, inv), 0);
	for (i = 0; i < inv->n_users; i++)
		list_add(&got, &ngot, inv->users[i]->name);
	assert_lists_equal(want, nwant, got, ngot);
	list_free(want, nwant);
	list_free(got, ngot);
	mamori_inventory_free(inv);
}

/* Opens a socket of type on 127.0.0.1, port 0; returns it and its port. */
static int
open_local(int type, uint32_t *port)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd;

	fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_live_sockets(void **state)
{
	char exe[MAMORI_COLLECT_PATH_MAX], comm[64];
	Mamori__ListeningSocket *s;
	Mamori__Inventory *inv;
	uint32_t tport, uport;
	int tfd, ufd;
	ssize_t n;

	(void)state;
	if (access("/proc/net/tcp", R_OK) != 0)
		skip();
	tfd = open_local(SOCK_STREAM, &tport);
	ufd = open_local(SOCK_DGRAM, &uport);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(mamori_read_value("/proc/self/comm", comm,
	    sizeof(comm)), 0);

	inv = inv_new();
	assert_int_equal(mamori_collector_sockets(&live, inv), 0);
	s = find_sock(inv, "tcp", "127.0.0.1", tport);
	assert_non_null(s);
	assert_int_equal(s->pid, (uint32_t)getpid());
	assert_string_equal(s->process, comm);
	assert_string_equal(s->executable, exe);
	assert_true(s->inode > 0);
	s = find_sock(inv, "udp", "127.0.0.1", uport);
	assert_non_null(s);
	assert_int_equal(s->pid, (uint32_t)getpid());
	mamori_inventory_free(inv);
	close(tfd);
	close(ufd);
}

static void
test_live_inventory(void **state)
{
	char host[MAMORI_HOST_MAX + 1];
	Mamori__NetInterface *lo;
	Mamori__Inventory *inv = NULL;
	struct utsname uts;
	size_t i;

	(void)state;
	assert_int_equal(uname(&uts), 0);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_int_equal(mamori_inventory_collect(&live, &inv), 0);
	assert_non_null(inv->os);
	assert_string_equal(inv->os->kernel_release, uts.release);
	assert_string_equal(inv->os->kernel_version, uts.version);
	assert_string_equal(inv->os->arch, uts.machine);
	assert_string_equal(inv->os->hostname, host);
	assert_true(inv->os->boot_time > 0 &&
	    inv->os->boot_time <= mamori_now());
	assert_true(inv->os->name[0] != '\0');
	assert_non_null(inv->hardware);
	assert_true(inv->hardware->cpu_logical ==
	    (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(inv->hardware->cpu_physical >= 1);
	assert_true(inv->hardware->memory_bytes ==
	    (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
	lo = find_iface(inv, "lo");
	assert_non_null(lo);
	assert_true(lo->up);
	assert_true(strv_has(lo->addresses, lo->n_addresses, "127.0.0.1/8"));
	assert_true(inv->n_users > 0);
	assert_true(inv->n_groups > 0);
	for (i = 0; i < inv->n_block_devices; i++) {
		assert_true(inv->block_devices[i]->name[0] != '\0');
		assert_true(inv->block_devices[i]->type[0] != '\0');
	}
	for (i = 0; i < inv->n_disks; i++) {
		const char *d = inv->disks[i]->name;

		assert_false(strncmp(d, "loop", 4) == 0 ||
		    strncmp(d, "dm-", 3) == 0 || strncmp(d, "zram", 4) == 0 ||
		    strncmp(d, "ram", 3) == 0 || strncmp(d, "md", 2) == 0);
	}
	mamori_inventory_free(inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_helpers),
		cmocka_unit_test(test_set_str),
		cmocka_unit_test(test_array_append),
		cmocka_unit_test(test_collector_table),
		cmocka_unit_test(test_os_fixture),
		cmocka_unit_test(test_os_release_quoting),
		cmocka_unit_test(test_hardware_fixture),
		cmocka_unit_test(test_disks_fixture),
		cmocka_unit_test(test_dpkg_fixture),
		cmocka_unit_test(test_dpkg_edge_cases),
		cmocka_unit_test(test_passwd_fixture),
		cmocka_unit_test(test_group_fixture),
		cmocka_unit_test(test_sockets_fixture),
		cmocka_unit_test(test_proc_net_decode),
		cmocka_unit_test(test_modules_fixture),
		cmocka_unit_test(test_usb_fixture),
		cmocka_unit_test(test_block_fixture),
		cmocka_unit_test(test_net_fixture),
		cmocka_unit_test(test_collect_fixture_all),
		cmocka_unit_test(test_live_packages),
		cmocka_unit_test(test_live_users),
		cmocka_unit_test(test_live_sockets),
		cmocka_unit_test(test_live_inventory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
