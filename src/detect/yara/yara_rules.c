/*
 * yara_rules.c - libyara's start and end for the process, the compiler
 * (rule source text in, a rule set and the compiler's messages out), and
 * the listing of a rule set's rules with their tags and meta.
 *
 * Rule text may come from anyone who can get a file in front of
 * `mamori yara check` or into a policy: it is bounded in size and rule
 * count before and after compiling, `include` is refused (libyara's
 * default would read any file of this machine), and every message the
 * compiler writes is copied and cut to a named length.  This file must
 * never load compiled rules (yr_rules_load) and never let a rule read a
 * file.
 */
#include "yara_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

/* Serialises yr_initialize/yr_finalize, whose own count is not atomic. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

int
mamori_yara_init(void)
{
	int r;

	pthread_mutex_lock(&init_lock);
	r = yr_initialize();
	pthread_mutex_unlock(&init_lock);
	if (r == ERROR_SUCCESS)
		return 0;
	return r == ERROR_INSUFFICIENT_MEMORY ? MAMORI_ERR_ALLOC :
	    MAMORI_ERR_YARA_SCAN;
}

void
mamori_yara_finish(void)
{
	pthread_mutex_lock(&init_lock);
	(void)yr_finalize();
	pthread_mutex_unlock(&init_lock);
}

void
mamori_yara_messages_free(struct mamori_yara_messages *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->items[i].source);
		free(m->items[i].text);
	}
	free(m->items);
	memset(m, 0, sizeof(*m));
}

/* State of one compile, seen by the compiler's callbacks. */
struct compile_ctx {
	struct mamori_yara_messages *msgs;
	const char *source;     /* name of the source being compiled */
	int alloc_failed;
};

/* Records one message; past the cap or without memory it is counted. */
static void
add_message(struct compile_ctx *cc, const char *source, int line,
    int is_warning, const char *text)
{
	struct mamori_yara_messages *m = cc->msgs;
	struct mamori_yara_message *it;
	size_t len;

	if (m == NULL)
		return;
	if (!is_warning)
		m->errors++;
	if (m->n >= MAMORI_YARA_MESSAGES_MAX) {
		m->dropped++;
		return;
	}
	if (m->items == NULL &&
	    (m->items = calloc(MAMORI_YARA_MESSAGES_MAX,
	    sizeof(*m->items))) == NULL) {
		cc->alloc_failed = 1;
		m->dropped++;
		return;
	}
	it = &m->items[m->n];
	len = strnlen(text, MAMORI_YARA_MESSAGE_MAX);
	it->text = mamori_memdup_str(text, len);
	it->source = mamori_memdup_str(source, strnlen(source,
	    MAMORI_YARA_NAME_MAX));
	if (it->text == NULL || it->source == NULL) {
		free(it->text);
		free(it->source);
		it->text = it->source = NULL;
		cc->alloc_failed = 1;
		m->dropped++;
		return;
	}
	it->line = line;
	it->is_warning = is_warning;
	m->n++;
}

static void
compiler_message(int level, const char *file_name, int line,
    const YR_RULE *rule, const char *message, void *user_data)
{
	struct compile_ctx *cc = user_data;

	(void)rule;
	add_message(cc, file_name != NULL ? file_name : cc->source, line,
	    level == YARA_ERROR_LEVEL_WARNING, message != NULL ? message :
	    "(no message)");
}

/* `include "x"` is refused: a rule set is one self-contained text.  A NULL
 * answer makes libyara report the include as an error at its line too;
 * this message says why. */
static const char *
refuse_include(const char *include_name, const char *calling_file,
    const char *calling_namespace, void *user_data)
{
	struct compile_ctx *cc = user_data;

	(void)include_name;
	(void)calling_file;
	(void)calling_namespace;
	add_message(cc, cc->source, 0, 0, "include is not allowed: a rule "
	    "file must stand alone (paste the included rules into it)");
	return NULL;
}

static int
check_sources(const struct mamori_yara_source *sources, size_t n,
    struct compile_ctx *cc)
{
	size_t i, total = 0;
	char line[MAMORI_YARA_MESSAGE_MAX];

