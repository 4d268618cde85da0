/*
 * audit_parse.h - reading the text of Linux audit records, and assembling
 * the records of one execve into one description of the program started.
 *
 * The kernel writes every record as "audit(SEC.MSEC:SERIAL): key=value ..."
 * and the records of one event share that id; a multi-record event ends
 * with an EOE record.  Values an unprivileged user controls (program path,
 * working directory, arguments, file names) are written either in double
 * quotes, when they hold only printable ASCII other than space and '"', or
 * as uppercase hex of the raw bytes; "(null)" stands for no value.  An
 * argument too long for one record is split into chunks
 * "aN_len=L aN[0]=... aN[1]=...", possibly across several EXECVE records,
 * and each chunk is quoted or hex on its own.
 *
 * Everything here is pure: no system calls, no globals.  The text is
 * untrusted all the same (a bug in this parser must not become a hole), so
 * every read is bounded by the length given, nothing past a named limit is
 * kept, and a record that does not follow the format is refused rather than
 * guessed at.
 */
#ifndef MAMORI_AUDIT_PARSE_H
#define MAMORI_AUDIT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Record types this parser reads (values of linux/audit.h, repeated so the
 * parser and its fuzz target need no kernel header). */
#define MAMORI_AUDIT_SYSCALL 1300
#define MAMORI_AUDIT_PATH 1302
#define MAMORI_AUDIT_CWD 1307
#define MAMORI_AUDIT_EXECVE 1309
#define MAMORI_AUDIT_EOE 1320
#define MAMORI_AUDIT_PROCTITLE 1327

/* Limits. */
#define MAMORI_AUDIT_RECORD_MAX 8970        /* MAX_AUDIT_MESSAGE_LENGTH */
#define MAMORI_AUDIT_STR_MAX 4096           /* exe, cwd, tty: PATH_MAX */
#define MAMORI_AUDIT_ARGS_MAX 8192          /* arguments kept per exec */
#define MAMORI_AUDIT_ARGV_BYTES_MAX (128 * 1024) /* their bytes, in total */
#define MAMORI_AUDIT_ARGC_MAX 0x7fffffffULL /* the kernel's MAX_ARG_STRINGS */
#define MAMORI_AUDIT_PATH_ITEMS_MAX 4       /* PATH records kept per exec */
#define MAMORI_AUDIT_PROCTITLE_MAX 128      /* MAX_PROCTITLE_AUDIT_LEN */

/* The id every record of one event carries. */
struct mamori_audit_id {
	uint64_t sec;
	uint32_t msec;
	uint64_t serial;
};

/* One key=value of a record body; views into the record text. */
struct mamori_audit_field {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
	int quoted;                     /* val was between double quotes */
};

/*
 * Splits a record into its id and its body: text (len bytes, not
 * NUL-terminated) must start with "audit(SEC.MSEC:SERIAL): " (the body may
 * be empty, as in EOE).  *body points into text.  BAD_MESSAGE otherwise.
 */
int mamori_audit_header(const char *text, size_t len,
    struct mamori_audit_id *id, const char **body, size_t *body_len);

/*
 * The next key=value of a body, advancing (*p, *left).  Returns 1 with *f
 * set, 0 at the end, BAD_MESSAGE on an unterminated quote or a quote not
 * followed by a space.  Words without '=' (AppArmor writes
 * "subj=profile (enforce)") are skipped.
 */
int mamori_audit_next_field(const char **p, size_t *left,
    struct mamori_audit_field *f);

/*
 * Appends the bytes of an untrusted-string value to out: the text between
 * the quotes, or the bytes the hex stands for; "(null)" appends nothing.
 * BAD_MESSAGE on odd or non-hex digits, BAD_STRING when the bytes hold a
 * NUL, TOO_LARGE past out's cap (out is then left as it was).
 */
int mamori_audit_value(const struct mamori_audit_field *f,
    struct mamori_buf *out);

/* Replaces every byte of s (len bytes) that is not part of valid UTF-8
 * with '?', so the text can go into a protobuf string and JSON.  Control
 * characters stay (a log line must still quote them, see log.h).  The
 * length does not change. */
void mamori_audit_text_fix(char *s, size_t len);

/* One PATH item: the file the kernel resolved, at the time of the exec. */
struct mamori_audit_path {
	uint64_t item;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
};

/*
 * The records of one exec, assembled.  Every string is malloc'ed and
 * NUL-terminated, holds the raw bytes the kernel reported (no NUL, maybe
 * not UTF-8), and belongs to the struct; pointers stay valid until the
 * next mamori_audit_exec_add() or mamori_audit_exec_free().
 */
struct mamori_audit_exec {
	struct mamori_audit_id id;
	int have_id;
	int have_syscall, have_execve, have_cwd;
	int success;                    /* SYSCALL success=yes */
	int broken;                     /* a record of the group was refused */
	uint32_t pid, ppid, uid, euid;
	char *exe;                      /* NULL when not reported */
	char *tty;                      /* NULL for "(none)" */
	char *cwd;
	char *proctitle;                /* NULL when no PROCTITLE; the NULs
	                                 * between arguments made spaces */
	size_t proctitle_len;
	char **args;
	size_t n_args;
	uint64_t argc;                  /* as the EXECVE record said */
	size_t args_bytes;
	int truncated;                  /* args past a limit were not kept */
	struct mamori_audit_path path[MAMORI_AUDIT_PATH_ITEMS_MAX];
	size_t n_path;
	/* assembly state: private */
	uint64_t priv_next_arg;         /* index expected next */
	int priv_chunked;               /* priv_next_arg is coming in chunks */
	uint64_t priv_next_chunk;
	struct mamori_buf priv_chunk;
};

void mamori_audit_exec_init(struct mamori_audit_exec *x);

/*
 * Adds one record (type, and text as the kernel sent it, without a
 * trailing NUL) to x.  The first record sets x->id; a record with another
 * id is refused with INVALID and changes nothing.  Records of types not
 * listed above are ignored.  A malformed record fails with BAD_MESSAGE,
 * BAD_STRING or TOO_LARGE and marks x broken; ALLOC on no memory (x is
 * then broken too).  What was assembled before stays valid.
 */
int mamori_audit_exec_add(struct mamori_audit_exec *x, unsigned type,
    const char *text, size_t len);

/*
 * Ends assembly (an argument still coming in chunks is finished) and says
 * whether x describes a successful exec: 1 when the SYSCALL record said
 * success=yes and an EXECVE record gave every argument (or as many as the
 * limits keep), 0 when not (another syscall, a failed exec, records
 * missing), a negative error when x is broken.
 */
int mamori_audit_exec_finish(struct mamori_audit_exec *x);

/*
 * The command line of a finished exec: its arguments joined with single
 * spaces, or the PROCTITLE when there were no arguments, followed by
 * " [truncated]" when x->truncated.  Malloc'ed into *out (the caller frees
 * it); raw bytes, as the args.
 */
int mamori_audit_command_line(const struct mamori_audit_exec *x, char **out);

/* Frees what x holds and leaves it initialised; NULL allowed. */
void mamori_audit_exec_free(struct mamori_audit_exec *x);

#endif
