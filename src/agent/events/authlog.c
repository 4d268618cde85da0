/*
 * authlog.c - see authlog.h: wtmp records and auth log lines into login
 * events.
 *
 * Auth log lines are matched against the exact phrases sshd, sudo and su
 * write, and fields are cut from the phrase's fixed words, never guessed.
 * Where a field an attacker chose (a user name offered to sshd) may hold
 * the words we split on, the address is taken from the right: the last
 * " from " followed by a well-formed IP address, an optional port and the
 * end of sshd's sentence.  A line that matched a phrase but whose fields do
 * not parse still gives its event, with the line in message, so a strange
 * failure is not dropped.  Nothing here may allocate outside the event it
 * returns, keep state, or do I/O.
 */
#include "authlog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "parse.h"

/* struct utmp on x86_64 glibc: offsets of the fields we read. */
#define UT_OFF_TYPE 0
#define UT_OFF_PID 4
#define UT_OFF_LINE 8
#define UT_OFF_ID 40
#define UT_OFF_USER 44
#define UT_OFF_HOST 76
#define UT_OFF_EXIT 332
#define UT_OFF_SESSION 336
#define UT_OFF_TV_SEC 340
#define UT_OFF_TV_USEC 344
#define UT_OFF_ADDR 348
#define UT_ADDR_LEN 16
#define UT_WTMP_SUMMARY_MAX 512
#define IP_TEXT_MAX 46                  /* INET6_ADDRSTRLEN */
#define NS_PER_SEC 1000000000ULL
#define NS_PER_USEC 1000ULL
#define USEC_PER_SEC 1000000
#define RFC3339_MIN_LEN 19              /* 2024-01-02T03:04:05 */

/* What one line said, as views into the line. */
struct parsed {
	Mamori__LoginEvent__Action action;
	const char *service;
	struct mamori_token user, target, ip, method, terminal, command;
	uint32_t port;
	uint32_t pid;
};

/* ---- wtmp ---------------------------------------------------------------- */

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Copies a fixed-size char field, cut at its first NUL, into out
 * (size field_len + 1). */
static void
field_str(const uint8_t *rec, size_t off, size_t field_len, char *out)
{
	const uint8_t *nul = memchr(rec + off, '\0', field_len);
	size_t n = nul != NULL ? (size_t)(nul - (rec + off)) : field_len;

	memcpy(out, rec + off, n);
	out[n] = '\0';
}

int
mamori_wtmp_decode(const uint8_t *data, size_t len,
    struct mamori_wtmp_record *out)
{
	struct mamori_cursor c;
	const uint8_t *rec;
	uint8_t addr[UT_ADDR_LEN];
	size_t i;
	int zero = 1, r = MAMORI_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	mamori_cursor_init(&c, data, len);
	if ((r = mamori_cursor_bytes(&c, MAMORI_WTMP_RECORD_SIZE, &rec)) != 0 ||
	    (r = mamori_cursor_end(&c)) != 0)
		goto out;
	out->type = (int16_t)(uint16_t)((unsigned)rec[UT_OFF_TYPE] |
	    (unsigned)rec[UT_OFF_TYPE + 1] << 8);
	out->pid = (int32_t)le32(rec + UT_OFF_PID);
	field_str(rec, UT_OFF_LINE, MAMORI_WTMP_LINE_MAX, out->line);
	field_str(rec, UT_OFF_ID, MAMORI_WTMP_ID_MAX, out->id);
	field_str(rec, UT_OFF_USER, MAMORI_WTMP_USER_MAX, out->user);
	field_str(rec, UT_OFF_HOST, MAMORI_WTMP_HOST_MAX, out->host);
	out->session = (int32_t)le32(rec + UT_OFF_SESSION);
	out->tv_sec = (int32_t)le32(rec + UT_OFF_TV_SEC);
	out->tv_usec = (int32_t)le32(rec + UT_OFF_TV_USEC);
	memcpy(addr, rec + UT_OFF_ADDR, sizeof(addr));
	for (i = 0; i < sizeof(addr); i++)
		if (addr[i] != 0)
			zero = 0;
	/* glibc stores IPv4 in the first word and leaves the rest zero. */
	if (!zero && inet_ntop(le32(addr + 4) == 0 && le32(addr + 8) == 0 &&
	    le32(addr + 12) == 0 ? AF_INET : AF_INET6, addr, out->ip,
	    sizeof(out->ip)) == NULL)
		out->ip[0] = '\0';
	r = 0;
out:
	return r;
}

