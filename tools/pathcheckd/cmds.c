/* SPDX-License-Identifier: MIT */
/*
 * Control commands, in multipathd's words: `show` (or `list`) paths, path,
 * stats, status, daemon, metrics; check, add path, del path, reconfigure,
 * subscribe, shutdown.  Each writes one reply ended by an empty line.
 *
 * Here: the command table, splitting and checking a command line, help,
 * and the commands on the daemon as a whole.  Every handler has one shape,
 * fn(struct cmd_ctx *) (cmds.h), so the table points at it directly; the
 * others live with what they show or change: cmd_show.c (paths, path,
 * stats, status, daemon, metrics), showconfig.c (config, blacklist),
 * format.c (paths format), cmd_path.c (check, add, del), hold.c (fail,
 * reinstate, holds).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "duration.h"
#include "sbuf.h"

#include "cmd_path.h"
#include "cmd_show.h"
#include "cmds.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "escape.h"
#include "format.h"
#include "hold.h"
#include "showconfig.h"
#include "reconf.h"

/* --- the daemon as a whole --------------------------------------------------- */

/* Answered when the reconfigure that covers it ends (reconf.c). */
static void reconfigure(struct cmd_ctx *x)
{
	reconf_request(x->d, x->c);
}

static void subscribe(struct cmd_ctx *x)
{
	if (!x->c->subscribed) {
		x->c->subscribed = true;
		x->d->subscribers++;
	}
	ctl_reply_end(x->d, x->c);
}

static void shutdown_cmd(struct cmd_ctx *x)
{
	logmsg(LOG_NOTICE, "shutdown requested by pid %d uid %u", (int)x->c->pid,
	       (unsigned int)x->c->uid);
	ctl_send(x->d, x->c, "ok\n");
	ctl_reply_end(x->d, x->c);
	daemon_request_stop(x->d);
}

/* --- dispatch ------------------------------------------------------------------ */

static void help(struct cmd_ctx *x);

/*
 * A test aid, with -d only: block the event loop for DUR (at most 60 s), as
 * a handler stuck in the kernel would, while the engine's workers go on.
 * The watchdog pings stop, and clients wait; then all catches up.
 */
static bool debug_duration(struct cmd_ctx *x, const char *what, const char *arg,
			   unsigned int *ms)
{
	if (!x->d->debug) {
		ctl_error(x->d, x->c, "debug %s needs pathcheckd -d", what);
		return false;
	}
	if (dur_parse(arg, ms) != DUR_OK || *ms > 60000) {
		ctl_error(x->d, x->c, "debug %s takes a duration up to 60s, not '%s'", what, arg);
		return false;
	}
	return true;
}

static void debug_stall(struct cmd_ctx *x)
{
	const char *arg = x->arg;
	unsigned int ms;
	struct timespec ts;

	if (!debug_duration(x, "stall", arg, &ms))
		return;
	logmsg(LOG_WARNING, "debug stall: the event loop stops for %u ms", ms);
	ts = ts_from_ms(ms);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	ctl_send(x->d, x->c, "ok\n");
	ctl_reply_end(x->d, x->c);
}

/*
 * A test aid, with -d only: the next result that wakes the main thread
 * writes the result eventfd DUR after queueing it, so that a drain falls
 * between the two (tests/daemon_wakeups.c).
 */
static void debug_wake_delay(struct cmd_ctx *x)
{
	const char *arg = x->arg;
	unsigned int ms;

	if (!debug_duration(x, "wake-delay", arg, &ms))
		return;
	results_delay_wake(&x->d->results, ms);
	ctl_send(x->d, x->c, "ok\n");
	ctl_reply_end(x->d, x->c);
}

/* What follows a command's fixed words: nothing, a path, a show paths
 * format, "format FMT", a duration. */
enum cmd_arg { ARG_NONE, ARG_DEV, ARG_FMT, ARG_FORMAT_FMT, ARG_DUR };

/*
 * Every command: its one or two fixed words (list is a synonym of show), its
 * argument, whether it has a json form, whether it changes the daemon
 * (privileged), and its line in help.
 */
