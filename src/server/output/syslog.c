/*
 * syslog.c - the syslog output: RFC 5424 messages over UDP (RFC 5426),
 * TCP with octet-counting framing (RFC 6587 section 3.4.1), or a local
 * unix socket (datagram, or stream with the same framing).
 *
 * Each message carries the alert's id, rule, severity, host, agent and
 * source as structured data (SD-ID MAMORI_SYSLOG_SD_ID by default) and the
 * JSON alert as its MSG.  Values that came from agents (the host name, the
 * rule key of an indicator) are escaped as RFC 5424 section 6.3.3 demands
 * and stripped of control characters and invalid UTF-8, so a hostile
 * endpoint can neither end the structured data early nor forge a second
 * message in a receiver's log.  Never: write an agent-supplied byte into
 * the header, or send a message longer than the configured maximum.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "output_impl.h"
#include "store.h"
#include "util.h"

enum syslog_transport { SL_UDP, SL_TCP, SL_UNIX_DGRAM, SL_UNIX_STREAM };

struct syslog_out {
	enum syslog_transport transport;
	char host[MAMORI_OUTPUT_TARGET_MAX + 1]; /* or the unix path */
	uint16_t port;
	unsigned facility;
	unsigned timeout_s;
	size_t max_len;
	char hostname[MAMORI_SYSLOG_HOSTNAME_MAX + 1];
	char app[MAMORI_SYSLOG_APPNAME_MAX + 1];
	char sd_id[MAMORI_SYSLOG_SDNAME_MAX + 1];
	unsigned long procid;
	int fd;
	struct mamori_buf msg;
};

static const char *const syslog_keys[] = {"address", "socket", "facility",
	"hostname", "app_name", "sd_id", "max_length", NULL};

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7",
};

/* ---- formatting ---------------------------------------------------------- */

unsigned
mamori_syslog_severity(uint32_t s)
{
	switch (s) {
	case MAMORI_SEVERITY_CRITICAL:
		return 2;       /* crit */
	case MAMORI_SEVERITY_HIGH:
		return 3;       /* err */
	case MAMORI_SEVERITY_MEDIUM:
		return 4;       /* warning */
	case MAMORI_SEVERITY_LOW:
		return 5;       /* notice */
	default:
		return 6;       /* info */
	}
}

/* A header field: printable US-ASCII only, at most max bytes, "-" when
 * empty (RFC 5424 section 6.2). */
static int
put_header_field(struct mamori_buf *b, const char *s, size_t max)
{
	size_t i;
	int r = 0;

	if (s == NULL || s[0] == '\0')
		return mamori_buf_append(b, "-", 1);
	for (i = 0; s[i] != '\0' && i < max && r == 0; i++) {
		uint8_t c = (uint8_t)s[i];

		r = mamori_buf_put_u8(b, c >= 33 && c <= 126 ? c : '?');
	}
	return r;
}

/* An SD-PARAM value (section 6.3.3): '"', '\' and ']' escaped; control
 * characters and bytes that are not UTF-8 replaced by '?'. */
