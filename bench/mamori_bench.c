/*
 * mamori_bench.c - load generator for mamorid, simulating many agents in
 * one process.  It talks only to the server address in the enrollment
 * string it is given (run it against a server on loopback) and stops by
 * itself.
 *
 *   mamori-bench enroll --string S --count N [--threads T]
 *       N enrollments (key, CSR, TLS, token, certificate); prints the rate.
 *   mamori-bench idle --string S --count N --server-pid PID [--hold SEC]
 *       enrolls N agents, connects them all with mutual TLS, says hello,
 *       holds them idle, and prints the server's resident memory before and
 *       after, per connected agent.
 *   mamori-bench ingest --string S --count N [--seconds SEC] [--batch B]
 *       enrolls and connects N agents, then has every agent send batches
 *       of B process events (about 300 bytes each) and wait for the
 *       server's acknowledgement, round after round, for SEC seconds;
 *       prints the acknowledged (stored) events per second.
 *   mamori-bench query --string S --count N --home HOME --mamori PATH
 *       [--rounds R]
 *       enrolls and connects N agents that answer every query task at
 *       once, then runs `mamori query ... --all` R times and prints the
 *       time from starting the command until every result was in.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "agent.h"
#include "bench_util.h"
#include "enroll_string.h"
#include "err.h"
#include "pki.h"
#include "wire.h"

#define BENCH_MAX_AGENTS 100000
#define BENCH_MAX_BATCH 10000

struct sim_agent {
	EVP_PKEY *key;
	X509 *cert;
	X509 *ca;
	SSL *ssl;
	int fd;
	uint64_t seq;     /* last event sequence number sent */
};

struct enroll_job {
	const struct mamori_enroll_info *info;
	struct sim_agent *agents;
	size_t from, to;
	size_t failed;
};

/* The machine line as this program has always printed it: without the
 * architecture. */
static void
print_machine(void)
{
	struct bench_machine m;

	(void)bench_machine_get(&m);
	printf("machine: %s %s, %ld cores, %s\n", m.uts.sysname,
	    m.uts.release, m.cores, m.model);
}

static void *
enroll_worker(void *arg)
{
	struct enroll_job *job = arg;
	char why[512], id[MAMORI_AGENT_ID_LEN + 1];
	size_t i;

	for (i = job->from; i < job->to; i++) {
		struct sim_agent *a = &job->agents[i];

		if (mamori_key_generate(&a->key) != 0 ||
		    mamori_enroll_exchange(job->info, a->key, "bench", &a->cert,
		    &a->ca, id, why, sizeof(why)) != 0) {
			if (job->failed++ == 0)
				fprintf(stderr, "enroll: %s\n", why);
		}
	}
	return NULL;
}

static int
enroll_all(const struct mamori_enroll_info *info, struct sim_agent *agents,
    size_t n, unsigned threads)
{
	struct enroll_job jobs[64];
	pthread_t tids[64];
	size_t failed = 0, per;
	unsigned t;
	double t0, dt;

	if (threads == 0 || threads > 64)
		threads = 1;
	per = (n + threads - 1) / threads;
	t0 = bench_wall_seconds();
	for (t = 0; t < threads; t++) {
		jobs[t].info = info;
		jobs[t].agents = agents;
		jobs[t].from = t * per < n ? t * per : n;
		jobs[t].to = (t + 1) * per < n ? (t + 1) * per : n;
		jobs[t].failed = 0;
		pthread_create(&tids[t], NULL, enroll_worker, &jobs[t]);
	}
	for (t = 0; t < threads; t++) {
		pthread_join(tids[t], NULL);
		failed += jobs[t].failed;
	}
	dt = bench_wall_seconds() - t0;
	printf("enrollments: %zu in %.2f s = %.0f per second (%u client "
	    "threads, %zu failed)\n", n, dt, (double)n / dt, threads, failed);
	return failed == 0 ? 0 : 1;
}