static const struct command {
	const char *w0, *w1, *w2;
	enum cmd_arg arg;
	bool json, priv;
	void (*fn)(struct cmd_ctx *x);
	const char *usage;
} commands[] = {
	{ "show", "paths", "format", ARG_FMT, false, false, cmd_show_paths_format,
	  "show paths format FMT" },
	{ "show", "paths", "raw", ARG_FORMAT_FMT, false, false, cmd_show_paths_raw_format,
	  "show paths raw format FMT" },
	{ "show", "paths", NULL, ARG_NONE, true, false, cmd_show_paths, "show paths [json]" },
	{ "show", "path", NULL, ARG_DEV, true, false, cmd_show_path, "show path DEV [json]" },
	{ "show", "status", NULL, ARG_NONE, true, false, cmd_show_status, "show status [json]" },
	{ "show", "stats", NULL, ARG_NONE, true, false, cmd_show_stats, "show stats [json]" },
	{ "show", "daemon", NULL, ARG_NONE, false, false, cmd_show_daemon, "show daemon" },
	{ "show", "metrics", NULL, ARG_NONE, false, false, cmd_show_metrics, "show metrics" },
	{ "show", "config", NULL, ARG_NONE, true, false, cmd_show_config, "show config [json]" },
	{ "show", "blacklist", NULL, ARG_NONE, true, false, cmd_show_blacklist,
	  "show blacklist [json]" },
	{ "show", "holds", NULL, ARG_NONE, true, false, cmd_show_holds, "show holds [json]" },
	{ "check", NULL, NULL, ARG_DEV, true, false, cmd_check_path, "check DEV [json]" },
	{ "add", "path", NULL, ARG_DEV, false, true, cmd_add_path, "add path DEV" },
	{ "del", "path", NULL, ARG_DEV, false, true, cmd_del_path, "del path DEV" },
	{ "remove", "path", NULL, ARG_DEV, false, true, cmd_del_path, "remove path DEV" },
	{ "fail", "path", NULL, ARG_DEV, false, true, cmd_fail_path, "fail path DEV" },
	{ "reinstate", "path", NULL, ARG_DEV, false, true, cmd_reinstate_path, "reinstate path DEV" },
	{ "reconfigure", NULL, NULL, ARG_NONE, false, true, reconfigure, "reconfigure" },
	{ "subscribe", NULL, NULL, ARG_NONE, false, false, subscribe, "subscribe" },
	{ "shutdown", NULL, NULL, ARG_NONE, false, true, shutdown_cmd, "shutdown" },
	{ "help", NULL, NULL, ARG_NONE, false, false, help, "help" },
	{ "debug", "stall", NULL, ARG_DUR, false, true, debug_stall, "debug stall DUR" },
	{ "debug", "wake-delay", NULL, ARG_DUR, false, true, debug_wake_delay,
	  "debug wake-delay DUR" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void help(struct cmd_ctx *x)
{
	ctl_send(x->d, x->c, "commands (list is a synonym of show; json: one JSON object;\n"
		 "(privileged): root or the daemon's own user only):\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		ctl_send(x->d, x->c, "  %s%s\n", commands[i].usage,
			 commands[i].priv ? " (privileged)" : "");
	ctl_reply_end(x->d, x->c);
}

static bool is(const struct cmd_ctx *x, int i, const char *word)
{
	return i < x->n && !strcmp(x->w[i], word);
}

/* The rule of SO_PEERCRED (ctl.c client_new), said as it is. */
static bool privileged(struct cmd_ctx *x, const char *what)
{
	unsigned int me = (unsigned int)geteuid();

	if (x->c->privileged)
		return true;
	if (me == 0)
		ctl_error(x->d, x->c, "permission denied: '%s' is only for root (uid 0), "
			  "and you are uid %u", what, (unsigned int)x->c->uid);
	else
		ctl_error(x->d, x->c, "permission denied: '%s' is only for root and for "
			  "the daemon's own uid %u, and you are uid %u", what, me,
			  (unsigned int)x->c->uid);
	return false;
}

/* "show", "path" -> "show path" (the user's word for show or list). */
static void cmd_label(const struct cmd_ctx *x, const struct command *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", x->w[0], c->w1 ? " " : "", c->w1 ? c->w1 : "",
		 c->w2 ? " " : "", c->w2 ? c->w2 : "");
}

/* What may follow a first word that needs a second (show ..., add ...). */
static void second_words(const struct cmd_ctx *x, const char *w0, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	(void)x;
	for (size_t i = 0; i < NCOMMANDS && off < len; i++) {
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(commands[j].w0, w0) && commands[j].w1 &&
				!strcmp(commands[j].w1, commands[i].w1 ? commands[i].w1 : "");
		if (!strcmp(commands[i].w0, w0) && commands[i].w1 && !seen)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
						commands[i].w1);
	}
}

