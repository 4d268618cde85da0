/*
 * tables_fs.c - file, hash and mounts.
 *
 * file and hash describe the paths a query names (path = '...', or every
 * entry of directory = '...', not recursive); they never follow a path the
 * query did not name except through the final symlink hash reads.  Hashing
 * reads regular files only, in chunks, up to QFS_HASH_FILE_MAX bytes, and
 * checks the query's deadline between chunks.  mounts reads
 * ROOT/proc/self/mountinfo (or /proc/self/mounts) and asks statvfs() for sizes on a live host,
 * except for network and FUSE file systems that could hang the query and
 * autofs mount points, which statvfs() would mount.
 * Nothing here may write, create or change the times of any file (files
 * are opened O_NOATIME when we may).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "parse.h"
#include "tables.h"

#define QFS_DIR_ENTRIES_MAX 100000     /* entries of one directory */
#define QFS_HASH_FILE_MAX ((uint64_t)4 << 30)  /* bytes hashed per file */
#define QFS_HASH_CHUNK 65536
#define QFS_MOUNTINFO_MAX (16u * 1024 * 1024)

#define COLS(a) a, sizeof(a) / sizeof(a[0])
#define I MAMORI_QCOL_INT
#define T MAMORI_QCOL_TEXT

/* Calls fn for value (key is the path column) or for each entry of the
 * directory value (key is the directory column). */
typedef int (*path_fn)(const struct mamori_qctx *q, const char *path,
    const char *directory, struct mamori_qrows *out);

static int
each_path(const struct mamori_qctx *q, int is_dir, const char *value,
    path_fn fn, struct mamori_qrows *out)
{
	char path[MAMORI_COLLECT_PATH_MAX], full[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	size_t i, len;
	int r;

	if (value[0] != '/')
		return 0;               /* relative paths name nothing */
	/* The row's path is the value as given: SQLite checks it again. */
	if (!is_dir)
		return fn(q, value, NULL, out);
	if (mamori_collect_pathf(q->collect, full, sizeof(full), "%s",
	    value) != 0)
		return 0;
	if ((r = mamori_list_dir(full, QFS_DIR_ENTRIES_MAX, &names)) != 0)
		return r == MAMORI_ERR_NOT_FOUND ||
		    r == MAMORI_ERR_PERMISSION ? 0 : r;
	len = strlen(value);
	for (i = 0; i < names.n; i++) {
		if (snprintf(path, sizeof(path), "%s%s%s", value,
		    len > 0 && value[len - 1] == '/' ? "" : "/",
		    names.v[i]) >= (int)sizeof(path))
			continue;
		if ((r = fn(q, path, value, out)) != 0)
			break;
	}
	mamori_names_free(&names);
	return r;
}

/* ---- file --------------------------------------------------------------- */

enum { F_PATH, F_DIRECTORY, F_FILENAME, F_INODE, F_UID, F_GID, F_MODE,
	F_DEVICE, F_SIZE, F_BLOCK_SIZE, F_ATIME, F_MTIME, F_CTIME, F_BTIME,
	F_HARD_LINKS, F_SYMLINK, F_TYPE };
static const struct mamori_qcol file_cols[] = {
	{"path", T}, {"directory", T}, {"filename", T}, {"inode", I},
	{"uid", I}, {"gid", I}, {"mode", T}, {"device", I}, {"size", I},
	{"block_size", I}, {"atime", I}, {"mtime", I}, {"ctime", I},
	{"btime", I}, {"hard_links", I}, {"symlink", I}, {"type", T},
};

static const char *
file_type(mode_t m)
{
	return S_ISREG(m) ? "regular" : S_ISDIR(m) ? "directory" :
	    S_ISLNK(m) ? "symlink" : S_ISBLK(m) ? "block" :
	    S_ISCHR(m) ? "character" : S_ISFIFO(m) ? "fifo" :
	    S_ISSOCK(m) ? "socket" : "unknown";
}

static int
file_one(const struct mamori_qctx *q, const char *path,
    const char *directory, struct mamori_qrows *out)
{
	char full[MAMORI_COLLECT_PATH_MAX], mode[8];
	struct statx sx;
	const char *slash;
	int r;

	if (mamori_collect_pathf(q->collect, full, sizeof(full), "%s",
	    path) != 0)
		return 0;
	if (statx(AT_FDCWD, full, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS |
	    STATX_BTIME, &sx) != 0)
		return 0;               /* missing: no row, as osquery */
	slash = strrchr(path, '/');
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(sx.stx_mode & 07777));
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_text(out, F_PATH, path)) != 0 ||
	    (r = directory != NULL ?
	    mamori_qrow_text(out, F_DIRECTORY, directory) :
	    mamori_qrow_textn(out, F_DIRECTORY, path, slash == path ? 1 :
	    (size_t)(slash - path))) != 0 ||
	    (r = mamori_qrow_text(out, F_FILENAME, slash + 1)) != 0 ||
	    (r = mamori_qrow_int(out, F_INODE, (int64_t)sx.stx_ino)) != 0 ||
	    (r = mamori_qrow_int(out, F_UID, sx.stx_uid)) != 0 ||
	    (r = mamori_qrow_int(out, F_GID, sx.stx_gid)) != 0 ||
	    (r = mamori_qrow_text(out, F_MODE, mode)) != 0 ||
	    (r = mamori_qrow_int(out, F_DEVICE, (int64_t)makedev(
	    sx.stx_rdev_major, sx.stx_rdev_minor))) != 0 ||
	    (r = mamori_qrow_int(out, F_SIZE, (int64_t)sx.stx_size)) != 0 ||
	    (r = mamori_qrow_int(out, F_BLOCK_SIZE, sx.stx_blksize)) != 0 ||
	    (r = mamori_qrow_int(out, F_ATIME, sx.stx_atime.tv_sec)) != 0 ||
	    (r = mamori_qrow_int(out, F_MTIME, sx.stx_mtime.tv_sec)) != 0 ||
	    (r = mamori_qrow_int(out, F_CTIME, sx.stx_ctime.tv_sec)) != 0 ||
	    (r = mamori_qrow_int(out, F_BTIME, (sx.stx_mask & STATX_BTIME) ?
	    sx.stx_btime.tv_sec : 0)) != 0 ||
	    (r = mamori_qrow_int(out, F_HARD_LINKS, sx.stx_nlink)) != 0 ||
	    (r = mamori_qrow_int(out, F_SYMLINK,
	    S_ISLNK(sx.stx_mode) ? 1 : 0)) != 0 ||
	    (r = mamori_qrow_text(out, F_TYPE, file_type(sx.stx_mode))) != 0)
		return r;
	return 0;
}

