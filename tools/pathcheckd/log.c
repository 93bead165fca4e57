/* SPDX-License-Identifier: MIT */
/*
 * Where log lines go.  A line is never lost for want of a place:
 *   stderr   plain lines (a terminal, or -f);
 *   journal  "<N>line" on stderr, N the syslog priority, which journald
 *            reads from a service's stream (sd-daemon(3) prefixes);
 *   syslog   syslog(3) to /dev/log.
 * auto picks journal when $JOURNAL_STREAM names our stderr, else stderr on a
 * terminal, else syslog when /dev/log exists, else journal-style prefixed
 * lines on stderr.  syslog asked for without /dev/log falls back the same
 * way, and says so once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define SYSLOG_SOCKET	"/dev/log"

static int log_to = CFG_LOG_STDERR;	/* never AUTO once set up */
static int log_max = LOG_INFO;

/* $JOURNAL_STREAM is "DEV:INO" of the stream systemd connected to us. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static bool have_syslog(void)
{
	struct stat st;

	return stat(SYSLOG_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int pick(int target, bool *fell_back)
{
	*fell_back = false;
	if (target == CFG_LOG_AUTO) {
		if (stderr_is_journal())
			return CFG_LOG_JOURNAL;
		if (isatty(STDERR_FILENO))
			return CFG_LOG_STDERR;
		target = CFG_LOG_SYSLOG;
	}
	if (target == CFG_LOG_SYSLOG && !have_syslog()) {
		*fell_back = true;
		return CFG_LOG_JOURNAL;
	}
	return target;
}

void log_setup(int target, bool debug)
{
	bool fell_back;
	int to = pick(target, &fell_back);

	log_max = debug ? LOG_DEBUG : LOG_INFO;
	if (to == CFG_LOG_SYSLOG && log_to != CFG_LOG_SYSLOG)
		openlog("pathcheckd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (to == CFG_LOG_SYSLOG)
		setlogmask(LOG_UPTO(log_max));
	if (to != CFG_LOG_SYSLOG && log_to == CFG_LOG_SYSLOG)
		closelog();
	log_to = to;
	if (fell_back)
		logmsg(LOG_WARNING, "no %s to log to: logging to standard error", SYSLOG_SOCKET);
}

/*
 * Control characters in a line (a device name may hold a newline) become
 * '?': one message stays one line.
 */
static void vlogmsg(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	int n, off = 0;

	if (prio > log_max)
		return;
	if (log_to == CFG_LOG_SYSLOG) {
		vsyslog(prio, fmt, ap);
		return;
	}
	if (log_to == CFG_LOG_JOURNAL)
		off = snprintf(line, sizeof(line), "<%d>", prio & LOG_PRIMASK);
	n = vsnprintf(line + off, sizeof(line) - 1 - (size_t)off, fmt, ap);
	if (n < 0)
		return;
	n += off;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (int i = off; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	line[n++] = '\n';
	/* One write per line, so lines from the engine's threads never mix. */
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
