/*
 * test_home.c - server home creation and the storage key file
 * (src/common/home.c): layout and modes, fingerprints, refusal to
 * overwrite, refusal of a key inside the home, and the strict reading of
 * the key file.  Works only inside its own mkdtemp directory and never
 * touches anything outside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "home.h"
#include "pki.h"
#include "util.h"

#define TEST_PATH_MAX 4096
#define TEST_FILE_MAX (64 * 1024)
#define TEST_WHY_MAX 512

struct fixture {
	char root[TEST_PATH_MAX];
	char home[TEST_PATH_MAX];
	char key[TEST_PATH_MAX];
};

static void
join(char *out, const char *a, const char *b)
{
	assert_int_equal(mamori_path_join(out, TEST_PATH_MAX, a, b), 0);
}

/* out = printf(fmt, ...), failing the test when it does not fit. */
static void
pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, TEST_PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < TEST_PATH_MAX);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/mamori-test-home-XXXXXX");
	if (mkdtemp(f->root) == NULL) {
		free(f);
		return -1;
	}
	pathf(f->home, "%s/home", f->root);
	pathf(f->key, "%s/storage.key", f->root);
	*state = f;
	return 0;
}

/* Removes what a test may have made: the home's known files, then dirs. */
static int
teardown(void **state)
{
	static const char *const files[] = {MAMORI_HOME_CA_KEY,
	    MAMORI_HOME_CA_CERT, MAMORI_HOME_SERVER_KEY,
	    MAMORI_HOME_SERVER_CERT, MAMORI_HOME_OWNER_KEY,
	    MAMORI_HOME_OWNER_PUB, "extra", NULL};
	static const char *const homes[] = {"home", "home2", "empty", "busy",
	    NULL};
	static const char *const loose[] = {"storage.key", "k2", "k3", "k4",
	    "kv", NULL};
	struct fixture *f = *state;
	char dir[TEST_PATH_MAX], path[TEST_PATH_MAX];
	size_t h, i;

	for (h = 0; homes[h] != NULL; h++) {
		pathf(dir, "%s/%s", f->root, homes[h]);
		for (i = 0; files[i] != NULL; i++) {
			pathf(path, "%s/%s", dir, files[i]);
			unlink(path);
		}
		pathf(path, "%s/key", dir);
		unlink(path);
		pathf(path, "%s/%s", dir, MAMORI_HOME_KEYS);
		rmdir(path);
		pathf(path, "%s/%s", dir, MAMORI_HOME_DATA);
		rmdir(path);
		rmdir(dir);
	}
	for (i = 0; loose[i] != NULL; i++) {
		pathf(path, "%s/%s", f->root, loose[i]);
		unlink(path);
	}
	rmdir(f->root);
	free(f);
	return 0;
}

