/*
 * test_network.c - the network source and the socket table reader it
 * shares with the inventory's sockets collector.
 *
 * The table reader runs over inline /proc/net text; the source's diff runs
 * over a fake ROOT/proc/net whose tables the test rewrites between polls;
 * and a live test opens a TCP listener, a bound UDP socket and an outbound
 * TCP connection on 127.0.0.1 and expects LISTEN and CONNECT events with
 * this process's pid, executable and ports within 3 s.  Loopback only;
 * tests must never change the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "event.h"
#include "sock_table.h"
#include "source.h"

extern const struct mamori_event_source mamori_source_network;

#define TEST_PATH_MAX 4096
#define TEST_MAX_EVENTS 4096
#define TEST_DEADLINE_MS 3000
#define TEST_SLICE_MS 50

#define TCP_HEADER "  sl  local_address rem_address   st tx_queue rx_queue " \
	"tr tm->when retrnsmt   uid  timeout inode\n"
/* 127.0.0.1:8080 listening, inode 1001, uid 1000. */
#define TCP_LISTEN_8080 "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000" \
	" 00:00000000 00000000  1000        0 1001 1 0000000000000000 100 0 0 " \
	"10 0\n"
/* 10.0.0.5:40000 -> 93.184.216.34:443 established, inode 1002. */
#define TCP_OUT_443 "   1: 0500000A:9C40 22D8B85D:01BB 01 00000000:00000000" \
	" 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 " \
	"10 -1\n"
/* 127.0.0.1:8080 <- 127.0.0.1:50000, accepted, inode 1003. */
#define TCP_IN_8080 "   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000" \
	" 00:00000000 00000000  1000        0 1003 1 0000000000000000 20 4 30 " \
	"10 -1\n"
/* TIME_WAIT: no inode. */
#define TCP_TIME_WAIT "   3: 0100007F:C351 0100007F:1F90 06 00000000:00000000" \
	" 03:00001770 00000000     0        0 0 3 0000000000000000\n"
/* 10.0.0.5:40001 -> 198.51.100.1:22 connecting, inode 1004. */
#define TCP_SYN_22 "   4: 0500000A:9C41 016433C6:0016 02 00000000:00000000" \
	" 01:00000100 00000002     0        0 1004 1 0000000000000000 100 0 0 " \
	"10 -1\n"
#define UDP_HEADER "   sl  local_address rem_address   st tx_queue rx_queue " \
	"tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
/* 0.0.0.0:5353 bound, inode 2001. */
#define UDP_BOUND_5353 "  100: 00000000:14E9 00000000:0000 07 00000000:00000000" \
	" 00:00000000 00000000   104        0 2001 2 0000000000000000 0\n"
/* [::]:22 listening (tcp6), inode 3001. */
#define TCP6_LISTEN_22 "   0: 00000000000000000000000000000000:0016 " \
	"00000000000000000000000000000000:0000 0A 00000000:00000000 " \
	"00:00000000 00000000     0        0 3001 1 0000000000000000 100 0 0 " \
	"10 0\n"

struct collected {
	struct mamori_sock_entry e[8];
	size_t n;
};

static int
collect_entry(void *arg, const struct mamori_sock_entry *e)
{
	struct collected *c = arg;

	if (c->n == sizeof(c->e) / sizeof(c->e[0]))
		return MAMORI_ERR_TOO_LARGE;
	c->e[c->n++] = *e;
	return 0;
}

