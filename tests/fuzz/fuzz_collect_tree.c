/*
 * fuzz_collect_tree.c - libFuzzer target for every inventory collector at
 * once.  The input describes a small file tree - the /etc, /proc, /sys and
 * /var files the collectors read - which is written under a private
 * directory and collected with mamori_inventory_collect(), so each decoder
 * of disk bytes (os-release, cpuinfo, meminfo, stat, modules, mounts,
 * if_inet6, /proc/net, /proc/PID links, sysfs values and links, DMI, USB,
 * dpkg status, passwd, group) sees fuzzed contents along the same path as
 * on a host, including how the collectors combine files.
 *
 * Input: records of a u8 entry (an index into tree_entries, taken modulo
 * its size), a u16 big-endian length and that many bytes: a file's
 * contents, a link's target, or ignored for a directory.  Reading stops at
 * the first truncated record or after FUZZ_MAX_RECORDS; inputs over
 * FUZZ_MAX_INPUT are skipped.  A later record replaces an earlier one of the
 * same kind at the same path; one that clashes with what is already there
 * (a file where a directory or link is) is skipped.  Parent directories
 * are created as needed.
 *
 * The harness must never write or follow anything outside its directory.
 * Every path is created one component at a time with O_NOFOLLOW, so no
 * write goes through a link.  Links the collectors follow (K_LINK) may only
 * climb with leading ".." as high as their own directory's depth and then
 * go down, so they resolve inside the tree.  Links the collectors only
 * readlink() (K_RAW: /proc/PID/exe, /proc/PID/fd/N) keep any target, since
 * that text is what they parse; a collector that starts following one must
 * move it to K_LINK.  The tree is rebuilt for every input, so no state
 * crosses inputs, and removed at exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "collect.h"
#include "log.h"
#include "mamori.pb-c.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)     /* bytes of one input */
#define FUZZ_MAX_RECORDS 256           /* records read from one input */
#define FUZZ_LINK_MAX 4095             /* longest target Linux stores */
#define FUZZ_PATH_MAX 256              /* a path in tree_entries */
#define FUZZ_TREE_DEPTH 16             /* nesting tree_clear() descends */
#define FUZZ_ROOT_MAX 64               /* the private directory's path */

enum tree_kind {
	K_FILE,         /* regular file: the record is its contents */
	K_DIR,          /* directory: the record's bytes are ignored */
	K_LINK,         /* symlink the collectors follow: target checked */
	K_RAW,          /* symlink only readlink()'d: any target */
};

struct tree_entry {
	enum tree_kind kind;
	const char *path;   /* relative to the root, no "." or ".." */
};

#define NET "sys/class/net"
#define USB "sys/bus/usb/devices"
#define ATA1 "sys/devices/pci0000_00/ata1/block/sda"
#define ATA2 "sys/devices/pci0000_00/ata2/block/sr0"
#define NVME "sys/devices/pci0000_00/nvme/nvme0/block/nvme0n1"
#define USB1 "sys/devices/pci0000_00/usb1/block/sdb"
#define VIRTIO "sys/devices/pci0000_00/virtio0/block/vda"
#define VIRT "sys/devices/virtual/block"

/*
 * Every path a collector reads, as in the fixture trees under
 * tests/unit/fixtures/collect/, plus empty directories they list and a few
 * entries of the wrong kind (a directory where a file is read, a file
 * where a directory is listed).  Append only: the seed corpus refers to
 * entries by index.
 */