/* 1 when s is an IPv4 or IPv6 address in text. */
static int
is_ip_text(const char *s, size_t len)
{
	char buf[IP_TEXT_MAX];
	uint8_t bin[UT_ADDR_LEN];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, bin) == 1 ||
	    inet_pton(AF_INET6, buf, bin) == 1;
}

/* Sets *field from (s, len) when len > 0; ALLOC is the only failure (a
 * string that cannot be stored is left out). */
static int
set_field(char **field, const char *s, size_t len)
{
	int r;

	if (len == 0)
		return 0;
	if (len > MAMORI_COLLECT_STR_MAX)
		len = MAMORI_COLLECT_STR_MAX;
	r = mamori_set_str(field, s, len);
	return r == MAMORI_ERR_ALLOC ? r : 0;
}

int
mamori_wtmp_event(const struct mamori_wtmp_record *rec,
    const struct mamori_wtmp_record *opened, Mamori__Event **out)
{
	const struct mamori_wtmp_record *who;
	char summary[UT_WTMP_SUMMARY_MAX];
	Mamori__Event *ev = NULL;
	Mamori__LoginEvent *le;
	const char *ip;
	int n, r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((rec->type != MAMORI_WTMP_USER_PROCESS &&
	    rec->type != MAMORI_WTMP_DEAD_PROCESS) || rec->line[0] == '\0') {
		r = 0;
		goto out;
	}
	/* A close record usually has no user or host: take the opener's. */
	who = rec->type == MAMORI_WTMP_DEAD_PROCESS && opened != NULL ?
	    opened : rec;
	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_LOGIN)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	le = ev->login;
	if (rec->tv_sec > 0 && rec->tv_usec >= 0 &&
	    rec->tv_usec < USEC_PER_SEC)
		ev->time_ns = (uint64_t)rec->tv_sec * NS_PER_SEC +
		    (uint64_t)rec->tv_usec * NS_PER_USEC;
	le->action = rec->type == MAMORI_WTMP_USER_PROCESS ?
	    MAMORI__LOGIN_EVENT__ACTION__SESSION_OPEN :
	    MAMORI__LOGIN_EVENT__ACTION__SESSION_CLOSE;
	le->pid = rec->pid > 0 ? (uint32_t)rec->pid : 0;
	ip = who->ip[0] != '\0' ? who->ip :
	    is_ip_text(who->host, strlen(who->host)) ? who->host : "";
	n = snprintf(summary, sizeof(summary),
	    "wtmp %s line=%s user=%s host=%s pid=%ld",
	    rec->type == MAMORI_WTMP_USER_PROCESS ? "USER_PROCESS" :
	    "DEAD_PROCESS", rec->line, who->user, who->host, (long)rec->pid);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(summary))
		n = (int)sizeof(summary) - 1;
	if ((r = set_field(&le->user_name, who->user, strlen(who->user))) != 0 ||
	    (r = set_field(&le->terminal, rec->line, strlen(rec->line))) != 0 ||
	    (r = set_field(&le->source_ip, ip, strlen(ip))) != 0 ||
	    (r = set_field(&le->service, "login", strlen("login"))) != 0 ||
	    (r = set_field(&le->message, summary, (size_t)n)) != 0)
		goto out;
	*out = ev;
	ev = NULL;
	r = 0;
out:
	mamori_event_free(ev);
	return r;
}

/* ---- auth log: small views ---------------------------------------------- */

/* When t starts with lit, cuts it off and returns 1. */
static int
eat(struct mamori_token *t, const char *lit)
{
	size_t n = strlen(lit);

	if (t->len < n || memcmp(t->p, lit, n) != 0)
		return 0;
	t->p += n;
	t->len -= n;
	return 1;
}

static void
skip_spaces(struct mamori_token *t)
{
	while (t->len > 0 && t->p[0] == ' ') {
		t->p++;
		t->len--;
	}
}

/* Cuts the next space-delimited word off t into *word (after spaces). */
static int
next_word(struct mamori_token *t, struct mamori_token *word)
{
	size_t i = 0;

	skip_spaces(t);
	while (i < t->len && t->p[i] != ' ')
		i++;
	word->p = t->p;
	word->len = i;
	t->p += i;
	t->len -= i;
	return i > 0;
}

