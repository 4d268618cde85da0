/*
 * args.c - option parsing and error lines for the CLI (see cli.h).
 *
 * The grammar is small and strict: long options only ("--uses N" or
 * "--uses=N"), each at most once, "--" ends options, and anything unknown
 * is an error with a pointer to the help, never a guess.  Text from argv is
 * escaped before it is printed.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "buf.h"
#include "table.h"
#include "util.h"

#define ARGS_SAFE_MAX 256 /* bytes of an argument quoted in a message */
#define ARGS_MAX_OPTIONS 16

const char *
cli_safe(const char *s, char *out, size_t outlen)
{
	struct mamori_buf b;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	mamori_buf_init(&b, CLI_ESCAPE_MAX_BYTES);
	/* Each column of width takes at most 3 bytes (a wide character takes
	 * 3 or 4 bytes for 2 columns), so this width fits in out. */
	if (cli_escape(s == NULL ? "" : s, outlen > 12 ? outlen / 3 : 4, &b,
	    NULL) == 0 && b.data != NULL)
		mamori_strlcpy(out, (const char *)b.data, outlen);
	mamori_buf_free(&b);
	return out;
}

static void
vprint_line(const char *fmt, va_list ap)
{
	char msg[CLI_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s\n", CLI_PROGRAM, msg);
	fflush(stderr);
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_line(fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAIL;
}

int
cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
	char msg[CLI_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx != NULL && ctx->cmd != NULL)
		fprintf(stderr, "%s: %s; see %s %s --help\n", CLI_PROGRAM, msg,
		    CLI_PROGRAM, ctx->cmd->name);
	else
		fprintf(stderr, "%s: %s; see %s help\n", CLI_PROGRAM, msg,
		    CLI_PROGRAM);
	fflush(stderr);
	return CLI_EXIT_USAGE;
}

void
cli_command_help(const struct cli_command *cmd, FILE *out)
{
	fprintf(out, "usage: %s [--home DIR] %s%s%s\n\n%s\n", CLI_PROGRAM,
	    cmd->name, *cmd->usage != '\0' ? " " : "", cmd->usage, cmd->help);
	if (cmd->extra_help != NULL)
		cmd->extra_help(out);
	fprintf(out, "\n  --home DIR   the server's home (default %s)\n"
	    "  --help       show this help\n", CLI_DEFAULT_HOME);
}

/* Finds the option named by arg (up to its '=', if any). */
static const struct cli_option *
find_option(const struct cli_option *opts, const char *arg, size_t namelen)
{
	size_t i;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++)
		if (strlen(opts[i].name) == namelen &&
		    strncmp(opts[i].name, arg, namelen) == 0)
			return &opts[i];
	return NULL;
}

int
cli_parse(struct cli_ctx *ctx, int argc, char **argv,
    const struct cli_option *opts, const char *pos_name,
    const char **pos_value)
{
	static const char *const home_name = "--home";
	int seen[ARGS_MAX_OPTIONS];
	char safe[ARGS_SAFE_MAX];
	const struct cli_option *o;
	const char *arg, *eq, *value;
	size_t namelen, idx;
	int i, npos = 0, only_pos = 0;

	memset(seen, 0, sizeof(seen));
	if (pos_value != NULL)
		*pos_value = NULL;
	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (pos_name == NULL || npos > 0)
				return cli_usage_error(ctx, "unexpected argument "
				    "'%s' for %s", cli_safe(arg, safe,
				    sizeof(safe)), ctx->cmd->name);
			*pos_value = arg;
			npos++;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			cli_command_help(ctx->cmd, stdout);
			return CLI_EXIT_OK;
		}
		eq = strchr(arg, '=');
		namelen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		if (namelen == strlen(home_name) &&
		    strncmp(arg, home_name, namelen) == 0) {
			value = eq != NULL ? eq + 1 : (i + 1 < argc ?
			    argv[++i] : NULL);
			if (value == NULL || *value == '\0')
				return cli_usage_error(ctx, "option --home "
				    "needs a value (DIR)");
			ctx->home = value;
			ctx->home_given = 1;
			continue;
		}
		if ((o = find_option(opts, arg, namelen)) == NULL) {
			char name[ARGS_SAFE_MAX];

			mamori_strlcpy(name, arg, namelen + 1 < sizeof(name) ?
			    namelen + 1 : sizeof(name));
			return cli_usage_error(ctx, "unknown option %s for %s",
			    cli_safe(name, safe, sizeof(safe)), ctx->cmd->name);
		}
		idx = (size_t)(o - opts);
		if (idx < ARGS_MAX_OPTIONS) {
			if (seen[idx])
				return cli_usage_error(ctx, "option %s given "
				    "twice", o->name);
			seen[idx] = 1;
		}
		if (o->metavar == NULL) {
			if (eq != NULL)
				return cli_usage_error(ctx, "option %s takes no "
				    "value", o->name);
			*o->flag = 1;
			continue;
		}
		value = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (value == NULL)
			return cli_usage_error(ctx, "option %s needs a value "
			    "(%s)", o->name, o->metavar);
		*o->value = value;
	}
	if (pos_name != NULL && npos == 0)
		return cli_usage_error(ctx, "%s needs %s", ctx->cmd->name,
		    pos_name);
	return CLI_CONTINUE;
}
