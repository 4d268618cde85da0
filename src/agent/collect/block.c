/*
 * block.c - the block-devices collector: every /sys/class/block entry with
 * its type, size, the devices it is built on, where it is mounted, and
 * whether its data ends up on dm-crypt.
 *
 * Device-mapper targets say what they are in dm/uuid, which the tool that
 * created them sets: cryptsetup uses "CRYPT-<TYPE>-...", LVM "LVM-...".  A
 * device is encrypted when it is a crypt target or sits, through the
 * slaves/ links, on one; the walk is bounded and safe against cycles.  This
 * file must never run lsblk, cryptsetup or dmsetup, never open a device
 * node, and never issue an ioctl.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_MOUNTS_MAX (16 * 1024 * 1024)  /* bytes of /proc/self/mounts */
#define BLOCK_CLASS_DIR "/sys/class/block"
#define SECTOR_BYTES 512
#define DM_VALUE_MAX 256                      /* dm/uuid, dm/name */
#define MOUNT_TOKENS 3                        /* device mountpoint fstype */

/* dm/uuid prefixes and what they mean; the first match wins. */
static const struct {
	const char *prefix;
	const char *type;
	const char *encryption;   /* NULL: not encryption */
} dm_kinds[] = {
	{"CRYPT-LUKS2-", "crypt", "luks2"},
	{"CRYPT-LUKS1-", "crypt", "luks1"},
	{"CRYPT-PLAIN-", "crypt", "plain"},
	{"CRYPT-BITLK-", "crypt", "bitlk"},
	{"CRYPT-TCRYPT-", "crypt", "tcrypt"},
	{"CRYPT-", "dm", NULL},   /* verity, integrity: not encryption */
	{"LVM-", "lvm", NULL},
};

/* What we learn about one device beyond its message. */
struct blk {
	Mamori__BlockDevice *dev;
	const char *crypt;            /* encryption of this device itself */
	char dm_name[DM_VALUE_MAX];   /* "" unless device-mapper */
};

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Sets the type of b (name) and, for dm targets, its crypt and dm name. */
static int
block_type(const struct mamori_collect_ctx *ctx, const char *name,
    struct blk *b)
{
	char path[MAMORI_COLLECT_PATH_MAX], uuid[DM_VALUE_MAX];
	const char *type = "disk";
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    BLOCK_CLASS_DIR "/%s/partition", name)) != 0)
		goto out;
	if (access(path, F_OK) == 0)
		type = "part";
	else if (has_prefix(name, "loop"))
		type = "loop";
	else if (has_prefix(name, "sr"))
		type = "rom";
	else if (has_prefix(name, "md"))
		type = "raid";
	else if (has_prefix(name, "dm-")) {
		type = "dm";
		if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
		    BLOCK_CLASS_DIR "/%s/dm/name", name)) != 0)
			goto out;
		if (mamori_read_value(path, b->dm_name,
		    sizeof(b->dm_name)) != 0)
			b->dm_name[0] = '\0';
		if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
		    BLOCK_CLASS_DIR "/%s/dm/uuid", name)) != 0)
			goto out;
		if (mamori_read_value(path, uuid, sizeof(uuid)) != 0)
			uuid[0] = '\0';
		for (i = 0; i < sizeof(dm_kinds) / sizeof(dm_kinds[0]); i++) {
			if (has_prefix(uuid, dm_kinds[i].prefix)) {
				type = dm_kinds[i].type;
				b->crypt = dm_kinds[i].encryption;
				break;
			}
		}
	}
	r = mamori_set_cstr(&b->dev->type, type);
out:
	return r;
}

/* Adds the disk a partition belongs to: the directory above it in the
 * class link's target (".../block/sda/sda2"). */
static int
partition_parent(const struct mamori_collect_ctx *ctx, const char *name,
    Mamori__BlockDevice *dev)
{
	char path[MAMORI_COLLECT_PATH_MAX], link[MAMORI_COLLECT_PATH_MAX];
	const char *last, *prev;
	ssize_t len;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    BLOCK_CLASS_DIR "/%s", name)) != 0)
		goto out;
	r = 0;
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0 || (size_t)len >= sizeof(link) - 1)
		goto out;   /* not a link: no parent known */
	link[len] = '\0';
	if ((last = strrchr(link, '/')) == NULL || last == link)
		goto out;
	for (prev = last - 1; prev > link && *prev != '/'; prev--)
		;
	if (*prev == '/')
		prev++;
	if (last - prev <= 0 || strcmp(last + 1, name) != 0)
		goto out;
	r = mamori_strv_append(&dev->parents, &dev->n_parents,
	    MAMORI_MAX_BLOCK_PARENTS, prev, (size_t)(last - prev));
out:
	return r;
}

static int
block_one(const struct mamori_collect_ctx *ctx, const char *name,
    struct blk *b)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names slaves = {NULL, 0};
	uint64_t sectors;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((b->dev = mamori_msg_new(&mamori__block_device__descriptor)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_set_cstr(&b->dev->name, name)) != 0 ||
	    (r = block_type(ctx, name, b)) != 0)
		goto out;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    BLOCK_CLASS_DIR "/%s/size", name)) != 0)
		goto out;
	if (mamori_read_u64(path, UINT64_MAX / SECTOR_BYTES, &sectors) == 0)
		b->dev->size_bytes = sectors * SECTOR_BYTES;
	if (strcmp(b->dev->type, "part") == 0 &&
	    (r = partition_parent(ctx, name, b->dev)) != 0)
		goto out;
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    BLOCK_CLASS_DIR "/%s/slaves", name)) != 0)
		goto out;
	if (mamori_list_dir(path, MAMORI_MAX_BLOCK_PARENTS, &slaves) == 0) {
		for (i = 0; i < slaves.n; i++)
			if ((r = mamori_strv_append(&b->dev->parents,
			    &b->dev->n_parents, MAMORI_MAX_BLOCK_PARENTS,
			    slaves.v[i], strlen(slaves.v[i]))) != 0)
				goto out;
	}
	r = 0;