static int
put_param_value(struct mamori_buf *b, const char *value)
{
	const uint8_t *s = (const uint8_t *)(value != NULL ? value : "");
	size_t n = strlen((const char *)s), i = 0, k;
	int r = 0;

	while (i < n && r == 0) {
		uint8_t c = s[i];

		if (c == '"' || c == '\\' || c == ']') {
			if ((r = mamori_buf_put_u8(b, '\\')) == 0)
				r = mamori_buf_put_u8(b, c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			r = mamori_buf_put_u8(b, '?');
			i++;
		} else if ((k = mamori_utf8_seq(s + i, n - i)) == 0) {
			r = mamori_buf_put_u8(b, '?');
			i++;
		} else {
			r = mamori_buf_append(b, s + i, k);
			i += k;
		}
	}
	return r;
}

static int
put_param(struct mamori_buf *b, const char *name, const char *value)
{
	int r;

	if ((r = mamori_buf_put_u8(b, ' ')) != 0 ||
	    (r = mamori_buf_append(b, name, strlen(name))) != 0 ||
	    (r = mamori_buf_append(b, "=\"", 2)) != 0 ||
	    (r = put_param_value(b, value)) != 0)
		return r;
	return mamori_buf_put_u8(b, '"');
}

int
mamori_syslog_format(const struct mamori_output_alert *a,
    unsigned facility, uint64_t now_us, const char *hostname,
    const char *app, unsigned long procid, const char *sd_id,
    size_t max_len, struct mamori_buf *out)
{
	char head[80], ts[40], num[24];
	time_t t = (time_t)(now_us / 1000000ULL);
	struct tm tm;
	size_t room;
	int n, r;

	mamori_buf_reset(out);
	if (facility > 23 || gmtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return MAMORI_ERR_INVALID;
	n = snprintf(head, sizeof(head), "<%u>1 %s.%06uZ ",
	    facility * 8 + mamori_syslog_severity(a->severity), ts,
	    (unsigned)(now_us % 1000000ULL));
	if (n < 0 || (size_t)n >= sizeof(head))
		return MAMORI_ERR_INTERNAL;
	snprintf(num, sizeof(num), "%lu", procid);
	if ((r = mamori_buf_append(out, head, (size_t)n)) != 0 ||
	    (r = put_header_field(out, hostname,
	    MAMORI_SYSLOG_HOSTNAME_MAX)) != 0 ||
	    (r = mamori_buf_put_u8(out, ' ')) != 0 ||
	    (r = put_header_field(out, app, MAMORI_SYSLOG_APPNAME_MAX)) != 0 ||
	    (r = mamori_buf_put_u8(out, ' ')) != 0 ||
	    (r = put_header_field(out, num, MAMORI_SYSLOG_PROCID_MAX)) != 0 ||
	    (r = mamori_buf_append(out, " alert [", 8)) != 0 ||
	    (r = put_header_field(out, sd_id, MAMORI_SYSLOG_SDNAME_MAX)) != 0)
		return r;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)a->id);
	if ((r = put_param(out, "id", num)) != 0 ||
	    (r = put_param(out, "rule", a->rule)) != 0 ||
	    (r = put_param(out, "severity",
	    mamori_alert_severity_name(a->severity))) != 0 ||
	    (r = put_param(out, "host", a->host)) != 0 ||
	    (r = put_param(out, "agent", a->agent_id)) != 0 ||
	    (r = put_param(out, "source", a->source)) != 0 ||
	    (r = mamori_buf_put_u8(out, ']')) != 0)
		return r;
	/* Header and structured data are never cut; the MSG may be. */
	if (out->len + 1 > max_len)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = mamori_buf_put_u8(out, ' ')) != 0)
		return r;
	room = max_len - out->len;
	return mamori_buf_append(out, a->json,
	    a->json_len < room ? a->json_len : room);
}

/* ---- configuration ------------------------------------------------------- */

static int
fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return MAMORI_ERR_OUTPUT_CONFIG;
}

static int
parse_facility(const json_t *v, unsigned *out)
{
	size_t i;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 23) {
		*out = (unsigned)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return MAMORI_ERR_INVALID;
	for (i = 0; i < 24; i++) {
		if (strcmp(facilities[i], json_string_value(v)) == 0) {
			*out = (unsigned)i;
			return 0;
		}
	}
	return MAMORI_ERR_INVALID;
}

static void syslog_destroy(void *state);