static void run_words(struct cmd_ctx *x)
{
	const char *w0 = is(x, 0, "list") ? "show" : x->w[0];
	const struct command *c = NULL;
	bool known = false;
	char label[64], more[256], esc[128];
	int fixed;

	for (size_t i = 0; i < NCOMMANDS && !c; i++) {
		if (strcmp(commands[i].w0, w0))
			continue;
		known = true;
		if ((!commands[i].w1 || is(x, 1, commands[i].w1)) &&
		    (!commands[i].w2 || is(x, 2, commands[i].w2)))
			c = &commands[i];
	}
	if (!known) {
		ctl_error(x->d, x->c, "unknown command '%s' (try help)",
			  text_esc(x->w[0], esc, sizeof(esc)));
		return;
	}
	if (!c) {
		second_words(x, w0, more, sizeof(more));
		if (x->n == 1)
			ctl_error(x->d, x->c, "'%s' needs one of: %s", x->w[0], more);
		else
			ctl_error(x->d, x->c, "unknown command '%s %s' (%s takes %s)", x->w[0],
				  text_esc(x->w[1], esc, sizeof(esc)), x->w[0], more);
		return;
	}
	cmd_label(x, c, label, sizeof(label));
	fixed = c->w2 ? 3 : c->w1 ? 2 : 1;
	if (c->arg == ARG_FORMAT_FMT) {		/* "format" is one more fixed word */
		if (x->n > fixed && strcmp(x->w[fixed], "format")) {
			ctl_error(x->d, x->c, "%s takes format FMT (%s)", label, c->usage);
			return;
		}
		fixed++;
	}
	if (c->arg != ARG_NONE && x->n == fixed) {
		ctl_error(x->d, x->c, "%s needs %s (%s)", label,
			  c->arg == ARG_FMT || c->arg == ARG_FORMAT_FMT ? "a format" :
			  c->arg == ARG_DUR ? "a duration" : "a path name", c->usage);
		return;
	}
	if (x->n > fixed + (c->arg != ARG_NONE)) {
		ctl_error(x->d, x->c, "too many words for %s (%s)", label, c->usage);
		return;
	}
	if (x->json && !c->json) {
		ctl_error(x->d, x->c, "%s has no json form", label);
		return;
	}
	if (c->priv && !privileged(x, label))
		return;
	x->arg = c->arg != ARG_NONE ? x->w[fixed] : NULL;
	c->fn(x);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

/*
 * Words are separated by spaces or tabs; a word in double quotes may hold
 * them ("%d %t" of show paths format), without the quotes.  In place.
 */
static int split_words(char *s, struct cmd_ctx *x)
{
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			return 0;
		if (x->n == MAX_WORDS)
			return -E2BIG;
		if (*s == '"') {
			char *end = strchr(++s, '"');

			if (!end)
				return -EINVAL;
			*end = '\0';
			x->w[x->n++] = s;
			s = end + 1;
			continue;
		}
		x->w[x->n++] = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = '\0';
	}
}

void cmd_run(struct daemon *d, struct client *c, char *line)
{
	struct cmd_ctx x = { .d = d, .c = c };

	d->ctr.commands++;
	if (!printable(line)) {
		ctl_error(d, c, "control characters in command");
		return;
	}
	switch (split_words(line, &x)) {
	case -E2BIG:
		ctl_error(d, c, "too many words (try help)");
		return;
	case -EINVAL:
		ctl_error(d, c, "unmatched '\"' in command");
		return;
	}
	if (x.n == 0) {
		ctl_error(d, c, "empty command (try help)");
		return;
	}
	if (x.n > 1 && !strcmp(x.w[x.n - 1], "json")) {
		x.json = true;
		x.n--;
	}
	run_words(&x);
}