static int
connect_agent(SSL_CTX *ctx, const char *server, struct sim_agent *a)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__Hello hello = MAMORI__HELLO__INIT;
	struct mamori_buf b;
	uint8_t hdr[4], body[4096];
	uint32_t len;
	size_t got;
	char why[256];
	int r = 1;

	if (mamori_tcp_connect(server, 10, &a->fd, why, sizeof(why)) != 0) {
		fprintf(stderr, "connect: %s\n", why);
		return 1;
	}
	if ((a->ssl = SSL_new(ctx)) == NULL ||
	    mamori_tls_client_setup(a->ssl) != 0 ||
	    SSL_use_certificate(a->ssl, a->cert) != 1 ||
	    SSL_use_PrivateKey(a->ssl, a->key) != 1 ||
	    SSL_set_fd(a->ssl, a->fd) != 1 || SSL_connect(a->ssl) != 1)
		return 1;
	hello.agent_version = (char *)(uintptr_t)"bench";
	env.body_case = MAMORI__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	mamori_buf_init(&b, 4096);
	if (mamori_frame_encode(&env, &b) == 0 &&
	    SSL_write_ex(a->ssl, b.data, b.len, &got) == 1 &&
	    SSL_read_ex(a->ssl, hdr, 4, &got) == 1 && got == 4 &&
	    mamori_frame_length(hdr, sizeof(body), &len) == 0 &&
	    SSL_read_ex(a->ssl, body, len, &got) == 1)
		r = 0;
	mamori_buf_free(&b);
	return r;
}

static int
idle(const struct mamori_enroll_info *info, struct sim_agent *agents,
    size_t n, long pid, unsigned hold)
{
	struct mamori_agent_state st;
	SSL_CTX *ctx = NULL;
	long before, after;
	size_t i, ok = 0;
	double t0, dt;

	memset(&st, 0, sizeof(st));
	before = bench_rss_kib(pid);
	/* One context for all: trust the fleet CA, per-connection identity. */
	st.ca = agents[0].ca;
	st.cert = agents[0].cert;
	st.key = agents[0].key;
	if (mamori_tls_run_ctx(&st, &ctx) != 0)
		return 1;
	t0 = bench_wall_seconds();
	for (i = 0; i < n; i++)
		if (agents[i].cert != NULL &&
		    connect_agent(ctx, info->server, &agents[i]) == 0)
			ok++;
	dt = bench_wall_seconds() - t0;
	printf("connected: %zu of %zu agents in %.2f s (%.0f handshakes per "
	    "second)\n", ok, n, dt, (double)ok / dt);
	sleep(hold);
	after = bench_rss_kib(pid);
	printf("server RSS: %ld KiB before, %ld KiB with %zu idle agents: "
	    "%.1f KiB per idle agent\n", before, after, ok,
	    ok > 0 ? (double)(after - before) / (double)ok : 0.0);
	for (i = 0; i < n; i++) {
		if (agents[i].ssl != NULL)
			SSL_free(agents[i].ssl);
		if (agents[i].fd > 0)
			close(agents[i].fd);
	}
	SSL_CTX_free(ctx);
	return ok == n ? 0 : 1;
}

