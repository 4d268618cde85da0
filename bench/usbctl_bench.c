/*
 * usbctl_bench.c - what USB device control costs the agent, on a fake
 * sysfs tree in a temporary directory (never the real /sys):
 *   - the decision alone with a full rule list (MAMORI_USBCTL_RULES_MAX
 *     rules), per attached device;
 *   - mamori_usbctl_on_attach on a device that is allowed (sysfs reads and
 *     the decision) and on one that is blocked (plus the "authorized"
 *     write);
 *   - a rule change with a full list (the file formatted, written and
 *     fsynced, every present device looked at), and reopening the list.
 *
 *   usbctl-bench [--count N]      (default 100000 decisions)
 *
 * Prints what it measured and on what machine.  Never run as a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ftw.h>

#include "bench_util.h"
#include "err.h"
#include "log.h"
#include "usbctl.h"
#include "util.h"

#define BENCH_DEFAULT_COUNT 100000
#define BENCH_MAX_COUNT 100000000
#define BENCH_DEVICES 32                 /* present devices in the tree */
#define BENCH_CHANGES 50                 /* rule changes timed */
#define BENCH_ATTACHES 2000

static void
put(const char *dir, const char *name, const char *value)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "%s\n", value);
	fclose(f);
}

/* root/sys/devices/usb1/1-N and root/sys/bus/usb/devices/1-N links. */
static void
make_tree(const char *root)
{
	char dir[1024], lnk[1024], target[256], v[32];
	int i;

	snprintf(dir, sizeof(dir), "%s/sys", root);
	(void)mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/devices", root);
	(void)mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/devices/usb1", root);
	(void)mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/bus", root);
	(void)mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/bus/usb", root);
	(void)mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/bus/usb/devices", root);
	(void)mkdir(dir, 0755);
	for (i = 0; i < BENCH_DEVICES; i++) {
		snprintf(dir, sizeof(dir), "%s/sys/devices/usb1/1-%d", root,
		    i + 1);
		if (mkdir(dir, 0755) != 0) {
			perror(dir);
			exit(1);
		}
		snprintf(v, sizeof(v), "%04x", 0x1000 + i);
		put(dir, "idVendor", v);
		put(dir, "idProduct", "0001");
		put(dir, "bDeviceClass", "00");
		snprintf(v, sizeof(v), "SERIAL%06d", i);
		put(dir, "serial", v);
		put(dir, "authorized", "1");
		snprintf(lnk, sizeof(lnk), "%s/sys/bus/usb/devices/1-%d", root,
		    i + 1);
		snprintf(target, sizeof(target), "../../../devices/usb1/1-%d",
		    i + 1);
		if (symlink(target, lnk) != 0) {
			perror(lnk);
			exit(1);
		}
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	struct mamori_usbctl *ctl = NULL;
	char root[] = "/tmp/mamori-usbctl-bench-XXXXXX", sys[64], state[64];
	char serial[32];
	uint64_t count = BENCH_DEFAULT_COUNT;
	volatile int sink = 0;
	double t0, t;
	size_t aff;
	int i, r, blocked;
	uint64_t k;

	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		if (mamori_parse_u64(argv[2], 1, BENCH_MAX_COUNT, &count) !=
		    0) {
			fprintf(stderr, "usbctl-bench: --count takes 1 to "
			    "100000000\n");
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: usbctl-bench [--count N]\n");
		return 2;
	}
	mamori_log_init("usbctl-bench", MAMORI_LOG_WARN);
	bench_print_machine(stdout);
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(state, sizeof(state), "%s/state", root);
	(void)mkdir(state, 0700);
	make_tree(root);
	if ((r = mamori_usbctl_open(state, sys, &ctl)) != 0) {
		fprintf(stderr, "usbctl-bench: %s\n", mamori_strerror(r));
		return 1;
	}
	/* A full list: serial blocks on models no present device has, one
	 * model-wide block for device 1-1 (vendor 1000), and the last rule
	 * toggled below (blocking and allowing 1-2, vendor 1001). */
	t0 = bench_wall_seconds();
	for (i = 0; i < MAMORI_USBCTL_RULES_MAX - 2; i++) {
		snprintf(serial, sizeof(serial), "S%05d", i);
		if ((r = mamori_usbctl_rule(ctl, 1, 0xabcd, (uint16_t)i,
		    serial, NULL, NULL, 0)) != 0) {
			fprintf(stderr, "usbctl-bench: rule %d: %s\n", i,
			    mamori_strerror(r));
			return 1;
		}
	}
	t = bench_wall_seconds() - t0;
	printf("filling the list: %d rule changes in %.2f s (each saves the "
	    "whole file with fsync)\n", MAMORI_USBCTL_RULES_MAX - 2, t);
	if ((r = mamori_usbctl_rule(ctl, 1, 0x1000, 0x0001, NULL, &aff, NULL,
	    0)) != 0 || aff != 1) {
		fprintf(stderr, "usbctl-bench: the block did not apply\n");
		return 1;
	}

	t0 = bench_wall_seconds();
	for (k = 0; k < count; k++)
		sink += mamori_usbctl_is_blocked(ctl, (uint16_t)(0x1000 + k %
		    BENCH_DEVICES), 0x0001, "SERIAL000001");
	t = bench_wall_seconds() - t0;
	printf("decision with %d rules: %llu in %.3f s, %.2f us each\n",
	    MAMORI_USBCTL_RULES_MAX, (unsigned long long)count, t,
	    t * 1e6 / (double)count);

	t0 = bench_wall_seconds();
	for (i = 0; i < BENCH_ATTACHES; i++)
		if (mamori_usbctl_on_attach(ctl, "/devices/usb1/1-2",
		    &blocked) != 0 || blocked) {
			fprintf(stderr, "usbctl-bench: 1-2 attach failed\n");
			return 1;
		}
	t = bench_wall_seconds() - t0;
	printf("on_attach, allowed device (5 sysfs reads + decision): "
	    "%.1f us each\n", t * 1e6 / BENCH_ATTACHES);
	{
		char dir[128];
		double reset = 0, t1;

		snprintf(dir, sizeof(dir), "%s/devices/usb1/1-1", sys);
		t0 = bench_wall_seconds();
		for (i = 0; i < BENCH_ATTACHES; i++) {
			t1 = bench_wall_seconds();
			put(dir, "authorized", "1");    /* a fresh attach */
			reset += bench_wall_seconds() - t1;
			if (mamori_usbctl_on_attach(ctl, "/devices/usb1/1-1",
			    &blocked) != 0 || !blocked) {
				fprintf(stderr, "usbctl-bench: 1-1 was not "
				    "blocked\n");
				return 1;
			}
		}
		t = bench_wall_seconds() - t0 - reset;
	}
	printf("on_attach, blocked device (reads, decision, write of "
	    "authorized: O_TRUNC on a disk file here, nothing like sysfs): "
	    "%.1f us each\n", t * 1e6 / BENCH_ATTACHES);

	t0 = bench_wall_seconds();
	for (i = 0; i < BENCH_CHANGES; i++)
		if ((r = mamori_usbctl_rule(ctl, i % 2 == 0, 0x1001, 0x0001,
		    NULL, &aff, NULL, 0)) != 0 || aff != 1) {
			fprintf(stderr, "usbctl-bench: change %d: %s, %zu "
			    "written\n", i, mamori_strerror(r), aff);
			return 1;
		}
	t = bench_wall_seconds() - t0;
	printf("rule change with %d rules and %d devices present (save with "
	    "fsync, scan, one write): %.2f ms each\n",
	    MAMORI_USBCTL_RULES_MAX, BENCH_DEVICES,
	    t * 1e3 / BENCH_CHANGES);
	mamori_usbctl_free(ctl);
	ctl = NULL;

	t0 = bench_wall_seconds();
	for (i = 0; i < BENCH_CHANGES; i++) {
		if (mamori_usbctl_open(state, sys, &ctl) != 0)
			return 1;
		mamori_usbctl_free(ctl);
	}
	t = bench_wall_seconds() - t0;
	printf("opening (reading and checking) a list of %d rules: %.2f ms "
	    "each\n", MAMORI_USBCTL_RULES_MAX, t * 1e3 / BENCH_CHANGES);
	(void)sink;
	(void)nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
