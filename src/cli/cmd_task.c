/*
 * cmd_task.c - `mamori task create`, `mamori sign` and `mamori task show`:
 * tasks as administrators write and sign them (src/trust/task.h).
 *
 *   mamori task create --type read_file --path /etc/passwd \
 *       --target agent:ID,group:web --valid 2h --out t.task
 *   mamori sign t.task --key alice.key
 *   mamori task show t.task
 *
 * create writes a SignedTask with no signature; sign adds one, refusing a
 * second by the same admin, and rewrites the file atomically with the
 * body bytes untouched.  Nothing here talks to the server; the files are
 * what an administrator hands on.  Task content is printed escaped only.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "passphrase.h"
#include "table.h"
#include "task.h"
#include "util.h"

#define TASK_WHY_MAX 512
#define TASK_DEFAULT_VALID 3600   /* --valid default: 1 h */
#define TASK_TIME_ARG_MAX 64
#define TASK_DEFAULT_READ_MAX (1024 * 1024)
#define TASK_DEFAULT_TIMEOUT 60
#define TASK_DEFAULT_OUTPUT_MAX (1024 * 1024)

/* "+DURATION" from now, or a UTC time "2026-11-28T10:15:00Z". */
static int
parse_when(const char *s, uint64_t now, uint64_t *out)
{
	struct tm tm;
	uint64_t d;
	time_t t;
	char *end;

	*out = 0;
	if (strlen(s) > TASK_TIME_ARG_MAX)
		return MAMORI_ERR_INVALID;
	if (s[0] == '+') {
		if (mamori_parse_duration(s + 1, &d) != 0)
			return MAMORI_ERR_INVALID;
		*out = now + d;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
	    (*end != 'T' && *end != ' '))
		return MAMORI_ERR_INVALID;
	if ((end = strptime(end + 1, "%H:%M:%S", &tm)) == NULL)
		return MAMORI_ERR_INVALID;
	if (*end == 'Z')
		end++;
	if (*end != '\0' || (t = timegm(&tm)) <= 0)
		return MAMORI_ERR_INVALID;
	*out = (uint64_t)t;
	return 0;
}

/* Splits "agent:ID,group:NAME,..." into b's target lists (pointing into
 * the copy in *store, which the caller frees). */
static int
parse_targets(const struct cli_ctx *ctx, const char *list,
    Mamori__TaskBody *b, char **store)
{
	char *copy, *p, *next, **agents = NULL, **groups = NULL;
	char safe[CLI_MSG_MAX / 2];
	size_t n = 1;

	*store = NULL;
	for (p = (char *)(uintptr_t)list; *p != '\0'; p++)
		n += *p == ',';
	if (n > MAMORI_TASK_MAX_TARGETS)
		return cli_usage_error(ctx, "more than %d targets",
		    MAMORI_TASK_MAX_TARGETS);
	if ((copy = mamori_memdup_str(list, strlen(list))) == NULL ||
	    (agents = calloc(n, sizeof(char *))) == NULL ||
	    (groups = calloc(n, sizeof(char *))) == NULL) {
		free(copy);
		free(agents);
		free(groups);
		return cli_fail("out of memory");
	}
	b->target_agents = agents;
	b->target_groups = groups;
	*store = copy;
	for (p = copy; p != NULL; p = next) {
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if (strncmp(p, "agent:", 6) == 0 && p[6] != '\0')
			agents[b->n_target_agents++] = p + 6;
		else if (strncmp(p, "group:", 6) == 0 && p[6] != '\0')
			groups[b->n_target_groups++] = p + 6;
		else
			return cli_usage_error(ctx, "target '%s' is neither "
			    "agent:ID nor group:NAME",
			    cli_safe(p, safe, sizeof(safe)));
	}
	return CLI_CONTINUE;
}

