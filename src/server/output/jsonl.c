/*
 * jsonl.c - the JSON lines output: each alert appended to a file as one
 * line of JSON, for a log shipper (Filebeat, Fluent Bit, Vector) to read.
 *
 * The file is opened for appending, created 0600 when missing.  It is
 * reopened on SIGHUP (mamori_outputs_reopen) and, without a signal, when
 * the path no longer names the open file (logrotate moved or removed it),
 * so rotation needs no cooperation from mamorid.  A line is written with
 * one write(2) on an O_APPEND descriptor: readers never see half a line
 * from a short write unless the disk is full, which counts as a failure
 * and is retried.  Never: write to the file through a path that changed
 * under us without reopening, or follow a symbolic link at the last step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "output_impl.h"
#include "util.h"

struct jsonl {
	char path[MAMORI_OUTPUT_TARGET_MAX + 1];
	int fd;
	int fsync;
	dev_t dev;
	ino_t ino;
};

static const char *const jsonl_keys[] = {"path", "fsync", NULL};

static int
jsonl_open(struct jsonl *j, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", j->path,
		    strerror(errno));
		return MAMORI_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", j->path);
		close(fd);
		return MAMORI_ERR_IO;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	return 0;
}

static int
jsonl_configure(const json_t *cfg, unsigned timeout_s, void **state,
    char *target, size_t targetlen, char *why, size_t whylen)
{
	struct jsonl *j;
	const char *path;
	const json_t *v;
	int r;

	(void)timeout_s;
	*state = NULL;
	if ((r = mamori_output_cfg_str(cfg, "path", MAMORI_OUTPUT_TARGET_MAX,
	    &path, why, whylen)) != 0)
		return r;
	if (path == NULL || path[0] != '/') {
		snprintf(why, whylen, "\"path\" must be an absolute file name");
		return MAMORI_ERR_OUTPUT_CONFIG;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return MAMORI_ERR_ALLOC;
	j->fd = -1;
	mamori_strlcpy(j->path, path, sizeof(j->path));
	if ((v = json_object_get(cfg, "fsync")) != NULL) {
		if (!json_is_boolean(v)) {
			free(j);
			snprintf(why, whylen, "\"fsync\" must be true or false");
			return MAMORI_ERR_OUTPUT_CONFIG;
		}
		j->fsync = json_is_true(v);
	}
	/* Opened now so a wrong path is a clear error at start. */
	if (jsonl_open(j, why, whylen) != 0) {
		free(j);
		return MAMORI_ERR_OUTPUT_CONFIG;
	}
	mamori_strlcpy(target, path, targetlen);
	*state = j;
	return 0;
}

/* Reopens when the path no longer names the open file. */
static int
jsonl_check_rotated(struct jsonl *j, char *err, size_t errlen)
{
	struct stat st;

	if (j->fd >= 0 && stat(j->path, &st) == 0 && st.st_dev == j->dev &&
	    st.st_ino == j->ino)
		return 0;
	return jsonl_open(j, err, errlen);
}

static int
jsonl_deliver(void *state, const struct mamori_output_alert *a, char *err,
    size_t errlen)
{
	struct jsonl *j = state;
	char *line;
	size_t len = a->json_len + 1;
	ssize_t n;
	int r;

	if ((r = jsonl_check_rotated(j, err, errlen)) != 0)
		return r;
	if ((line = malloc(len)) == NULL)
		return MAMORI_ERR_ALLOC;
	memcpy(line, a->json, a->json_len);
	line[a->json_len] = '\n';
	n = write(j->fd, line, len);
	free(line);
	if (n < 0 || (size_t)n != len) {
		snprintf(err, errlen, "cannot write to %s: %s", j->path,
		    n < 0 ? strerror(errno) : "short write");
		/* Next time from a fresh descriptor. */
		close(j->fd);
		j->fd = -1;
		return MAMORI_ERR_IO;
	}
	if (j->fsync && fdatasync(j->fd) != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", j->path,
		    strerror(errno));
		return MAMORI_ERR_IO;
	}
	return 0;
}

static void
jsonl_reopen(void *state)
{
	struct jsonl *j = state;
	char err[MAMORI_OUTPUT_ERROR_MAX];

	if (jsonl_open(j, err, sizeof(err)) != 0)
		log_warn("output: %s", err);
}

static void
jsonl_destroy(void *state)
{
	struct jsonl *j = state;

	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

const struct mamori_output_plugin mamori_output_jsonl = {
	.kind = "jsonl",
	.keys = jsonl_keys,
	.configure = jsonl_configure,
	.deliver = jsonl_deliver,
	.reopen = jsonl_reopen,
	.destroy = jsonl_destroy,
};
