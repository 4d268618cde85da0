/*
 * test_buf.c - unit tests for the bounded cursor and the capped buffer
 * (src/common/buf.c).
 *
 * Every cursor getter is tried one byte short of what it needs (it must
 * fail with TRUNCATED, zero its output and not move) and with exactly
 * enough; str8 is fed NULs, over-long and truncated strings; end() must see
 * trailing bytes.  Buffers are filled to their cap and one byte past it.
 * read_file is run on regular files below, at and above the cap, on /proc
 * files, and on a FIFO whose writer pauses, so that a short read is never
 * taken for the end of the file.  These tests must never depend on the
 * contents of the machine beyond /proc/self.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-test-buf.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

/* Writes n bytes of a known pattern to a new file in tmpdir. */
static void
make_file(const char *name, size_t n, char *path, size_t pathlen)
{
	FILE *f;
	size_t i;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "wb"));
	for (i = 0; i < n; i++)
		assert_int_equal(fputc((int)('a' + i % 26), f), 'a' + i % 26);
	assert_int_equal(fclose(f), 0);
}

static void
check_pattern(const struct mamori_buf *b, size_t n)
{
	size_t i;

	assert_int_equal(b->len, n);
	assert_non_null(b->data);
	for (i = 0; i < n; i++)
		assert_int_equal(b->data[i], 'a' + i % 26);
	assert_int_equal(b->data[n], '\0');
}

static void
test_cursor_integers(void **state)
{
	static const uint8_t in[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07, 0x08};
	struct mamori_cursor c;
	uint8_t v8 = 0xee;
	uint16_t v16 = 0xeeee;
	uint32_t v32 = 0xeeeeeeee;
	uint64_t v64 = 0xeeeeeeeeeeeeeeeeULL;

	(void)state;
	/* One byte short: fail, zero the output, do not move. */
	mamori_cursor_init(&c, in, 0);
	assert_int_equal(mamori_cursor_u8(&c, &v8), MAMORI_ERR_TRUNCATED);
	assert_int_equal(v8, 0);
	mamori_cursor_init(&c, in, 1);
	assert_int_equal(mamori_cursor_u16(&c, &v16), MAMORI_ERR_TRUNCATED);
	assert_int_equal(v16, 0);
	assert_int_equal(mamori_cursor_remaining(&c), 1);
	mamori_cursor_init(&c, in, 3);
	assert_int_equal(mamori_cursor_u32(&c, &v32), MAMORI_ERR_TRUNCATED);
	assert_int_equal(v32, 0);
	assert_int_equal(mamori_cursor_remaining(&c), 3);
	mamori_cursor_init(&c, in, 7);
	assert_int_equal(mamori_cursor_u64(&c, &v64), MAMORI_ERR_TRUNCATED);
	assert_true(v64 == 0);
	assert_int_equal(mamori_cursor_remaining(&c), 7);

	/* Exactly enough: big-endian values, then the end. */
	mamori_cursor_init(&c, in, 8);
	assert_int_equal(mamori_cursor_u64(&c, &v64), 0);
	assert_true(v64 == 0x0102030405060708ULL);
	assert_int_equal(mamori_cursor_remaining(&c), 0);
	assert_int_equal(mamori_cursor_end(&c), 0);
	assert_int_equal(mamori_cursor_u8(&c, &v8), MAMORI_ERR_TRUNCATED);

	mamori_cursor_init(&c, in, 7);
	assert_int_equal(mamori_cursor_u8(&c, &v8), 0);
	assert_int_equal(v8, 0x01);
	assert_int_equal(mamori_cursor_u16(&c, &v16), 0);
	assert_int_equal(v16, 0x0203);
	assert_int_equal(mamori_cursor_u32(&c, &v32), 0);
	assert_true(v32 == 0x04050607u);
	assert_int_equal(mamori_cursor_end(&c), 0);

	/* High bits survive (no sign extension). */
	{
		static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb,
		    0xfa, 0xf9, 0xf8};

		mamori_cursor_init(&c, ff, sizeof(ff));
		assert_int_equal(mamori_cursor_u64(&c, &v64), 0);
		assert_true(v64 == 0xfffefdfcfbfaf9f8ULL);
	}
}