static int
gen_file(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	if (key < 0 || value == NULL)
		return 0;
	return each_path(q, key == F_DIRECTORY, value, file_one, out);
}

const struct mamori_qtable mamori_qtable_file = {
	"file", COLS(file_cols), {F_PATH, F_DIRECTORY}, 1, gen_file,
};

/* ---- hash --------------------------------------------------------------- */

enum { H_PATH, H_DIRECTORY, H_MD5, H_SHA1, H_SHA256 };
static const struct mamori_qcol hash_cols[] = {
	{"path", T}, {"directory", T}, {"md5", T}, {"sha1", T},
	{"sha256", T},
};

/* Hashes the regular file at path (following a final symlink): a row
 * when it could be read whole, nothing when it is not a regular file or
 * not ours to read. */
static int
hash_one(const struct mamori_qctx *q, const char *path,
    const char *directory, struct mamori_qrows *out)
{
	static const char *const algs[3] = {"MD5", "SHA1", "SHA256"};
	char full[MAMORI_COLLECT_PATH_MAX];
	char hex[3][EVP_MAX_MD_SIZE * 2 + 1];
	unsigned char md[EVP_MAX_MD_SIZE], *chunk = NULL;
	EVP_MD_CTX *ctx[3] = {NULL, NULL, NULL};
	EVP_MD *alg = NULL;
	struct stat sb;
	uint64_t total = 0;
	unsigned mdlen;
	ssize_t n;
	size_t k;
	int fd = -1, r = 0;

	if (mamori_collect_pathf(q->collect, full, sizeof(full), "%s",
	    path) != 0)
		return 0;
	/* Opening a device can act (a watchdog arms, a tape rewinds): only
	 * what stat() calls a regular file is opened, and fstat() checks
	 * again what was opened. */
	if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 0;
	/* Only regular files: a FIFO or a device could block or never end. */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > QFS_HASH_FILE_MAX)
		goto out;
	if ((chunk = malloc(QFS_HASH_CHUNK)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (k = 0; k < 3; k++) {
		if ((ctx[k] = EVP_MD_CTX_new()) == NULL ||
		    (alg = EVP_MD_fetch(NULL, algs[k], NULL)) == NULL ||
		    EVP_DigestInit_ex(ctx[k], alg, NULL) != 1) {
			r = MAMORI_ERR_CRYPTO;
			goto out;
		}
		EVP_MD_free(alg);
		alg = NULL;
	}
	for (;;) {
		n = read(fd, chunk, QFS_HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;       /* unreadable: no row */
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > QFS_HASH_FILE_MAX)
			goto out;
		for (k = 0; k < 3; k++)
			if (EVP_DigestUpdate(ctx[k], chunk, (size_t)n) != 1) {
				r = MAMORI_ERR_CRYPTO;
				goto out;
			}
		if (mamori_qctx_expired(q)) {
			r = MAMORI_ERR_TIMEOUT;
			goto out;
		}
	}
	for (k = 0; k < 3; k++) {
		if (EVP_DigestFinal_ex(ctx[k], md, &mdlen) != 1) {
			r = MAMORI_ERR_CRYPTO;
			goto out;
		}
		mamori_hex(md, mdlen, hex[k]);
	}
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_text(out, H_PATH, path)) != 0 ||
	    (r = mamori_qrow_text(out, H_DIRECTORY, directory)) != 0 ||
	    (r = mamori_qrow_text(out, H_MD5, hex[0])) != 0 ||
	    (r = mamori_qrow_text(out, H_SHA1, hex[1])) != 0 ||
	    (r = mamori_qrow_text(out, H_SHA256, hex[2])) != 0)
		goto out;