/* Index of the first (last when from_right) occurrence of lit in t, or
 * t->len when there is none. */
static size_t
find(const struct mamori_token *t, const char *lit, int from_right)
{
	size_t n = strlen(lit), i;

	if (n == 0 || t->len < n)
		return t->len;
	for (i = 0; i + n <= t->len; i++) {
		size_t at = from_right ? t->len - n - i : i;

		if (memcmp(t->p + at, lit, n) == 0)
			return at;
	}
	return t->len;
}

/* Splits t at position at (skipping sep_len bytes) into left and right. */
static void
cut(const struct mamori_token *t, size_t at, size_t sep_len,
    struct mamori_token *left, struct mamori_token *right)
{
	left->p = t->p;
	left->len = at;
	right->p = t->p + at + sep_len;
	right->len = t->len - at - sep_len;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- auth log: the syslog header ---------------------------------------- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int
is_month(const struct mamori_token *w)
{
	size_t i;

	for (i = 0; i < sizeof(months) / sizeof(months[0]); i++)
		if (mamori_tok_eq(w->p, w->len, months[i]))
			return 1;
	return 0;
}

/* "name:" or "name[pid]:" into prog and pid. */
static int
parse_tag(const struct mamori_token *w, struct mamori_token *prog,
    uint32_t *pid)
{
	size_t i = 0, open;
	uint64_t v;
	char c;

	*pid = 0;
	if (w->len < 2 || w->p[w->len - 1] != ':')
		return 0;
	for (i = 0; i < w->len - 1; i++) {
		c = w->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit(c) || c == '_' || c == '-' || c == '.' ||
		    c == '/'))
			break;
	}
	if (i == 0)
		return 0;
	prog->p = w->p;
	prog->len = i;
	if (i == w->len - 1)
		return 1;
	if (w->p[i] != '[' || w->p[w->len - 2] != ']')
		return 0;
	open = i + 1;
	if (mamori_parse_dec(w->p + open, w->len - 2 - open, UINT32_MAX,
	    &v) != 0)
		return 0;
	*pid = (uint32_t)v;
	return 1;
}

/*
 * Finds the program, pid and message of a line: "MMM dd hh:mm:ss host
 * tag: msg", "YYYY-MM-DDThh:mm:ss... host tag: msg", "tag: msg", or (sshd
 * -E) a bare message, for which prog is empty.  0: not a line we read.
 */
static int
split_header(struct mamori_token line, struct mamori_token *prog,
    uint32_t *pid, struct mamori_token *msg)
{
	struct mamori_token rest = line, w, host;
	int header = 0;

	prog->p = line.p;
	prog->len = 0;
	*pid = 0;
	if (!next_word(&rest, &w))
		return 0;
	if (is_month(&w)) {
		struct mamori_token day, time;

		if (!next_word(&rest, &day) || day.len > 2 ||
		    !is_digit(day.p[0]) || !next_word(&rest, &time) ||
		    find(&time, ":", 0) == time.len)
			return 0;
		header = 1;
	} else if (w.len >= RFC3339_MIN_LEN && is_digit(w.p[0]) &&
	    w.p[4] == '-' && w.p[10] == 'T') {
		header = 1;
	}
	if (header) {
		if (!next_word(&rest, &host) || !next_word(&rest, &w))
			return 0;
	}
	if (parse_tag(&w, prog, pid)) {
		skip_spaces(&rest);
		*msg = rest;
		return 1;
	}
	if (header)
		return 0;
	*msg = line;
	return 1;
}

/* ---- auth log: sshd ------------------------------------------------------ */

/*
 * Reads "IP[ port N]" followed by the end, " ssh2", " ssh2: ..." or
 * " [preauth]" at the start of t.
 */
