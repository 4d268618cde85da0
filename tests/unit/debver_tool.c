/*
 * debver_tool.c - a test helper for debver_oracle.py: runs
 * mamori_debver_cmp and mamori_debver_check over lines of stdin so a
 * script can compare them with dpkg without a process per pair.
 *
 *   debver_tool cmp     lines "A B"  ->  lines "-1", "0" or "1"
 *   debver_tool check   lines "V"    ->  "ok" or "bad: <reason>"
 *   debver_tool sort    lines "V"    ->  the same lines, sorted
 *
 * Lines longer than DEBVER_TOOL_LINE_MAX are refused (exit 2).  Never used
 * by mamori itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debver.h"

#define DEBVER_TOOL_LINE_MAX 4096
#define DEBVER_TOOL_SORT_MAX 1000000  /* lines sorted */

static int
line_cmp(const void *a, const void *b)
{
	return mamori_debver_cmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every line, sorts them with mamori_debver_cmp, prints them. */
static int
sort_lines(void)
{
	char line[DEBVER_TOOL_LINE_MAX];
	char **v = NULL, **grown;
	size_t n = 0, cap = 0, i;
	int r = 1;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (n == DEBVER_TOOL_SORT_MAX)
			goto out;
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			if ((grown = realloc(v, cap * sizeof(*v))) == NULL)
				goto out;
			v = grown;
		}
		if ((v[n] = strdup(line)) == NULL)
			goto out;
		n++;
	}
	qsort(v, n, sizeof(*v), line_cmp);
	for (i = 0; i < n; i++)
		printf("%s\n", v[i]);
	r = fflush(stdout) != 0;
out:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

int
main(int argc, char **argv)
{
	char line[DEBVER_TOOL_LINE_MAX];
	int cmp;

	if (argc == 2 && strcmp(argv[1], "sort") == 0)
		return sort_lines();
	if (argc != 2 || (strcmp(argv[1], "cmp") != 0 &&
	    strcmp(argv[1], "check") != 0)) {
		fprintf(stderr, "usage: debver_tool cmp|check|sort < lines\n");
		return 2;
	}
	cmp = strcmp(argv[1], "cmp") == 0;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strlen(line);
		char *sp;

		if (n == 0 || line[n - 1] != '\n') {
			fprintf(stderr, "debver_tool: line too long or "
			    "unterminated\n");
			return 2;
		}
		line[n - 1] = '\0';
		if (!cmp) {
			const char *why = NULL;

			if (mamori_debver_check(line, &why) == 0)
				printf("ok\n");
			else
				printf("bad: %s\n", why);
			continue;
		}
		if ((sp = strchr(line, ' ')) == NULL) {
			fprintf(stderr, "debver_tool: no space in a pair\n");
			return 2;
		}
		*sp = '\0';
		printf("%d\n", mamori_debver_cmp(line, sp + 1));
	}
	return ferror(stdin) || fflush(stdout) != 0 ? 1 : 0;
}
