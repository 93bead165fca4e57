/* SPDX-License-Identifier: MIT */
/*
 * The show commands' replies: show paths, show path, show stats, show
 * status, show daemon, show metrics (show config and show blacklist:
 * showconfig.c; show paths format: format.c).  Main thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sbuf.h"
#include "hist.h"

#include "cmd_path.h"
#include "cmd_show.h"
#include "ctl.h"
#include "daemon.h"
#include "metrics.h"
#include "records.h"
#include "escape.h"
#include "format.h"
#include "hold.h"
#include "cmds.h"

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

void cmd_path_json(struct sbuf *b, const struct rec *r)
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
		  st == CHK_HELD ? "held" : "unchecked");
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
	sb_printf(b, ",\"marginal\":%s,\"marginal_reason\":", rec_marginal(r) ? "true" : "false");
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

/* The marginal column: its reasons, or "-". */
static const char *marginal_word(const struct rec *r)
{
	if (r->fl.flapping && r->fl.slow)
		return "flapping,slow";
	return rec_marginal(r) ? rec_marginal_reason(r) : "-";
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
	sb_printf(b, "%*s  %-8s  %-11s  %-8s  %8llu  %11llu  %10llu  %-20s  %-10s  %s\n",
		  w - (int)text_esc_len(r->name), "", fmt_devt(r, devt, sizeof(devt)),
		  chk_st_name(st), marginal_word(r), (unsigned long long)r->checks,
		  (unsigned long long)r->transitions, (unsigned long long)r->latency_us,
		  when, fmt_next_check(r, next, sizeof(next)),
		  r->reason ? rec_reason_text(r, why, sizeof(why)) : "-");
}

static void path_header(struct sbuf *b, int w)
{
	sb_printf(b, "%-*s  %-8s  %-11s  %-8s  %8s  %11s  %10s  %-20s  %-10s  %s\n", w, "dev",
		  "dev_t", "chk_st", "marginal", "checks", "transitions", "latency_us", "last_change", "next_check",
		  "reason");
}

void cmd_show_paths(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;
	struct sbuf *b = &c->out;
	int w = name_width(d);

	recs_sort(d);
	if (json) {
		sb_printf(b, "{\"paths\":[");
		for (size_t i = 0; i < d->nrecs; i++) {
			if (i)
				sb_append(b, ",", 1);
			cmd_path_json(b, d->recs[i]);
		}
		sb_printf(b, "]}\n");
	} else {
		path_header(b, w);
		for (size_t i = 0; i < d->nrecs; i++)
			path_row(b, d->recs[i], w);
	}
	ctl_reply_end(d, c);
}

void cmd_show_path(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;
	struct rec *r = cmd_need_path(x);
	struct sbuf *b = &c->out;

	if (!r)
		return;
	if (json) {
		cmd_path_json(b, r);
		sb_append(b, "\n", 1);
	} else {
		int w = text_esc_len(r->name) < 3 ? 3 : (int)text_esc_len(r->name);

		path_header(b, w);
		path_row(b, r, w);
	}
	ctl_reply_end(d, c);
}

/* --- stats, status, daemon ----------------------------------------------- */

void cmd_show_stats(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;

	metrics_stats(d, &c->out, json);
	ctl_reply_end(d, c);
}

void cmd_show_status(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;

	static const enum chk_st order[] = { CHK_READY, CHK_FAULTY, CHK_TIMEOUT,
					     CHK_PENDING, CHK_UNDEF, CHK_UNOPENED, CHK_HELD };
	const size_t norder = sizeof(order) / sizeof(order[0]);
	uint64_t count[CHK_NSTATES], marginal;
	struct sbuf *b = &c->out;

	/* The states add up to the paths; marginal paths are counted apart. */
	recs_count_states(d, count, &marginal);
	if (json) {
		sb_printf(b, "{\"paths\":%zu", d->nrecs);
		for (size_t i = 0; i < norder; i++)
			sb_printf(b, ",\"%s\":%llu", chk_st_name(order[i]),
				  (unsigned long long)count[order[i]]);
		sb_printf(b, ",\"marginal\":%llu}\n", (unsigned long long)marginal);
	} else {
		sb_printf(b, "path checker states:\n");
		for (size_t i = 0; i < norder; i++)
			sb_printf(b, "%-20s %llu\n", chk_st_name(order[i]),
				  (unsigned long long)count[order[i]]);
		sb_printf(b, "paths: %zu\nmarginal paths: %llu\n", d->nrecs,
			  (unsigned long long)marginal);
	}
	ctl_reply_end(d, c);
}

void cmd_show_daemon(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;

	ctl_send(d, c, "pid %d %s\n", (int)getpid(), d->stopping ? "shutdown" : "running");
	ctl_send(d, c, "uptime %llu s\nconfig %s\nsocket %s\npaths %zu\nclients %zu\n",
		 (unsigned long long)((now_ms() - d->start_ms) / 1000), d->config_file,
		 d->socket_path, d->nrecs, d->nclients);
	ctl_send(d, c, "version %s\n", PC_VERSION);
	ctl_reply_end(d, c);
}

void cmd_show_metrics(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;

	metrics_text(d, &c->out);
	ctl_reply_end(d, c);
}