/* One synthetic process event, like the agent's process source makes. */
static void
fill_event(Mamori__Event *ev, Mamori__ProcessEvent *p, uint64_t seq,
    char *cmd, size_t cmdlen, char **args)
{
	mamori__event__init(ev);
	mamori__process_event__init(p);
	snprintf(cmd, cmdlen, "/usr/bin/python3 /opt/app/worker.py --job %llu "
	    "--queue default --verbose --config /etc/app/worker.conf",
	    (unsigned long long)seq);
	args[0] = cmd;
	p->action = MAMORI__PROCESS_EVENT__ACTION__START;
	p->pid = (uint32_t)(1000 + seq % 30000);
	p->ppid = 1;
	p->executable = (char *)(uintptr_t)"/usr/bin/python3.11";
	p->sha256 = (char *)(uintptr_t)"4c5a3f1e2d9b8a7c6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a";
	p->command_line = cmd;
	p->n_args = 1;
	p->args = args;
	p->working_directory = (char *)(uintptr_t)"/opt/app";
	p->uid = 1000;
	p->user_name = (char *)(uintptr_t)"app";
	p->parent_executable = (char *)(uintptr_t)"/usr/lib/systemd/systemd";
	ev->seq = seq;
	ev->time_ns = (uint64_t)time(NULL) * 1000000000ULL;
	ev->body_case = MAMORI__EVENT__BODY_PROCESS;
	ev->process = p;
}

static int
send_batch(struct sim_agent *a, unsigned batch, struct mamori_buf *b)
{
	Mamori__Envelope env = MAMORI__ENVELOPE__INIT;
	Mamori__EventBatch eb = MAMORI__EVENT_BATCH__INIT;
	static Mamori__Event evs[BENCH_MAX_BATCH];
	static Mamori__ProcessEvent ps[BENCH_MAX_BATCH];
	static Mamori__Event *ptrs[BENCH_MAX_BATCH];
	static char cmds[BENCH_MAX_BATCH][160];
	static char *args[BENCH_MAX_BATCH][1];
	size_t w;
	unsigned i;

	eb.after_seq = a->seq;
	for (i = 0; i < batch; i++) {
		fill_event(&evs[i], &ps[i], ++a->seq, cmds[i], sizeof(cmds[i]),
		    args[i]);
		ptrs[i] = &evs[i];
	}
	eb.n_events = batch;
	eb.events = ptrs;
	env.body_case = MAMORI__ENVELOPE__BODY_EVENT_BATCH;
	env.event_batch = &eb;
	mamori_buf_reset(b);
	if (mamori_frame_encode(&env, b) != 0 ||
	    SSL_write_ex(a->ssl, b->data, b->len, &w) != 1)
		return 1;
	return 0;
}

/* Reads frames until the acknowledgement of seq (or a later one). */
static int
read_ack(struct sim_agent *a, uint64_t seq)
{
	Mamori__Envelope *env;
	uint8_t hdr[4], body[4096];
	uint32_t len;
	size_t got;
	int done = 0;

	while (!done) {
		if (SSL_read_ex(a->ssl, hdr, 4, &got) != 1 || got != 4 ||
		    mamori_frame_length(hdr, sizeof(body), &len) != 0 ||
		    SSL_read_ex(a->ssl, body, len, &got) != 1 || got != len)
			return 1;
		if (mamori_envelope_decode(body, len, 65536, &env) != 0)
			return 1;
		if (env->body_case == MAMORI__ENVELOPE__BODY_EVENT_ACK &&
		    env->event_ack->acked_seq >= seq)
			done = 1;
		mamori_envelope_free(env);
	}
	return 0;
}

/* ---- live queries ------------------------------------------------------ */

#define BENCH_QUERY_RESULT "{\"columns\":[\"one\"],\"rows\":[[1]]}"

/* Answers one frame: a TaskDelivery gets an OK result at once. */
static int
answer_frame(struct sim_agent *a, const uint8_t *body, uint32_t len,
    struct mamori_buf *out, size_t *answered)
{
	Mamori__Envelope *env = NULL, renv = MAMORI__ENVELOPE__INIT;
	Mamori__SignedTask *st = NULL;
	Mamori__TaskBody *tb = NULL;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	size_t w;
	int r = 1;