out:
	mamori_names_free(&slaves);
	return r;
}

/* Index of the device called name in blks (sorted by name), or -1. */
static long
blk_find(const struct blk *blks, size_t n, const char *name)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(blks[mid].dev->name, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * The encryption of device i or of the first crypt device found below it,
 * or NULL.  Depth-first through parents; seen (n flags, cleared by the
 * caller) visits each device once, so cycles end.
 */
static const char *
blk_crypt_below(const struct blk *blks, size_t n, size_t i,
    unsigned char *seen)
{
	const char *found;
	size_t p;
	long j;

	if (seen[i])
		return NULL;
	seen[i] = 1;
	if (blks[i].crypt != NULL)
		return blks[i].crypt;
	for (p = 0; p < blks[i].dev->n_parents; p++) {
		if ((j = blk_find(blks, n, blks[i].dev->parents[p])) < 0)
			continue;
		if ((found = blk_crypt_below(blks, n, (size_t)j, seen)) !=
		    NULL)
			return found;
	}
	return NULL;
}

/* Copies (s, len) with the \ooo escapes of /proc/self/mounts decoded. */
static int
mount_unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (o + 1 >= outlen)
			return MAMORI_ERR_TOO_LARGE;
		if (s[i] == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)((s[i + 1] - '0') * 64 +
			    (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return memchr(out, '\0', o) != NULL ? MAMORI_ERR_BAD_STRING : 0;
}

/* Sets mountpoint and fstype from the first mount of each device. */
static int
block_mounts(const struct mamori_collect_ctx *ctx, struct blk *blks, size_t n)
{
	char path[MAMORI_COLLECT_PATH_MAX], dev[MAMORI_COLLECT_PATH_MAX],
	    mnt[MAMORI_COLLECT_PATH_MAX], want[MAMORI_COLLECT_PATH_MAX];
	struct mamori_token tok[MOUNT_TOKENS];
	struct mamori_cursor c;
	struct mamori_buf b;
	const char *line;
	size_t line_len, i;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_MOUNTS_MAX);
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/self/mounts")) != 0)
		goto out;
	if (mamori_collect_read(path, MAMORI_MOUNTS_MAX, &b) != 0) {
		r = 0;      /* no mount table: mountpoints stay empty */
		goto out;
	}
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (mamori_split_ws(line, line_len, tok, MOUNT_TOKENS) <
		    MOUNT_TOKENS ||
		    mount_unescape(tok[0].p, tok[0].len, dev,
		    sizeof(dev)) != 0 ||
		    mount_unescape(tok[1].p, tok[1].len, mnt,
		    sizeof(mnt)) != 0)
			continue;
		for (i = 0; i < n; i++) {
			Mamori__BlockDevice *d = blks[i].dev;
			int match;

			if (d->mountpoint[0] != '\0')
				continue;
			match = snprintf(want, sizeof(want), "/dev/%s",
			    d->name) > 0 && strcmp(want, dev) == 0;
			if (!match && blks[i].dm_name[0] != '\0')
				match = snprintf(want, sizeof(want),
				    "/dev/mapper/%s", blks[i].dm_name) > 0 &&
				    strcmp(want, dev) == 0;
			if (!match)
				continue;
			if ((r = mamori_set_cstr(&d->mountpoint, mnt)) ==
			    MAMORI_ERR_ALLOC ||
			    (r = mamori_set_str(&d->fstype, tok[2].p,
			    tok[2].len)) == MAMORI_ERR_ALLOC)
				goto out;
		}
	}
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_collector_block(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	unsigned char *seen = NULL;
	struct blk *blks = NULL;
	const char *crypt;
	size_t i, n = 0;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "%s",
	    BLOCK_CLASS_DIR)) != 0)
		goto out;
	if ((r = mamori_list_dir(path, MAMORI_MAX_BLOCK, &names)) != 0)
		goto out;
	if (names.n == 0) {
		r = 0;
		goto out;
	}
	if ((blks = calloc(names.n, sizeof(*blks))) == NULL ||
	    (seen = calloc(names.n, 1)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* names is sorted, so blks is sorted by name for blk_find(). */
	for (n = 0; n < names.n; n++)
		if ((r = block_one(ctx, names.v[n], &blks[n])) != 0) {
			n++;
			goto out;
		}
	for (i = 0; i < n; i++) {
		memset(seen, 0, n);
		if ((crypt = blk_crypt_below(blks, n, i, seen)) == NULL)
			continue;
		blks[i].dev->encrypted = 1;
		if ((r = mamori_set_cstr(&blks[i].dev->encryption,
		    crypt)) != 0)
			goto out;
	}
	if ((r = block_mounts(ctx, blks, n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* A loop device with nothing attached is not a device anyone
		 * uses (lsblk leaves them out too). */
		if (strcmp(blks[i].dev->type, "loop") == 0 &&
		    blks[i].dev->size_bytes == 0)
			continue;
		if ((r = mamori_array_append(&inv->block_devices,
		    &inv->n_block_devices, MAMORI_MAX_BLOCK, blks[i].dev)) != 0)
			goto out;
		blks[i].dev = NULL;
	}
	r = 0;
out:
	for (i = 0; blks != NULL && i < n; i++)
		mamori_msg_free(blks[i].dev);
	free(blks);
	free(seen);
	mamori_names_free(&names);
	return r;
}