/* "VVVV:PPPP" in hex. */
static int
parse_usb(const char *s, uint32_t *vendor, uint32_t *product)
{
	uint8_t v[2], p[2];

	if (strlen(s) != 9 || s[4] != ':')
		return MAMORI_ERR_INVALID;
	{
		char a[5], b2[5];

		memcpy(a, s, 4);
		a[4] = '\0';
		memcpy(b2, s + 5, 4);
		b2[4] = '\0';
		if (mamori_unhex(a, v, 2) != 0 || mamori_unhex(b2, p, 2) != 0)
			return MAMORI_ERR_INVALID;
	}
	*vendor = (uint32_t)v[0] << 8 | v[1];
	*product = (uint32_t)p[0] << 8 | p[1];
	return 0;
}

struct task_args {
	const char *sql, *path, *limit, *timeout, *interpreter, *script;
	const char *package, *device, *serial, *pid;
	int cmd_argc;
	char **cmd_argv;
};

/* Which options each type takes, to refuse the others by name. */
static int
check_params(const struct cli_ctx *ctx, int type, const struct task_args *a)
{
	const struct {
		const char *name;
		const char *value;
		int allowed;
	} given[] = {
		{"--sql", a->sql, type == MAMORI__TASK_TYPE__TASK_TYPE_QUERY},
		{"--path", a->path,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE ||
		    type == MAMORI__TASK_TYPE__TASK_TYPE_HASH_PATH ||
		    type == MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN},
		{"--limit", a->limit,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE ||
		    type == MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND},
		{"--timeout", a->timeout,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND},
		{"--interpreter", a->interpreter,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_RUN_SCRIPT},
		{"--script", a->script,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_RUN_SCRIPT},
		{"--package", a->package,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_INSTALL ||
		    type == MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_REMOVE},
		{"--device", a->device,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK ||
		    type == MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW},
		{"--serial", a->serial,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK ||
		    type == MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW},
		{"--pid", a->pid,
		    type == MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS},
	};
	size_t i;

	for (i = 0; i < sizeof(given) / sizeof(given[0]); i++)
		if (given[i].value != NULL && !given[i].allowed)
			return cli_usage_error(ctx, "%s does not apply to a "
			    "%s task", given[i].name,
			    mamori_task_type_name(type));
	if (a->cmd_argc > 0 &&
	    type != MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND)
		return cli_usage_error(ctx, "a command after -- applies only "
		    "to run_command");
	return CLI_CONTINUE;
}