static mode_t
mode_of(const char *dir, const char *rel)
{
	char path[TEST_PATH_MAX];
	struct stat st;

	if (rel != NULL)
		join(path, dir, rel);
	else
		pathf(path, "%s", dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
read_whole(const char *path, struct mamori_buf *b)
{
	mamori_buf_init(b, TEST_FILE_MAX);
	assert_int_equal(mamori_buf_read_file(b, path), 0);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_create_layout(void **state)
{
	struct fixture *f = *state;
	struct mamori_home_fingerprints fp, loaded;
	char why[TEST_WHY_MAX], path[TEST_PATH_MAX];
	uint8_t key[MAMORI_KEY_LEN], zero[MAMORI_KEY_LEN], digest[32];
	EVP_PKEY *owner = NULL;
	X509 *ca = NULL;
	struct mamori_buf text;

	assert_int_equal(mamori_home_create(f->home, f->key, &fp, why,
	    sizeof(why)), 0);
	assert_int_equal(mode_of(f->home, NULL), 0700);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_KEYS), 0700);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_DATA), 0700);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_CA_KEY), 0600);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_SERVER_KEY), 0600);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_OWNER_KEY), 0600);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_CA_CERT) & 077, 044);
	assert_int_equal(mode_of(f->home, MAMORI_HOME_SERVER_CERT) & 077, 044);
	assert_true(exists(f->key));
	assert_int_equal(mode_of(f->key, NULL), 0600);

	/* The key file: 64 hex and a newline, loadable, not all zero. */
	read_whole(f->key, &text);
	assert_int_equal(text.len, 65);
	assert_int_equal(text.data[64], '\n');
	mamori_buf_free(&text);
	assert_int_equal(mamori_storage_key_load(f->key, key), 0);
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(key, zero, sizeof(key));

	/* Fingerprints agree with the files. */
	join(path, f->home, MAMORI_HOME_CA_CERT);
	assert_int_equal(mamori_cert_load(path, &ca), 0);
	assert_int_equal(mamori_cert_fingerprint(ca, digest), 0);
	assert_memory_equal(digest, fp.ca, sizeof(digest));
	join(path, f->home, MAMORI_HOME_OWNER_KEY);
	assert_int_equal(mamori_key_load(path, &owner), 0);
	assert_int_equal(mamori_pubkey_fingerprint(owner, digest), 0);
	assert_memory_equal(digest, fp.owner, sizeof(digest));
	assert_int_equal(mamori_home_fingerprints(f->home, &loaded), 0);
	assert_memory_equal(&loaded, &fp, sizeof(fp));
	X509_free(ca);
	EVP_PKEY_free(owner);
}