	if (n == 0 || sources == NULL) {
		add_message(cc, "", 0, 0, "no rule source given");
		return MAMORI_ERR_INVALID;
	}
	if (n > MAMORI_YARA_SOURCES_MAX) {
		snprintf(line, sizeof(line), "more than %d rule sources in one "
		    "rule set", MAMORI_YARA_SOURCES_MAX);
		add_message(cc, "", 0, 0, line);
		return MAMORI_ERR_TOO_LARGE;
	}
	for (i = 0; i < n; i++) {
		const char *name = sources[i].name != NULL ? sources[i].name :
		    "(rules)";

		if (sources[i].text == NULL && sources[i].len > 0)
			return MAMORI_ERR_INVALID;
		if (sources[i].len > MAMORI_YARA_SOURCE_MAX - total) {
			snprintf(line, sizeof(line), "rule text is larger than "
			    "%u bytes in all", MAMORI_YARA_SOURCE_MAX);
			add_message(cc, name, 0, 0, line);
			return MAMORI_ERR_TOO_LARGE;
		}
		total += sources[i].len;
		if (sources[i].len > 0 &&
		    memchr(sources[i].text, '\0', sources[i].len) != NULL) {
			add_message(cc, name, 0, 0, "rule text holds a NUL byte "
			    "(a binary file, or compiled rules, which are not "
			    "accepted)");
			return MAMORI_ERR_BAD_STRING;
		}
	}
	return 0;
}

int
mamori_yara_compile(const struct mamori_yara_source *sources, size_t n,
    mamori_yara_rules_t **out, struct mamori_yara_messages *msgs)
{
	return mamori_yara_compile_ns(sources, NULL, n, out, msgs);
}

int
mamori_yara_compile_ns(const struct mamori_yara_source *sources,
    const char *const *ns, size_t n, mamori_yara_rules_t **out,
    struct mamori_yara_messages *msgs)
{
	struct compile_ctx cc;
	struct mamori_yara_rules *rs = NULL;
	YR_COMPILER *compiler = NULL;
	const YR_RULE *rule;
	char *text = NULL, line[MAMORI_YARA_MESSAGE_MAX];
	size_t i;
	int r = MAMORI_ERR_INTERNAL, yr;

	if (out != NULL)
		*out = NULL;
	if (msgs != NULL)
		memset(msgs, 0, sizeof(*msgs));
	memset(&cc, 0, sizeof(cc));
	cc.msgs = msgs;
	cc.source = "";
	if (out == NULL)
		return MAMORI_ERR_INVALID;
	if ((r = check_sources(sources, n, &cc)) != 0)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		goto out;
	if (yr_compiler_create(&compiler) != ERROR_SUCCESS)
		goto out;
	yr_compiler_set_callback(compiler, compiler_message, &cc);
	yr_compiler_set_include_callback(compiler, refuse_include, NULL,
	    &cc);
	for (i = 0; i < n; i++) {
		cc.source = sources[i].name != NULL ? sources[i].name :
		    "(rules)";
		if ((text = mamori_memdup_str(sources[i].len > 0 ?
		    sources[i].text : "", sources[i].len)) == NULL)
			goto out;
		yr = yr_compiler_add_string(compiler, text,
		    ns != NULL ? ns[i] : NULL);
		free(text);
		text = NULL;
		if (yr != 0) {
			if (msgs != NULL && msgs->errors == 0)
				add_message(&cc, cc.source, 0, 0,
				    "rules do not compile");
			r = MAMORI_ERR_YARA_COMPILE;
			goto out;
		}
	}
	if (cc.alloc_failed)
		goto out;
	if ((yr = yr_compiler_get_rules(compiler, &rs->yr)) != ERROR_SUCCESS) {
		r = yr == ERROR_INSUFFICIENT_MEMORY ? MAMORI_ERR_ALLOC :
		    MAMORI_ERR_YARA_COMPILE;
		if (r == MAMORI_ERR_YARA_COMPILE)
			add_message(&cc, cc.source, 0, 0, "libyara could not "
			    "build the rule set");
		rs->yr = NULL;
		goto out;
	}
	yr_rules_foreach(rs->yr, rule)
		rs->count++;
	if (rs->count > MAMORI_YARA_RULES_MAX) {
		snprintf(line, sizeof(line), "%zu rules, more than the %d one "
		    "rule set may hold", rs->count, MAMORI_YARA_RULES_MAX);
		add_message(&cc, cc.source, 0, 0, line);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	*out = rs;
	rs = NULL;
	r = 0;
out:
	free(text);
	if (compiler != NULL)
		yr_compiler_destroy(compiler);
	mamori_yara_rules_free(rs);
	return r;
}

void
mamori_yara_rules_free(mamori_yara_rules_t *rules)
{
	if (rules == NULL)
		return;
	if (rules->yr != NULL)
		yr_rules_destroy(rules->yr);
	free(rules);
}

size_t
mamori_yara_rules_count(const mamori_yara_rules_t *rules)
{
	return rules == NULL ? 0 : rules->count;
}

void
mamori_yara_rule_info_clear(struct mamori_yara_rule_info *info)
{
	size_t i;

	if (info == NULL)
		return;
	free(info->name);
	free(info->ns);
	for (i = 0; i < info->ntags; i++)
		free(info->tags[i]);
	free(info->tags);
	for (i = 0; i < info->nmeta; i++) {
		free(info->meta[i].key);
		free(info->meta[i].value);
	}
	free(info->meta);
	memset(info, 0, sizeof(*info));
}

static char *
meta_value(const YR_META *meta)
{
	char num[32];

	switch (meta->type) {
	case META_TYPE_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)meta->integer);
		return mamori_memdup_str(num, strlen(num));
	case META_TYPE_BOOLEAN:
		return mamori_memdup_str(meta->integer ? "true" : "false",
		    meta->integer ? 4 : 5);
	default:
		if (meta->string == NULL)
			return mamori_memdup_str("", 0);
		return mamori_memdup_str(meta->string, strnlen(meta->string,
		    MAMORI_YARA_META_VALUE_MAX));
	}
}