static void
test_cursor_bytes_copy(void **state)
{
	static const uint8_t in[5] = {'h', 'e', 'l', 'l', 'o'};
	struct mamori_cursor c;
	const uint8_t *p = in;
	uint8_t out[8];

	(void)state;
	mamori_cursor_init(&c, in, sizeof(in));
	assert_int_equal(mamori_cursor_bytes(&c, 6, &p), MAMORI_ERR_TRUNCATED);
	assert_null(p);
	assert_int_equal(mamori_cursor_remaining(&c), 5);
	assert_int_equal(mamori_cursor_bytes(&c, SIZE_MAX, &p),
	    MAMORI_ERR_TRUNCATED);
	assert_int_equal(mamori_cursor_bytes(&c, 2, &p), 0);
	assert_ptr_equal(p, in);
	assert_int_equal(mamori_cursor_bytes(&c, 0, &p), 0);
	assert_ptr_equal(p, in + 2);

	memset(out, 0x55, sizeof(out));
	assert_int_equal(mamori_cursor_copy(&c, out, 4), MAMORI_ERR_TRUNCATED);
	assert_int_equal(out[0], 0x55); /* nothing copied on failure */
	assert_int_equal(mamori_cursor_remaining(&c), 3);
	assert_int_equal(mamori_cursor_copy(&c, out, 3), 0);
	assert_memory_equal(out, "llo", 3);
	assert_int_equal(mamori_cursor_end(&c), 0);

	/* A NULL input is an empty one. */
	mamori_cursor_init(&c, NULL, 100);
	assert_int_equal(mamori_cursor_remaining(&c), 0);
	assert_int_equal(mamori_cursor_copy(&c, out, 1), MAMORI_ERR_TRUNCATED);
}