	if (mamori_envelope_decode(body, len, 1 << 20, &env) != 0)
		return 1;
	if (env->body_case != MAMORI__ENVELOPE__BODY_TASK_DELIVERY) {
		r = 0;
		goto out;
	}
	if ((st = mamori__signed_task__unpack(NULL,
	    env->task_delivery->signed_task.len,
	    env->task_delivery->signed_task.data)) == NULL ||
	    (tb = mamori__task_body__unpack(NULL, st->body.len,
	    st->body.data)) == NULL)
		goto out;
	res.task_id = tb->task_id;
	res.status = MAMORI__TASK_RESULT__STATUS__OK;
	res.query_json = (char *)(uintptr_t)BENCH_QUERY_RESULT;
	renv.body_case = MAMORI__ENVELOPE__BODY_TASK_RESULT;
	renv.task_result = &res;
	mamori_buf_reset(out);
	if (mamori_frame_encode(&renv, out) != 0 ||
	    SSL_write_ex(a->ssl, out->data, out->len, &w) != 1)
		goto out;
	(*answered)++;
	r = 0;
out:
	if (tb != NULL)
		mamori__task_body__free_unpacked(tb, NULL);
	if (st != NULL)
		mamori__signed_task__free_unpacked(st, NULL);
	mamori_envelope_free(env);
	return r;
}

/* Reads and answers every frame the agent has ready. */
static int
agent_readable(struct sim_agent *a, struct mamori_buf *out, size_t *answered)
{
	static uint8_t body[1 << 20];
	uint8_t hdr[4];
	uint32_t len;
	size_t got;

	do {
		if (SSL_read_ex(a->ssl, hdr, 4, &got) != 1 || got != 4 ||
		    mamori_frame_length(hdr, sizeof(body), &len) != 0 ||
		    SSL_read_ex(a->ssl, body, len, &got) != 1 || got != len)
			return 1;
		if (answer_frame(a, body, len, out, answered) != 0)
			return 1;
	} while (SSL_pending(a->ssl) > 0);
	return 0;
}

static int
query_round(struct sim_agent *agents, size_t n, int ep, const char *home,
    const char *mamori, unsigned round)
{
	char *argv[] = {(char *)(uintptr_t)mamori, (char *)(uintptr_t)"--home",
	    (char *)(uintptr_t)home, (char *)(uintptr_t)"query",
	    (char *)(uintptr_t)"SELECT 1 AS one", (char *)(uintptr_t)"--all",
	    (char *)(uintptr_t)"--timeout", (char *)(uintptr_t)"60",
	    (char *)(uintptr_t)"--json", NULL};
	extern char **environ;
	posix_spawn_file_actions_t fa;
	struct epoll_event ev, ready[256];
	struct mamori_buf out, cli;
	size_t answered = 0, ok = 0;
	int pipefd[2], status = 0, open_pipe = 1, k, nr;
	char chunk[65536];
	double t0, dt;
	ssize_t got;
	pid_t pid;
	char *p;

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return 1;
	mamori_buf_init(&out, 1 << 20);
	mamori_buf_init(&cli, (size_t)256 << 20);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	t0 = bench_wall_seconds();
	if (posix_spawn(&pid, mamori, &fa, NULL, argv, environ) != 0) {
		fprintf(stderr, "query: cannot start %s\n", mamori);
		return 1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = n;        /* the command's output */
	epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev);
	while (open_pipe) {
		nr = epoll_wait(ep, ready, 256, 1000);
		for (k = 0; k < nr; k++) {
			size_t i = (size_t)ready[k].data.u64;

			if (i < n) {
				if (agent_readable(&agents[i], &out,
				    &answered) != 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL,
					    agents[i].fd, NULL);
					fprintf(stderr, "query: agent %zu "
					    "lost\n", i);
				}
				continue;
			}
			got = read(pipefd[0], chunk, sizeof(chunk));
			if (got <= 0 || mamori_buf_append(&cli, chunk,
			    (size_t)got) != 0)
				open_pipe = 0;
		}
	}
	dt = bench_wall_seconds() - t0;
	epoll_ctl(ep, EPOLL_CTL_DEL, pipefd[0], NULL);
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	(void)mamori_buf_append(&cli, "", 1);
	for (p = (char *)cli.data; (p = strstr(p, "\"type\":\"result\"")) !=
	    NULL; p++)
		ok++;
	printf("query round %u: %zu agents, %zu tasks answered, %zu results "
	    "streamed to `mamori query` in %.3f s (exit %d)\n", round, n,
	    answered, ok, dt, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	mamori_buf_free(&out);
	mamori_buf_free(&cli);
	return ok == n ? 0 : 1;
}

