/*
 * fuzz_spool_record.c - the spool's record decoder and its recovery.
 *
 * Any bytes either decode as a record lying wholly inside them or are
 * refused.  Then the input becomes a segment file (after the first byte:
 * odd means "prefix a valid segment header", so the fuzzer reaches the
 * records without guessing the header) in a private spool directory, which
 * is opened, read to the end, appended to and closed: recovery must accept
 * any file, and the number it hands out must be above every one read.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "util.h"
#include "wire.h"

#define FUZZ_SEGMENT_MAX (256 * 1024)
#define FUZZ_BATCH_MAX (256 * 1024)
#define FUZZ_SPOOL_CAP (4 * 1024 * 1024)
#define FUZZ_PATH_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_root[FUZZ_PATH_MAX];
static char fuzz_dir[FUZZ_PATH_MAX];

/* Empties the spool directory (it holds only files), then removes it. */
static void
spool_dir_remove(void)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(fuzz_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(fuzz_dir);
}

static void
fuzz_cleanup(void)
{
	spool_dir_remove();
	rmdir(fuzz_root);
}

/* A private directory, on tmpfs when there is one: fsync is free there. */
static int
fuzz_setup(void)
{
	struct stat st;
	const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ?
	    "/dev/shm" : "/tmp";

	if (fuzz_root[0] != '\0')
		return 0;
	snprintf(fuzz_root, sizeof(fuzz_root), "%s/mamori-fuzz-spool-XXXXXX",
	    base);
	if (mkdtemp(fuzz_root) == NULL ||
	    mamori_path_join(fuzz_dir, sizeof(fuzz_dir), fuzz_root,
	    "spool") != 0)
		abort();
	mamori_log_init("fuzz_spool_record", MAMORI_LOG_ERROR);
	atexit(fuzz_cleanup);
	return 0;
}

static void
write_segment(const uint8_t *data, size_t size)
{
	static const uint8_t header[] = {'M', 'S', 'P', 'L', 0, 0, 0, 1};
	char path[FUZZ_PATH_MAX];
	int fd;

	if (mkdir(fuzz_dir, 0700) != 0 ||
	    mamori_path_join(path, sizeof(path), fuzz_dir,
	    "00000000000000000001.seg") != 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		abort();
	if ((data[0] & 1) != 0 &&
	    write(fd, header, sizeof(header)) != (ssize_t)sizeof(header))
		abort();
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(fd);
}

/* Reads everything; returns the highest number read. */
static uint64_t
read_all(struct mamori_spool *sp)
{
	struct mamori_buf b;
	ProtobufCMessage *m;
	uint64_t after = 0, last, high = 0;
	size_t count;
	int empty = 0;

	mamori_buf_init(&b, FUZZ_BATCH_MAX);
	while (empty < 2) {
		mamori_buf_reset(&b);
		if (mamori_spool_read(sp, after, FUZZ_BATCH_MAX, &b, &count,
		    &last) != 0)
			abort();
		if (count == 0) {
			empty++;
			continue;
		}
		empty = 0;
		/* What the spool hands out is a well-formed batch. */
		if (mamori_pb_decode(&mamori__event_batch__descriptor, b.data,
		    b.len, 64 * FUZZ_BATCH_MAX, &m) != 0 ||
		    ((Mamori__EventBatch *)m)->n_events != count || last <= after)
			abort();
		mamori_pb_free(m);
		after = high = last;
	}
	mamori_buf_free(&b);
	return high;
}

static void
recover(const uint8_t *data, size_t size)
{
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	Mamori__Event ev = MAMORI__EVENT__INIT;
	uint64_t high, seq;

	fuzz_setup();
	write_segment(data, size);
	if (mamori_spool_open(fuzz_dir, FUZZ_SPOOL_CAP, &sp) != 0)
		abort();
	high = read_all(sp);
	mamori_spool_stats(sp, &st);
	if (st.next_seq <= high ||
	    mamori_spool_append(sp, &ev, &seq) != 0 || seq <= high)
		abort();
	mamori_spool_close(sp);
	spool_dir_remove();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload;
	size_t len, used, off = 0;

	/* Walk the input as a run of records, as recovery does. */
	while (off < size && mamori_spool_record_decode(data + off,
	    size - off, &payload, &len, &used) == 0) {
		if (payload != data + off + 8 || used != len + 8 ||
		    used > size - off || len == 0 ||
		    len > MAMORI_SPOOL_MAX_RECORD)
			abort();
		off += used;
	}
	if (size > 0 && size <= FUZZ_SEGMENT_MAX)
		recover(data, size);
	return 0;
}