static void
test_create_refuses_existing(void **state)
{
	struct fixture *f = *state;
	struct mamori_home_fingerprints fp;
	struct mamori_buf before, after;
	char why[TEST_WHY_MAX], path[TEST_PATH_MAX], k2[TEST_PATH_MAX];

	assert_int_equal(mamori_home_create(f->home, f->key, &fp, why,
	    sizeof(why)), 0);
	join(path, f->home, MAMORI_HOME_CA_KEY);
	read_whole(path, &before);

	/* Same home, new key file: refused, nothing changed or made. */
	join(k2, f->root, "k2");
	why[0] = '\0';
	assert_int_equal(mamori_home_create(f->home, k2, &fp, why,
	    sizeof(why)), MAMORI_ERR_EXISTS);
	assert_true(why[0] != '\0');
	assert_false(exists(k2));
	read_whole(path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	mamori_buf_free(&before);
	mamori_buf_free(&after);

	/* New home, existing key file: refused, home not made. */
	join(path, f->root, "home2");
	assert_int_equal(mamori_home_create(path, f->key, &fp, why,
	    sizeof(why)), MAMORI_ERR_EXISTS);
	assert_false(exists(path));
}

static void
test_create_key_inside_home(void **state)
{
	struct fixture *f = *state;
	char why[TEST_WHY_MAX], key[TEST_PATH_MAX], odd[TEST_PATH_MAX];

	/* The home does not exist yet: still recognised as inside. */
	join(key, f->home, "key");
	assert_int_equal(mamori_home_create(f->home, key, NULL, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_false(exists(f->home));
	/* Through ".." and "." on the way. */
	pathf(odd, "%s/../%s/./home/key",
	    f->root, strrchr(f->root, '/') + 1);
	assert_int_equal(mamori_home_create(f->home, odd, NULL, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_false(exists(f->home));
	/* The home itself as the key file. */
	assert_int_equal(mamori_home_create(f->home, f->home, NULL, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_false(exists(f->home));
}

static void
test_create_existing_dir(void **state)
{
	struct fixture *f = *state;
	char why[TEST_WHY_MAX], dir[TEST_PATH_MAX], k[TEST_PATH_MAX];
	char extra[TEST_PATH_MAX];

	/* An empty directory may become the home. */
	join(dir, f->root, "empty");
	assert_int_equal(mkdir(dir, 0755), 0);
	join(k, f->root, "k3");
	assert_int_equal(mamori_home_create(dir, k, NULL, why, sizeof(why)),
	    0);
	assert_int_equal(mode_of(dir, NULL), 0700);

	/* One with anything in it may not. */
	join(dir, f->root, "busy");
	assert_int_equal(mkdir(dir, 0700), 0);
	join(extra, dir, "extra");
	write_file(extra, "x", 0600);
	join(k, f->root, "k4");
	assert_int_equal(mamori_home_create(dir, k, NULL, why, sizeof(why)),
	    MAMORI_ERR_EXISTS);
	assert_false(exists(k));
	join(extra, dir, MAMORI_HOME_KEYS);
	assert_false(exists(extra));
}

static void
test_storage_key_load(void **state)
{
	static const char hex[] =
	    "00112233445566778899aabbccddeeff"
	    "00112233445566778899AABBCCDDEEFF";
	struct fixture *f = *state;
	uint8_t key[MAMORI_KEY_LEN], zero[MAMORI_KEY_LEN];
	char path[TEST_PATH_MAX], text[256];

	memset(zero, 0, sizeof(zero));
	join(path, f->root, "kv");

	snprintf(text, sizeof(text), "%s\n", hex);
	write_file(path, text, 0600);
	assert_int_equal(mamori_storage_key_load(path, key), 0);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[1], 0x11);
	assert_int_equal(key[31], 0xff);

	write_file(path, hex, 0600); /* no newline: fine */
	assert_int_equal(mamori_storage_key_load(path, key), 0);

	/* Readable by others: refused, key left zero. */
	snprintf(text, sizeof(text), "%s\n", hex);
	write_file(path, text, 0644);
	assert_int_equal(mamori_storage_key_load(path, key),
	    MAMORI_ERR_PERMISSION);
	assert_memory_equal(key, zero, sizeof(key));
	write_file(path, text, 0640);
	assert_int_equal(mamori_storage_key_load(path, key),
	    MAMORI_ERR_PERMISSION);

	/* Wrong lengths. */
	snprintf(text, sizeof(text), "%.63s\n", hex);
	write_file(path, text, 0600);
	assert_int_not_equal(mamori_storage_key_load(path, key), 0);
	snprintf(text, sizeof(text), "%s0\n", hex);
	write_file(path, text, 0600);
	assert_int_not_equal(mamori_storage_key_load(path, key), 0);
	snprintf(text, sizeof(text), "%s\n\n", hex);
	write_file(path, text, 0600);
	assert_int_not_equal(mamori_storage_key_load(path, key), 0);
	write_file(path, "", 0600);
	assert_int_not_equal(mamori_storage_key_load(path, key), 0);

	/* Not hex. */
	snprintf(text, sizeof(text), "%.63sg\n", hex);
	write_file(path, text, 0600);
	assert_int_equal(mamori_storage_key_load(path, key),
	    MAMORI_ERR_INVALID);
	assert_memory_equal(key, zero, sizeof(key));
	snprintf(text, sizeof(text), " %.63s\n", hex);
	write_file(path, text, 0600);
	assert_int_equal(mamori_storage_key_load(path, key),
	    MAMORI_ERR_INVALID);

	unlink(path);
	assert_int_equal(mamori_storage_key_load(path, key),
	    MAMORI_ERR_NOT_FOUND);
}

static void
test_home_path(void **state)
{
	char out[64], small[8];

	(void)state;
	assert_int_equal(mamori_home_path("/var/lib/mamori",
	    MAMORI_HOME_ADMIN_SOCK, out, sizeof(out)), 0);
	assert_string_equal(out, "/var/lib/mamori/admin.sock");
	assert_int_equal(mamori_home_path("/var/lib/mamori",
	    MAMORI_HOME_ADMIN_SOCK, small, sizeof(small)),
	    MAMORI_ERR_TOO_LARGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_existing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_key_inside_home,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_existing_dir,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage_key_load, setup,
		    teardown),
		cmocka_unit_test(test_home_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
