/*
 * cli.h - what the parts of the `mamori` command-line tool share: the
 * command table's shape, the exit codes, option parsing, and the two ways a
 * command reports failure (usage errors and runtime errors).
 *
 * Everything printed from here is one line on stderr, prefixed "mamori: ".
 * Text that came from the command line or the server is escaped before it
 * is printed; none of it is ever used as a format string.
 */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* runtime failure: server, files, network */
#define CLI_EXIT_USAGE 2 /* the command line was wrong */
#define CLI_CONTINUE (-1) /* from cli_parse: go on with the command */

#define CLI_PROGRAM "mamori"
#define CLI_DEFAULT_HOME "/var/lib/mamori"
#define CLI_MSG_MAX 1024 /* bytes of one message line */

struct cli_ctx;

struct cli_command {
	const char *name;  /* one or two words: "status", "token create" */
	int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
	const char *usage; /* arguments after the name */
	const char *help;  /* first line: summary; then option lines */
	void (*extra_help)(FILE *out); /* more help text, or NULL */
};

struct cli_ctx {
	const char *home;               /* --home, or CLI_DEFAULT_HOME */
	int home_given;                 /* --home appeared */
	const struct cli_command *cmd;  /* the command running */
};

/*
 * One option of a command.  With metavar set, the option takes a value
 * ("--uses N" or "--uses=N") stored in *value (pointing into argv);
 * otherwise it is a flag and *flag is set to 1.  Tables end with a NULL
 * name.  "--home DIR" and "--help" are accepted by every command.
 */
struct cli_option {
	const char *name;
	const char *metavar;
	const char **value;
	int *flag;
};

/*
 * Parses a command's arguments (argv[0] is the first one after the
 * command's name).  pos_name, when not NULL, names the one positional
 * argument the command requires, stored in *pos_value; otherwise none is
 * allowed.  Returns CLI_CONTINUE, or the exit code to end with: 0 after
 * printing --help, CLI_EXIT_USAGE after printing the problem.
 */
int cli_parse(struct cli_ctx *ctx, int argc, char **argv,
    const struct cli_option *opts, const char *pos_name,
    const char **pos_value);

/* Prints "mamori: <message>; see mamori <command> --help" and returns
 * CLI_EXIT_USAGE.  Arguments of %s must already be safe (cli_safe). */
int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "mamori: <message>" and returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the usage and help of cmd to out. */
void cli_command_help(const struct cli_command *cmd, FILE *out);

/* s escaped for a terminal (see table.h), cut to fit out; returns out. */
const char *cli_safe(const char *s, char *out, size_t outlen);

/* The commands, each in its own file. */
int cmd_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token_revoke(struct cli_ctx *ctx, int argc, char **argv);
int cmd_agents(struct cli_ctx *ctx, int argc, char **argv);
int cmd_revoke(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_inventory(struct cli_ctx *ctx, int argc, char **argv);
void cmd_inventory_help(FILE *out);
int cmd_events(struct cli_ctx *ctx, int argc, char **argv);
int cmd_alerts(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rules_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_outputs(struct cli_ctx *ctx, int argc, char **argv);
/* A point in time for --since/--until (cmd_events.c): a duration back
 * from now ("10m", "2h", "7d") or a UTC time; epoch seconds in *out. */
int cli_parse_time_arg(const char *s, uint64_t *out);
int cmd_vuln_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_intel_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_intel_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sigma_scan(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sigma_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_yara_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_yara_scan(struct cli_ctx *ctx, int argc, char **argv);
int cmd_key_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_key_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy_sign(struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_task_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_task_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sign(struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy_push(struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy_current(struct cli_ctx *ctx, int argc, char **argv);
int cmd_query(struct cli_ctx *ctx, int argc, char **argv);
int cmd_hunt_start(struct cli_ctx *ctx, int argc, char **argv);
int cmd_hunt_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_hunt_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_task_submit(struct cli_ctx *ctx, int argc, char **argv);
/* Detection content on the running server (cmd_content.c). */
int cmd_rules_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rules_remove(struct cli_ctx *ctx, int argc, char **argv);
int cmd_intel_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_intel_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_intel_remove(struct cli_ctx *ctx, int argc, char **argv);
int cmd_yara_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_yara_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_yara_remove(struct cli_ctx *ctx, int argc, char **argv);
int cmd_vuln_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_vuln_report(struct cli_ctx *ctx, int argc, char **argv);

#endif
