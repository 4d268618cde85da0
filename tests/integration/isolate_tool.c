/*
 * isolate_tool.c - drives the agent's host isolation (src/agent/isolate.c)
 * for test_isolation.py, which runs it inside a throw-away network
 * namespace (`ip netns exec`).  It is a test program: it is not installed
 * and must never be run in the host's own namespace by a test.
 *
 *   isolate_tool STATE_DIR apply ADDR PORT [ADDR PORT]...
 *   isolate_tool STATE_DIR apply-server HOST:PORT   (as an ISOLATE_HOST task)
 *   isolate_tool STATE_DIR release
 *   isolate_tool STATE_DIR task-release
 *   isolate_tool STATE_DIR restore
 *   isolate_tool STATE_DIR status
 *   isolate_tool - ruleset ADDR PORT
 *
 * Exit 0 on success; otherwise the reason on stderr and exit 1 (2: usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "isolate.h"
#include "log.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: isolate_tool STATE_DIR apply ADDR PORT...|"
	    "apply-server HOST:PORT|release|task-release|restore|status\n"
	    "       isolate_tool - ruleset ADDR PORT\n");
	return 2;
}

/* ADDR PORT pairs from argv into t. */
static int
peers(int argc, char **argv, struct mamori_isolate_target *t)
{
	uint64_t port;
	int i, r;

	if (argc < 2 || argc % 2 != 0)
		return usage();
	for (i = 0; i < argc; i += 2) {
		if (mamori_parse_u64(argv[i + 1], 1, 65535, &port) != 0 ||
		    (r = mamori_isolate_target_add(t, argv[i],
		    (uint16_t)port)) != 0) {
			fprintf(stderr, "isolate_tool: %s %s is not a numeric "
			    "address and port\n", argv[i], argv[i + 1]);
			return 1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	Mamori__TaskBody body = MAMORI__TASK_BODY__INIT;
	Mamori__HostIsolationParams params =
	    MAMORI__HOST_ISOLATION_PARAMS__INIT;
	struct mamori_isolate_target t;
	const char *state, *cmd;
	char why[512], *text = NULL;
	int iso = 0, r;
	size_t i;

	mamori_log_init("isolate_tool", MAMORI_LOG_INFO);
	memset(&t, 0, sizeof(t));
	why[0] = '\0';
	if (argc < 3)
		return usage();
	state = argv[1];
	cmd = argv[2];
	if (strcmp(cmd, "ruleset") == 0) {
		if ((r = peers(argc - 3, argv + 3, &t)) != 0)
			return r;
		if (mamori_isolate_ruleset(&t, &text) != 0)
			return 1;
		fputs(text, stdout);
		free(text);
		return 0;
	}
	if (strcmp(cmd, "apply") == 0) {
		if ((r = peers(argc - 3, argv + 3, &t)) != 0)
			return r;
		r = mamori_isolate_apply(state, &t, why, sizeof(why));
	} else if (strcmp(cmd, "apply-server") == 0 && argc == 4) {
		/* As the agent does for an accepted ISOLATE_HOST task. */
		body.params_case = MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST;
		body.isolate_host = &params;
		r = mamori_isolate_task(state, argv[3], &body, why,
		    sizeof(why));
	} else if (strcmp(cmd, "task-release") == 0 && argc == 3) {
		body.params_case = MAMORI__TASK_BODY__PARAMS_RELEASE_HOST;
		body.release_host = &params;
		r = mamori_isolate_task(state, NULL, &body, why, sizeof(why));
	} else if (strcmp(cmd, "release") == 0 && argc == 3) {
		r = mamori_isolate_release(state, why, sizeof(why));
	} else if (strcmp(cmd, "restore") == 0 && argc == 3) {
		r = mamori_isolate_restore(state, &iso, why, sizeof(why));
		if (r == 0)
			printf("%s\n", iso ? "isolated" : "not isolated");
	} else if (strcmp(cmd, "status") == 0 && argc == 3) {
		r = mamori_isolate_status(state, &iso, &t);
		if (r == 0) {
			printf("%s\n", iso ? "isolated" : "not isolated");
			for (i = 0; i < t.n; i++)
				printf("peer %s %u\n", t.peer[i].addr,
				    (unsigned)t.peer[i].port);
		}
	} else {
		return usage();
	}
	if (r != 0) {
		fprintf(stderr, "isolate_tool: %s\n", why[0] != '\0' ? why :
		    mamori_strerror(r));
		return 1;
	}
	if (why[0] != '\0')
		printf("%s\n", why);
	return 0;
}