int
cmd_task_create(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *type_s = NULL, *target = NULL, *valid = NULL;
	const char *not_before_s = NULL, *created_by = NULL, *out = NULL;
	struct task_args a;
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__QueryParams q = MAMORI__QUERY_PARAMS__INIT;
	Mamori__ReadFileParams rf = MAMORI__READ_FILE_PARAMS__INIT;
	Mamori__HashPathParams hp = MAMORI__HASH_PATH_PARAMS__INIT;
	Mamori__YaraScanParams ys = MAMORI__YARA_SCAN_PARAMS__INIT;
	Mamori__RunCommandParams rc = MAMORI__RUN_COMMAND_PARAMS__INIT;
	Mamori__RunScriptParams rs = MAMORI__RUN_SCRIPT_PARAMS__INIT;
	Mamori__PackageParams pk = MAMORI__PACKAGE_PARAMS__INIT;
	Mamori__UsbDeviceParams usb = MAMORI__USB_DEVICE_PARAMS__INIT;
	Mamori__KillProcessParams kp = MAMORI__KILL_PROCESS_PARAMS__INIT;
	Mamori__HostIsolationParams hi = MAMORI__HOST_ISOLATION_PARAMS__INIT;
	struct mamori_buf enc, script;
	uint8_t id[MAMORI_TASK_ID_LEN];
	uint64_t now = mamori_now(), nb, span, v;
	char *targets = NULL, why[TASK_WHY_MAX], idhex[33];
	char safe[CLI_MSG_MAX / 2], safe2[CLI_MSG_MAX / 2];
	int r, e, type, nopt = argc, i;

	memset(&a, 0, sizeof(a));
	mamori_buf_init(&enc, MAMORI_TASK_MAX_BYTES);
	mamori_buf_init(&script, MAMORI_TASK_SCRIPT_MAX);
	{
		const struct cli_option opts[] = {
			{"--type", "T", &type_s, NULL},
			{"--target", "LIST", &target, NULL},
			{"--valid", "DURATION", &valid, NULL},
			{"--not-before", "TIME", &not_before_s, NULL},
			{"--created-by", "NAME", &created_by, NULL},
			{"--out", "FILE", &out, NULL},
			{"--sql", "SQL", &a.sql, NULL},
			{"--path", "PATH", &a.path, NULL},
			{"--limit", "BYTES", &a.limit, NULL},
			{"--timeout", "DURATION", &a.timeout, NULL},
			{"--interpreter", "PATH", &a.interpreter, NULL},
			{"--script", "FILE", &a.script, NULL},
			{"--package", "NAME", &a.package, NULL},
			{"--device", "VVVV:PPPP", &a.device, NULL},
			{"--serial", "S", &a.serial, NULL},
			{"--pid", "PID", &a.pid, NULL},
			{NULL, NULL, NULL, NULL},
		};

		/* The words after "--" are the command of run_command. */
		for (i = 0; i < argc; i++)
			if (strcmp(argv[i], "--") == 0) {
				nopt = i;
				a.cmd_argc = argc - i - 1;
				a.cmd_argv = argv + i + 1;
				break;
			}
		if ((r = cli_parse(ctx, nopt, argv, opts, NULL, NULL)) !=
		    CLI_CONTINUE)
			goto out;
	}
	if (type_s == NULL || target == NULL || out == NULL) {
		r = cli_usage_error(ctx, "task create needs --type, --target "
		    "and --out");
		goto out;
	}
	if ((type = mamori_task_type_from_name(type_s)) == 0) {
		r = cli_usage_error(ctx, "unknown task type '%s'",
		    cli_safe(type_s, safe, sizeof(safe)));
		goto out;
	}
	if ((r = check_params(ctx, type, &a)) != CLI_CONTINUE ||
	    (r = parse_targets(ctx, target, &b, &targets)) != CLI_CONTINUE)
		goto out;
	span = TASK_DEFAULT_VALID;
	if (valid != NULL && (mamori_parse_duration(valid, &span) != 0 ||
	    span == 0 || span > MAMORI_TASK_MAX_WINDOW)) {
		r = cli_usage_error(ctx, "--valid must be a duration from 1s "
		    "to 24h, such as 90m or 2h");
		goto out;
	}
	nb = now;
	if (not_before_s != NULL && parse_when(not_before_s, now, &nb) != 0) {
		r = cli_usage_error(ctx, "--not-before must be +DURATION or a "
		    "UTC time such as 2026-11-28T10:15:00Z");
		goto out;
	}
	switch (type) {
	case MAMORI__TASK_TYPE__TASK_TYPE_QUERY:
		q.sql = (char *)(uintptr_t)a.sql;
		b.query = &q;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE:
		rf.path = (char *)(uintptr_t)a.path;
		rf.max_bytes = TASK_DEFAULT_READ_MAX;
		if (a.limit != NULL && mamori_parse_u64(a.limit, 1,
		    UINT32_MAX, &rf.max_bytes) != 0) {
			r = cli_usage_error(ctx, "--limit must be a number of "
			    "bytes");
			goto out;
		}
		b.read_file = &rf;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_HASH_PATH:
		hp.path = (char *)(uintptr_t)a.path;
		b.hash_path = &hp;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN:
		ys.path = (char *)(uintptr_t)a.path;
		b.yara_scan = &ys;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND:
		if (a.cmd_argc == 0) {
			r = cli_usage_error(ctx, "run_command needs the "
			    "command after --, e.g. -- /usr/bin/uptime");
			goto out;
		}
		rc.n_argv = (size_t)a.cmd_argc;
		rc.argv = a.cmd_argv;
		rc.timeout_seconds = TASK_DEFAULT_TIMEOUT;
		rc.output_limit = TASK_DEFAULT_OUTPUT_MAX;
		if (a.timeout != NULL && (mamori_parse_duration(a.timeout,
		    &v) != 0 || v == 0 || v > MAMORI_TASK_MAX_WINDOW)) {
			r = cli_usage_error(ctx, "--timeout must be a duration "
			    "such as 30s or 5m");
			goto out;
		}
		if (a.timeout != NULL)
			rc.timeout_seconds = (uint32_t)v;
		if (a.limit != NULL && mamori_parse_u64(a.limit, 1,
		    UINT32_MAX, &rc.output_limit) != 0) {
			r = cli_usage_error(ctx, "--limit must be a number of "
			    "bytes");
			goto out;
		}
		b.run_command = &rc;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_RUN_SCRIPT:
		if (a.script == NULL) {
			r = cli_usage_error(ctx, "run_script needs --script "
			    "FILE and --interpreter PATH");
			goto out;
		}
		if ((e = mamori_buf_read_file(&script, a.script)) != 0 ||
		    script.data == NULL ||
		    memchr(script.data, 0, script.len) != NULL) {
			r = cli_fail("cannot use %s as a script: %s",
			    cli_safe(a.script, safe, sizeof(safe)),
			    e != 0 ? mamori_strerror(e) :
			    "empty or holds a NUL byte");
			goto out;
		}
		rs.interpreter = (char *)(uintptr_t)a.interpreter;
		rs.body = (char *)script.data;
		b.run_script = &rs;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_INSTALL:
	case MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_REMOVE:
		pk.name = (char *)(uintptr_t)a.package;
		if (type == MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_INSTALL)
			b.package_install = &pk;
		else
			b.package_remove = &pk;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK:
	case MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW:
		if (a.device == NULL || parse_usb(a.device, &usb.vendor_id,
		    &usb.product_id) != 0) {
			r = cli_usage_error(ctx, "%s needs --device VVVV:PPPP "
			    "(hex vendor and product ids)", type_s);
			goto out;
		}
		usb.serial = (char *)(uintptr_t)(a.serial != NULL ? a.serial :
		    "");
		if (type == MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK)
			b.usb_block = &usb;
		else
			b.usb_allow = &usb;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS:
		if (a.pid == NULL || mamori_parse_u64(a.pid, 2, UINT32_MAX,
		    &v) != 0) {
			r = cli_usage_error(ctx, "kill_process needs --pid PID "
			    "(2 or more)");
			goto out;
		}
		kp.pid = (uint32_t)v;
		b.kill_process = &kp;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_ISOLATE_HOST:
		b.isolate_host = &hi;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_RELEASE_HOST:
		b.release_host = &hi;
		break;
	default:
		r = cli_fail("internal error: type %d", type);
		goto out;
	}
	mamori_random(id, sizeof(id));
	b.format_version = MAMORI_TASK_FORMAT;
	b.task_id.data = id;
	b.task_id.len = sizeof(id);
	b.type = (Mamori__TaskType)type;
	b.params_case = mamori_task_params_case(type);
	b.not_before = nb;
	b.not_after = nb + span;
	if (created_by == NULL && (created_by = getenv("USER")) == NULL)
		created_by = "";
	b.created_by = (char *)(uintptr_t)created_by;
	r = CLI_EXIT_FAIL;
	if (mamori_task_encode_unsigned(&b, &enc, why, sizeof(why)) != 0) {
		r = cli_usage_error(ctx, "%s", cli_safe(why, safe,
		    sizeof(safe)));
		goto out;
	}
	if ((e = mamori_file_write(out, enc.data, enc.len, 0644, 1)) != 0) {
		cli_fail("cannot write %s: %s%s", cli_safe(out, safe2,
		    sizeof(safe2)), mamori_strerror(e), e == MAMORI_ERR_EXISTS ?
		    " (task create never overwrites a file)" : "");
		goto out;
	}
	mamori_hex(id, sizeof(id), idhex);
	printf("Task %s (%s, %s) written to %s, unsigned\n", idhex,
	    mamori_task_type_name(type),
	    mamori_task_class_name(mamori_task_type_class(type)),
	    cli_safe(out, safe2, sizeof(safe2)));
	r = fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write to standard output");
out:
	free(b.target_agents);
	free(b.target_groups);
	free(targets);
	mamori_buf_free(&enc);
	mamori_buf_free(&script);
	return r;
}