static char *
dup_cstr(const char *s)
{
	if (s == NULL)
		s = "";
	return mamori_memdup_str(s, strlen(s));
}

int
mamori_yara_rule_info_from(const YR_RULE *rule,
    struct mamori_yara_rule_info *info)
{
	const char *tag;
	const YR_META *meta;
	size_t ntags = 0, nmeta = 0;
	int r = MAMORI_ERR_ALLOC;

	memset(info, 0, sizeof(*info));
	yr_rule_tags_foreach(rule, tag)
		ntags++;
	yr_rule_metas_foreach(rule, meta)
		nmeta++;
	if ((info->name = dup_cstr(rule->identifier)) == NULL ||
	    (info->ns = dup_cstr(rule->ns != NULL ? rule->ns->name : ""))
	    == NULL)
		goto out;
	if (ntags > 0 && (info->tags = calloc(ntags, sizeof(char *))) == NULL)
		goto out;
	yr_rule_tags_foreach(rule, tag) {
		if ((info->tags[info->ntags] = dup_cstr(tag)) == NULL)
			goto out;
		info->ntags++;
	}
	if (nmeta > 0 && (info->meta = calloc(nmeta, sizeof(*info->meta)))
	    == NULL)
		goto out;
	yr_rule_metas_foreach(rule, meta) {
		struct mamori_yara_meta *m = &info->meta[info->nmeta];

		m->key = dup_cstr(meta->identifier);
		m->value = meta_value(meta);
		info->nmeta++;
		if (m->key == NULL || m->value == NULL)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		mamori_yara_rule_info_clear(info);
	return r;
}

const char *
mamori_yara_rule_meta(const struct mamori_yara_rule_info *info,
    const char *key)
{
	size_t i;

	for (i = 0; info != NULL && i < info->nmeta; i++)
		if (strcmp(info->meta[i].key, key) == 0)
			return info->meta[i].value;
	return NULL;
}

void
mamori_yara_rule_infos_free(struct mamori_yara_rule_info *infos, size_t n)
{
	size_t i;

	if (infos == NULL)
		return;
	for (i = 0; i < n; i++)
		mamori_yara_rule_info_clear(&infos[i]);
	free(infos);
}

int
mamori_yara_rules_list(const mamori_yara_rules_t *rules,
    struct mamori_yara_rule_info **infos, size_t *n)
{
	struct mamori_yara_rule_info *list = NULL;
	const YR_RULE *rule;
	size_t got = 0;
	int r = MAMORI_ERR_ALLOC;

	*infos = NULL;
	*n = 0;
	if (rules == NULL || rules->count == 0)
		return 0;
	if ((list = calloc(rules->count, sizeof(*list))) == NULL)
		goto out;
	yr_rules_foreach(rules->yr, rule) {
		if (got >= rules->count)
			break;
		if (mamori_yara_rule_info_from(rule, &list[got]) != 0)
			goto out;
		got++;
	}
	*infos = list;
	*n = got;
	list = NULL;
	r = 0;
out:
	mamori_yara_rule_infos_free(list, got);
	return r;
}