static int
ip_tail(struct mamori_token t, struct mamori_token *ip, uint32_t *port)
{
	struct mamori_token w, num;
	size_t i;
	uint64_t v;

	*port = 0;
	if (t.len == 0 || t.p[0] == ' ')
		return 0;
	next_word(&t, &w);
	if (!is_ip_text(w.p, w.len))
		return 0;
	if (eat(&t, " port ")) {
		for (i = 0; i < t.len && is_digit(t.p[i]); i++)
			;
		num.p = t.p;
		num.len = i;
		if (mamori_parse_dec(num.p, num.len, UINT16_MAX, &v) != 0)
			return 0;
		t.p += i;
		t.len -= i;
		*port = (uint32_t)v;
	}
	if (t.len == 0 || mamori_tok_eq(t.p, t.len, " [preauth]") ||
	    mamori_tok_eq(t.p, t.len, " ssh2") || eat(&t, " ssh2:")) {
		*ip = w;
		return 1;
	}
	return 0;
}

/* t = USER sep IP...: the rightmost sep after which ip_tail holds. */
static int
user_addr(const struct mamori_token *t, const char *sep, struct parsed *p)
{
	struct mamori_token left, right, scan = *t;
	size_t at, n = strlen(sep);

	while ((at = find(&scan, sep, 1)) < scan.len) {
		cut(t, at, n, &left, &right);
		if (ip_tail(right, &p->ip, &p->port)) {
			p->user = left;
			return 1;
		}
		scan.len = at + n - 1;  /* the next match starts before at */
	}
	return 0;
}

static int
parse_sshd(struct mamori_token m, struct parsed *p)
{
	struct mamori_token method;

	p->service = "sshd";
	if (eat(&m, "Accepted "))
		p->action = MAMORI__LOGIN_EVENT__ACTION__AUTH_SUCCESS;
	else if (eat(&m, "Failed "))
		p->action = MAMORI__LOGIN_EVENT__ACTION__AUTH_FAILURE;
	if (p->action != MAMORI__LOGIN_EVENT__ACTION__ACTION_UNSPECIFIED) {
		if (!next_word(&m, &method) || !eat(&m, " for "))
			return 0;
		p->method = method;
		if (p->action == MAMORI__LOGIN_EVENT__ACTION__AUTH_FAILURE)
			(void)eat(&m, "invalid user ");
		(void)user_addr(&m, " from ", p);
		return 1;
	}
	p->action = MAMORI__LOGIN_EVENT__ACTION__AUTH_FAILURE;
	if (eat(&m, "Invalid user ")) {
		(void)user_addr(&m, " from ", p);
		return 1;
	}
	if (eat(&m, "Connection closed by authenticating user ") ||
	    eat(&m, "Connection closed by invalid user ")) {
		(void)user_addr(&m, " ", p);
		return 1;
	}
	return 0;
}

/* ---- auth log: sudo and su ------------------------------------------------ */

/* 1 when f starts with an upper-case KEY= as sudo writes its fields. */
static int
is_sudo_field(const struct mamori_token *f)
{
	size_t i;

	for (i = 0; i < f->len && f->p[i] >= 'A' && f->p[i] <= 'Z'; i++)
		;
	return i > 0 && i < f->len && f->p[i] == '=';
}

/* "USER : TTY=pts/0 ; PWD=/x ; USER=root ; COMMAND=/bin/ls", or with a
 * refusal ("3 incorrect password attempts ; TTY=...") first. */
static int
parse_sudo(struct mamori_token m, struct parsed *p)
{
	struct mamori_token rest, field;
	size_t at;
	int first = 1, failed = 0;

	p->service = "sudo";
	skip_spaces(&m);
	if ((at = find(&m, " : ", 0)) == m.len)
		return 0;
	cut(&m, at, strlen(" : "), &p->user, &rest);
	mamori_trim(&p->user.p, &p->user.len);
	if (p->user.len == 0)
		return 0;
	while (rest.len > 0) {
		if (eat(&rest, "COMMAND=")) {
			p->command = rest;
			break;
		}
		at = find(&rest, " ; ", 0);
		cut(&rest, at, at < rest.len ? strlen(" ; ") : 0, &field,
		    &rest);
		if (first && !is_sudo_field(&field))
			failed = 1;
		else if (eat(&field, "TTY="))
			p->terminal = field;
		else if (eat(&field, "USER="))
			p->target = field;
		first = 0;
	}
	if (!failed && p->command.len == 0)
		return 0;
	p->action = failed ? MAMORI__LOGIN_EVENT__ACTION__AUTH_FAILURE :
	    MAMORI__LOGIN_EVENT__ACTION__SUDO;
	return 1;
}