static const struct tree_entry tree_entries[] = {
	/* os */
	{K_FILE, "etc/os-release"},
	{K_FILE, "usr/lib/os-release"},
	{K_FILE, "proc/sys/kernel/osrelease"},
	{K_FILE, "proc/sys/kernel/version"},
	{K_FILE, "proc/sys/kernel/hostname"},
	{K_FILE, "etc/machine-id"},
	{K_FILE, "proc/stat"},
	/* hardware */
	{K_FILE, "proc/cpuinfo"},
	{K_FILE, "proc/meminfo"},
	{K_FILE, "sys/class/dmi/id/sys_vendor"},
	{K_FILE, "sys/class/dmi/id/product_name"},
	{K_FILE, "sys/class/dmi/id/product_serial"},
	{K_FILE, "sys/class/dmi/id/board_vendor"},
	{K_FILE, "sys/class/dmi/id/board_name"},
	{K_FILE, "sys/class/dmi/id/bios_version"},
	/* packages, users, groups, kernel modules */
	{K_FILE, "var/lib/dpkg/status"},
	{K_FILE, "etc/passwd"},
	{K_FILE, "etc/group"},
	{K_FILE, "proc/modules"},
	/* listening sockets and their owners */
	{K_FILE, "proc/net/tcp"},
	{K_FILE, "proc/net/tcp6"},
	{K_FILE, "proc/net/udp"},
	{K_FILE, "proc/net/udp6"},
	{K_FILE, "proc/1234/comm"},
	{K_RAW, "proc/1234/exe"},
	{K_DIR, "proc/1234/fd"},
	{K_RAW, "proc/1234/fd/0"},
	{K_RAW, "proc/1234/fd/3"},
	{K_RAW, "proc/1234/fd/4"},
	{K_RAW, "proc/1234/fd/5"},
	{K_FILE, "proc/555/comm"},
	{K_RAW, "proc/555/exe"},
	{K_RAW, "proc/555/fd/6"},
	{K_RAW, "proc/555/fd/7"},
	{K_RAW, "proc/555/fd/8"},
	{K_FILE, "proc/2000/comm"},
	{K_RAW, "proc/2000/fd/3"},
	{K_RAW, "proc/notapid/fd/1"},
	{K_FILE, "proc/4294967295/comm"},
	{K_RAW, "proc/4294967295/exe"},
	{K_RAW, "proc/4294967295/fd/1"},
	/* interfaces */
	{K_DIR, NET},
	{K_FILE, "proc/net/if_inet6"},
	{K_FILE, NET "/eth0/address"},
	{K_FILE, NET "/eth0/flags"},
	{K_FILE, NET "/eth0/mtu"},
	{K_FILE, NET "/eth0/operstate"},
	{K_FILE, NET "/lo/address"},
	{K_FILE, NET "/lo/flags"},
	{K_FILE, NET "/lo/mtu"},
	{K_FILE, NET "/lo/operstate"},
	{K_FILE, NET "/wlan0/address"},
	{K_FILE, NET "/wlan0/flags"},
	{K_FILE, NET "/wlan0/mtu"},
	{K_FILE, NET "/wlan0/operstate"},
	/* USB devices */
	{K_DIR, USB},
	{K_FILE, USB "/usb1/idVendor"},
	{K_FILE, USB "/usb1/idProduct"},
	{K_FILE, USB "/usb1/manufacturer"},
	{K_FILE, USB "/usb1/product"},
	{K_FILE, USB "/usb1/serial"},
	{K_FILE, USB "/usb1/bDeviceClass"},
	{K_FILE, USB "/usb1/authorized"},
	{K_FILE, USB "/1-1/idVendor"},
	{K_FILE, USB "/1-1/idProduct"},
	{K_FILE, USB "/1-1/manufacturer"},
	{K_FILE, USB "/1-1/product"},
	{K_FILE, USB "/1-1/serial"},
	{K_FILE, USB "/1-1/bDeviceClass"},
	{K_FILE, USB "/1-1/authorized"},
	{K_FILE, USB "/1-1:1.0/bInterfaceClass"},
	{K_FILE, USB "/1-2/idVendor"},
	{K_FILE, USB "/1-2/idProduct"},
	{K_FILE, USB "/1-2/manufacturer"},
	{K_FILE, USB "/1-2/product"},
	{K_FILE, USB "/1-2/serial"},
	{K_FILE, USB "/1-2/bDeviceClass"},
	{K_FILE, USB "/1-2/authorized"},
	{K_FILE, USB "/1-0:1.0/bInterfaceClass"},
	/* disks: /sys/block */
	{K_DIR, "sys/block"},
	{K_LINK, "sys/block/dm-0"},
	{K_LINK, "sys/block/dm-1"},
	{K_LINK, "sys/block/dm-2"},
	{K_LINK, "sys/block/dm-3"},
	{K_LINK, "sys/block/dm-4"},
	{K_LINK, "sys/block/dm-5"},
	{K_LINK, "sys/block/loop0"},
	{K_LINK, "sys/block/md0"},
	{K_FILE, "sys/block/mmcblk0/size"},
	{K_LINK, "sys/block/nvme0n1"},
	{K_LINK, "sys/block/sda"},
	{K_LINK, "sys/block/sdb"},
	{K_LINK, "sys/block/sr0"},
	{K_LINK, "sys/block/vda"},
	{K_LINK, "sys/block/zram0"},
	/* block devices: /sys/class/block */
	{K_DIR, "sys/class/block"},
	{K_LINK, "sys/class/block/dm-0"},
	{K_LINK, "sys/class/block/dm-1"},
	{K_LINK, "sys/class/block/dm-2"},
	{K_LINK, "sys/class/block/dm-3"},
	{K_LINK, "sys/class/block/dm-4"},
	{K_LINK, "sys/class/block/dm-5"},
	{K_LINK, "sys/class/block/loop0"},
	{K_LINK, "sys/class/block/loop1"},
	{K_LINK, "sys/class/block/md0"},
	{K_FILE, "sys/class/block/mmcblk0/size"},
	{K_LINK, "sys/class/block/nvme0n1"},
	{K_LINK, "sys/class/block/nvme0n1p1"},
	{K_LINK, "sys/class/block/sda"},
	{K_LINK, "sys/class/block/sda1"},
	{K_LINK, "sys/class/block/sda2"},
	{K_LINK, "sys/class/block/sdb"},
	{K_LINK, "sys/class/block/sr0"},
	{K_LINK, "sys/class/block/vda"},
	{K_LINK, "sys/class/block/zram0"},
	{K_FILE, "proc/self/mounts"},
	/* what the block links point at */
	{K_FILE, ATA1 "/size"},
	{K_FILE, ATA1 "/removable"},
	{K_FILE, ATA1 "/queue/rotational"},
	{K_FILE, ATA1 "/device/model"},
	{K_FILE, ATA1 "/device/serial"},
	{K_FILE, ATA1 "/sda1/size"},
	{K_FILE, ATA1 "/sda1/partition"},
	{K_FILE, ATA1 "/sda2/size"},
	{K_FILE, ATA1 "/sda2/partition"},
	{K_FILE, ATA2 "/size"},
	{K_FILE, ATA2 "/removable"},
	{K_FILE, ATA2 "/queue/rotational"},
	{K_FILE, NVME "/size"},
	{K_FILE, NVME "/removable"},
	{K_FILE, NVME "/queue/rotational"},
	{K_FILE, NVME "/device/model"},
	{K_FILE, NVME "/device/serial"},
	{K_FILE, NVME "/nvme0n1p1/size"},
	{K_FILE, NVME "/nvme0n1p1/partition"},
	{K_FILE, USB1 "/size"},
	{K_FILE, USB1 "/removable"},
	{K_FILE, USB1 "/queue/rotational"},
	{K_FILE, USB1 "/device/model"},
	{K_FILE, VIRTIO "/size"},
	{K_FILE, VIRTIO "/removable"},
	{K_FILE, VIRTIO "/queue/rotational"},
	{K_FILE, VIRTIO "/serial"},
	{K_FILE, VIRT "/dm-0/size"},
	{K_FILE, VIRT "/dm-0/dm/name"},
	{K_FILE, VIRT "/dm-0/dm/uuid"},
	{K_LINK, VIRT "/dm-0/slaves/sda2"},
	{K_FILE, VIRT "/dm-1/size"},
	{K_FILE, VIRT "/dm-1/dm/name"},
	{K_FILE, VIRT "/dm-1/dm/uuid"},
	{K_LINK, VIRT "/dm-1/slaves/dm-0"},
	{K_FILE, VIRT "/dm-2/size"},
	{K_FILE, VIRT "/dm-2/dm/name"},
	{K_FILE, VIRT "/dm-2/dm/uuid"},
	{K_LINK, VIRT "/dm-2/slaves/sda1"},
	{K_FILE, VIRT "/dm-3/size"},
	{K_FILE, VIRT "/dm-3/dm/name"},
	{K_FILE, VIRT "/dm-3/dm/uuid"},
	{K_LINK, VIRT "/dm-3/slaves/nvme0n1p1"},
	{K_FILE, VIRT "/dm-4/size"},
	{K_FILE, VIRT "/dm-4/dm/name"},
	{K_FILE, VIRT "/dm-4/dm/uuid"},
	{K_LINK, VIRT "/dm-4/slaves/dm-5"},
	{K_FILE, VIRT "/dm-5/size"},
	{K_FILE, VIRT "/dm-5/dm/name"},
	{K_FILE, VIRT "/dm-5/dm/uuid"},
	{K_LINK, VIRT "/dm-5/slaves/dm-4"},
	{K_FILE, VIRT "/loop0/size"},
	{K_FILE, VIRT "/loop1/size"},
	{K_FILE, VIRT "/md0/size"},
	{K_LINK, VIRT "/md0/slaves/sdz1"},
	{K_FILE, VIRT "/zram0/size"},
	/* the wrong kind where a collector looks */
	{K_DIR, "etc/os-release"},
	{K_DIR, "etc/passwd"},
	{K_DIR, "proc/modules"},
	{K_DIR, "proc/net/tcp"},
	{K_DIR, "proc/self/mounts"},
	{K_DIR, "var/lib/dpkg/status"},
	{K_DIR, NET "/eth0/mtu"},
	{K_FILE, NET "/dummy0"},
	{K_FILE, "sys/class/block/sdc"},
	{K_FILE, USB "/2-1"},
	{K_FILE, "proc/42/fd"},
	/* a partition whose class entry is a directory, not a link */
	{K_FILE, "sys/class/block/mmcblk0/partition"},
};

