/*
 * hardware.c - the hardware and disks collectors: /proc/cpuinfo,
 * /proc/meminfo, DMI identity from /sys/class/dmi/id and whole disks from
 * /sys/block.
 *
 * DMI files are often missing (virtual machines, ARM boards) or readable by
 * root only (serial numbers): such a field is left empty, never an error.
 * This file must never run dmidecode, lshw or any other program, and never
 * read /dev/mem.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_CPUINFO_MAX (8 * 1024 * 1024)  /* bytes of /proc/cpuinfo */
#define MAMORI_MEMINFO_MAX (64 * 1024)
#define MAMORI_CPU_MAX 65536                  /* logical CPUs counted */
#define SECTOR_BYTES 512                      /* unit of sysfs "size" */
#define KIB 1024

/* One logical CPU's (physical id, core id), while parsing. */
struct cpu_pair {
	uint64_t physical, core;
	int has_physical, has_core;
};

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Adds cur to pairs (when it has both ids) and clears it. */
static void
cpu_pair_flush(struct cpu_pair *cur, uint64_t *pairs, size_t *n)
{
	if (cur->has_physical && cur->has_core && *n < MAMORI_CPU_MAX)
		pairs[(*n)++] = (cur->physical << 32) | (cur->core & 0xffffffffu);
	memset(cur, 0, sizeof(*cur));
}

static int
parse_cpuinfo(const char *data, size_t len, Mamori__Hardware *hw)
{
	struct mamori_token key, value;
	struct cpu_pair cur;
	struct mamori_cursor c;
	uint64_t *pairs = NULL, v;
	size_t line_len, npairs = 0, i, unique;
	const char *line;
	uint32_t logical = 0;
	int r = MAMORI_ERR_INTERNAL;

	memset(&cur, 0, sizeof(cur));
	if ((pairs = calloc(MAMORI_CPU_MAX, sizeof(*pairs))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (mamori_split_kv(line, line_len, ':', &key, &value) != 0)
			continue;
		if (mamori_tok_eq(key.p, key.len, "processor")) {
			cpu_pair_flush(&cur, pairs, &npairs);
			if (logical < MAMORI_CPU_MAX)
				logical++;
		} else if (mamori_tok_eq(key.p, key.len, "model name")) {
			if (hw->cpu_model[0] == '\0' && (r = mamori_set_str(
			    &hw->cpu_model, value.p, value.len)) ==
			    MAMORI_ERR_ALLOC)
				goto out;
		} else if (mamori_tok_eq(key.p, key.len, "physical id")) {
			if (mamori_parse_dec(value.p, value.len, UINT32_MAX,
			    &v) == 0) {
				cur.physical = v;
				cur.has_physical = 1;
			}
		} else if (mamori_tok_eq(key.p, key.len, "core id")) {
			if (mamori_parse_dec(value.p, value.len, UINT32_MAX,
			    &v) == 0) {
				cur.core = v;
				cur.has_core = 1;
			}
		}
	}
	cpu_pair_flush(&cur, pairs, &npairs);
	hw->cpu_logical = logical;
	unique = 0;
	if (npairs > 0) {
		qsort(pairs, npairs, sizeof(*pairs), u64_cmp);
		for (i = 0; i < npairs; i++)
			if (i == 0 || pairs[i] != pairs[i - 1])
				unique++;
	}
	hw->cpu_physical = unique > 0 ? (uint32_t)unique : logical;
	r = 0;
out:
	free(pairs);
	return r;
}

/* MemTotal from /proc/meminfo, in bytes. */
static int
parse_meminfo(const char *data, size_t len, uint64_t *bytes)
{
	struct mamori_token key, value, tok[2];
	struct mamori_cursor c;
	const char *line;
	size_t line_len, n;
	uint64_t kib;
	int r = MAMORI_ERR_NOT_FOUND;

	*bytes = 0;
	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (mamori_split_kv(line, line_len, ':', &key, &value) != 0 ||
		    !mamori_tok_eq(key.p, key.len, "MemTotal"))
			continue;
		n = mamori_split_ws(value.p, value.len, tok, 2);
		if (n < 1 || n > 2 || (n == 2 &&
		    !mamori_tok_eq(tok[1].p, tok[1].len, "kB")) ||
		    mamori_parse_dec(tok[0].p, tok[0].len, UINT64_MAX / KIB,
		    &kib) != 0) {
			r = MAMORI_ERR_BAD_MESSAGE;
			break;
		}
		*bytes = kib * KIB;
		r = 0;
		break;
	}
	return r;
}

