/*
 * main.c - mamori-agent's command line: enroll, run, inventory, status,
 * query, usb-rules.
 *
 * Exit codes: 0 success, 1 runtime failure (one line on stderr says what
 * and what to do), 2 bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "err.h"
#include "inventory.h"
#include "isolate.h"
#include "log.h"
#include "pbjson.h"
#include "query.h"
#include "spool.h"
#include "table.h"
#include "usbctl.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mamori-agent enroll --state DIR [--force] STRING\n"
	    "       mamori-agent run --state DIR [--inventory-interval DUR]\n"
	    "                        [--max-backoff DUR] [--inventory-root DIR]\n"
	    "                        [--sources LIST] [--watch PATH]... "
	    "[--spool-max BYTES]\n"
	    "                        [--auth-log FILE] [--uevent-replay FILE]"
	    " [--verbose]\n"
	    "                        [--usb-default-deny]\n"
	    "       mamori-agent inventory [--json] [--inventory-root DIR]\n"
	    "       mamori-agent status --state DIR [--json]\n"
	    "       mamori-agent usb-rules --state DIR [--json]\n"
	    "       mamori-agent query [--json] [--timeout DUR] "
	    "[--inventory-root DIR] SQL\n"
	    "\n"
	    "  enroll     make this machine's key and enroll it with the server\n"
	    "             named in STRING (from `mamori token create`)\n"
	    "  run        stay connected to the server and report inventory\n"
	    "  inventory  print what this machine would report\n"
	    "  status     print this agent's enrollment, isolation and USB "
	    "rules\n"
	    "  usb-rules  list the USB block/allow rules this agent enforces\n"
	    "             (they change only through signed USB tasks)\n"
	    "  query      answer read-only SQL over osquery-like tables\n"
	    "             (processes, deb_packages, listening_ports, ...)\n"
	    "\n"
	    "  --inventory-interval DUR  how often to look for inventory\n"
	    "                            changes (default 10m)\n"
	    "  --max-backoff DUR         longest wait between reconnects "
	    "(default 5m)\n"
	    "  --inventory-root DIR      read host files under DIR instead of "
	    "/\n"
	    "                            (for recorded fixtures)\n"
	    "  --sources LIST            event sources to run, comma-separated"
	    "\n"
	    "                            (default: process,login,file,network,"
	    "usb)\n"
	    "  --watch PATH              a path for file integrity; repeat it; "
	    "replaces\n"
	    "                            the default list (/etc, /usr/bin, ...)"
	    "\n"
	    "  --spool-max BYTES         cap of the event spool (default 256 "
	    "MiB)\n"
	    "  --auth-log FILE           authentication log to follow\n"
	    "  --uevent-replay FILE      read recorded USB uevents (tests)\n"
	    "  --usb-default-deny        new USB devices stay off until the "
	    "agent\n"
	    "                            authorizes them (no USB at all while "
	    "the\n"
	    "                            agent is not running)\n"
	    "  --timeout DUR             longest a query may run (default "
	    "10s)\n");
}

static int
bad_usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "mamori-agent: %s; see mamori-agent %s--help\n", msg,
	    cmd);
	return 2;
}

static int
print_inventory(const struct mamori_collect_ctx *cctx, int json)
{
	const struct mamori_inv_category *cats;
	Mamori__Inventory *inv = NULL;
	ProtobufCMessage **items;
	size_t ncat, i, n;
	json_t *j;
	char *text;
	int r;

	if ((r = mamori_inventory_collect(cctx, &inv)) != 0) {
		fprintf(stderr, "mamori-agent: cannot collect the inventory: "
		    "%s\n", mamori_strerror(r));
		return 1;
	}
	if (json) {
		j = mamori_pb_to_json(&inv->base);
		text = j == NULL ? NULL : json_dumps(j, JSON_INDENT(2));
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(j);
	} else {
		cats = mamori_inv_categories(&ncat);
		for (i = 0; i < ncat; i++) {
			n = mamori_inv_items(inv, &cats[i], &items);
			printf("%-28s %zu\n", cats[i].title, n);
		}
	}
	mamori_inventory_free(inv);
	return 0;
}

struct query_print {
	struct cli_table table;
	int ready;
	char num[64];
};

/* Collects the result into an aligned table (cells escaped by cli_table). */
static int
query_table_row(void *ud, size_t ncols, const char *const *names,
    const struct mamori_query_value *values)
{
	struct query_print *p = ud;
	const char *cells[CLI_TABLE_MAX_COLUMNS];
	char nums[CLI_TABLE_MAX_COLUMNS][32];
	size_t i;
	int r;

	if (ncols > CLI_TABLE_MAX_COLUMNS) {
		fprintf(stderr, "mamori-agent: the result has %zu columns, "
		    "more than a table shows (%d); use --json or select fewer "
		    "columns\n", ncols, CLI_TABLE_MAX_COLUMNS);
		return MAMORI_ERR_TOO_LARGE;
	}
	if (values == NULL) {
		if ((r = cli_table_init(&p->table, ncols, names)) != 0)
			return r;
		p->ready = 1;
		return 0;
	}
	for (i = 0; i < ncols; i++) {
		switch (values[i].type) {
		case MAMORI_QUERY_INT:
			snprintf(nums[i], sizeof(nums[i]), "%lld",
			    (long long)values[i].i);
			cells[i] = nums[i];
			break;
		case MAMORI_QUERY_REAL:
			snprintf(nums[i], sizeof(nums[i]), "%g", values[i].d);
			cells[i] = nums[i];
			break;
		case MAMORI_QUERY_TEXT:
			cells[i] = values[i].s;
			break;
		default:
			cells[i] = NULL;
		}
	}
	return cli_table_add(&p->table, cells);
}

