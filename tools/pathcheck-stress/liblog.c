/* SPDX-License-Identifier: MIT */
/*
 * The library's log for pathcheck-stress: warnings and worse on stderr,
 * with the tool's name.  What the library says while a thread opens a
 * path is held back, so that a device that cannot be opened is reported
 * once, in one line, by stress_path_open().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "pathcheck.h"
#include "stress.h"

static __thread bool opening;		/* this thread is in pc_path_open */
static __thread char held[512];		/* the library's first word on it */

void stress_log(void *arg, int priority, const char *msg)
{
	(void)arg;
	if (priority > LOG_WARNING)
		return;
	if (opening) {
		if (!held[0])
			snprintf(held, sizeof(held), "%s", msg);
		return;
	}
	fprintf(stderr, "pathcheck-stress: %s\n", msg);
}

int stress_path_open(struct pc_engine *e, const char *dev, void *arg, struct pc_path **pp)
{
	int ret;

	held[0] = 0;
	opening = true;
	ret = pc_path_open(e, dev, arg, pp);
	opening = false;
	if (ret < 0 && held[0] && strstr(held, dev))
		fprintf(stderr, "pathcheck-stress: %s\n", held);
	else if (ret < 0 && held[0])
		fprintf(stderr, "pathcheck-stress: %s: %s\n", dev, held);
	else if (ret < 0)
		fprintf(stderr, "pathcheck-stress: %s: %s\n", dev, strerror(-ret));
	else if (held[0])
		fprintf(stderr, "pathcheck-stress: %s\n", held);
	return ret;
}