/* "(to X) Y on TTY" after its prefix. */
static int
su_to(struct mamori_token m, struct parsed *p)
{
	size_t at;
	struct mamori_token rest;

	if (!eat(&m, "(to ") || (at = find(&m, ") ", 0)) == m.len)
		return 0;
	cut(&m, at, strlen(") "), &p->target, &rest);
	if ((at = find(&rest, " on ", 1)) == rest.len) {
		p->user = rest;
		return 1;
	}
	cut(&rest, at, strlen(" on "), &p->user, &p->terminal);
	return 1;
}

/* Cuts "NAME(uid=N)" to NAME. */
static struct mamori_token
before_paren(struct mamori_token t)
{
	t.len = find(&t, "(", 0);
	return t;
}

static int
parse_su(struct mamori_token m, struct parsed *p)
{
	struct mamori_token target, by;
	size_t at;

	p->service = "su";
	if (eat(&m, "FAILED SU ")) {
		p->action = MAMORI__LOGIN_EVENT__ACTION__AUTH_FAILURE;
		(void)su_to(m, p);
		return 1;
	}
	p->action = MAMORI__LOGIN_EVENT__ACTION__SU;
	if (m.len > 0 && m.p[0] == '(')
		return su_to(m, p);
	if (eat(&m, "pam_unix(su:session): session opened for user ") ||
	    eat(&m, "pam_unix(su-l:session): session opened for user ")) {
		if ((at = find(&m, " by ", 1)) == m.len)
			return 0;
		cut(&m, at, strlen(" by "), &target, &by);
		p->target = before_paren(target);
		p->user = before_paren(by);
		return 1;
	}
	if (eat(&m, "Successful su for ")) {
		if ((at = find(&m, " by ", 1)) == m.len)
			return 0;
		cut(&m, at, strlen(" by "), &p->target, &p->user);
		return 1;
	}
	return 0;
}

/* ---- auth log: the event ------------------------------------------------- */

static int
build_event(const struct parsed *p, const char *line, size_t len,
    Mamori__Event **out)
{
	Mamori__Event *ev = NULL;
	Mamori__LoginEvent *le;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_LOGIN)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	le = ev->login;
	le->action = p->action;
	le->pid = p->pid;
	le->source_port = p->port;
	if ((r = set_field(&le->service, p->service, strlen(p->service))) != 0 ||
	    (r = set_field(&le->user_name, p->user.p, p->user.len)) != 0 ||
	    (r = set_field(&le->target_user, p->target.p, p->target.len)) != 0 ||
	    (r = set_field(&le->source_ip, p->ip.p, p->ip.len)) != 0 ||
	    (r = set_field(&le->method, p->method.p, p->method.len)) != 0 ||
	    (r = set_field(&le->terminal, p->terminal.p, p->terminal.len)) != 0 ||
	    (r = set_field(&le->command, p->command.p, p->command.len)) != 0 ||
	    (r = set_field(&le->message, line, len)) != 0)
		goto out;
	*out = ev;
	ev = NULL;
	r = 0;
out:
	mamori_event_free(ev);
	return r;
}

int
mamori_authlog_parse(const char *line, size_t len, Mamori__Event **out)
{
	struct mamori_token text = {line, len}, prog, msg;
	struct parsed p;
	int ok = 0;

	*out = NULL;
	while (text.len > 0 && (text.p[text.len - 1] == '\r' ||
	    text.p[text.len - 1] == '\n'))
		text.len--;
	if (text.len == 0 || text.len > MAMORI_AUTHLOG_LINE_MAX ||
	    memchr(text.p, '\0', text.len) != NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	if (!split_header(text, &prog, &p.pid, &msg))
		return 0;
	if (prog.len == 0 || mamori_tok_eq(prog.p, prog.len, "sshd") ||
	    mamori_tok_eq(prog.p, prog.len, "sshd-session") ||
	    mamori_tok_eq(prog.p, prog.len, "sshd-auth"))
		ok = parse_sshd(msg, &p);
	else if (mamori_tok_eq(prog.p, prog.len, "sudo"))
		ok = parse_sudo(msg, &p);
	else if (mamori_tok_eq(prog.p, prog.len, "su"))
		ok = parse_su(msg, &p);
	if (!ok)
		return 0;
	return build_event(&p, text.p, text.len, out);
}
