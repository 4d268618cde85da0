/*
 * admin_client.c - the CLI's side of the admin socket (see admin_client.h).
 *
 * The server is trusted more than agents are, but what it relays is agent
 * text, so the answer is read as untrusted input all the same: at most
 * CLI_ADMIN_MAX_RESPONSE bytes, within CLI_ADMIN_TIMEOUT_MS, parsed by
 * jansson with duplicate keys refused.  This file must never print a byte
 * of the answer unescaped, and never wait without a deadline.
 */
#include "admin_client.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "home.h"
#include "util.h"

static int
reach_error(const struct cli_ctx *ctx, const char *path, const char *reason)
{
	char safe_path[CLI_MSG_MAX / 2], safe_home[CLI_MSG_MAX / 2];

	cli_safe(path, safe_path, sizeof(safe_path));
	cli_safe(ctx->home, safe_home, sizeof(safe_home));
	cli_fail("cannot reach mamorid at %s: %s; is mamorid running with "
	    "--home %s?", safe_path, reason, safe_home);
	return MAMORI_ERR_CLOSED;
}

/* Connects to the admin socket; prints why not on failure. */
static int
admin_connect(const struct cli_ctx *ctx, const char *path, int *fd_out)
{
	struct sockaddr_un sa;
	struct timeval tv;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	*fd_out = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (mamori_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		r = reach_error(ctx, path, "the socket path is too long");
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		r = reach_error(ctx, path, strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EACCES) {
			char safe[CLI_MSG_MAX / 2];

			cli_fail("cannot reach mamorid at %s: permission denied; "
			    "run as root or as a member of mamorid's "
			    "--admin-group", cli_safe(path, safe, sizeof(safe)));
			r = MAMORI_ERR_PERMISSION;
		} else {
			r = reach_error(ctx, path, strerror(errno));
		}
		goto out;
	}
	/* Writes are bounded too: a stuck server must not hang us. */
	tv.tv_sec = CLI_ADMIN_TIMEOUT_MS / 1000;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*fd_out = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int
send_all(int fd, const char *data, size_t n)
{
	size_t off = 0;
	ssize_t w;
	int r = MAMORI_ERR_INTERNAL;

	while (off < n) {
		w = send(fd, data + off, n - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ?
			    MAMORI_ERR_TIMEOUT : MAMORI_ERR_CLOSED;
			goto out;
		}
		off += (size_t)w;
	}
	r = 0;
out:
	return r;
}

/* Reads up to the first newline into b (newline not kept). */
static int
read_line(int fd, struct mamori_buf *b, uint64_t deadline)
{
	uint8_t *p;
	uint8_t *nl;
	struct pollfd pfd;
	uint64_t now;
	size_t scanned = 0, room;
	ssize_t n;
	int pr, r = MAMORI_ERR_INTERNAL;

	for (;;) {
		now = mamori_monotonic_ms();
		if (now >= deadline) {
			r = MAMORI_ERR_TIMEOUT;
			goto out;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			r = MAMORI_ERR_SYSTEM;
			goto out;
		}
		if (pr == 0) {
			r = MAMORI_ERR_TIMEOUT;
			goto out;
		}
		/* One byte more than the limit tells "too large" apart. */
		room = CLI_ADMIN_MAX_RESPONSE + 1 - b->len;
		if (room > CLI_ADMIN_READ_CHUNK)
			room = CLI_ADMIN_READ_CHUNK;
		if ((r = mamori_buf_reserve(b, room, &p)) != 0)
			goto out;
		n = read(fd, p, room);
		if (n < 0) {
			b->len -= room;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			r = MAMORI_ERR_CLOSED;
			goto out;
		}
		b->len -= room - (size_t)n;
		b->data[b->len] = '\0';
		if (n == 0) {
			r = MAMORI_ERR_CLOSED;
			goto out;
		}
		nl = memchr(b->data + scanned, '\n', b->len - scanned);
		if (nl != NULL) {
			b->len = (size_t)(nl - b->data);
			b->data[b->len] = '\0';
			break;
		}
		scanned = b->len;
		if (b->len > CLI_ADMIN_MAX_RESPONSE) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
	}
	r = 0;
out:
	return r;
}

int
cli_admin_call(const struct cli_ctx *ctx, json_t *request, json_t **result)
{
	char path[PATH_MAX], safe[CLI_MSG_MAX];
	struct mamori_buf answer;
	json_error_t jerr;
	json_t *resp = NULL, *ok, *res;
	char *line = NULL;
	size_t line_len;
	uint64_t deadline;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	*result = NULL;
	mamori_buf_init(&answer, CLI_ADMIN_MAX_RESPONSE + 1);
	if (mamori_home_path(ctx->home, MAMORI_HOME_ADMIN_SOCK, path,
	    sizeof(path)) != 0) {
		cli_fail("the home path is too long");
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((line = json_dumps(request, JSON_COMPACT | JSON_ENSURE_ASCII)) ==
	    NULL) {
		cli_fail("cannot encode the request");
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	line_len = strlen(line);
	if (line_len + 1 > CLI_ADMIN_MAX_REQUEST) {
		cli_fail("the request is larger than the server accepts "
		    "(%d bytes)", CLI_ADMIN_MAX_REQUEST);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	line[line_len] = '\n'; /* replaces the NUL; length kept apart */
	if ((r = admin_connect(ctx, path, &fd)) != 0)
		goto out;
	deadline = mamori_monotonic_ms() + CLI_ADMIN_TIMEOUT_MS;
	if ((r = send_all(fd, line, line_len + 1)) != 0) {
		cli_fail("cannot send to mamorid at %s: %s",
		    cli_safe(path, safe, sizeof(safe)), r == MAMORI_ERR_TIMEOUT ?
		    "timed out" : "the connection was closed");
		goto out;
	}
	if ((r = read_line(fd, &answer, deadline)) != 0) {
		if (r == MAMORI_ERR_TIMEOUT)
			cli_fail("mamorid did not answer within %d s",
			    CLI_ADMIN_TIMEOUT_MS / 1000);
		else if (r == MAMORI_ERR_TOO_LARGE)
			cli_fail("the answer from mamorid exceeds %d MiB",
			    CLI_ADMIN_MAX_RESPONSE / (1024 * 1024));
		else if (r == MAMORI_ERR_CLOSED)
			cli_fail("mamorid closed the connection without "
			    "answering; only root and mamorid's --admin-group "
			    "may use the admin socket");
		else
			cli_fail("cannot read the answer from mamorid: %s",
			    mamori_strerror(r));
		goto out;
	}
	resp = json_loadb((const char *)answer.data, answer.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (resp == NULL) {
		cli_fail("mamorid sent an answer that is not valid JSON: %s",
		    cli_safe(jerr.text, safe, sizeof(safe)));
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if (!json_is_object(resp)) {
		cli_fail("mamorid sent an answer that is not a JSON object");
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	ok = json_object_get(resp, "ok");
	if (!json_is_boolean(ok)) {
		cli_fail("mamorid sent an answer without \"ok\"");
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if (!json_is_true(ok)) {
		const char *e = cli_json_str(resp, "error");

		cli_fail("%s", cli_safe(*e == '\0' ? "the server refused the "
		    "request without saying why" : e, safe, sizeof(safe)));
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	res = json_object_get(resp, "result");
	*result = res != NULL ? json_incref(res) : json_null();
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(resp);
	free(line);
	mamori_buf_free(&answer);
	return r;
}

int
cli_admin_cmd(const struct cli_ctx *ctx, const char *cmd, json_t **result)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	int r;

	*result = NULL;
	if (req == NULL) {
		cli_fail("out of memory");
		return MAMORI_ERR_ALLOC;
	}
	r = cli_admin_call(ctx, req, result);
	json_decref(req);
	return r;
}

/* ---- streamed answers ---------------------------------------------------- */

struct line_reader {
	int fd;
	struct mamori_buf buf;
	size_t start;                 /* the next line begins here */
};

/* The next line (newline dropped, NUL-terminated in place) by deadline. */
static int
lr_next(struct line_reader *lr, uint64_t deadline, char **line)
{
	struct pollfd pfd;
	uint8_t *p, *nl;
	uint64_t now;
	size_t room;
	ssize_t n;
	int pr;

	if (lr->start > 0) {
		memmove(lr->buf.data, lr->buf.data + lr->start,
		    lr->buf.len - lr->start);
		lr->buf.len -= lr->start;
		lr->start = 0;
	}
	for (;;) {
		if (lr->buf.len > 0 && (nl = memchr(lr->buf.data, '\n',
		    lr->buf.len)) != NULL) {
			*nl = '\0';
			*line = (char *)lr->buf.data;
			lr->start = (size_t)(nl - lr->buf.data) + 1;
			return 0;
		}
		if (lr->buf.len > CLI_ADMIN_MAX_RESPONSE)
			return MAMORI_ERR_TOO_LARGE;
		now = mamori_monotonic_ms();
		if (now >= deadline)
			return MAMORI_ERR_TIMEOUT;
		pfd.fd = lr->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return MAMORI_ERR_SYSTEM;
		if (pr == 0)
			return MAMORI_ERR_TIMEOUT;
		room = CLI_ADMIN_READ_CHUNK;
		if (mamori_buf_reserve(&lr->buf, room + 1, &p) != 0)
			return MAMORI_ERR_TOO_LARGE;
		n = read(lr->fd, p, room);
		lr->buf.len -= room + 1;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return MAMORI_ERR_CLOSED;
		lr->buf.len += (size_t)n;
	}
}

int
cli_admin_stream(const struct cli_ctx *ctx, json_t *request,
    uint64_t timeout_ms, cli_stream_fn fn, void *ud)
{
	char path[PATH_MAX], safe[CLI_MSG_MAX];
	struct line_reader lr;
	json_t *resp = NULL;
	char *line = NULL, *got;
	size_t line_len;
	uint64_t deadline;
	int first = 1, r = MAMORI_ERR_INTERNAL;

	memset(&lr, 0, sizeof(lr));
	lr.fd = -1;
	mamori_buf_init(&lr.buf, CLI_ADMIN_MAX_RESPONSE + CLI_ADMIN_READ_CHUNK +
	    1);
	if (mamori_home_path(ctx->home, MAMORI_HOME_ADMIN_SOCK, path,
	    sizeof(path)) != 0) {
		cli_fail("the home path is too long");
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((line = json_dumps(request, JSON_COMPACT | JSON_ENSURE_ASCII)) ==
	    NULL) {
		cli_fail("cannot encode the request");
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	line_len = strlen(line);
	if (line_len + 1 > CLI_ADMIN_MAX_REQUEST) {
		cli_fail("the request is larger than the server accepts "
		    "(%d bytes)", CLI_ADMIN_MAX_REQUEST);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	line[line_len] = '\n';
	if ((r = admin_connect(ctx, path, &lr.fd)) != 0)
		goto out;
	deadline = mamori_monotonic_ms() + timeout_ms;
	if ((r = send_all(lr.fd, line, line_len + 1)) != 0) {
		cli_fail("cannot send to mamorid at %s",
		    cli_safe(path, safe, sizeof(safe)));
		goto out;
	}
	for (;;) {
		r = lr_next(&lr, deadline, &got);
		if (r == MAMORI_ERR_CLOSED && !first) {
			r = 0;          /* the answer was one line */
			break;
		}
		if (r != 0) {
			cli_fail(r == MAMORI_ERR_TIMEOUT ? "mamorid did not "
			    "finish answering in time" : r == MAMORI_ERR_CLOSED ?
			    "mamorid closed the connection without answering; "
			    "only root and mamorid's --admin-group may use the "
			    "admin socket" : "cannot read the answer from "
			    "mamorid");
			goto out;
		}
		json_decref(resp);
		if ((resp = json_loads(got, JSON_REJECT_DUPLICATES, NULL)) ==
		    NULL || !json_is_object(resp)) {
			cli_fail("mamorid sent a line that is not a JSON "
			    "object");
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		if (first) {
			first = 0;
			if (!json_is_true(json_object_get(resp, "ok"))) {
				const char *e = cli_json_str(resp, "error");

				cli_fail("%s", cli_safe(*e == '\0' ? "the "
				    "server refused the request" : e, safe,
				    sizeof(safe)));
				r = MAMORI_ERR_INVALID;
				goto out;
			}
			if ((r = fn(ud, json_object_get(resp, "result"),
			    0)) != 0)
				goto out;
			continue;
		}
		if (json_is_true(json_object_get(resp, "done"))) {
			r = fn(ud, json_object_get(resp, "summary"), 2);
			break;
		}
		if ((r = fn(ud, resp, 1)) != 0)
			goto out;
	}
out:
	if (lr.fd >= 0)
		close(lr.fd);
	json_decref(resp);
	free(line);
	mamori_buf_free(&lr.buf);
	return r;
}

const char *
cli_json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s == NULL ? "" : s;
}

unsigned long long
cli_json_u64(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	return (unsigned long long)json_integer_value(v);
}

int
cli_json_bool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

int
cli_print_json(const json_t *v)
{
	int r = CLI_EXIT_FAIL;

	if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII |
	    JSON_ENCODE_ANY) != 0)
		goto out;
	fputc('\n', stdout);
	r = CLI_EXIT_OK;
out:
	return r;
}