/* Reads a task file whole. */
static int
read_task(const char *path, struct mamori_buf *b)
{
	char safe[CLI_MSG_MAX / 2];
	int e;

	mamori_buf_init(b, MAMORI_TASK_MAX_BYTES);
	if ((e = mamori_buf_read_file(b, path)) != 0)
		return cli_fail("cannot read %s: %s", cli_safe(path, safe,
		    sizeof(safe)), mamori_strerror(e));
	return 0;
}

int
cmd_sign(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *key_path = NULL, *id = NULL;
	const char *pass_file = NULL;
	const struct cli_option opts[] = {
		{"--key", "FILE", &key_path, NULL},
		{"--id", "NAME", &id, NULL},
		{"--passphrase-file", "FILE", &pass_file, NULL},
		{NULL, NULL, NULL, NULL},
	};
	struct mamori_buf in, out;
	struct mamori_task *t = NULL;
	EVP_PKEY *key = NULL;
	uint8_t raw[MAMORI_ED25519_PUB_LEN], raw2[MAMORI_ED25519_PUB_LEN];
	char pub[PATH_MAX], file_id[MAMORI_ADMIN_ID_MAX + 1];
	char why[TASK_WHY_MAX], safe[CLI_MSG_MAX / 2], idhex[33], until[32];
	int r, e, have_pub = 0;

	mamori_buf_init(&in, MAMORI_TASK_MAX_BYTES);
	mamori_buf_init(&out, MAMORI_TASK_MAX_BYTES);
	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		goto out;
	if (file == NULL || key_path == NULL) {
		r = cli_usage_error(ctx, "sign needs a task FILE and --key "
		    "ADMIN.key");
		goto out;
	}
	if (snprintf(pub, sizeof(pub), "%s%s", key_path,
	    MAMORI_PUBFILE_SUFFIX) < (int)sizeof(pub) &&
	    access(pub, F_OK) == 0) {
		if ((e = mamori_pubfile_load(pub, file_id, raw)) != 0) {
			r = cli_fail("cannot read %s: %s", cli_safe(pub, safe,
			    sizeof(safe)), mamori_strerror(e));
			goto out;
		}
		have_pub = 1;
		if (id != NULL && strcmp(id, file_id) != 0) {
			r = cli_usage_error(ctx, "%s names the admin '%s', not "
			    "the --id given", cli_safe(pub, safe, sizeof(safe)),
			    file_id);
			goto out;
		}
		id = file_id;
	}
	if (id == NULL) {
		r = cli_usage_error(ctx, "no %s beside the key to take the "
		    "admin id from: give --id NAME", MAMORI_PUBFILE_SUFFIX);
		goto out;
	}
	if (!mamori_admin_id_valid(id)) {
		r = cli_usage_error(ctx, "the admin id '%s' is not valid",
		    cli_safe(id, safe, sizeof(safe)));
		goto out;
	}
	if ((r = read_task(file, &in)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	if (mamori_task_open(in.data, in.len, &t, why, sizeof(why)) != 0) {
		cli_fail("%s is not a valid task: %s", cli_safe(file, safe,
		    sizeof(safe)), why);
		goto out;
	}
	if ((r = cli_key_load(key_path, pass_file, &key)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	if (have_pub && (mamori_ed25519_public(key, raw2) != 0 ||
	    memcmp(raw, raw2, sizeof(raw)) != 0)) {
		cli_fail("%s does not hold the key of %s", cli_safe(key_path,
		    safe, sizeof(safe)), pub);
		goto out;
	}
	if (mamori_task_sign(in.data, in.len, id, key, &out, why,
	    sizeof(why)) != 0) {
		cli_fail("cannot sign %s: %s", cli_safe(file, safe,
		    sizeof(safe)), why);
		goto out;
	}
	if ((e = mamori_file_write(file, out.data, out.len, 0644, 0)) != 0) {
		cli_fail("cannot write %s: %s", cli_safe(file, safe,
		    sizeof(safe)), mamori_strerror(e));
		goto out;
	}
	mamori_hex(t->body->task_id.data, MAMORI_TASK_ID_LEN, idhex);
	/* Say what was signed, so a wrong file is noticed at once; the
	 * details are in `mamori task show`. */
	printf("Task %s (%s, %s, valid until %s) signed by %s (%zu "
	    "signature%s)\n", idhex, mamori_task_type_name((int)t->body->type),
	    mamori_task_class_name(t->task_class),
	    mamori_time_str(t->body->not_after, until), id,
	    t->signed_task->n_signatures + 1,
	    t->signed_task->n_signatures == 0 ? "" : "s");
	r = fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write to standard output");
out:
	EVP_PKEY_free(key);
	mamori_task_free(t);
	mamori_buf_free(&in);
	mamori_buf_free(&out);
	return r;
}

/* The parameters of b as a JSON object (new reference). */
static json_t *
params_json(const Mamori__TaskBody *b)
{
	json_t *argv;
	size_t i;
	char dev[16];

	switch (b->params_case) {
	case MAMORI__TASK_BODY__PARAMS_QUERY:
		return json_pack("{s:s}", "sql", b->query->sql);
	case MAMORI__TASK_BODY__PARAMS_READ_FILE:
		return json_pack("{s:s, s:I}", "path", b->read_file->path,
		    "max_bytes", (json_int_t)b->read_file->max_bytes);
	case MAMORI__TASK_BODY__PARAMS_HASH_PATH:
		return json_pack("{s:s}", "path", b->hash_path->path);
	case MAMORI__TASK_BODY__PARAMS_YARA_SCAN:
		return json_pack("{s:s}", "path", b->yara_scan->path);
	case MAMORI__TASK_BODY__PARAMS_RUN_COMMAND:
		if ((argv = json_array()) == NULL)
			return NULL;
		for (i = 0; i < b->run_command->n_argv; i++)
			json_array_append_new(argv,
			    json_string(b->run_command->argv[i]));
		return json_pack("{s:o, s:I, s:I}", "argv", argv,
		    "timeout_seconds",
		    (json_int_t)b->run_command->timeout_seconds,
		    "output_limit", (json_int_t)b->run_command->output_limit);
	case MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT:
		return json_pack("{s:s, s:s}", "interpreter",
		    b->run_script->interpreter, "body", b->run_script->body);
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL:
		return json_pack("{s:s}", "package", b->package_install->name);
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE:
		return json_pack("{s:s}", "package", b->package_remove->name);
	case MAMORI__TASK_BODY__PARAMS_USB_BLOCK:
	case MAMORI__TASK_BODY__PARAMS_USB_ALLOW: {
		const Mamori__UsbDeviceParams *u = b->params_case ==
		    MAMORI__TASK_BODY__PARAMS_USB_BLOCK ? b->usb_block :
		    b->usb_allow;

		snprintf(dev, sizeof(dev), "%04x:%04x", u->vendor_id,
		    u->product_id);
		return json_pack("{s:s, s:s}", "device", dev, "serial",
		    u->serial);
	}
	case MAMORI__TASK_BODY__PARAMS_KILL_PROCESS:
		return json_pack("{s:I}", "pid",
		    (json_int_t)b->kill_process->pid);
	default:
		return json_object();
	}
}

static json_t *
task_json(const struct mamori_task *t)
{
	const Mamori__TaskBody *b = t->body;
	json_t *o, *agents, *groups, *sigs;
	uint8_t digest[MAMORI_SHA256_LEN];
	char idhex[33], dhex[65];
	size_t i;

	mamori_hex(b->task_id.data, MAMORI_TASK_ID_LEN, idhex);
	mamori_sha256(t->signed_task->body.data, t->signed_task->body.len,
	    digest);
	mamori_hex(digest, sizeof(digest), dhex);
	if ((agents = json_array()) == NULL || (groups = json_array()) ==
	    NULL || (sigs = json_array()) == NULL)
		return NULL;
	for (i = 0; i < b->n_target_agents; i++)
		json_array_append_new(agents, json_string(b->target_agents[i]));
	for (i = 0; i < b->n_target_groups; i++)
		json_array_append_new(groups, json_string(b->target_groups[i]));
	for (i = 0; i < t->signed_task->n_signatures; i++)
		json_array_append_new(sigs, json_string(
		    t->signed_task->signatures[i]->signer_id));
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:s, s:o, s:o, "
	    "s:s}", "task_id", idhex, "type", mamori_task_type_name(
	    (int)b->type), "class", mamori_task_class_name(t->task_class),
	    "target_agents", agents, "target_groups", groups,
	    "not_before", (json_int_t)b->not_before,
	    "not_after", (json_int_t)b->not_after,
	    "created_by", b->created_by, "params", params_json(b),
	    "signed_by", sigs, "body_sha256", dhex);
	return o;
}

/* Appends the strings of array a, space-separated, to out. */
static const char *
join(const json_t *a, char *out, size_t outlen)
{
	const json_t *v;
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	json_array_foreach(a, i, v) {
		n = snprintf(out + used, outlen - used, "%s%s",
		    used > 0 ? " " : "", json_is_string(v) ?
		    json_string_value(v) : "?");
		if (n < 0 || (size_t)n >= outlen - used)
			break;
		used += (size_t)n;
	}
	return out;
}

static int
print_task(const json_t *o)
{
	struct cli_table t;
	const json_t *params = json_object_get(o, "params");
	const char *key;
	json_t *v;
	char nb[32], na[32], agents[1024], groups[1024], sigs[1024];
	char kind[64], line[2048];
	int r = CLI_EXIT_FAIL;

	snprintf(kind, sizeof(kind), "%s (%s)", cli_json_str(o, "type"),
	    cli_json_str(o, "class"));
	{
		const char *rows[][2] = {
			{"Task", cli_json_str(o, "task_id")},
			{"Type", kind},
			{"Target agents", join(json_object_get(o,
			    "target_agents"), agents, sizeof(agents))},
			{"Target groups", join(json_object_get(o,
			    "target_groups"), groups, sizeof(groups))},
			{"Valid from", mamori_time_str(cli_json_u64(o,
			    "not_before"), nb)},
			{"Valid until", mamori_time_str(cli_json_u64(o,
			    "not_after"), na)},
			{"Created by", cli_json_str(o, "created_by")},
			{"Signed by", join(json_object_get(o, "signed_by"),
			    sigs, sizeof(sigs))},
			{"Body SHA-256", cli_json_str(o, "body_sha256")},
		};
		size_t i;

		if (cli_table_init(&t, 2, NULL) != 0)
			return cli_fail("out of memory");
		/* Whoever signs must see all of what they sign: no cell is
		 * cut (cells are still escaped). */
		t.max_width = 0;
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (cli_table_add(&t, rows[i]) != 0)
				goto nomem;
		json_object_foreach((json_t *)(uintptr_t)params, key, v) {
			const char *cells[2];

			if (json_is_string(v))
				snprintf(line, sizeof(line), "%s",
				    json_string_value(v));
			else if (json_is_integer(v))
				snprintf(line, sizeof(line), "%lld",
				    (long long)json_integer_value(v));
			else
				join(v, line, sizeof(line));
			cells[0] = key;
			cells[1] = line;
			if (cli_table_add(&t, cells) != 0)
				goto nomem;
		}
	}
	if (cli_table_print(&t, stdout, 0) != 0 || fflush(stdout) != 0) {
		r = cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	cli_table_free(&t);
	return r;
}

int
cmd_task_show(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct mamori_task *t = NULL;
	struct mamori_buf in;
	json_t *o = NULL;
	char why[TASK_WHY_MAX], safe[CLI_MSG_MAX / 2];
	int r;

	mamori_buf_init(&in, MAMORI_TASK_MAX_BYTES);
	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		goto out;
	if (file == NULL) {
		r = cli_usage_error(ctx, "task show needs a task file");
		goto out;
	}
	if ((r = read_task(file, &in)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	if (mamori_task_open(in.data, in.len, &t, why, sizeof(why)) != 0) {
		cli_fail("%s is not a valid task: %s", cli_safe(file, safe,
		    sizeof(safe)), why);
		goto out;
	}
	if ((o = task_json(t)) == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	r = json ? cli_print_json(o) : print_task(o);
out:
	json_decref(o);
	mamori_task_free(t);
	mamori_buf_free(&in);
	return r;
}