#define TREE_ENTRIES (sizeof(tree_entries) / sizeof(tree_entries[0]))
_Static_assert(TREE_ENTRIES <= 256, "a record names its entry in one byte");

static char tree_root[FUZZ_ROOT_MAX];
static int tree_fd = -1;

/*
 * Removes everything inside directory dfd, without following links (a
 * link is removed, not what it points at).  Deleting the entry just read is
 * safe during readdir() on Linux.
 */
static void
tree_clear(int dfd, unsigned depth)
{
	struct dirent *de;
	DIR *d;
	int fd, sub;

	if (depth > FUZZ_TREE_DEPTH || (fd = dup(dfd)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(d);   /* the offset is shared with dfd: start over */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0 || errno != EISDIR)
			continue;
		if ((sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			tree_clear(sub, depth + 1);
			close(sub);
		}
		(void)unlinkat(dfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static void
tree_cleanup(void)
{
	if (tree_fd < 0)
		return;
	tree_clear(tree_fd, 0);
	close(tree_fd);
	tree_fd = -1;
	(void)rmdir(tree_root);
}

/* Creates the private root once per process; aborts when it cannot, so a
 * broken setup never passes for a clean run. */
static void
tree_init(void)
{
	static const char *const bases[] = {"/dev/shm", "/tmp"};
	size_t i;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if ((size_t)snprintf(tree_root, sizeof(tree_root),
		    "%s/mamori-fuzz-tree-XXXXXX", bases[i]) >=
		    sizeof(tree_root))
			continue;
		if (mkdtemp(tree_root) != NULL)
			break;
	}
	if (i == sizeof(bases) / sizeof(bases[0]) ||
	    (tree_fd = open(tree_root, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		fprintf(stderr, "fuzz_collect_tree: no private directory\n");
		abort();
	}
	if (atexit(tree_cleanup) != 0) {
		tree_cleanup();
		abort();
	}
	/* Collector failures are expected here; keep the log quiet. */
	mamori_log_init("fuzz_collect_tree", MAMORI_LOG_ERROR);
}

/* Opens directory name in dfd, creating it when missing; never follows a
 * link.  A descriptor, or -1. */
static int
dir_open(int dfd, const char *name)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, fd;

	if ((fd = openat(dfd, name, flags)) >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dfd, name, 0755) != 0 && errno != EEXIST)
		return -1;
	return openat(dfd, name, flags);
}

/*
 * Opens the directory that will hold path, creating the missing ones; *name
 * gets path's last component (in buf).  A descriptor, or -1 when a
 * component is a link or not a directory.
 */
static int
tree_open_parent(const char *path, char *buf, size_t buflen,
    const char **name)
{
	char *comp, *slash;
	int dfd, next;

	if (mamori_strlcpy(buf, path, buflen) >= buflen ||
	    (dfd = dup(tree_fd)) < 0)
		return -1;
	for (comp = buf; (slash = strchr(comp, '/')) != NULL;
	    comp = slash + 1) {
		*slash = '\0';
		next = dir_open(dfd, comp);
		close(dfd);
		if (next < 0)
			return -1;
		dfd = next;
	}
	*name = comp;
	return dfd;
}

/*
 * 1 when a link at path with this target resolves inside the tree: the
 * target is relative, its ".." components all come first and climb no
 * higher than path's directory is deep, and the rest only goes down.  The
 * directories on path are real ones (tree_open_parent() never follows a
 * link), so the climb ends at the root at the highest; going down through
 * other links is safe because they obey the same rule.
 */
static int
link_stays_inside(const char *path, const char *target)
{
	const char *p, *end;
	size_t depth = 0, up = 0, len;
	int down = 0;

	if (target[0] == '\0' || target[0] == '/')
		return 0;
	for (p = path; *p != '\0'; p++)
		if (*p == '/')
			depth++;
	for (p = target; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (down || ++up > depth)
				return 0;
		} else if (len > 0 && !(len == 1 && p[0] == '.'))
			down = 1;
	}
	return 1;
}

/* Writes all of (data, len) to fd; errors are ignored (the tree just ends
 * up smaller). */
static void
write_all(int fd, const uint8_t *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Creates entry e from the record's bytes: 0, or -1 when it is skipped. */
static int
tree_add(const struct tree_entry *e, const uint8_t *data, size_t len)
{
	char buf[FUZZ_PATH_MAX], target[FUZZ_LINK_MAX + 1];
	const char *name;
	int dfd, fd, r = -1;

	if ((dfd = tree_open_parent(e->path, buf, sizeof(buf), &name)) < 0)
		return -1;
	switch (e->kind) {
	case K_FILE:
		if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0644)) >= 0) {
			write_all(fd, data, len);
			close(fd);
			r = 0;
		}
		break;
	case K_DIR:
		r = mkdirat(dfd, name, 0755);
		break;
	case K_LINK:
	case K_RAW:
		if (len == 0 || len > FUZZ_LINK_MAX ||
		    memchr(data, '\0', len) != NULL)
			break;
		memcpy(target, data, len);
		target[len] = '\0';
		if (e->kind == K_LINK && !link_stays_inside(e->path, target))
			break;
		(void)unlinkat(dfd, name, 0);   /* replaces a link or file */
		r = symlinkat(target, dfd, name);
		break;
	}
	close(dfd);
	return r;
}