static int
fleet_query(const struct mamori_enroll_info *info, struct sim_agent *agents,
    size_t n, const char *home, const char *mamori, unsigned rounds)
{
	struct mamori_agent_state st;
	struct epoll_event ev;
	SSL_CTX *ctx = NULL;
	double t0;
	size_t i;
	unsigned k;
	int r = 1, ep;

	memset(&st, 0, sizeof(st));
	st.ca = agents[0].ca;
	st.cert = agents[0].cert;
	st.key = agents[0].key;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	if (mamori_tls_run_ctx(&st, &ctx) != 0)
		goto out;
	t0 = bench_wall_seconds();
	for (i = 0; i < n; i++) {
		if (connect_agent(ctx, info->server, &agents[i]) != 0) {
			fprintf(stderr, "query: agent %zu cannot connect\n", i);
			goto out;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, agents[i].fd, &ev) != 0)
			goto out;
	}
	printf("connected: %zu agents in %.2f s\n", n,
	    bench_wall_seconds() - t0);
	sleep(1);       /* the server has said welcome to all */
	r = 0;
	for (k = 1; k <= rounds && r == 0; k++)
		r = query_round(agents, n, ep, home, mamori, k);
out:
	for (i = 0; i < n; i++) {
		if (agents[i].ssl != NULL)
			SSL_free(agents[i].ssl);
		if (agents[i].fd > 0)
			close(agents[i].fd);
		agents[i].ssl = NULL;
		agents[i].fd = 0;
	}
	close(ep);
	SSL_CTX_free(ctx);
	return r;
}

