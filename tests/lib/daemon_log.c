/* SPDX-License-Identifier: MIT */
/* The log of the daemon of a fixture (daemon_fixture.h, "the log"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "daemon_fixture.h"
#include "harness.h"

char *daemon_log(struct daemon_fx *fx)
{
	char *s = pc_test_read_file(fx->log, NULL);

	return s ? s : strdup("");
}

int daemon_log_wait(struct daemon_fx *fx, const char *needle, unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;

	for (;;) {
		char *log = daemon_log(fx);
		bool found = log && strstr(log, needle);

		free(log);
		if (found)
			return 0;
		if (pc_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pc_test_sleep_ms(5);
	}
}

unsigned int daemon_log_count(struct daemon_fx *fx, const char *needle)
{
	char *log = daemon_log(fx);
	unsigned int n = 0;

	for (char *line = log; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		n += strstr(line, needle) != NULL;
		line = nl ? nl + 1 : NULL;
	}
	free(log);
	return n;
}

bool daemon_log_clean(struct daemon_fx *fx)
{
	static const char *const bad[] = {
		"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
		"UndefinedBehaviorSanitizer", "runtime error:", "SUMMARY: ",
	};
	char *log = daemon_log(fx);
	bool clean = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) && clean; i++)
		clean = !strstr(log, bad[i]);
	if (!clean) {
		printf("\n  pathcheckd's log has a sanitizer report:\n%s\n", log);
		printf("\n  daemon fixture: sanitizer report in pathcheckd's log\n");
		if (CU_is_test_running())
			CU_FAIL("sanitizer report in pathcheckd's log");
	}
	free(log);
	return clean;
}

void daemon_log_print(struct daemon_fx *fx)
{
	size_t len;
	char *log = pc_test_read_file(fx->log, &len);
	const size_t tail = 6000;

	if (!log)
		return;
	printf("\n  --- %s%s ---\n%s\n  ---\n", fx->log, len > tail ? " (end)" : "",
	       len > tail ? log + len - tail : log);
	free(log);
}

unsigned long long daemon_log_summarized(struct daemon_fx *fx, const char *phrase,
					 unsigned int *lines, bool *first20)
{
	char *log = daemon_log(fx), *p = log;
	unsigned long long sum = 0;
	unsigned int n = 0;
	bool f20 = false;

	while ((p = strstr(p, phrase))) {
		char *b = p, *e = strchr(p, '\n');
		unsigned long long v = 0, scale = 1;

		while (b > log && b[-1] != '\n')
			b--;
		for (char *q = p; q-- > b;) {
			if (*q == ',')
				continue;
			if (*q < '0' || *q > '9')
				break;
			v += (unsigned long long)(*q - '0') * scale;
			scale *= 10;
		}
		sum += v;
		n++;
		if (e && memmem(p, (size_t)(e - p), "(first 20)", 10))
			f20 = true;
		p = e ? e : p + 1;
	}
	free(log);
	if (lines)
		*lines = n;
	if (first20)
		*first20 = f20;
	return sum;
}

bool daemon_log_line(struct daemon_fx *fx, const char *needle, char *out, size_t len)
{
	char *log = daemon_log(fx), *p = strstr(log, needle), *b, *e;
	bool found = p != NULL;

	if (p) {
		for (b = p; b > log && b[-1] != '\n'; b--)
			;
		e = strchr(p, '\n');
		snprintf(out, len, "%.*s", (int)(e ? e - b : (long)strlen(b)), b);
	}
	free(log);
	return found;
}