static int
syslog_configure(const json_t *cfg, unsigned timeout_s, void **state,
    char *target, size_t targetlen, char *why, size_t whylen)
{
	struct syslog_out *s = NULL;
	const char *address, *sock, *hostname, *app, *sd_id;
	const json_t *v;
	size_t i;
	int r;

	*state = NULL;
	if ((r = mamori_output_cfg_str(cfg, "address",
	    MAMORI_OUTPUT_TARGET_MAX, &address, why, whylen)) != 0 ||
	    (r = mamori_output_cfg_str(cfg, "socket", 16, &sock, why,
	    whylen)) != 0 ||
	    (r = mamori_output_cfg_str(cfg, "hostname",
	    MAMORI_SYSLOG_HOSTNAME_MAX, &hostname, why, whylen)) != 0 ||
	    (r = mamori_output_cfg_str(cfg, "app_name",
	    MAMORI_SYSLOG_APPNAME_MAX, &app, why, whylen)) != 0 ||
	    (r = mamori_output_cfg_str(cfg, "sd_id", MAMORI_SYSLOG_SDNAME_MAX,
	    &sd_id, why, whylen)) != 0)
		return r;
	if (address == NULL)
		return fail(why, whylen, "\"address\" is required: "
		    "udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MAMORI_ERR_ALLOC;
	s->fd = -1;
	s->timeout_s = timeout_s;
	s->facility = 16;           /* local0 */
	s->procid = (unsigned long)getpid();
	if (strncmp(address, "udp://", 6) == 0 ||
	    strncmp(address, "tcp://", 6) == 0) {
		s->transport = address[0] == 'u' ? SL_UDP : SL_TCP;
		if (mamori_output_host_port(address + 6, s->host,
		    sizeof(s->host), &s->port) != 0) {
			r = fail(why, whylen, "\"address\" must be "
			    "udp://HOST:PORT or tcp://HOST:PORT");
			goto out;
		}
		if (sock != NULL) {
			r = fail(why, whylen, "\"socket\" is only for unix "
			    "addresses");
			goto out;
		}
	} else if (strncmp(address, "unix://", 7) == 0) {
		if (address[7] != '/' || strlen(address + 7) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path)) {
			r = fail(why, whylen, "\"address\" must be "
			    "unix:///ABSOLUTE/PATH (at most 107 bytes)");
			goto out;
		}
		mamori_strlcpy(s->host, address + 7, sizeof(s->host));
		if (sock == NULL || strcmp(sock, "dgram") == 0) {
			s->transport = SL_UNIX_DGRAM;
		} else if (strcmp(sock, "stream") == 0) {
			s->transport = SL_UNIX_STREAM;
		} else {
			r = fail(why, whylen, "\"socket\" must be dgram or "
			    "stream");
			goto out;
		}
	} else {
		r = fail(why, whylen, "\"address\" must start with udp://, "
		    "tcp:// or unix://");
		goto out;
	}
	if ((v = json_object_get(cfg, "facility")) != NULL &&
	    parse_facility(v, &s->facility) != 0) {
		r = fail(why, whylen, "\"facility\" must be 0 to 23 or a name "
		    "(kern, user, daemon, auth, authpriv, local0 ... local7)");
		goto out;
	}
	s->max_len = s->transport == SL_UDP ||
	    s->transport == SL_UNIX_DGRAM ? MAMORI_SYSLOG_LENGTH_UDP :
	    MAMORI_SYSLOG_LENGTH_STREAM;
	if ((v = json_object_get(cfg, "max_length")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <
		    MAMORI_SYSLOG_LENGTH_MIN || json_integer_value(v) >
		    MAMORI_SYSLOG_LENGTH_MAX) {
			r = fail(why, whylen, "\"max_length\" must be from 480 "
			    "to 65000");
			goto out;
		}
		s->max_len = (size_t)json_integer_value(v);
	}
	if (hostname != NULL)
		mamori_strlcpy(s->hostname, hostname, sizeof(s->hostname));
	else if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0)
		s->hostname[0] = '\0';
	s->hostname[sizeof(s->hostname) - 1] = '\0';
	mamori_strlcpy(s->app, app != NULL ? app : "mamorid", sizeof(s->app));
	if (sd_id != NULL) {
		for (i = 0; sd_id[i] != '\0'; i++) {
			if (sd_id[i] <= ' ' || sd_id[i] > '~' ||
			    sd_id[i] == '=' || sd_id[i] == ']' ||
			    sd_id[i] == '"') {
				r = fail(why, whylen, "\"sd_id\" must be "
				    "printable ASCII without space, =, ] or \"");
				goto out;
			}
		}
		if (strchr(sd_id, '@') == NULL) {
			r = fail(why, whylen, "\"sd_id\" must be NAME@NUMBER "
			    "(your IANA enterprise number)");
			goto out;
		}
	}
	mamori_strlcpy(s->sd_id, sd_id != NULL ? sd_id : MAMORI_SYSLOG_SD_ID,
	    sizeof(s->sd_id));
	mamori_buf_init(&s->msg, MAMORI_SYSLOG_LENGTH_MAX + 16);
	mamori_strlcpy(target, address, targetlen);
	*state = s;
	s = NULL;
	r = 0;