static int
run_query(const struct mamori_collect_ctx *cctx, const char *sql, int json,
    uint64_t timeout_s)
{
	struct mamori_query_config cfg = {cctx->root, cctx->live};
	struct mamori_query_limits lim;
	struct mamori_query_engine *e = NULL;
	struct query_print p;
	char err[MAMORI_QUERY_ERR_MAX];
	json_t *j = NULL;
	char *text = NULL;
	int r, rc = 1;

	memset(&lim, 0, sizeof(lim));
	memset(&p, 0, sizeof(p));
	lim.timeout_ms = timeout_s * 1000;
	if ((r = mamori_query_engine_new(&cfg, &e)) != 0) {
		fprintf(stderr, "mamori-agent: cannot start the query engine: "
		    "%s\n", mamori_strerror(r));
		goto out;
	}
	if (json) {
		if ((r = mamori_query_json(e, sql, &lim, &j, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "mamori-agent: %s\n", err);
			goto out;
		}
		if ((text = json_dumps(j, JSON_INDENT(2))) == NULL) {
			fprintf(stderr, "mamori-agent: out of memory\n");
			goto out;
		}
		printf("%s\n", text);
		rc = 0;
		goto out;
	}
	if ((r = mamori_query_run(e, sql, &lim, query_table_row, &p, err,
	    sizeof(err))) != 0) {
		if (r != MAMORI_ERR_TOO_LARGE || err[0] != '\0')
			fprintf(stderr, "mamori-agent: %s\n", err[0] != '\0' ?
			    err : mamori_strerror(r));
		goto out;
	}
	if (p.ready && cli_table_print(&p.table, stdout, 0) != 0) {
		fprintf(stderr, "mamori-agent: cannot write the result\n");
		goto out;
	}
	rc = 0;
out:
	if (p.ready)
		cli_table_free(&p.table);
	free(text);
	json_decref(j);
	mamori_query_engine_free(e);
	return rc;
}

/* The USB rules in the state dir, as a table or JSON. */
static int
print_usb_rules(const char *state, int json)
{
	static const char *const heads[] = {"ACTION", "VENDOR", "PRODUCT",
	    "SERIAL"};
	const struct mamori_usb_rule *rules;
	struct mamori_usbctl *ctl = NULL;
	struct cli_table t;
	const char *cells[4];
	char vid[8], pid[8], *text = NULL;
	char hex[2 * MAMORI_USBCTL_SERIAL_MAX + 1];
	json_t *arr = NULL, *o, *ser;
	size_t n, i;
	int r, rc = 1, table = 0;

	if ((r = mamori_usbctl_open(state, "/sys", &ctl)) != 0) {
		fprintf(stderr, "mamori-agent: cannot read the USB rules in "
		    "%s: %s\n", state, mamori_strerror(r));
		goto out;
	}
	mamori_usbctl_list(ctl, &rules, &n);
	if (json) {
		if ((arr = json_array()) == NULL)
			goto oom;
		for (i = 0; i < n; i++) {
			snprintf(vid, sizeof(vid), "%04x", rules[i].vendor_id);
			snprintf(pid, sizeof(pid), "%04x", rules[i].product_id);
			mamori_hex(rules[i].serial, strlen(rules[i].serial),
			    hex);
			/* serial is null when it is not valid UTF-8;
			 * serial_hex always holds its bytes. */
			if ((ser = json_string(rules[i].serial)) == NULL)
				ser = json_null();
			o = json_pack("{s:s, s:s, s:s, s:o, s:s}", "action",
			    rules[i].block ? "block" : "allow", "vendor_id",
			    vid, "product_id", pid, "serial", ser,
			    "serial_hex", hex);
			if (o == NULL || json_array_append_new(arr, o) != 0)
				goto oom;
		}
		if ((text = json_dumps(arr, JSON_INDENT(2))) == NULL)
			goto oom;
		printf("%s\n", text);
		rc = 0;
		goto out;
	}
	if (cli_table_init(&t, 4, heads) != 0)
		goto oom;
	table = 1;
	for (i = 0; i < n; i++) {
		snprintf(vid, sizeof(vid), "%04x", rules[i].vendor_id);
		snprintf(pid, sizeof(pid), "%04x", rules[i].product_id);
		cells[0] = rules[i].block ? "block" : "allow";
		cells[1] = vid;
		cells[2] = pid;
		cells[3] = rules[i].serial[0] != '\0' ? rules[i].serial :
		    "(any)";
		if (cli_table_add(&t, cells) != 0)
			goto oom;
	}
	if (n == 0)
		printf("no USB rules: every device is allowed\n");
	else if (cli_table_print(&t, stdout, 0) != 0)
		goto out;
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "mamori-agent: out of memory\n");
out:
	if (table)
		cli_table_free(&t);
	free(text);
	json_decref(arr);
	mamori_usbctl_free(ctl);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"force", no_argument, NULL, 'f'},
		{"inventory-interval", required_argument, NULL, 'i'},
		{"max-backoff", required_argument, NULL, 'b'},
		{"inventory-root", required_argument, NULL, 'r'},
		{"sources", required_argument, NULL, 'S'},
		{"watch", required_argument, NULL, 'w'},
		{"spool-max", required_argument, NULL, 'm'},
		{"auth-log", required_argument, NULL, 'a'},
		{"uevent-replay", required_argument, NULL, 'u'},
		{"usb-default-deny", no_argument, NULL, 'U'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mamori_agent_options opt;
	struct mamori_agent_state st;
	const char *cmd, *state = NULL;
	char why[512], fp[MAMORI_FP_STRLEN];
	int c, force = 0, json = 0, watch_given = 0, r;
	uint64_t v, timeout = MAMORI_QUERY_TIMEOUT_MS_DEFAULT / 1000;
	enum mamori_log_level level = MAMORI_LOG_INFO;

	memset(&opt, 0, sizeof(opt));
	opt.inventory_interval = MAMORI_INVENTORY_INTERVAL_DEFAULT;
	opt.max_backoff = MAMORI_BACKOFF_MAX_DEFAULT;
	opt.collect.root = "";
	opt.collect.live = 1;
	opt.spool_max = MAMORI_SPOOL_MAX_DEFAULT;
	mamori_source_options_default(&opt.sources);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "enroll") != 0 && strcmp(cmd, "run") != 0 &&
	    strcmp(cmd, "inventory") != 0 && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "query") != 0 && strcmp(cmd, "usb-rules") != 0)
		return bad_usage("", "unknown command");
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'i':
			if (mamori_parse_duration(optarg,
			    &opt.inventory_interval) != 0 ||
			    opt.inventory_interval == 0)
				return bad_usage("", "--inventory-interval "
				    "takes a duration such as 10m");
			break;
		case 'b':
			if (mamori_parse_duration(optarg, &opt.max_backoff) !=
			    0 || opt.max_backoff == 0)
				return bad_usage("", "--max-backoff takes a "
				    "duration such as 5m");
			break;
		case 'r':
			opt.collect.root = optarg;
			opt.collect.live = 0;
			break;
		case 'S':
			opt.sources_enabled = optarg;
			break;
		case 'w':
			if (!watch_given) {
				opt.sources.n_watch = 0;
				watch_given = 1;
			}
			if (opt.sources.n_watch >= MAMORI_MAX_WATCH_PATHS ||
			    optarg[0] != '/')
				return bad_usage("", "--watch takes an absolute "
				    "path (at most 256 of them)");
			opt.sources.watch[opt.sources.n_watch++] = optarg;
			break;
		case 'm':
			if (mamori_parse_u64(optarg, 1024 * 1024,
			    (uint64_t)1 << 40, &v) != 0)
				return bad_usage("", "--spool-max takes a byte "
				    "count of at least 1048576");
			opt.spool_max = v;
			break;
		case 'a':
			opt.sources.auth_log = optarg;
			break;
		case 'u':
			opt.sources.uevent_replay = optarg;
			break;
		case 'U':
			opt.usb_default_deny = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (mamori_parse_duration(optarg, &timeout) != 0 ||
			    timeout == 0 || timeout >
			    MAMORI_QUERY_TIMEOUT_MS_MAX / 1000)
				return bad_usage("", "--timeout takes a duration "
				    "from 1s to 10m, such as 30s");
			break;
		case 'v':
			level = MAMORI_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return bad_usage("", "unknown option");
		}
	}
	mamori_log_init("mamori-agent", level);
	if (strcmp(cmd, "inventory") == 0) {
		if (optind != argc)
			return bad_usage("", "inventory takes no argument");
		return print_inventory(&opt.collect, json);
	}
	if (strcmp(cmd, "query") == 0) {
		if (optind != argc - 1)
			return bad_usage("", "query takes exactly one SQL "
			    "statement (quote it)");
		return run_query(&opt.collect, argv[optind], json, timeout);
	}
	if (state == NULL)
		return bad_usage("", "--state DIR is required");
	opt.state_dir = state;
	if (strcmp(cmd, "enroll") == 0) {
		if (optind != argc - 1)
			return bad_usage("", "enroll takes exactly one "
			    "enrollment string");
		return mamori_agent_enroll(state, argv[optind], force) == 0 ?
		    0 : 1;
	}
	if (optind != argc)
		return bad_usage("", "unexpected argument");
	if (strcmp(cmd, "usb-rules") == 0)
		return print_usb_rules(state, json);
	if (strcmp(cmd, "status") == 0) {
		struct mamori_isolate_target iso_t;
		int isolated = 0, iso_ok;

		if ((r = mamori_state_load(state, &st, why,
		    sizeof(why))) != 0) {
			fprintf(stderr, "mamori-agent: %s\n", why);
			return 1;
		}
		iso_ok = mamori_isolate_status(state, &isolated, &iso_t) == 0;
		mamori_fingerprint_str(st.ca_fp, fp);
		if (json) {
			char ofp[MAMORI_FP_STRLEN];

			mamori_fingerprint_str(st.owner_fp, ofp);
			printf("{\"agent_id\": \"%s\", \"server\": \"%s\", "
			    "\"ca_fingerprint\": \"%s\", "
			    "\"owner_fingerprint\": \"%s\", "
			    "\"isolation\": \"%s\"}\n", st.agent_id,
			    st.server, fp, ofp, !iso_ok ? "unknown" :
			    isolated ? "isolated" : "not isolated");
		} else {
			printf("agent id         %s\n", st.agent_id);
			printf("server           %s\n", st.server);
			printf("fleet CA         %s\n", fp);
			mamori_fingerprint_str(st.owner_fp, fp);
			printf("owner key        %s\n", fp);
			printf("isolation        %s\n", !iso_ok ? "unknown "
			    "(the state file is damaged; see the log)" :
			    isolated ? "isolated: only the mamori server is "
			    "reachable" : "not isolated");
		}
		mamori_state_free(&st);
		return 0;
	}
	return mamori_agent_run(&opt) == 0 ? 0 : 1;
}
