/* SPDX-License-Identifier: MIT */
/*
 * Control commands, in multipathd's words: `show` (or `list`) paths, path,
 * stats, status, daemon, metrics; check, add path, del path, reconfigure,
 * subscribe, shutdown.  Each writes one reply ended by an empty line.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "duration.h"
#include "sbuf.h"
#include "hist.h"

#include "cmds.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "escape.h"
#include "format.h"
#include "hold.h"
#include "showconfig.h"

#define MAX_WORDS 8

struct cmd_ctx {
	struct daemon *d;
	struct client *c;
	char *w[MAX_WORDS];
	int n;
	bool json;		/* trailing "json" word, removed from w */
};

/* --- paths --------------------------------------------------------------- */

/* "held_by" and "held_since" of a held path; null otherwise. */
static void path_json_hold(struct sbuf *b, const struct rec *r)
{
	const struct hold *h = r->held ? hold_find(r->d, r->dev) : NULL;
	char when[40];
	struct tm tm;

	if (!h) {
		sb_printf(b, ",\"held_by\":null,\"held_since\":null");
		return;
	}
	gmtime_r(&h->since, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_printf(b, ",\"held_by\":");
	sb_json_str(b, h->by);
	sb_printf(b, ",\"held_since\":\"%s\"", when);
}

static void path_json(struct sbuf *b, const struct rec *r)
{
	enum chk_st st;
	char when[40] = "", why[128], devt[32];
	uint64_t now = now_ms();

	rec_display(r, &st);
	if (r->last_change_ms)
		fmt_wall(when, sizeof(when), r->last_change_ms);
	sb_printf(b, "{\"dev\":");
	sb_json_str(b, r->name);
	sb_printf(b, ",\"path\":");
	sb_json_str(b, r->dev);
	sb_printf(b, ",\"chk_st\":\"%s\",\"state\":\"%s\",\"reason\":", chk_st_name(st),
		  st == CHK_READY ? "up" : st == CHK_FAULTY || st == CHK_TIMEOUT ? "down" :
		  st == CHK_PENDING ? "pending" : st == CHK_UNOPENED ? "unopened" :
		  st == CHK_HELD ? "held" : st == CHK_MARGINAL ? "marginal" : "unchecked");
	sb_json_str(b, r->reason ? rec_reason_text(r, why, sizeof(why)) : "none");
	sb_printf(b, ",\"error\":%d,\"checks\":%llu,\"transitions\":%llu,"
		  "\"latency_us\":%llu,\"last_change\":", r->error,
		  (unsigned long long)r->checks, (unsigned long long)r->transitions,
		  (unsigned long long)r->latency_us);
	if (r->last_change_ms)
		sb_json_str(b, when);
	else
		sb_printf(b, "null");
	sb_printf(b, ",\"interval_ms\":%u,\"timeout_ms\":%u", r->interval_ms, r->timeout_ms);
	sb_printf(b, ",\"dev_t\":");
	if (r->rdev)
		sb_printf(b, "\"%s\"", fmt_devt(r, devt, sizeof(devt)));
	else
		sb_printf(b, "null");
	sb_printf(b, ",\"next_check_ms\":");
	if (r->held || !r->path)
		sb_printf(b, "null");
	else
		sb_printf(b, "%llu", (unsigned long long)(r->due_ms > now ? r->due_ms - now : 0));
	sb_printf(b, ",\"timeout_source\":");
	if (r->timeout_line) {
		char *src = NULL;

		if (asprintf(&src, "%s:%u", r->d->config_file, r->timeout_line) >= 0) {
			sb_json_str(b, src);
			free(src);
		} else {
			b->oom = true;
		}
	} else {
		sb_printf(b, "\"%s\"", r->timeout_sysfs ? "sysfs" : "default");
	}
	path_json_hold(b, r);
	sb_printf(b, ",\"marginal_reason\":");
	if (rec_marginal(r))
		sb_printf(b, "\"%s\",\"last_chk_st\":\"%s\"", rec_marginal_reason(r),
			  chk_st_name(r->st));
	else
		sb_printf(b, "null,\"last_chk_st\":\"%s\"", chk_st_name(r->st));
	sb_printf(b, ",\"interval_now_ms\":%u", flap_interval(r));
	sb_append(b, "}", 1);
}

static int name_width(struct daemon *d)
{
	size_t w = 3;

	for (size_t i = 0; i < d->nrecs; i++)
		if (text_esc_len(d->recs[i]->name) > w)
			w = text_esc_len(d->recs[i]->name);
	return (int)(w > 64 ? 64 : w);
}

static void path_row(struct sbuf *b, const struct rec *r, int w)
{
	enum chk_st st;
	char when[40] = "-", why[128], devt[32], next[32];

	rec_display(r, &st);
	if (r->last_change_ms)
		fmt_wall(when, sizeof(when), r->last_change_ms);
	/* The name escaped (a newline in it would end the reply), then padded. */
	sb_text_str(b, r->name);
	sb_printf(b, "%*s  %-8s  %-11s  %8llu  %11llu  %10llu  %-20s  %-10s  %s\n",
		  w - (int)text_esc_len(r->name), "", fmt_devt(r, devt, sizeof(devt)),
		  chk_st_name(st), (unsigned long long)r->checks,
		  (unsigned long long)r->transitions, (unsigned long long)r->latency_us,
		  when, fmt_next_check(r, next, sizeof(next)),
		  r->reason ? rec_reason_text(r, why, sizeof(why)) : "-");
}

static void path_header(struct sbuf *b, int w)
{
	sb_printf(b, "%-*s  %-8s  %-11s  %8s  %11s  %10s  %-20s  %-10s  %s\n", w, "dev", "dev_t",
		  "chk_st", "checks", "transitions", "latency_us", "last_change", "next_check",
		  "reason");
}

static void show_paths(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct sbuf *b = &x->c->out;
	int w = name_width(d);

	recs_sort(d);
	if (x->json) {
		sb_printf(b, "{\"paths\":[");
		for (size_t i = 0; i < d->nrecs; i++) {
			if (i)
				sb_append(b, ",", 1);
			path_json(b, d->recs[i]);
		}
		sb_printf(b, "]}\n");
	} else {
		path_header(b, w);
		for (size_t i = 0; i < d->nrecs; i++)
			path_row(b, d->recs[i], w);
	}
	ctl_reply_end(d, x->c);
}

static struct rec *need_path(struct cmd_ctx *x, const char *what)
{
	struct rec *r = recs_find(x->d, what);
	char esc[256];

	if (!r)
		ctl_error(x->d, x->c, "no such path '%s'", text_esc(what, esc, sizeof(esc)));
	return r;
}

static void show_path(struct cmd_ctx *x, const char *what)
{
	struct rec *r = need_path(x, what);
	struct sbuf *b = &x->c->out;

	if (!r)
		return;
	if (x->json) {
		path_json(b, r);
		sb_append(b, "\n", 1);
	} else {
		int w = text_esc_len(r->name) < 3 ? 3 : (int)text_esc_len(r->name);

		path_header(b, w);
		path_row(b, r, w);
	}
	ctl_reply_end(x->d, x->c);
}

/* --- stats, status, daemon ----------------------------------------------- */

struct kv {
	const char *key;
	uint64_t val;
};

static void show_stats(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct pc_stats s;
	const struct counters *k = &d->ctr;

	stats_fill(d, &s);
	const struct kv kv[] = {
		{ "paths", s.paths }, { "groups", s.groups }, { "inflight", s.inflight },
		{ "orphans", s.orphans }, { "checks", s.checks }, { "up", s.up },
		{ "down", s.down }, { "timeouts", s.timeouts },
		{ "groups_created", s.groups_created },
		{ "groups_destroyed", s.groups_destroyed },
		{ "orphans_reaped", s.orphans_reaped },
		{ "late_completions", s.late_completions }, { "aio_slots", s.aio_slots },
		{ "records", d->nrecs }, { "transitions", k->transitions },
		{ "checks_started", k->checks_started }, { "checks_busy", k->checks_busy },
		{ "results", k->results }, { "results_lost", k->results_lost },
		{ "schedule_slips", k->schedule_slips },
		{ "schedule_lag_p50_us", hist_quantile_us(&d->lag, 0.5) },
		{ "schedule_lag_p99_us", hist_quantile_us(&d->lag, 0.99) },
		{ "schedule_lag_max_us", hist_max_us(&d->lag) },
		{ "clients", d->nclients }, { "subscribers", d->subscribers },
		{ "clients_accepted", k->clients_accepted },
		{ "clients_dropped", k->clients_dropped }, { "commands", k->commands },
		{ "command_errors", k->command_errors }, { "events_sent", k->events_sent },
		{ "reconfigures", k->reconfigures },
		{ "reconfigure_errors", k->reconfigure_errors },
		{ "reconfigure_requests", k->host.reconfigure_requests },
		{ "reconfigures_merged", k->host.reconfigures_merged },
		{ "unopened", limits_unopened(d) },
		{ "open_retries", k->host.open_retries },
		{ "paths_added_hotplug", k->host.added_hotplug },
		{ "paths_removed_device_gone", k->host.removed[RM_DEVICE_GONE] },
		{ "paths_removed_config", k->host.removed[RM_CONFIG] },
		{ "paths_removed_command", k->host.removed[RM_COMMAND] },
		{ "uevents", k->host.uevents }, { "uevents_lost", k->host.uevents_lost },
		{ "log_lines_suppressed", k->host.log_suppressed },
		{ "uptime_s", (now_ms() - d->start_ms) / 1000 },
	};
	struct sbuf *b = &x->c->out;
	size_t n = sizeof(kv) / sizeof(kv[0]);

	if (x->json)
		sb_append(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (x->json)
			sb_printf(b, "%s\"%s\":%llu", i ? "," : "", kv[i].key,
				  (unsigned long long)kv[i].val);
		else
			sb_printf(b, "%-20s %llu\n", kv[i].key, (unsigned long long)kv[i].val);
	}
	if (x->json)
		sb_append(b, "}\n", 2);
	ctl_reply_end(d, x->c);
}

static void count_states(struct daemon *d, uint64_t count[CHK_NSTATES])
{
	memset(count, 0, sizeof(uint64_t) * CHK_NSTATES);
	for (size_t i = 0; i < d->nrecs; i++) {
		enum chk_st st;

		rec_display(d->recs[i], &st);
		count[st]++;
	}
}

static void show_status(struct cmd_ctx *x)
{
	static const enum chk_st order[] = { CHK_READY, CHK_FAULTY, CHK_TIMEOUT,
					     CHK_PENDING, CHK_UNDEF, CHK_UNOPENED, CHK_HELD,
					     CHK_MARGINAL };
	const size_t norder = sizeof(order) / sizeof(order[0]);
	uint64_t count[CHK_NSTATES];
	struct sbuf *b = &x->c->out;

	count_states(x->d, count);
	if (x->json) {
		sb_printf(b, "{\"paths\":%zu", x->d->nrecs);
		for (size_t i = 0; i < norder; i++)
			sb_printf(b, ",\"%s\":%llu", chk_st_name(order[i]),
				  (unsigned long long)count[order[i]]);
		sb_printf(b, "}\n");
	} else {
		sb_printf(b, "path checker states:\n");
		for (size_t i = 0; i < norder; i++)
			sb_printf(b, "%-20s %llu\n", chk_st_name(order[i]),
				  (unsigned long long)count[order[i]]);
		sb_printf(b, "paths: %zu\n", x->d->nrecs);
	}
	ctl_reply_end(x->d, x->c);
}

static void show_daemon(struct cmd_ctx *x)
{
	struct daemon *d = x->d;

	ctl_send(d, x->c, "pid %d %s\n", (int)getpid(), d->stopping ? "shutdown" : "running");
	ctl_send(d, x->c, "uptime %llu s\nconfig %s\nsocket %s\npaths %zu\nclients %zu\n",
		 (unsigned long long)((now_ms() - d->start_ms) / 1000), d->config_file,
		 d->socket_path, d->nrecs, d->nclients);
	ctl_send(d, x->c, "version %s\n", PC_VERSION);
	ctl_reply_end(d, x->c);
}

static void show_metrics(struct cmd_ctx *x)
{
	metrics_text(x->d, &x->c->out);
	ctl_reply_end(x->d, x->c);
}

/* --- check ------------------------------------------------------------------ */

void cmd_reply_check(struct daemon *d, struct client *c, const struct rec *r, bool json)
{
	char why[128], esc[256];

	text_esc(r->name, esc, sizeof(esc));
	if (json) {
		path_json(&c->out, r);
		sb_append(&c->out, "\n", 1);
	} else if (r->st == CHK_READY) {
		ctl_send(d, c, "%s: ready (%llu us)\n", esc, (unsigned long long)r->latency_us);
	} else {
		ctl_send(d, c, "%s: %s (%s)\n", esc, chk_st_name(r->st),
			 rec_reason_text(r, why, sizeof(why)));
	}
	ctl_reply_end(d, c);
}

static int add_waiter(struct rec *r, uint64_t id)
{
	uint64_t *w = array_room(r->waiters, r->nwaiters, sizeof(*w));

	if (!w)
		return -ENOMEM;
	r->waiters = w;
	r->waiters[r->nwaiters++] = id;
	return 0;
}

/*
 * Start a check now and answer when it finishes.  If a read is already in
 * flight its result is the answer; if the path's last read is still hung in
 * the kernel, the engine says DOWN at once, and that is the answer.
 */
static void check_path(struct cmd_ctx *x, const char *what)
{
	struct rec *r = need_path(x, what);
	int ret;

	char esc[256];

	if (!r)
		return;
	if (r->held) {
		ctl_error(x->d, x->c, "path %s is held (fail path): reinstate it to check it",
			  text_esc(r->name, esc, sizeof(esc)));
		return;
	}
	if (!r->path) {
		cmd_reply_check(x->d, x->c, r, x->json);
		return;
	}
	ret = pc_check(r->path, 0);
	if (ret < 0) {
		ctl_error(x->d, x->c, "check %s: %s", r->name, strerror(-ret));
		return;
	}
	/*
	 * PENDING: a read is in flight.  DOWN on a path last seen up: its read
	 * just passed the deadline, and the timeout's result is on its way.
	 * Either way the answer is the next result.  DOWN on a path already
	 * down: its timed-out read is still in the kernel; that is the answer.
	 */
	if (ret == PC_PENDING || (ret == PC_DOWN && (r->st == CHK_READY || r->st == CHK_UNDEF))) {
		if (add_waiter(r, x->c->id)) {
			ctl_error(x->d, x->c, "out of memory");
			return;
		}
		x->c->waiting = true;
		x->c->wait_json = x->json;
		return;
	}
	cmd_reply_check(x->d, x->c, r, x->json);
}

/* --- changes ------------------------------------------------------------------ */

static void add_path(struct cmd_ctx *x, const char *what)
{
	char real[PATH_MAX];
	const char *base;
	const struct cfg_path_rule *rule = NULL;
	unsigned int interval, timeout;
	int ret;

	if (what[0] != '/') {
		ctl_error(x->d, x->c, "add path needs an absolute path, not '%s'", what);
		return;
	}
	struct stat st;
	struct rec *r;

	if (!realpath(what, real) || stat(real, &st)) {
		ctl_error(x->d, x->c, "%s: %s", what, strerror(errno));
		return;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		ctl_error(x->d, x->c, "%s is not a block device or a file", what);
		return;
	}
	if (S_ISBLK(st.st_mode) && config_blk_empty(st.st_rdev)) {
		ctl_error(x->d, x->c, "%s has size zero (no medium, or unbound): not a path", what);
		return;
	}
	for (size_t i = 0; i < x->d->cfg.nrules && !rule; i++)
		if (!fnmatch(x->d->cfg.rules[i].glob, real, 0) ||
		    !fnmatch(x->d->cfg.rules[i].glob, what, 0))
			rule = &x->d->cfg.rules[i];
	unsigned int tline;
	bool tsys;

	interval = rule && rule->interval_ms ? rule->interval_ms : x->d->cfg.interval_ms;
	timeout = config_path_timeout(&x->d->cfg, rule, real, &tline, &tsys);
	base = strrchr(real, '/') + 1;
	ret = recs_add(x->d, real, base, interval, timeout, &r);
	if (ret == -EEXIST) {
		ctl_error(x->d, x->c, "path %s is already checked", real);
		return;
	}
	if (ret) {
		ctl_error(x->d, x->c, "add path %s: %s", real, strerror(-ret));
		return;
	}
	r->timeout_line = tline;
	r->timeout_sysfs = tsys;
	/* Asked for by hand: say it now rather than keep a dead record. */
	if (!r->path) {
		ctl_error(x->d, x->c, "cannot open %s: %s", real, strerror(r->error));
		recs_remove(x->d, r);
		return;
	}
	logmsg(LOG_NOTICE, "%s: path added (%s)", base, real);
	ctl_send(x->d, x->c, "ok\n");
	ctl_reply_end(x->d, x->c);
}

static void del_path(struct cmd_ctx *x, const char *what)
{
	struct rec *r = need_path(x, what);

	if (!r)
		return;
	path_removed(x->d, r, RM_COMMAND);
	ctl_send(x->d, x->c, "ok\n");
	ctl_reply_end(x->d, x->c);
}

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

static void c_show_paths(struct cmd_ctx *x, const char *arg) { (void)arg; show_paths(x); }
static void c_show_path(struct cmd_ctx *x, const char *arg) { show_path(x, arg); }
static void c_show_stats(struct cmd_ctx *x, const char *arg) { (void)arg; show_stats(x); }
static void c_show_status(struct cmd_ctx *x, const char *arg) { (void)arg; show_status(x); }
static void c_show_daemon(struct cmd_ctx *x, const char *arg) { (void)arg; show_daemon(x); }
static void c_show_metrics(struct cmd_ctx *x, const char *arg) { (void)arg; show_metrics(x); }
static void c_show_config(struct cmd_ctx *x, const char *arg)
{
	(void)arg;
	cmd_show_config(x->d, x->c, x->json);
}
static void c_show_blacklist(struct cmd_ctx *x, const char *arg)
{
	(void)arg;
	cmd_show_blacklist(x->d, x->c, x->json);
}
static void c_check(struct cmd_ctx *x, const char *arg) { check_path(x, arg); }
static void c_add(struct cmd_ctx *x, const char *arg) { add_path(x, arg); }
static void c_del(struct cmd_ctx *x, const char *arg) { del_path(x, arg); }
static void c_fail(struct cmd_ctx *x, const char *arg) { cmd_fail_path(x->d, x->c, arg); }
static void c_reinstate(struct cmd_ctx *x, const char *arg)
{
	cmd_reinstate_path(x->d, x->c, arg);
}
static void c_reconfigure(struct cmd_ctx *x, const char *arg) { (void)arg; reconfigure(x); }
static void c_subscribe(struct cmd_ctx *x, const char *arg) { (void)arg; subscribe(x); }
static void c_shutdown(struct cmd_ctx *x, const char *arg) { (void)arg; shutdown_cmd(x); }
static void c_help(struct cmd_ctx *x, const char *arg);
static void c_show_paths_format(struct cmd_ctx *x, const char *arg)
{
	cmd_show_paths_format(x->d, x->c, arg);
}

/*
 * A test aid, with -d only: block the event loop for DUR (at most 60 s), as
 * a handler stuck in the kernel would, while the engine's workers go on.
 * The watchdog pings stop, and clients wait; then all catches up.
 */
static void c_debug_stall(struct cmd_ctx *x, const char *arg)
{
	unsigned int ms;
	struct timespec ts;

	if (!x->d->debug) {
		ctl_error(x->d, x->c, "debug stall needs pathcheckd -d");
		return;
	}
	if (dur_parse(arg, &ms) != DUR_OK || ms > 60000) {
		ctl_error(x->d, x->c, "debug stall takes a duration up to 60s, not '%s'", arg);
		return;
	}
	logmsg(LOG_WARNING, "debug stall: the event loop stops for %u ms", ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	ctl_send(x->d, x->c, "ok\n");
	ctl_reply_end(x->d, x->c);
}

enum cmd_arg { ARG_NONE, ARG_DEV, ARG_FMT };

/*
 * Every command: its one or two fixed words (list is a synonym of show), its
 * argument, whether it has a json form, whether it changes the daemon
 * (privileged), and its line in help.
 */
static const struct command {
	const char *w0, *w1, *w2;
	enum cmd_arg arg;
	bool json, priv;
	void (*fn)(struct cmd_ctx *x, const char *arg);
	const char *usage;
} commands[] = {
	{ "show", "paths", "format", ARG_FMT, false, false, c_show_paths_format,
	  "show paths format FMT" },
	{ "show", "paths", NULL, ARG_NONE, true, false, c_show_paths, "show paths [json]" },
	{ "show", "path", NULL, ARG_DEV, true, false, c_show_path, "show path DEV [json]" },
	{ "show", "status", NULL, ARG_NONE, true, false, c_show_status, "show status [json]" },
	{ "show", "stats", NULL, ARG_NONE, true, false, c_show_stats, "show stats [json]" },
	{ "show", "daemon", NULL, ARG_NONE, false, false, c_show_daemon, "show daemon" },
	{ "show", "metrics", NULL, ARG_NONE, false, false, c_show_metrics, "show metrics" },
	{ "show", "config", NULL, ARG_NONE, true, false, c_show_config, "show config [json]" },
	{ "show", "blacklist", NULL, ARG_NONE, true, false, c_show_blacklist,
	  "show blacklist [json]" },
	{ "check", NULL, NULL, ARG_DEV, true, false, c_check, "check DEV [json]" },
	{ "add", "path", NULL, ARG_DEV, false, true, c_add, "add path DEV" },
	{ "del", "path", NULL, ARG_DEV, false, true, c_del, "del path DEV" },
	{ "remove", "path", NULL, ARG_DEV, false, true, c_del, "remove path DEV" },
	{ "fail", "path", NULL, ARG_DEV, false, true, c_fail, "fail path DEV" },
	{ "reinstate", "path", NULL, ARG_DEV, false, true, c_reinstate, "reinstate path DEV" },
	{ "reconfigure", NULL, NULL, ARG_NONE, false, true, c_reconfigure, "reconfigure" },
	{ "subscribe", NULL, NULL, ARG_NONE, false, false, c_subscribe, "subscribe" },
	{ "shutdown", NULL, NULL, ARG_NONE, false, true, c_shutdown, "shutdown" },
	{ "help", NULL, NULL, ARG_NONE, false, false, c_help, "help" },
	{ "debug", "stall", NULL, ARG_DEV, false, true, c_debug_stall, "debug stall DUR" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void c_help(struct cmd_ctx *x, const char *arg)
{
	(void)arg;
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
	if (c->arg != ARG_NONE && x->n == fixed) {
		ctl_error(x->d, x->c, "%s needs %s (%s)", label,
			  c->arg == ARG_FMT ? "a format" :
			  c->fn == c_debug_stall ? "a duration" : "a path name", c->usage);
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
	c->fn(x, c->arg != ARG_NONE ? x->w[fixed] : NULL);
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