/* What the agent does next with an inventory: it must pack to exactly the
 * size protobuf-c computes for it. */
static void
inventory_check(const Mamori__Inventory *inv)
{
	size_t want = mamori__inventory__get_packed_size(inv);
	uint8_t *packed;

	if ((packed = malloc(want > 0 ? want : 1)) == NULL)
		return;
	if (mamori__inventory__pack(inv, packed) != want) {
		fprintf(stderr, "fuzz_collect_tree: packed size mismatch\n");
		abort();
	}
	free(packed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_collect_ctx ctx;
	Mamori__Inventory *inv = NULL;
	struct mamori_cursor c;
	const uint8_t *bytes;
	size_t records;
	uint16_t len;
	uint8_t index;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (tree_fd < 0)
		tree_init();
	tree_clear(tree_fd, 0);
	mamori_cursor_init(&c, data, size);
	for (records = 0; records < FUZZ_MAX_RECORDS; records++) {
		if (mamori_cursor_u8(&c, &index) != 0 ||
		    mamori_cursor_u16(&c, &len) != 0 ||
		    mamori_cursor_bytes(&c, len, &bytes) != 0)
			break;
		(void)tree_add(&tree_entries[index % TREE_ENTRIES], bytes, len);
	}
	ctx.root = tree_root;
	ctx.live = 0;
	if (mamori_inventory_collect(&ctx, &inv) == 0) {
		inventory_check(inv);
		mamori_inventory_free(inv);
	}
	return 0;
}