static void
test_table_parse(void **unused)
{
	static const char tcp[] = TCP_HEADER TCP_LISTEN_8080 TCP_OUT_443
	    "garbage line\n   9: zz:zz\n" TCP_TIME_WAIT;
	static const char tcp6[] = TCP_HEADER TCP6_LISTEN_22;
	struct collected c;

	(void)unused;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mamori_sock_table_parse(tcp, sizeof(tcp) - 1, "tcp",
	    collect_entry, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.e[0].state, MAMORI_SOCK_TCP_LISTEN);
	assert_string_equal(c.e[0].local, "127.0.0.1");
	assert_int_equal(c.e[0].local_port, 8080);
	assert_true(c.e[0].remote_zero);
	assert_int_equal(c.e[0].uid, 1000);
	assert_true(c.e[0].inode == 1001);
	assert_int_equal(c.e[1].state, MAMORI_SOCK_TCP_ESTABLISHED);
	assert_string_equal(c.e[1].remote, "93.184.216.34");
	assert_int_equal(c.e[1].remote_port, 443);
	assert_false(c.e[1].remote_zero);
	assert_true(c.e[2].inode == 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(mamori_sock_table_parse(tcp6, sizeof(tcp6) - 1,
	    "tcp6", collect_entry, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.e[0].local, "::");
	assert_int_equal(c.e[0].local_port, 22);
	assert_int_equal(mamori_sock_table_parse(tcp, sizeof(tcp) - 1, "sctp",
	    collect_entry, &c), MAMORI_ERR_INVALID);
	/* A callback's error stops the parse. */
	memset(&c, 0, sizeof(c));
	c.n = sizeof(c.e) / sizeof(c.e[0]);
	assert_int_equal(mamori_sock_table_parse(tcp, sizeof(tcp) - 1, "tcp",
	    collect_entry, &c), MAMORI_ERR_TOO_LARGE);
}

/* ---- the source ----------------------------------------------------------- */

struct sink {
	Mamori__Event **ev;
	size_t n;
};

static int
sink_emit(void *arg, Mamori__Event *ev)
{
	struct sink *s = arg;

	if (s->n == TEST_MAX_EVENTS) {
		mamori_event_free(ev);
		return MAMORI_ERR_TOO_LARGE;
	}
	s->ev[s->n++] = ev;
	return 0;
}

static void
sink_clear(struct sink *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		mamori_event_free(s->ev[i]);
	s->n = 0;
}

struct fixture {
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	struct sink sink;
	void *src;
	char root[TEST_PATH_MAX];
};

static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_non_null(fx->sink.ev = calloc(TEST_MAX_EVENTS,
	    sizeof(*fx->sink.ev)));
	assert_non_null(fx->base = event_base_new());
	fx->ctx.base = fx->base;
	fx->ctx.root = "";
	fx->ctx.state_dir = "";
	fx->ctx.opt = &fx->opt;
	fx->ctx.emit = sink_emit;
	fx->ctx.sink = &fx->sink;
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->src != NULL)
		mamori_source_network.stop(fx->src);
	sink_clear(&fx->sink);
	free(fx->sink.ev);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void
run_ms(struct fixture *fx, unsigned ms)
{
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

static void
root_path(char *out, const char *root, const char *name)
{
	int n = snprintf(out, TEST_PATH_MAX, "%s%s", root, name);

	assert_true(n > 0 && n < TEST_PATH_MAX);
}

static void
write_file(const char *root, const char *name, const char *text)
{
	char path[TEST_PATH_MAX], rel[TEST_PATH_MAX];
	FILE *f;

	root_path(rel, "/proc/net/", name);
	root_path(path, root, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const Mamori__NetworkEvent *
find_event(const struct sink *s, Mamori__NetworkEvent__Action action,
    const char *transport, uint32_t sport, uint32_t dport)
{
	const Mamori__NetworkEvent *ne;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->ev[i]->body_case != MAMORI__EVENT__BODY_NETWORK)
			continue;
		ne = s->ev[i]->network;
		if (ne->action == action &&
		    strcmp(ne->transport, transport) == 0 &&
		    ne->source_port == sport &&
		    (dport == 0 || ne->destination_port == dport))
			return ne;
	}
	return NULL;
}

/* The diff over tables the test writes: a baseline, then only what is new
 * and outbound or listening. */
static void
test_source_diff(void **state)
{
	static const char *const names[] = {"/proc/net/tcp", "/proc/net/tcp6",
	    "/proc/net/udp", "/proc/net", "/proc", ""};
	struct fixture *fx = *state;
	const Mamori__NetworkEvent *ne;
	char path[TEST_PATH_MAX];
	size_t i;

	assert_true(snprintf(fx->root, sizeof(fx->root),
	    "/tmp/mamori-net.XXXXXX") < (int)sizeof(fx->root));
	assert_non_null(mkdtemp(fx->root));
	root_path(path, fx->root, "/proc");
	assert_int_equal(mkdir(path, 0755), 0);
	root_path(path, fx->root, "/proc/net");
	assert_int_equal(mkdir(path, 0755), 0);
	write_file(fx->root, "tcp", TCP_HEADER TCP_LISTEN_8080);
	fx->ctx.root = fx->root;
	fx->opt.network_poll_ms = TEST_SLICE_MS;
	assert_int_equal(mamori_source_network.start(&fx->ctx, &fx->src), 0);
	run_ms(fx, 3 * TEST_SLICE_MS);
	assert_int_equal(fx->sink.n, 0);        /* the baseline */

	write_file(fx->root, "tcp", TCP_HEADER TCP_LISTEN_8080 TCP_OUT_443
	    TCP_IN_8080 TCP_TIME_WAIT TCP_SYN_22);
	write_file(fx->root, "udp", UDP_HEADER UDP_BOUND_5353);
	write_file(fx->root, "tcp6", TCP_HEADER TCP6_LISTEN_22);
	run_ms(fx, 3 * TEST_SLICE_MS);
	assert_int_equal(fx->sink.n, 4);
	assert_non_null(ne = find_event(&fx->sink,
	    MAMORI__NETWORK_EVENT__ACTION__CONNECT, "tcp", 40000, 443));
	assert_string_equal(ne->source_ip, "10.0.0.5");
	assert_string_equal(ne->destination_ip, "93.184.216.34");
	assert_int_equal(ne->pid, 0);           /* no processes in this root */
	assert_string_equal(ne->executable, "");
	assert_non_null(find_event(&fx->sink,
	    MAMORI__NETWORK_EVENT__ACTION__CONNECT, "tcp", 40001, 22));
	assert_non_null(ne = find_event(&fx->sink,
	    MAMORI__NETWORK_EVENT__ACTION__LISTEN, "udp", 5353, 0));
	assert_int_equal(ne->uid, 104);
	assert_non_null(ne = find_event(&fx->sink,
	    MAMORI__NETWORK_EVENT__ACTION__LISTEN, "tcp", 22, 0));
	assert_string_equal(ne->source_ip, "::");
	sink_clear(&fx->sink);

	/* The same sockets again (SYN_SENT now established): nothing. */
	write_file(fx->root, "tcp", TCP_HEADER TCP_LISTEN_8080 TCP_OUT_443
	    TCP_IN_8080);
	run_ms(fx, 3 * TEST_SLICE_MS);
	write_file(fx->root, "tcp", TCP_HEADER TCP_LISTEN_8080 TCP_OUT_443
	    TCP_IN_8080 TCP_SYN_22);
	run_ms(fx, 3 * TEST_SLICE_MS);
	/* 1004 went away for a poll and came back: new again. */
	assert_int_equal(fx->sink.n, 1);

	mamori_source_network.stop(fx->src);
	fx->src = NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		root_path(path, fx->root, names[i]);
		(void)remove(path);
	}
}

static uint16_t
local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static int
loopback_socket(int type, int bind_it)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, type, 0);

	assert_true(fd >= 0);
	if (bind_it) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	}
	return fd;
}

