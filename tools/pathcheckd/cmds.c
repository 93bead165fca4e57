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
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "sbuf.h"
#include "hist.h"

#include "cmds.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "records.h"

#define MAX_WORDS 8

struct cmd_ctx {
	struct daemon *d;
	struct client *c;
	char *w[MAX_WORDS];
	int n;
	bool json;		/* trailing "json" word, removed from w */
};

/* --- paths --------------------------------------------------------------- */

static void path_json(struct sbuf *b, const struct rec *r)
{
	enum chk_st st;
	char when[40] = "", why[128];

	rec_display(r, &st);
	if (r->last_change_ms)
		fmt_wall(when, sizeof(when), r->last_change_ms);
	sb_printf(b, "{\"dev\":");
	sb_json_str(b, r->name);
	sb_printf(b, ",\"path\":");
	sb_json_str(b, r->dev);
	sb_printf(b, ",\"chk_st\":\"%s\",\"state\":\"%s\",\"reason\":", chk_st_name(st),
		  st == CHK_READY ? "up" : st == CHK_FAULTY || st == CHK_TIMEOUT ? "down" :
		  st == CHK_PENDING ? "pending" : st == CHK_UNOPENED ? "unopened" : "unchecked");
	sb_json_str(b, r->reason ? rec_reason_text(r, why, sizeof(why)) : "none");
	sb_printf(b, ",\"error\":%d,\"checks\":%llu,\"transitions\":%llu,"
		  "\"latency_us\":%llu,\"last_change\":", r->error,
		  (unsigned long long)r->checks, (unsigned long long)r->transitions,
		  (unsigned long long)r->latency_us);
	if (r->last_change_ms)
		sb_json_str(b, when);
	else
		sb_printf(b, "null");
	sb_printf(b, ",\"interval_ms\":%u,\"timeout_ms\":%u}", r->interval_ms, r->timeout_ms);
}

static int name_width(struct daemon *d)
{
	size_t w = 3;

	for (size_t i = 0; i < d->nrecs; i++)
		if (strlen(d->recs[i]->name) > w)
			w = strlen(d->recs[i]->name);
	return (int)(w > 64 ? 64 : w);
}

static void path_row(struct sbuf *b, const struct rec *r, int w)
{
	enum chk_st st;
	char when[40] = "-", why[128];

	rec_display(r, &st);
	if (r->last_change_ms)
		fmt_wall(when, sizeof(when), r->last_change_ms);
	sb_printf(b, "%-*s  %-11s  %8llu  %11llu  %10llu  %-20s  %s\n", w, r->name,
		  chk_st_name(st), (unsigned long long)r->checks,
		  (unsigned long long)r->transitions, (unsigned long long)r->latency_us,
		  when, r->reason ? rec_reason_text(r, why, sizeof(why)) : "-");
}