out:
	for (k = 0; k < 3; k++)
		EVP_MD_CTX_free(ctx[k]);
	EVP_MD_free(alg);
	free(chunk);
	if (fd >= 0)
		close(fd);
	return r;
}

static int
hash_path(const struct mamori_qctx *q, const char *path,
    const char *directory, struct mamori_qrows *out)
{
	char dir[MAMORI_COLLECT_PATH_MAX];
	const char *slash;

	if (directory != NULL)
		return hash_one(q, path, directory, out);
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
	    (int)(slash - path), path);
	return hash_one(q, path, dir, out);
}

static int
gen_hash(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	if (key < 0 || value == NULL)
		return 0;
	return each_path(q, key == H_DIRECTORY, value, hash_path, out);
}

const struct mamori_qtable mamori_qtable_hash = {
	"hash", COLS(hash_cols), {H_PATH, H_DIRECTORY}, 1, gen_hash,
};

/* ---- mounts ------------------------------------------------------------- */

enum { M_DEVICE, M_DEVICE_ALIAS, M_PATH, M_TYPE, M_BLOCKS_SIZE, M_BLOCKS,
	M_BLOCKS_FREE, M_BLOCKS_AVAILABLE, M_INODES, M_INODES_FREE, M_FLAGS };
static const struct mamori_qcol mount_cols[] = {
	{"device", T}, {"device_alias", T}, {"path", T}, {"type", T},
	{"blocks_size", I}, {"blocks", I}, {"blocks_free", I},
	{"blocks_available", I}, {"inodes", I}, {"inodes_free", I},
	{"flags", T},
};

/* Undoes mountinfo's octal escapes (\040 for a space) into out. */
static void
unescape(const struct mamori_token *t, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < t->len && o + 1 < outlen; i++) {
		if (t->p[i] == '\\' && i + 3 < t->len &&
		    t->p[i + 1] >= '0' && t->p[i + 1] <= '3' &&
		    t->p[i + 2] >= '0' && t->p[i + 2] <= '7' &&
		    t->p[i + 3] >= '0' && t->p[i + 3] <= '7') {
			out[o++] = (char)(((t->p[i + 1] - '0') << 6) |
			    ((t->p[i + 2] - '0') << 3) | (t->p[i + 3] - '0'));
			i += 3;
		} else
			out[o++] = t->p[i];
	}
	out[o] = '\0';
}