static int
ingest(const struct mamori_enroll_info *info, struct sim_agent *agents,
    size_t n, unsigned seconds, unsigned batch)
{
	struct mamori_agent_state st;
	struct mamori_buf b;
	SSL_CTX *ctx = NULL;
	uint64_t total = 0;
	size_t i, ok = 0;
	double t0, dt, end;
	int r = 1;

	memset(&st, 0, sizeof(st));
	st.ca = agents[0].ca;
	st.cert = agents[0].cert;
	st.key = agents[0].key;
	if (mamori_tls_run_ctx(&st, &ctx) != 0)
		return 1;
	for (i = 0; i < n; i++)
		if (connect_agent(ctx, info->server, &agents[i]) == 0)
			ok++;
	if (ok != n) {
		fprintf(stderr, "ingest: only %zu of %zu agents connected\n",
		    ok, n);
		goto out;
	}
	mamori_buf_init(&b, MAMORI_FRAME_MAX);
	t0 = bench_wall_seconds();
	end = t0 + seconds;
	/* Rounds: every agent sends a batch, then waits for the
	 * acknowledgement of its batch before - like the agent, which keeps
	 * a few batches in flight, so sender and server work at once.
	 * Events only count once the server stored them. */
	for (i = 0; i < n; i++)
		if (send_batch(&agents[i], batch, &b) != 0)
			goto io;
	while (bench_wall_seconds() < end) {
		for (i = 0; i < n; i++) {
			uint64_t prev = agents[i].seq;

			if (send_batch(&agents[i], batch, &b) != 0 ||
			    read_ack(&agents[i], prev) != 0)
				goto io;
		}
		total += (uint64_t)n * batch;
	}
	for (i = 0; i < n; i++)
		if (read_ack(&agents[i], agents[i].seq) != 0)
			goto io;
	total += (uint64_t)n * batch;
	dt = bench_wall_seconds() - t0;
	printf("ingest: %llu events from %zu agents in %.1f s = %.0f events "
	    "per second stored and acknowledged (batches of %u)\n",
	    (unsigned long long)total, n, dt, (double)total / dt, batch);
	r = 0;
	goto done;
io:
	fprintf(stderr, "ingest: connection failed\n");
done:
	mamori_buf_free(&b);
out:
	for (i = 0; i < n; i++) {
		if (agents[i].ssl != NULL)
			SSL_free(agents[i].ssl);
		if (agents[i].fd > 0)
			close(agents[i].fd);
	}
	SSL_CTX_free(ctx);
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"string", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 't'},
		{"server-pid", required_argument, NULL, 'p'},
		{"hold", required_argument, NULL, 'H'},
		{"seconds", required_argument, NULL, 'S'},
		{"batch", required_argument, NULL, 'B'},
		{"home", required_argument, NULL, 'h'},
		{"mamori", required_argument, NULL, 'm'},
		{"rounds", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	struct mamori_enroll_info info;
	struct sim_agent *agents;
	struct rlimit rl;
	const char *cmd, *string = NULL, *home = NULL, *mamori = NULL;
	uint64_t rounds = 3;
	uint64_t count = 100, threads = 2, pid = 0, hold = 3, seconds = 60;
	uint64_t batch = 100;
	size_t i;
	int c, r;

	if (argc < 2) {
		fprintf(stderr, "usage: mamori-bench enroll|idle --string S "
		    "--count N [--threads T] [--server-pid PID] [--hold SEC]\n");
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': string = optarg; break;
		case 'n':
			if (mamori_parse_u64(optarg, 1, BENCH_MAX_AGENTS,
			    &count) != 0)
				return 2;
			break;
		case 't':
			if (mamori_parse_u64(optarg, 1, 64, &threads) != 0)
				return 2;
			break;
		case 'p':
			if (mamori_parse_u64(optarg, 1, 1 << 30, &pid) != 0)
				return 2;
			break;
		case 'H':
			if (mamori_parse_u64(optarg, 0, 3600, &hold) != 0)
				return 2;
			break;
		case 'S':
			if (mamori_parse_u64(optarg, 1, 3600, &seconds) != 0)
				return 2;
			break;
		case 'B':
			if (mamori_parse_u64(optarg, 1, BENCH_MAX_BATCH,
			    &batch) != 0)
				return 2;
			break;
		case 'h': home = optarg; break;
		case 'm': mamori = optarg; break;
		case 'R':
			if (mamori_parse_u64(optarg, 1, 100, &rounds) != 0)
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (string == NULL || mamori_enroll_string_decode(string, &info) != 0) {
		fprintf(stderr, "mamori-bench: give a valid --string from "
		    "`mamori token create --uses N`\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	print_machine();
	if ((agents = calloc(count, sizeof(*agents))) == NULL)
		return 1;
	r = enroll_all(&info, agents, count, (unsigned)threads);
	if (r == 0 && strcmp(cmd, "idle") == 0)
		r = idle(&info, agents, count, (long)pid, (unsigned)hold);
	if (r == 0 && strcmp(cmd, "query") == 0) {
		if (home == NULL || mamori == NULL) {
			fprintf(stderr, "mamori-bench query needs --home and "
			    "--mamori\n");
			r = 2;
		} else {
			r = fleet_query(&info, agents, count, home, mamori,
			    (unsigned)rounds);
		}
	}
	if (r == 0 && strcmp(cmd, "ingest") == 0)
		r = ingest(&info, agents, count, (unsigned)seconds,
		    (unsigned)batch);
	for (i = 0; i < count; i++) {
		EVP_PKEY_free(agents[i].key);
		X509_free(agents[i].cert);
		X509_free(agents[i].ca);
	}
	free(agents);
	return r;
}