static void path_header(struct sbuf *b, int w)
{
	sb_printf(b, "%-*s  %-11s  %8s  %11s  %10s  %-20s  %s\n", w, "dev", "chk_st",
		  "checks", "transitions", "latency_us", "last_change", "reason");
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

	if (!r)
		ctl_error(x->d, x->c, "no such path '%s'", what);
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
		int w = (int)strlen(r->name) < 3 ? 3 : (int)strlen(r->name);

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
		{ "reconfigure_requests", k->hold.reconfigure_requests },
		{ "reconfigures_merged", k->hold.reconfigures_merged },
		{ "unopened", limits_unopened(d) },
		{ "open_retries", k->hold.open_retries },
		{ "paths_added_hotplug", k->hold.added_hotplug },
		{ "paths_removed_device_gone", k->hold.removed[RM_DEVICE_GONE] },
		{ "paths_removed_config", k->hold.removed[RM_CONFIG] },
		{ "paths_removed_command", k->hold.removed[RM_COMMAND] },
		{ "uevents", k->hold.uevents }, { "uevents_lost", k->hold.uevents_lost },
		{ "log_lines_suppressed", k->hold.log_suppressed },
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
					     CHK_PENDING, CHK_UNDEF, CHK_UNOPENED };
	uint64_t count[CHK_NSTATES];
	struct sbuf *b = &x->c->out;

	count_states(x->d, count);
	if (x->json) {
		sb_printf(b, "{\"paths\":%zu", x->d->nrecs);
		for (size_t i = 0; i < CHK_NSTATES; i++)
			sb_printf(b, ",\"%s\":%llu", chk_st_name(order[i]),
				  (unsigned long long)count[order[i]]);
		sb_printf(b, "}\n");
	} else {
		sb_printf(b, "path checker states:\n");
		for (size_t i = 0; i < CHK_NSTATES; i++)
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
	char why[128];

	if (json) {
		path_json(&c->out, r);
		sb_append(&c->out, "\n", 1);
	} else if (r->st == CHK_READY) {
		ctl_send(d, c, "%s: ready (%llu us)\n", r->name, (unsigned long long)r->latency_us);
	} else {
		ctl_send(d, c, "%s: %s (%s)\n", r->name, chk_st_name(r->st),
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

	if (!r)
		return;
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
	interval = rule && rule->interval_ms ? rule->interval_ms : x->d->cfg.interval_ms;
	timeout = rule && rule->timeout_ms ? rule->timeout_ms : x->d->cfg.timeout_ms;
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

static void help(struct cmd_ctx *x)
{
	ctl_send(x->d, x->c,
		 "commands (list is a synonym of show; json: one JSON object):\n"
		 "  show paths [json]\n  show path DEV [json]\n  show stats [json]\n"
		 "  show status [json]\n  show daemon\n  show metrics\n  check DEV [json]\n"
		 "  add path DEV\n  del path DEV (or remove path DEV)\n  reconfigure\n  subscribe\n  shutdown\n");
	ctl_reply_end(x->d, x->c);
}

/* --- dispatch ------------------------------------------------------------------ */

static bool is(const struct cmd_ctx *x, int i, const char *word)
{
	return i < x->n && !strcmp(x->w[i], word);
}

static bool privileged(struct cmd_ctx *x)
{
	if (x->c->privileged)
		return true;
	ctl_error(x->d, x->c, "permission denied: '%s' needs root or uid %u",
		  x->w[0], (unsigned int)geteuid());
	return false;
}

static void run_show(struct cmd_ctx *x)
{
	if (x->n == 2 && is(x, 1, "paths"))
		show_paths(x);
	else if (x->n == 3 && is(x, 1, "path"))
		show_path(x, x->w[2]);
	else if (x->n == 2 && is(x, 1, "stats"))
		show_stats(x);
	else if (x->n == 2 && is(x, 1, "status"))
		show_status(x);
	else if (x->n == 2 && is(x, 1, "daemon") && !x->json)
		show_daemon(x);
	else if (x->n == 2 && is(x, 1, "metrics") && !x->json)
		show_metrics(x);
	else
		ctl_error(x->d, x->c, "unknown command '%s%s%s' (try help)", x->w[0],
			  x->n > 1 ? " " : "", x->n > 1 ? x->w[1] : "");
}

static void run_words(struct cmd_ctx *x)
{
	if (is(x, 0, "show") || is(x, 0, "list"))
		run_show(x);
	else if (is(x, 0, "check") && x->n == 2)
		check_path(x, x->w[1]);
	else if (x->json)
		ctl_error(x->d, x->c, "'%s' has no json form", x->w[0]);
	else if (is(x, 0, "help") && x->n == 1)
		help(x);
	else if (is(x, 0, "subscribe") && x->n == 1)
		subscribe(x);
	else if ((is(x, 0, "add") || is(x, 0, "del") || is(x, 0, "remove")) &&
		 is(x, 1, "path") && x->n == 3) {
		if (!privileged(x))
			return;
		if (is(x, 0, "add"))
			add_path(x, x->w[2]);
		else
			del_path(x, x->w[2]);
	} else if (is(x, 0, "reconfigure") && x->n == 1) {
		if (privileged(x))
			reconfigure(x);
	} else if (is(x, 0, "shutdown") && x->n == 1) {
		if (privileged(x))
			shutdown_cmd(x);
	} else {
		ctl_error(x->d, x->c, "unknown command '%s' (try help)", x->w[0]);
	}
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

void cmd_run(struct daemon *d, struct client *c, char *line)
{
	struct cmd_ctx x = { .d = d, .c = c };
	char *save = NULL, *tok;

	d->ctr.commands++;
	if (!printable(line)) {
		ctl_error(d, c, "control characters in command");
		return;
	}
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (x.n == MAX_WORDS) {
			ctl_error(d, c, "too many words (try help)");
			return;
		}
		x.w[x.n++] = tok;
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