/* The live host: our own sockets on 127.0.0.1, owned by us. */
static void
test_source_live(void **state)
{
	struct fixture *fx = *state;
	const Mamori__NetworkEvent *listen_ev = NULL, *udp_ev = NULL,
	    *conn_ev = NULL;
	struct sockaddr_in sin;
	char self[TEST_PATH_MAX];
	ssize_t len;
	unsigned waited;
	uint16_t lport, uport, cport;
	int lfd, ufd, cfd, afd;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(len > 0);
	self[len] = '\0';
	/* opt->network_poll_ms 0: the default interval. */
	assert_int_equal(mamori_source_network.start(&fx->ctx, &fx->src), 0);

	lfd = loopback_socket(SOCK_STREAM, 1);
	assert_int_equal(listen(lfd, 4), 0);
	lport = local_port(lfd);
	ufd = loopback_socket(SOCK_DGRAM, 1);
	uport = local_port(ufd);
	cfd = loopback_socket(SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(lport);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	cport = local_port(cfd);
	assert_true((afd = accept(lfd, NULL, NULL)) >= 0);

	for (waited = 0; waited < TEST_DEADLINE_MS; waited += TEST_SLICE_MS) {
		run_ms(fx, TEST_SLICE_MS);
		listen_ev = find_event(&fx->sink,
		    MAMORI__NETWORK_EVENT__ACTION__LISTEN, "tcp", lport, 0);
		udp_ev = find_event(&fx->sink,
		    MAMORI__NETWORK_EVENT__ACTION__LISTEN, "udp", uport, 0);
		conn_ev = find_event(&fx->sink,
		    MAMORI__NETWORK_EVENT__ACTION__CONNECT, "tcp", cport, lport);
		if (listen_ev != NULL && udp_ev != NULL && conn_ev != NULL)
			break;
	}
	assert_non_null(listen_ev);
	assert_non_null(udp_ev);
	assert_non_null(conn_ev);
	assert_int_equal(listen_ev->pid, (uint32_t)getpid());
	assert_string_equal(listen_ev->source_ip, "127.0.0.1");
	assert_string_equal(listen_ev->executable, self);
	assert_int_equal(listen_ev->uid, (uint32_t)getuid());
	assert_int_equal(udp_ev->pid, (uint32_t)getpid());
	assert_int_equal(conn_ev->pid, (uint32_t)getpid());
	assert_string_equal(conn_ev->executable, self);
	assert_string_equal(conn_ev->source_ip, "127.0.0.1");
	assert_string_equal(conn_ev->destination_ip, "127.0.0.1");
	assert_int_equal(conn_ev->destination_port, lport);
	/* The accepted end is inbound: no CONNECT from the listening port. */
	assert_null(find_event(&fx->sink,
	    MAMORI__NETWORK_EVENT__ACTION__CONNECT, "tcp", lport, 0));
	close(afd);
	close(cfd);
	close(ufd);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_parse),
		cmocka_unit_test_setup_teardown(test_source_diff, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_live, fx_setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