static void
test_cursor_str8(void **state)
{
	static const uint8_t good[] = {3, 'a', 'b', 'c', 0, 9};
	static const uint8_t nul[] = {3, 'a', 0, 'c'};
	static const uint8_t trunc[] = {5, 'a', 'b', 'c'};
	static const uint8_t longer[] = {4, 'a', 'b', 'c', 'd'};
	struct mamori_cursor c;
	char out[8];
	uint8_t v;

	(void)state;
	mamori_cursor_init(&c, good, sizeof(good));
	assert_int_equal(mamori_cursor_str8(&c, out, 3), 0);
	assert_string_equal(out, "abc");
	/* A zero-length string is the empty string. */
	assert_int_equal(mamori_cursor_str8(&c, out, 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(mamori_cursor_end(&c), MAMORI_ERR_TRAILING);
	assert_int_equal(mamori_cursor_u8(&c, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(mamori_cursor_end(&c), 0);

	/* Refusals leave the cursor where it was. */
	mamori_cursor_init(&c, nul, sizeof(nul));
	out[0] = 'x';
	out[1] = '\0';
	assert_int_equal(mamori_cursor_str8(&c, out, 7), MAMORI_ERR_BAD_STRING);
	assert_int_equal(mamori_cursor_remaining(&c), sizeof(nul));
	assert_string_equal(out, "");

	mamori_cursor_init(&c, trunc, sizeof(trunc));
	assert_int_equal(mamori_cursor_str8(&c, out, 7), MAMORI_ERR_TRUNCATED);
	assert_int_equal(mamori_cursor_remaining(&c), sizeof(trunc));

	mamori_cursor_init(&c, longer, sizeof(longer));
	assert_int_equal(mamori_cursor_str8(&c, out, 3), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_cursor_remaining(&c), sizeof(longer));
	assert_int_equal(mamori_cursor_str8(&c, out, 4), 0);
	assert_string_equal(out, "abcd");

	mamori_cursor_init(&c, good, 0);
	assert_int_equal(mamori_cursor_str8(&c, out, 7), MAMORI_ERR_TRUNCATED);
}

static void
test_cursor_end(void **state)
{
	static const uint8_t in[3] = {1, 2, 3};
	struct mamori_cursor c;
	const uint8_t *p;

	(void)state;
	mamori_cursor_init(&c, in, sizeof(in));
	assert_int_equal(mamori_cursor_end(&c), MAMORI_ERR_TRAILING);
	assert_int_equal(mamori_cursor_bytes(&c, 2, &p), 0);
	assert_int_equal(mamori_cursor_end(&c), MAMORI_ERR_TRAILING);
	assert_int_equal(mamori_cursor_bytes(&c, 1, &p), 0);
	assert_int_equal(mamori_cursor_end(&c), 0);
	mamori_cursor_init(&c, in, 0);
	assert_int_equal(mamori_cursor_end(&c), 0);
}

static void
test_next_line(void **state)
{
	static const char text[] = "one\ntwo\n\nlast";
	struct mamori_cursor c;
	const char *line;
	size_t len;

	(void)state;
	mamori_cursor_init(&c, text, strlen(text));
	assert_int_equal(mamori_next_line(&c, &line, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(line, "one", 3);
	assert_int_equal(mamori_next_line(&c, &line, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(line, "two", 3);
	assert_int_equal(mamori_next_line(&c, &line, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(mamori_next_line(&c, &line, &len), 1);
	assert_int_equal(len, 4);
	assert_memory_equal(line, "last", 4);
	assert_int_equal(mamori_next_line(&c, &line, &len), 0);
	assert_null(line);

	/* A final newline does not make an extra empty line. */
	mamori_cursor_init(&c, "a\n", 2);
	assert_int_equal(mamori_next_line(&c, &line, &len), 1);
	assert_int_equal(len, 1);
	assert_int_equal(mamori_next_line(&c, &line, &len), 0);
}

static void
test_buf_cap(void **state)
{
	struct mamori_buf b;
	uint8_t *p;
	char s[300];
	size_t i;

	(void)state;
	mamori_buf_init(&b, 10);
	assert_null(b.data);
	assert_int_equal(mamori_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(b.data[10], '\0');
	assert_int_equal(mamori_buf_append(&b, "x", 1), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_buf_put_u8(&b, 1), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_buf_reserve(&b, 1, &p), MAMORI_ERR_TOO_LARGE);
	assert_null(p);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	assert_int_equal(mamori_buf_append(&b, "", 0), 0);
	assert_int_equal(mamori_buf_reserve(&b, SIZE_MAX, &p),
	    MAMORI_ERR_TOO_LARGE);

	mamori_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(mamori_buf_put_u64(&b, 0x0102030405060708ULL), 0);
	assert_int_equal(mamori_buf_put_u16(&b, 0xa0b0), 0);
	assert_int_equal(mamori_buf_put_u32(&b, 1), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data,
	    "\x01\x02\x03\x04\x05\x06\x07\x08\xa0\xb0", 10);
	mamori_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	mamori_buf_free(&b); /* twice is fine */

	/* Growth keeps the contents, one byte at a time up to the cap. */
	mamori_buf_init(&b, 5000);
	for (i = 0; i < 5000; i++)
		assert_int_equal(mamori_buf_put_u8(&b, (uint8_t)i), 0);
	assert_int_equal(mamori_buf_put_u8(&b, 0), MAMORI_ERR_TOO_LARGE);
	for (i = 0; i < 5000; i++)
		assert_int_equal(b.data[i], (uint8_t)i);
	assert_int_equal(b.data[5000], '\0');
	mamori_buf_free(&b);

	/* str8: 255 bytes fit, 256 do not. */
	mamori_buf_init(&b, 1024);
	memset(s, 'q', sizeof(s));
	s[255] = '\0';
	assert_int_equal(mamori_buf_put_str8(&b, s), 0);
	assert_int_equal(b.len, 256);
	assert_int_equal(b.data[0], 255);
	s[255] = 'q';
	s[256] = '\0';
	assert_int_equal(mamori_buf_put_str8(&b, s), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(b.len, 256);
	mamori_buf_free(&b);

	/* A cap of zero holds nothing. */
	mamori_buf_init(&b, 0);
	assert_int_equal(mamori_buf_put_u8(&b, 1), MAMORI_ERR_TOO_LARGE);
	mamori_buf_free(&b);
}

/* A buffer without a practical cap must still allocate room for what it
 * holds (the cap + 1 for the NUL must not wrap). */
static void
test_buf_unlimited(void **state)
{
	struct mamori_buf b;
	char big[1000];
	size_t i;

	(void)state;
	memset(big, 'z', sizeof(big));
	mamori_buf_init(&b, SIZE_MAX);
	for (i = 0; i < 20; i++)
		assert_int_equal(mamori_buf_append(&b, big, sizeof(big)), 0);
	assert_int_equal(b.len, 20 * sizeof(big));
	for (i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], 'z');
	assert_int_equal(b.data[b.len], '\0');
	mamori_buf_free(&b);
}

static void
test_read_file_sizes(void **state)
{
	static const size_t caps[] = {0, 1, 100, 4095, 4096, 4097, 10000};
	struct mamori_buf b;
	char path[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t cap = caps[i];

		/* exactly at the cap */
		make_file("at", cap, path, sizeof(path));
		mamori_buf_init(&b, cap);
		assert_int_equal(mamori_buf_read_file(&b, path), 0);
		if (cap > 0)
			check_pattern(&b, cap);
		else
			assert_int_equal(b.len, 0);
		assert_int_equal(unlink(path), 0);

		/* one byte over, and far over */
		make_file("over", cap + 1, path, sizeof(path));
		assert_int_equal(mamori_buf_read_file(&b, path),
		    MAMORI_ERR_TOO_LARGE);
		assert_int_equal(b.len, 0);
		assert_int_equal(unlink(path), 0);
		make_file("far", cap + 9000, path, sizeof(path));
		assert_int_equal(mamori_buf_read_file(&b, path),
		    MAMORI_ERR_TOO_LARGE);
		assert_int_equal(b.len, 0);
		assert_int_equal(unlink(path), 0);

		/* under the cap */
		if (cap > 0) {
			make_file("under", cap - 1, path, sizeof(path));
			assert_int_equal(mamori_buf_read_file(&b, path), 0);
			if (cap > 1)
				check_pattern(&b, cap - 1);
			assert_int_equal(unlink(path), 0);
		}
		mamori_buf_free(&b);
	}

	/* read_file resets what the buffer held before. */
	make_file("small", 3, path, sizeof(path));
	mamori_buf_init(&b, 100);
	assert_int_equal(mamori_buf_append(&b, "old", 3), 0);
	assert_int_equal(mamori_buf_read_file(&b, path), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc", 3);
	assert_int_equal(unlink(path), 0);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(mamori_buf_read_file(&b, path), MAMORI_ERR_NOT_FOUND);
	assert_int_equal(b.len, 0);
	mamori_buf_free(&b);
}

static void
test_read_file_proc(void **state)
{
	struct mamori_buf b;

	(void)state;
	/* stat() says 0 bytes for these; the content is still read. */
	mamori_buf_init(&b, 64 * 1024);
	assert_int_equal(mamori_buf_read_file(&b, "/proc/self/status"), 0);
	assert_true(b.len > 20);
	assert_memory_equal(b.data, "Name:", 5);
	assert_int_equal(strlen((const char *)b.data), b.len);
	mamori_buf_free(&b);

	mamori_buf_init(&b, 16);
	assert_int_equal(mamori_buf_read_file(&b, "/proc/self/status"),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	mamori_buf_free(&b);
}

/* A writer that pauses between two writes: the reader sees a short read
 * before the end of the data. */
static void
read_fifo(size_t cap, int expect_r, size_t expect_len)
{
	static const char part1[50] = "first part of the fifo data";
	char path[256], part2[100];
	struct mamori_buf b;
	struct timespec pause = {0, 150 * 1000 * 1000};
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	memset(part2, 'x', sizeof(part2));
	if ((pid = fork()) == 0) {
		int fd;

		signal(SIGPIPE, SIG_DFL);
		fd = open(path, O_WRONLY);

		if (fd < 0 || write(fd, part1, sizeof(part1)) != 50)
			_exit(1);
		nanosleep(&pause, NULL);
		if (write(fd, part2, sizeof(part2)) != 100)
			_exit(1);
		_exit(0);
	}
	assert_true(pid > 0);
	mamori_buf_init(&b, cap);
	assert_int_equal(mamori_buf_read_file(&b, path), expect_r);
	assert_int_equal(b.len, expect_len);
	if (expect_len > 0) {
		assert_memory_equal(b.data, part1, 50);
		assert_memory_equal(b.data + 50, part2, 100);
	}
	mamori_buf_free(&b);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* The child may die of SIGPIPE once the reader gives up. */
	assert_true((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
	    (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE));
	assert_int_equal(unlink(path), 0);
}

static void
test_read_file_short_reads(void **state)
{
	(void)state;
	/* 150 bytes arrive in two writes. */
	read_fifo(100, MAMORI_ERR_TOO_LARGE, 0);
	read_fifo(200, 0, 150);
	read_fifo(150, 0, 150);
	read_fifo(149, MAMORI_ERR_TOO_LARGE, 0);
	read_fifo(64 * 1024, 0, 150);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_integers),
		cmocka_unit_test(test_cursor_bytes_copy),
		cmocka_unit_test(test_cursor_str8),
		cmocka_unit_test(test_cursor_end),
		cmocka_unit_test(test_next_line),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_unlimited),
		cmocka_unit_test(test_read_file_sizes),
		cmocka_unit_test(test_read_file_proc),
		cmocka_unit_test(test_read_file_short_reads),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
