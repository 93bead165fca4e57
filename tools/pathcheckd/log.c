/* SPDX-License-Identifier: MIT */
/* pathcheckd's log: stderr or syslog, one write a line. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static bool log_syslog;
static int log_max = LOG_INFO;

void log_setup(int target, bool debug)
{
	log_max = debug ? LOG_DEBUG : LOG_INFO;
	if (target == CFG_LOG_AUTO)
		target = isatty(STDERR_FILENO) ? CFG_LOG_STDERR : CFG_LOG_SYSLOG;
	if (target == CFG_LOG_SYSLOG && !log_syslog) {
		openlog("pathcheckd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		setlogmask(LOG_UPTO(log_max));
	}
	if (target != CFG_LOG_SYSLOG && log_syslog)
		closelog();
	log_syslog = target == CFG_LOG_SYSLOG;
}

static void vlogmsg(int prio, const char *fmt, va_list ap)
{
	if (prio > log_max)
		return;
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		return;
	}
	/* One write per line, so lines from the engine's threads never mix. */
	char line[1024];
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(prio, fmt, ap);
	va_end(ap);
}

/*
 * While the main thread opens a batch of paths, the engine's own lines
 * about it (one io_setup failure per path) go to debug: the batch ends
 * with one summary with numbers (limits_report).  Per thread, so a
 * worker's lines keep their priority.
 */
static __thread bool engine_demoted;

void log_engine_demote(bool on)
{
	engine_demoted = on;
}

void log_engine(void *arg, int prio, const char *msg)
{
	(void)arg;
	if (engine_demoted && prio < LOG_DEBUG)
		prio = LOG_DEBUG;
	logmsg(prio, "libpathcheck: %s", msg);
}