out:
	syslog_destroy(s);
	return r;
}

/* ---- sending ------------------------------------------------------------- */

static void
syslog_close(struct syslog_out *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int
connect_unix(struct syslog_out *s, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct timeval tv = {(time_t)s->timeout_s, 0};
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	mamori_strlcpy(sun.sun_path, s->host, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, (s->transport == SL_UNIX_DGRAM ? SOCK_DGRAM :
	    SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return MAMORI_ERR_IO;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", s->host,
		    strerror(errno));
		close(fd);
		return MAMORI_ERR_IO;
	}
	s->fd = fd;
	return 0;
}

/* A stream whose peer closed (or sent something) is reconnected before it
 * swallows a message. */
static void
drop_if_closed(struct syslog_out *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	if (s->fd >= 0 && poll(&p, 1, 0) > 0)
		syslog_close(s);
}

static int
send_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
syslog_deliver(void *state, const struct mamori_output_alert *a, char *err,
    size_t errlen)
{
	struct syslog_out *s = state;
	struct timespec now;
	char frame[24];
	int stream = s->transport == SL_TCP ||
	    s->transport == SL_UNIX_STREAM;
	int n, r;

	clock_gettime(CLOCK_REALTIME, &now);
	r = mamori_syslog_format(a, s->facility,
	    (uint64_t)now.tv_sec * 1000000ULL + (uint64_t)now.tv_nsec / 1000,
	    s->hostname, s->app, s->procid, s->sd_id, s->max_len, &s->msg);
	if (r == MAMORI_ERR_TOO_LARGE) {
		snprintf(err, errlen, "structured data longer than max_length "
		    "%zu", s->max_len);
		return MAMORI_ERR_OUTPUT_REFUSED;
	}
	if (r != 0)
		return r;
	if (stream)
		drop_if_closed(s);
	if (s->fd < 0) {
		if (s->transport == SL_UNIX_DGRAM ||
		    s->transport == SL_UNIX_STREAM)
			r = connect_unix(s, err, errlen);
		else
			r = mamori_output_connect(s->host, s->port,
			    stream ? SOCK_STREAM : SOCK_DGRAM, s->timeout_s,
			    &s->fd, err, errlen);
		if (r != 0)
			return r;
	}
	if (stream) {
		/* RFC 6587 octet counting: "LEN SP MSG". */
		n = snprintf(frame, sizeof(frame), "%zu ", s->msg.len);
		if (send_all(s->fd, (const uint8_t *)frame, (size_t)n) != 0 ||
		    send_all(s->fd, s->msg.data, s->msg.len) != 0)
			goto fail;
	} else if (send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL) !=
	    (ssize_t)s->msg.len) {
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot send to %s: %s", s->host,
	    strerror(errno));
	syslog_close(s);
	return MAMORI_ERR_IO;
}

static void
syslog_destroy(void *state)
{
	struct syslog_out *s = state;

	if (s == NULL)
		return;
	syslog_close(s);
	mamori_buf_free(&s->msg);
	free(s);
}

const struct mamori_output_plugin mamori_output_syslog = {
	.kind = "syslog",
	.keys = syslog_keys,
	.configure = syslog_configure,
	.deliver = syslog_deliver,
	.reopen = NULL,
	.destroy = syslog_destroy,
};