static const struct {
	const char *file;
	size_t offset;
} dmi_fields[] = {
	{"sys_vendor", offsetof(Mamori__Hardware, vendor)},
	{"product_name", offsetof(Mamori__Hardware, product)},
	{"product_serial", offsetof(Mamori__Hardware, serial)},
	{"board_vendor", offsetof(Mamori__Hardware, board_vendor)},
	{"board_name", offsetof(Mamori__Hardware, board_name)},
	{"bios_version", offsetof(Mamori__Hardware, bios_version)},
};

int
mamori_collector_hardware(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	Mamori__Hardware *hw = NULL;
	struct mamori_buf b;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_CPUINFO_MAX);
	if ((hw = mamori_msg_new(&mamori__hardware__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/cpuinfo")) != 0)
		goto out;
	if (mamori_collect_read(path, MAMORI_CPUINFO_MAX, &b) == 0 &&
	    (r = parse_cpuinfo((const char *)b.data, b.len, hw)) != 0)
		goto out;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/meminfo")) != 0)
		goto out;
	if (mamori_collect_read(path, MAMORI_MEMINFO_MAX, &b) != 0 ||
	    parse_meminfo((const char *)b.data, b.len, &hw->memory_bytes) != 0)
		log_debug("hardware: no MemTotal in %s", path);
	for (i = 0; i < sizeof(dmi_fields) / sizeof(dmi_fields[0]); i++) {
		char **field = (char **)(void *)((char *)hw +
		    dmi_fields[i].offset);

		if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
		    "/sys/class/dmi/id/%s", dmi_fields[i].file)) != 0 ||
		    (r = mamori_set_str_file(field, path)) != 0)
			goto out;
	}
	mamori_msg_free(inv->hardware);
	inv->hardware = hw;
	hw = NULL;
	r = 0;
out:
	mamori_msg_free(hw);
	mamori_buf_free(&b);
	return r;
}

/* 1 for /sys/block names that are not physical disks. */
static int
disk_excluded(const char *name)
{
	static const char *const prefixes[] = {"loop", "ram", "zram", "dm-",
	    "md"};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* Reads a 0/1 sysfs flag; missing or malformed is 0. */
static int
read_flag(const char *path)
{
	uint64_t v;

	return mamori_read_u64(path, 1, &v) == 0 && v == 1;
}

static int
disk_one(const struct mamori_collect_ctx *ctx, const char *name,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	Mamori__Disk *disk = NULL;
	uint64_t sectors;
	int r = MAMORI_ERR_INTERNAL;

	if ((disk = mamori_msg_new(&mamori__disk__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_set_cstr(&disk->name, name)) != 0)
		goto out;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block/%s/size", name)) != 0)
		goto out;
	if (mamori_read_u64(path, UINT64_MAX / SECTOR_BYTES, &sectors) == 0)
		disk->size_bytes = sectors * SECTOR_BYTES;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block/%s/device/model", name)) != 0 ||
	    (r = mamori_set_str_file(&disk->model, path)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block/%s/device/serial", name)) != 0 ||
	    (r = mamori_set_str_file(&disk->serial, path)) != 0)
		goto out;
	if (disk->serial[0] == '\0' &&
	    ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block/%s/serial", name)) != 0 ||
	    (r = mamori_set_str_file(&disk->serial, path)) != 0))
		goto out;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block/%s/queue/rotational", name)) != 0)
		goto out;
	disk->rotational = read_flag(path);
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block/%s/removable", name)) != 0)
		goto out;
	disk->removable = read_flag(path);
	if ((r = mamori_array_append(&inv->disks, &inv->n_disks,
	    MAMORI_MAX_DISKS, disk)) != 0)
		goto out;
	disk = NULL;
	r = 0;
out:
	mamori_msg_free(disk);
	return r;
}

int
mamori_collector_disks(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/sys/block")) != 0)
		goto out;
	if ((r = mamori_list_dir(path, MAMORI_COLLECT_DIR_MAX, &names)) != 0)
		goto out;
	for (i = 0; i < names.n; i++) {
		if (disk_excluded(names.v[i]))
			continue;
		if ((r = disk_one(ctx, names.v[i], inv)) != 0)
			goto out;
	}
	r = 0;
out:
	mamori_names_free(&names);
	return r;
}