/* File systems statvfs() could block on, or (autofs) mount. */
static int
may_hang(const struct mamori_token *type)
{
	static const char *const risky[] = {"nfs", "nfs4", "cifs", "smb3",
	    "smbfs", "9p", "ceph", "glusterfs", "afs", "sshfs", "autofs"};
	size_t i;

	if (type->len >= 5 && memcmp(type->p, "fuse", 4) == 0)
		return 1;
	for (i = 0; i < sizeof(risky) / sizeof(risky[0]); i++)
		if (mamori_tok_eq(type->p, type->len, risky[i]))
			return 1;
	return 0;
}

/* device_alias is the device as written (osquery resolves symlinks);
 * sizes are NULL when not live or for file systems that may hang. */
static int
gen_mounts(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	char path[MAMORI_COLLECT_PATH_MAX], mnt[MAMORI_COLLECT_PATH_MAX];
	char dev[MAMORI_COLLECT_PATH_MAX];
	struct mamori_token tok[16], *fs, *point, *type, *flags;
	struct mamori_cursor c;
	struct mamori_buf b;
	struct statvfs vfs;
	const char *line;
	size_t len, n, sep;
	int r, info = 1;

	(void)key;
	(void)value;
	mamori_buf_init(&b, 0);
	if ((r = mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc/self/mountinfo")) != 0)
		goto out;
	if ((r = mamori_collect_read(path, QFS_MOUNTINFO_MAX, &b)) ==
	    MAMORI_ERR_NOT_FOUND) {
		/* An older tree: /proc/self/mounts has fewer fields. */
		if ((r = mamori_collect_pathf(q->collect, path, sizeof(path),
		    "/proc/self/mounts")) != 0)
			goto out;
		r = mamori_collect_read(path, QFS_MOUNTINFO_MAX, &b);
		info = 0;
	}
	if (r != 0) {
		r = r == MAMORI_ERR_NOT_FOUND ? 0 : r;
		goto out;
	}
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &len)) {
		/* mountinfo: id parent major:minor root mountpoint options
		 * [optional fields...] - fstype source superoptions;
		 * mounts: source mountpoint fstype options dump pass */
		n = mamori_split_ws(line, len, tok, 16);
		if (n > 16)
			continue;
		if (info) {
			for (sep = 6; sep < n; sep++)
				if (mamori_tok_eq(tok[sep].p, tok[sep].len,
				    "-"))
					break;
			if (sep + 2 >= n)
				continue;
			fs = &tok[sep + 2];
			point = &tok[4];
			type = &tok[sep + 1];
			flags = &tok[5];
		} else {
			if (n < 4)
				continue;
			fs = &tok[0];
			point = &tok[1];
			type = &tok[2];
			flags = &tok[3];
		}
		unescape(point, mnt, sizeof(mnt));
		unescape(fs, dev, sizeof(dev));
		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_text(out, M_DEVICE, dev)) != 0 ||
		    (r = mamori_qrow_text(out, M_DEVICE_ALIAS, dev)) != 0 ||
		    (r = mamori_qrow_text(out, M_PATH, mnt)) != 0 ||
		    (r = mamori_qrow_textn(out, M_TYPE, type->p,
		    type->len)) != 0 ||
		    (r = mamori_qrow_textn(out, M_FLAGS, flags->p,
		    flags->len)) != 0)
			goto out;
		if (!q->collect->live || may_hang(type) ||
		    mamori_collect_pathf(q->collect, path, sizeof(path), "%s",
		    mnt) != 0 || statvfs(path, &vfs) != 0)
			continue;
		if ((r = mamori_qrow_int(out, M_BLOCKS_SIZE,
		    (int64_t)vfs.f_bsize)) != 0 ||
		    (r = mamori_qrow_int(out, M_BLOCKS,
		    (int64_t)vfs.f_blocks)) != 0 ||
		    (r = mamori_qrow_int(out, M_BLOCKS_FREE,
		    (int64_t)vfs.f_bfree)) != 0 ||
		    (r = mamori_qrow_int(out, M_BLOCKS_AVAILABLE,
		    (int64_t)vfs.f_bavail)) != 0 ||
		    (r = mamori_qrow_int(out, M_INODES,
		    (int64_t)vfs.f_files)) != 0 ||
		    (r = mamori_qrow_int(out, M_INODES_FREE,
		    (int64_t)vfs.f_ffree)) != 0)
			goto out;
	}
out:
	mamori_buf_free(&b);
	return r;
}

const struct mamori_qtable mamori_qtable_mounts = {
	"mounts", COLS(mount_cols), {-1, -1}, 0, gen_mounts,
};
