/*
 * main.c - `mamori`, the administrator's command-line tool: the command
 * table and the dispatcher (in the manner of wireguard-tools' wg.c).
 *
 *   mamori [--home DIR] COMMAND [ARGS]      DIR defaults to /var/lib/mamori
 *
 * `init` creates a server home on this machine; every other command talks
 * to the running mamorid over HOME/admin.sock (docs/admin-protocol.md).
 *
 * Exit codes, for scripts:
 *   0  success (also `help` and any `--help`)
 *   1  runtime failure: the server is unreachable or refused the request,
 *      a file could not be written, a home already exists, ...; one line
 *      "mamori: <what went wrong>" on stderr
 *   2  usage error: unknown command or option, missing or malformed
 *      argument; one line "mamori: <what is wrong>; see mamori ... --help"
 *      on stderr
 *
 * Output: results on stdout, errors on stderr only.  With --json a command
 * prints the server's result as indented JSON (non-ASCII as \uXXXX) and
 * nothing else.  Without it, output is for people: aligned columns under a
 * header row, agent-supplied text escaped, no colour.
 *
 * This program must never print agent-supplied text unescaped, and never
 * use any of it as a format string.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define MAIN_MAX_WORDS 2 /* words of a command name */
#ifndef MAMORI_VERSION
#define MAMORI_VERSION "unknown"
#endif

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_command commands[] = {
	{"init", cmd_init, "--key-file PATH",
	    "Create a new server home and its storage key.\n"
	    "\n"
	    "The home gets the fleet CA, the server's key and certificate, and\n"
	    "the owner key.  init refuses an existing home or key file.\n"
	    "\n"
	    "  --key-file PATH   where to write the storage key; must lie outside\n"
	    "                    the home (keep it out of the home's backups)",
	    NULL},
	{"token create", cmd_token_create,
	    "[--uses N] [--ttl DURATION] [--server HOST:PORT] [--label TEXT] "
	    "[--json]",
	    "Create an enrollment token.\n"
	    "\n"
	    "The enrollment string is printed alone on the last line.\n"
	    "\n"
	    "  --uses N            how many agents may enroll with it (default 1)\n"
	    "  --ttl DURATION      how long it is valid: 90m, 24h, 7d (default 24h,\n"
	    "                      at most 30d)\n"
	    "  --server HOST:PORT  address agents connect to, instead of the\n"
	    "                      server's advertised one\n"
	    "  --label TEXT        a note shown in token list\n"
	    "  --json              print the result as JSON",
	    NULL},
	{"token list", cmd_token_list, "[--json]",
	    "List enrollment tokens.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"token revoke", cmd_token_revoke, "ID [--json]",
	    "Revoke an enrollment token.\n"
	    "\n"
	    "ID is its id, or a unique prefix of at least 4 hex characters.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"agents", cmd_agents, "[--json]",
	    "List enrolled agents.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"inventory", cmd_inventory,
	    "AGENT [--history] [--category NAME] [--json]",
	    "Show an agent's inventory or its history of changes.\n"
	    "\n"
	    "AGENT is an agent id, a unique prefix of at least 4 characters, or\n"
	    "an exact hostname.\n"
	    "\n"
	    "  --history        show inventory changes instead\n"
	    "  --category NAME  show only one category\n"
	    "  --json           print the result as JSON",
	    cmd_inventory_help},
	{"events", cmd_events,
	    "[--agent A] [--type T] [--since TIME] [--until TIME] "
	    "[--match TEXT] [--limit N] [--json] [--follow]",
	    "Show operation logs: processes, logins, files, network, USB.\n"
	    "\n"
	    "Without --follow the newest events are shown, oldest first.\n"
	    "\n"
	    "  --agent A      one agent (id, id prefix or hostname)\n"
	    "  --type T       process, login, file, network, usb, trust\n"
	    "                 (task and policy decisions), yara (policy rules\n"
	    "                 matching new executables) or loss\n"
	    "  --since TIME   10m, 2h, 7d back from now, or a UTC time such "
	    "as\n"
	    "                 2026-11-28T10:15:00Z\n"
	    "  --until TIME   the same, for the end\n"
	    "  --match TEXT   only events whose fields contain TEXT (any "
	    "case)\n"
	    "  --limit N      at most N events (default 100)\n"
	    "  --json         JSON (with --follow: one event per line)\n"
	    "  --follow       keep printing new events until interrupted",
	    NULL},
	{"alerts", cmd_alerts,
	    "[--since TIME] [--severity S] [--host H] [--limit N] [--json]",
	    "Show the alerts the server's Sigma rules and indicators raised.\n"
	    "\n"
	    "Newest first.  One alert stands for every match of a rule on a\n"
	    "host within an hour of its first; COUNT says how many.\n"
	    "\n"
	    "  --since TIME   last seen at or after: 10m, 2h, 7d back from "
	    "now,\n"
	    "                 or a UTC time such as 2026-11-28T10:15:00Z\n"
	    "  --severity S   at least S: informational, low, medium, high,\n"
	    "                 critical\n"
	    "  --host H       one agent (id, id prefix or hostname)\n"
	    "  --limit N      at most N alerts (default 100)\n"
	    "  --json         print the alerts as JSON, with their detail",
	    NULL},
	{"outputs", cmd_outputs, "[--json]",
	    "Show where the server sends its alerts (HOME/outputs.json) and,\n"
	    "for each output, how many alerts are queued, were sent, retried,\n"
	    "dropped (queue full), failed (given up after retries) or refused\n"
	    "(HTTP 4xx), with the last error.  See docs/outputs.md.\n"
	    "\n"
	    "  --json         print the outputs and counters as JSON",
	    NULL},
	{"rules list", cmd_rules_list, "[--json]",
	    "List the server's Sigma rules and STIX indicators.\n"
	    "\n"
	    "Rules come from HOME/rules/sigma, indicators from HOME/rules/"
	    "intel,\n"
	    "read when mamorid starts and again after each rules add/remove or\n"
	    "intel import/remove; those it cannot apply say why.\n"
	    "\n"
	    "  --json   print the list as JSON",
	    NULL},
	{"rules add", cmd_rules_add, "FILE... [--json]",
	    "Add Sigma rules to the running server.\n"
	    "\n"
	    "Each FILE holds one rule, or several as YAML documents (---).\n"
	    "The server checks every rule against its field mapping: a file\n"
	    "with a rule it cannot apply, without an id, or with an id it\n"
	    "already has, is refused whole with the reason, and nothing of it\n"
	    "is stored.  Rules taken are written to HOME/rules/sigma/ID.yml\n"
	    "and applied at once, without a restart.\n"
	    "\n"
	    "  --json   print the rules added as JSON",
	    NULL},
	{"rules remove", cmd_rules_remove, "ID... [--json]",
	    "Remove Sigma rules from the running server by id.\n"
	    "\n"
	    "Every ID must be on the server (see rules list); their files are\n"
	    "deleted and detection reloaded at once.\n"
	    "\n"
	    "  --json   print the rules removed as JSON",
	    NULL},
	{"intel import", cmd_intel_import, "FILE [--json]",
	    "Import a STIX 2.1 bundle of indicators into the running server.\n"
	    "\n"
	    "Refused when it is not a bundle or none of its indicators can be\n"
	    "applied.  Otherwise it is kept as HOME/rules/intel/BUNDLE-ID.json\n"
	    "(a bundle of the same id is replaced) and applied at once; the\n"
	    "indicators mamori cannot match are listed with the reason.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"intel list", cmd_intel_list, "[--json]",
	    "List the indicators of the server's bundles.\n"
	    "\n"
	    "Each with its name, pattern type, what it matches, its bundle,\n"
	    "and whether it is applied (or why not).\n"
	    "\n"
	    "  --json   print the list as JSON",
	    NULL},
	{"intel remove", cmd_intel_remove, "ID [--json]",
	    "Remove a bundle, or one indicator, from the running server.\n"
	    "\n"
	    "ID is a bundle id (the whole bundle goes) or an indicator id (its\n"
	    "bundle is rewritten without it, or removed if it was the last).\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"yara add", cmd_yara_add, "FILE [--json]",
	    "Keep a YARA rule file on the server for the agents.\n"
	    "\n"
	    "The server compiles it with libyara, alone and with the files it\n"
	    "already keeps (a rule name may be taken once); a file that does\n"
	    "not compile is refused with FILE:LINE: error.  Stored under\n"
	    "HOME/rules/yara/.\n"
	    "\n"
	    "  --json   print the rules as JSON",
	    NULL},
	{"yara list", cmd_yara_list, "[--json]",
	    "List the YARA rules the server keeps.\n"
	    "\n"
	    "  --json   print files and rules as JSON",
	    NULL},
	{"yara remove", cmd_yara_remove, "NAME [--json]",
	    "Remove a YARA file from the server.\n"
	    "\n"
	    "NAME is a file's name as yara list shows it, or a rule's name (its\n"
	    "whole file goes, with every rule in it).\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"vuln import", cmd_vuln_import, "FILE|DIR [--json]",
	    "Import OSV advisories (Debian) into the server.\n"
	    "\n"
	    "FILE is one advisory or an array of them; DIR is read for its\n"
	    ".json files, each sent on its own.  A file with no advisory of\n"
	    "ecosystem Debian:N is refused with the reason (exit 1); the\n"
	    "rest are kept under HOME/rules/vuln/.\n"
	    "\n"
	    "  --json   print what each file gave as JSON",
	    NULL},
	{"vuln report", cmd_vuln_report, "[--host H] [--json]",
	    "Report the advisories open on the fleet's hosts.\n"
	    "\n"
	    "Matches the stored advisories against every agent's stored\n"
	    "package inventory, through the source package and Debian version\n"
	    "order: each advisory with its hosts, installed and fixed\n"
	    "versions, then each host with its open advisories.\n"
	    "\n"
	    "  --host H   one host (agent id, id prefix or hostname)\n"
	    "  --json     print the report as JSON",
	    NULL},
	{"intel check", cmd_intel_check,
	    "--bundle FILE... [--sha256 H] [--sha1 H] [--md5 H] [--ip ADDR] "
	    "[--domain NAME] [--url URL] [--json]",
	    "Check observables against STIX 2.1 bundles, offline.\n"
	    "\n"
	    "Prints the indicators that match, read from the bundle files on\n"
	    "this machine (no server needed).  Domains match themselves and\n"
	    "their subdomains; addresses match exactly or inside a CIDR.\n"
	    "\n"
	    "  --bundle FILE...  STIX 2.1 bundle files (repeatable)\n"
	    "  --sha256 H        a SHA-256 (64 hex digits)\n"
	    "  --sha1 H          a SHA-1 (40 hex digits)\n"
	    "  --md5 H           an MD5 (32 hex digits)\n"
	    "  --ip ADDR         an IPv4 or IPv6 address\n"
	    "  --domain NAME     a host name\n"
	    "  --url URL         a URL\n"
	    "  --json            one JSON object per match, one per line",
	    NULL},
	{"intel show", cmd_intel_show, "FILE... [--json]",
	    "List the indicators of STIX 2.1 bundles, offline.\n"
	    "\n"
	    "Each indicator with what mamori matches (kind, values) or why it\n"
	    "cannot (unsupported: the reason).\n"
	    "\n"
	    "  --json   one JSON object per indicator, one per line",
	    NULL},
	{"revoke", cmd_revoke, "AGENT [--json]",
	    "Revoke an agent.\n"
	    "\n"
	    "The server refuses its certificate from then on and closes its live\n"
	    "connection.  AGENT is as for inventory.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"status", cmd_status, "[--json]",
	    "Show the server's status.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"vuln check", cmd_vuln_check,
	    "--advisories FILE|DIR [--packages STATUS_FILE] [--release N] "
	    "[--json] [--verbose]",
	    "Match OSV advisories against a Debian system's packages (offline).\n"
	    "\n"
	    "Packages are matched through their source package and version;\n"
	    "only advisories of ecosystem Debian:<release> count.  Exits 1 when\n"
	    "an advisory or file was rejected (each named on stderr).\n"
	    "\n"
	    "  --advisories FILE|DIR  an OSV JSON file (one advisory or an\n"
	    "                         array), or a directory of .json files\n"
	    "  --packages FILE        a dpkg status file (default\n"
	    "                         /var/lib/dpkg/status)\n"
	    "  --release N            the Debian major release, e.g. 12\n"
	    "                         (default: VERSION_ID of /etc/os-release)\n"
	    "  --json                 one JSON object per finding, one a line\n"
	    "  --verbose              list every skipped entry on stderr",
	    NULL},
	{"sigma scan", cmd_sigma_scan,
	    "--rules PATH... --events FILE [--json]",
	    "Match Sigma rules against a file of exported events.\n"
	    "\n"
	    "Runs on this machine; no server is needed.  Each line of FILE is\n"
	    "one flat JSON object whose keys are the rules' field names\n"
	    "(Image, CommandLine, ...).  Prints each match: the event's line,\n"
	    "the rule's level, id and title; then counts on stderr.  Rules\n"
	    "that cannot be loaded and bad lines are listed with the reason.\n"
	    "\n"
	    "  --rules PATH...  rule files, or directories searched for .yml\n"
	    "                   and .yaml files; may be repeated\n"
	    "  --events FILE    the JSON-lines file of events\n"
	    "  --json           one JSON object per match",
	    NULL},
	{"sigma check", cmd_sigma_check, "--rules PATH... [--ingest] [--json]",
	    "List Sigma rules: loaded, or unsupported and why.\n"
	    "\n"
	    "  --rules PATH...  rule files or directories; may be repeated\n"
	    "  --ingest         check against the server's field mapping\n"
	    "                   (process_creation, file_event,\n"
	    "                   network_connection) instead of the offline\n"
	    "                   scan's\n"
	    "  --json           print the result as JSON",
	    NULL},
	{"yara check", cmd_yara_check, "FILE... [--json]",
	    "Compile YARA rule files and list their rules.\n"
	    "\n"
	    "Each file is compiled alone, then all together (as a policy carries\n"
	    "them).  Errors are printed as FILE:LINE: error: MESSAGE and the\n"
	    "command exits 1.  `include` is refused: a rule file must stand\n"
	    "alone.  Needs no server.\n"
	    "\n"
	    "  --json   print files, rules (tags, meta) and errors as JSON",
	    NULL},
	{"yara scan", cmd_yara_scan,
	    "--rules FILE [--rules FILE...] PATH... [--max-size MIB] "
	    "[--timeout S] [--all-matches] [--json]",
	    "Scan files and directories with YARA rules.\n"
	    "\n"
	    "Directories are walked recursively without following symbolic\n"
	    "links; only regular files are scanned.  The same code and limits\n"
	    "as the agent's scans.  Needs no server.  Exits 1 when a file could\n"
	    "not be read or scanned in time, 0 otherwise (matches or not).\n"
	    "\n"
	    "  --rules FILE     a rule file (repeat for more)\n"
	    "  --max-size MIB   skip files larger than this (default 64)\n"
	    "  --timeout S      seconds one file may take (default 30)\n"
	    "  --all-matches    report every occurrence of each string, not\n"
	    "                   only the first (slower)\n"
	    "  --json           matches with strings and offsets, as JSON",
	    NULL},
	{"key create", cmd_key_create,
	    "--out FILE [--id NAME] [--passphrase-file FILE] [--json]",
	    "Create an administrator's signing key.\n"
	    "\n"
	    "The private key is written to FILE encrypted under a passphrase\n"
	    "(scrypt), mode 0600, and the public key to FILE.pub with its id.\n"
	    "Neither file is ever overwritten.  The passphrase comes from\n"
	    "--passphrase-file, else $MAMORI_PASSPHRASE, else the terminal\n"
	    "(asked twice).\n"
	    "\n"
	    "  --out FILE              where to write the private key\n"
	    "  --id NAME               the admin id tasks name (default: FILE's\n"
	    "                          name without .key)\n"
	    "  --passphrase-file FILE  read the passphrase from FILE's first line\n"
	    "  --json                  print the result as JSON",
	    NULL},
	{"key show", cmd_key_show, "FILE.pub [--json]",
	    "Show a public key: its id and fingerprint.\n"
	    "\n"
	    "FILE.pub is a file from key create, or a PEM public key such as\n"
	    "HOME/keys/owner.pub.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"policy sign", cmd_policy_sign,
	    "POLICY.json --out FILE [--owner-key FILE] [--passphrase-file FILE] "
	    "[--json]",
	    "Sign a fleet policy with the owner key.\n"
	    "\n"
	    "POLICY.json names the admins (id and public key or .pub file), the\n"
	    "groups (agents and the task types they accept), the quorums and\n"
	    "the version, which must grow with every new policy:\n"
	    "\n"
	    "  {\"version\": 1, \"observe_from_server\": true,\n"
	    "   \"quorum\": {\"collect\": 1, \"change\": 2},\n"
	    "   \"admins\": [{\"id\": \"alice\", \"public_key_file\": "
	    "\"alice.key.pub\"}],\n"
	    "   \"groups\": [{\"name\": \"web\", \"agents\": [\"ID\"],\n"
	    "               \"accept\": [\"query\", \"read_file\"]}],\n"
	    "   \"yara\": [\"rules/tick.yara\"]}\n"
	    "\n"
	    "\"yara\" lists YARA rule files (relative to POLICY.json) that\n"
	    "agents apply to new and changed executables and YARA_SCAN tasks;\n"
	    "each must compile here, or nothing is signed (docs/yara.md).\n"
	    "\n"
	    "  --out FILE              where to write the signed policy\n"
	    "  --owner-key FILE        the owner key (default HOME/keys/owner.key)\n"
	    "  --passphrase-file FILE  its passphrase, if it is encrypted\n"
	    "  --json                  print the result as JSON",
	    NULL},
	{"policy show", cmd_policy_show, "FILE [--json]",
	    "Show a signed fleet policy.\n"
	    "\n"
	    "The signature is checked against the owner key inside the file:\n"
	    "compare its fingerprint with the owner key your agents pinned.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"task create", cmd_task_create,
	    "--type T --target LIST --out FILE [--valid DURATION] "
	    "[--not-before TIME] [--created-by NAME] [PARAMETERS] [-- COMMAND]",
	    "Write a new, unsigned task.\n"
	    "\n"
	    "Types and their parameters:\n"
	    "  query            --sql SQL                     (observe)\n"
	    "  read_file        --path PATH [--limit BYTES]   (collect)\n"
	    "  hash_path        --path PATH                   (collect)\n"
	    "  yara_scan        --path PATH                   (collect)\n"
	    "  run_command      [--timeout D] [--limit BYTES] -- ARGV...\n"
	    "  run_script       --interpreter PATH --script FILE\n"
	    "  package_install  --package NAME\n"
	    "  package_remove   --package NAME\n"
	    "  usb_block        --device VVVV:PPPP [--serial S]\n"
	    "  usb_allow        --device VVVV:PPPP [--serial S]\n"
	    "  kill_process     --pid PID\n"
	    "  isolate_host, release_host\n"
	    "\n"
	    "  --target LIST       agent:ID and group:NAME, comma-separated\n"
	    "  --valid DURATION    how long it may run: 90m, 2h (default 1h,\n"
	    "                      at most 24h)\n"
	    "  --not-before TIME   +DURATION or 2026-11-28T10:15:00Z (default now)\n"
	    "  --created-by NAME   shown to people (default $USER)\n"
	    "  --out FILE          where to write it (never overwritten)",
	    NULL},
	{"task show", cmd_task_show, "FILE [--json]",
	    "Show a task file and who signed it.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"sign", cmd_sign, "FILE --key ADMIN.key [--id NAME] "
	    "[--passphrase-file FILE]",
	    "Add your signature to a task file.\n"
	    "\n"
	    "The admin id is read from ADMIN.key.pub unless --id is given; a\n"
	    "second signature by the same admin is refused.\n"
	    "\n"
	    "  --key FILE              your private key (from key create)\n"
	    "  --id NAME               your admin id in the policy, when there\n"
	    "                          is no ADMIN.key.pub (else it must match)\n"
	    "  --passphrase-file FILE  read the passphrase from FILE's first line",
	    NULL},
	{"policy push", cmd_policy_push, "FILE [--json]",
	    "Hand a signed fleet policy to the server, which sends it to every\n"
	    "agent holding an older one (now, or when the agent connects).\n"
	    "\n"
	    "The server checks it as agents will: signed by the owner key and\n"
	    "newer than the policy it holds.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"policy current", cmd_policy_current, "[--json]",
	    "Show the fleet policy the server holds and how many connected\n"
	    "agents hold it.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"query", cmd_query,
	    "SQL (--agent ID[,ID...] | --group NAME | --all) [--timeout SECONDS] "
	    "[--json]",
	    "Run a read-only SQL query on agents (docs/query.md) and print each\n"
	    "agent's rows as they arrive, then every agent's status: ok,\n"
	    "failed, refused (with the agent's reason), timed out, offline.\n"
	    "\n"
	    "  --agent ID[,ID...]  agent ids or unique id prefixes\n"
	    "  --group NAME        a group of the fleet policy\n"
	    "  --all               every group of the fleet policy\n"
	    "  --timeout SECONDS   how long to wait for answers (default 10)\n"
	    "  --json              one JSON object a line: the task, each\n"
	    "                      result, then the summary",
	    NULL},
	{"hunt start", cmd_hunt_start,
	    "SQL (--agent ID[,ID...] | --group NAME | --all) [--ttl DURATION] "
	    "[--json]",
	    "Start a hunt: a query that reaches the targeted agents now and,\n"
	    "for offline ones, when they connect while it is valid.  Prints\n"
	    "its id; see the results with hunt show.\n"
	    "\n"
	    "  --ttl DURATION  how long it stays valid (default 1h, at most 24h)\n"
	    "  --json          print the result as JSON",
	    NULL},
	{"hunt list", cmd_hunt_list, "[--limit N] [--json]",
	    "List queries, hunts and submitted tasks with their progress.\n"
	    "\n"
	    "  --limit N   the newest N (default 100)\n"
	    "  --json      print the result as JSON",
	    NULL},
	{"hunt show", cmd_hunt_show, "ID [--json]",
	    "Show one query, hunt or task: every targeted agent's status and\n"
	    "result.  ID may be a unique prefix of at least 4 characters.\n"
	    "\n"
	    "  --json   print the result as JSON",
	    NULL},
	{"task submit", cmd_task_submit, "FILE [--wait SECONDS] [--json]",
	    "Hand a signed task file (task create, then sign) to the server,\n"
	    "which relays it to its targets while it is valid.  Agents check\n"
	    "every signature against the fleet policy; the server cannot.\n"
	    "\n"
	    "  --wait SECONDS   stream results for that long (default: print\n"
	    "                   the task id and return)\n"
	    "  --json           one JSON object a line",
	    NULL},
	{"help", cmd_help, "[COMMAND]",
	    "Show the commands, or one command's help.",
	    NULL},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
print_usage(FILE *out)
{
	size_t i;
	int len;

	fprintf(out, "usage: %s [--home DIR] COMMAND [ARGS]\n\n"
	    "mamori administers a mamori fleet.  Commands:\n\n", CLI_PROGRAM);
	for (i = 0; i < N_COMMANDS; i++) {
		const char *nl = strchr(commands[i].help, '\n');

		len = nl == NULL ? (int)strlen(commands[i].help) :
		    (int)(nl - commands[i].help);
		fprintf(out, "  %-14s %.*s\n", commands[i].name, len,
		    commands[i].help);
	}
	fprintf(out, "\n  --home DIR   the server's home (default %s)\n"
	    "  --version    show the version\n\n"
	    "Run \"%s COMMAND --help\" for a command's options.\n",
	    CLI_DEFAULT_HOME, CLI_PROGRAM);
}

/* Number of words of name that argv starts with in full (0 if it does
 * not start with name). */
static int
match_words(const char *name, int argc, char **argv)
{
	const char *p = name, *sp;
	size_t n;
	int words = 0;

	while (*p != '\0') {
		if (words >= argc || words >= MAIN_MAX_WORDS)
			return 0;
		sp = strchr(p, ' ');
		n = sp == NULL ? strlen(p) : (size_t)(sp - p);
		if (strlen(argv[words]) != n || strncmp(argv[words], p, n) != 0)
			return 0;
		words++;
		p = sp == NULL ? p + n : sp + 1;
	}
	return words;
}

/* 1 when word is the first word of a longer command ("token"). */
static int
is_group(const char *word)
{
	size_t i, n = strlen(word);

	for (i = 0; i < N_COMMANDS; i++)
		if (strncmp(commands[i].name, word, n) == 0 &&
		    commands[i].name[n] == ' ')
			return 1;
	return 0;
}

static void
print_group(const char *word, FILE *out)
{
	size_t i, n = strlen(word);

	for (i = 0; i < N_COMMANDS; i++)
		if (strncmp(commands[i].name, word, n) == 0 &&
		    commands[i].name[n] == ' ')
			fprintf(out, "usage: %s [--home DIR] %s %s\n", CLI_PROGRAM,
			    commands[i].name, commands[i].usage);
	fprintf(out, "\nRun \"%s %s SUBCOMMAND --help\" for details.\n",
	    CLI_PROGRAM, word);
}

/* The second words of a group's commands: "create, list, revoke". */
static const char *
group_words(const char *word, char *out, size_t outlen)
{
	size_t i, used = 0, n = strlen(word);
	int len;

	out[0] = '\0';
	for (i = 0; i < N_COMMANDS; i++) {
		if (strncmp(commands[i].name, word, n) != 0 ||
		    commands[i].name[n] != ' ')
			continue;
		len = snprintf(out + used, outlen - used, "%s%s",
		    used > 0 ? ", " : "", commands[i].name + n + 1);
		if (len < 0 || (size_t)len >= outlen - used)
			break;
		used += (size_t)len;
	}
	return out;
}

/* Finds the command argv starts with; *words gets how many words it took. */
static const struct cli_command *
find_command(int argc, char **argv, int *words)
{
	size_t i;
	int w;

	*words = 0;
	for (i = 0; i < N_COMMANDS; i++)
		if ((w = match_words(commands[i].name, argc, argv)) > 0) {
			*words = w;
			return &commands[i];
		}
	return NULL;
}

/* Complains about argv naming no command; returns the exit code. */
static int
unknown_command(struct cli_ctx *ctx, int argc, char **argv)
{
	char safe[CLI_MSG_MAX / 4], safe2[CLI_MSG_MAX / 4];
	char words[CLI_MSG_MAX / 4];

	ctx->cmd = NULL;
	if (is_group(argv[0])) {
		if (argc < 2)
			return cli_usage_error(ctx, "%s needs a subcommand (%s)",
			    argv[0], group_words(argv[0], words,
			    sizeof(words)));
		if (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			print_group(argv[0], stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage_error(ctx, "unknown command %s %s",
		    cli_safe(argv[0], safe, sizeof(safe)),
		    cli_safe(argv[1], safe2, sizeof(safe2)));
	}
	return cli_usage_error(ctx, "unknown command %s",
	    cli_safe(argv[0], safe, sizeof(safe)));
}

static int
cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_command *cmd;
	int words;

	if (argc == 0) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		cli_command_help(ctx->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if ((cmd = find_command(argc, argv, &words)) == NULL ||
	    words != argc) {
		if (cmd == NULL && is_group(argv[0]) && argc == 1) {
			print_group(argv[0], stdout);
			return CLI_EXIT_OK;
		}
		return unknown_command(ctx, argc, argv);
	}
	cli_command_help(cmd, stdout);
	return CLI_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = {CLI_DEFAULT_HOME, 0, NULL};
	char safe[CLI_MSG_MAX / 2];
	const char *arg;
	int i = 1, words;

	/* SIGPIPE stays at its default, so `mamori ... | head` ends quietly;
	 * the admin socket is written with MSG_NOSIGNAL instead. */
	while (i < argc && argv[i][0] == '-') {
		arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			print_usage(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("%s %s\n", CLI_PROGRAM, MAMORI_VERSION);
			return CLI_EXIT_OK;
		}
		if (strcmp(arg, "--home") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return cli_usage_error(&ctx, "option --home "
				    "needs a value (DIR)");
			ctx.home = argv[i + 1];
			ctx.home_given = 1;
			i += 2;
			continue;
		}
		if (strncmp(arg, "--home=", 7) == 0 && arg[7] != '\0') {
			ctx.home = arg + 7;
			ctx.home_given = 1;
			i++;
			continue;
		}
		return cli_usage_error(&ctx, "unknown option %s",
		    cli_safe(arg, safe, sizeof(safe)));
	}
	if (i >= argc)
		return cli_usage_error(&ctx, "no command given");
	if ((ctx.cmd = find_command(argc - i, argv + i, &words)) == NULL)
		return unknown_command(&ctx, argc - i, argv + i);
	return ctx.cmd->fn(&ctx, argc - i - words, argv + i + words);
}
