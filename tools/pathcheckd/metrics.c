/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (format 0.0.4): `show metrics`, and a file
 * rewritten every interval for node_exporter's textfile collector, written
 * to a temporary name and renamed, so readers never see half a file.
 * At a clean stop the file is written once more with pathcheck_daemon_up 0;
 * after a crash its pathcheck_metrics_last_write_timestamp_seconds ages, so
 * a stale file is visible either way (contrib/prometheus alerts on both).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hist.h"
#include "sbuf.h"

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "hotplug.h"
#include "limits.h"

void stats_fill(struct daemon *d, struct pc_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (d->engine)
		pc_engine_stats(d->engine, st);
}

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * Everything the counter table reads, taken once per reply so that show
 * stats and a scrape are each one consistent snapshot.
 */
struct snap {
	struct pc_stats s;		/* the engine's */
	struct counters k;		/* the daemon's */
	uint64_t records, unopened, clients, subscribers, uptime_s;
	uint64_t lag_p50, lag_p99, lag_max;
};

#define S(f)	offsetof(struct snap, f)

/*
 * The counter table: each row one number, its `show stats` key (NULL:
 * metrics only), its Prometheus family (NULL: show stats only) with its
 * type and help, and a label when the family has several series (its rows
 * are consecutive).  show stats, show metrics and the metrics file are
 * made from it; tests/daemon_metrics_doc checks every family against
 * pathcheckd(8).  The families with computed series (paths by state,
 * histograms, unopened by errno, liveness) are written by their own
 * functions below.
 */
struct counter_row {
	const char *key;
	const char *metric;
	const char *type;
	const char *label;
	const char *help;
	size_t off;			/* a uint64_t in struct snap */
};

static const struct counter_row counters[] = {
	{ "paths", NULL, NULL, NULL, NULL, S(s.paths) },
	{ "groups", "pathcheck_aio_groups", "gauge", NULL, "Shared aio contexts alive.",
	  S(s.groups) },
	{ "inflight", "pathcheck_inflight_reads", "gauge", NULL, "Reads now in the kernel.",
	  S(s.inflight) },
	{ "orphans", "pathcheck_orphan_reads", "gauge", NULL,
	  "Reads whose path was removed, still in the kernel.", S(s.orphans) },
	{ "checks", NULL, NULL, NULL, NULL, S(s.checks) },
	{ "up", "pathcheck_checks_total", "counter", "result=\"up\"",
	  "Checks finished, by result.", S(s.up) },
	{ "down", "pathcheck_checks_total", "counter", "result=\"down\"", NULL, S(s.down) },
	{ "timeouts", "pathcheck_check_timeouts_total", "counter", NULL,
	  "Checks that reached their deadline.", S(s.timeouts) },
	{ "groups_created", "pathcheck_aio_groups_created_total", "counter", NULL,
	  "Aio groups created.", S(s.groups_created) },
	{ "groups_destroyed", "pathcheck_aio_groups_destroyed_total", "counter", NULL,
	  "Aio groups destroyed.", S(s.groups_destroyed) },
	{ "orphans_reaped", NULL, NULL, NULL, NULL, S(s.orphans_reaped) },
	{ "late_completions", "pathcheck_late_completions_total", "counter", NULL,
	  "Answers that came after their check's deadline.", S(s.late_completions) },
	{ "aio_slots", NULL, NULL, NULL, NULL, S(s.aio_slots) },
	{ "records", NULL, NULL, NULL, NULL, S(records) },
	{ "transitions", "pathcheck_path_transitions_total", "counter", NULL,
	  "Path state changes between up and down (first results included).",
	  S(k.transitions) },
	{ "checks_started", NULL, NULL, NULL, NULL, S(k.checks_started) },
	{ "checks_busy", "pathcheck_checks_busy_total", "counter", NULL,
	  "Scheduled checks not started: the previous read was still in the kernel.",
	  S(k.checks_busy) },
	{ "results", NULL, NULL, NULL, NULL, S(k.results) },
	{ "results_lost", NULL, NULL, NULL, NULL, S(k.results_lost) },
	{ "schedule_slips", "pathcheck_schedule_slips_total", "counter", NULL,
	  "Times a path's check ran a whole interval late.", S(k.schedule_slips) },
	{ "schedule_lag_p50_us", NULL, NULL, NULL, NULL, S(lag_p50) },
	{ "schedule_lag_p99_us", NULL, NULL, NULL, NULL, S(lag_p99) },
	{ "schedule_lag_max_us", NULL, NULL, NULL, NULL, S(lag_max) },
	{ "clients", "pathcheck_control_clients", "gauge", NULL,
	  "Control-socket clients connected.", S(clients) },
	{ "subscribers", NULL, NULL, NULL, NULL, S(subscribers) },
	{ "clients_accepted", NULL, NULL, NULL, NULL, S(k.clients_accepted) },
	{ "clients_dropped", "pathcheck_control_clients_dropped_total", "counter", NULL,
	  "Clients dropped for not reading or overlong input.", S(k.clients_dropped) },
	{ "commands", NULL, NULL, NULL, NULL, S(k.commands) },
	{ "command_errors", NULL, NULL, NULL, NULL, S(k.command_errors) },
	{ "events_sent", NULL, NULL, NULL, NULL, S(k.events_sent) },
	{ "reconfigures", "pathcheck_reconfigures_total", "counter", NULL,
	  "Successful reconfigures.", S(k.reconfigures) },
	{ "reconfigure_errors", "pathcheck_reconfigures_failed_total", "counter", NULL,
	  "Reconfigures refused (the old configuration kept) or half applied.",
	  S(k.reconfigure_errors) },
	{ "reconfigure_requests", NULL, NULL, NULL, NULL, S(k.host.reconfigure_requests) },
	{ "reconfigures_merged", NULL, NULL, NULL, NULL, S(k.host.reconfigures_merged) },
	{ "unopened", NULL, NULL, NULL, NULL, S(unopened) },
	{ "open_retries", NULL, NULL, NULL, NULL, S(k.host.open_retries) },
	{ NULL, "pathcheck_path_open_failures_total", "counter", NULL,
	  "Paths that could not be opened (a path counts once until it opens; its retries do not count).",
	  S(k.path_open_failures) },
	{ "paths_added_hotplug", NULL, NULL, NULL, NULL, S(k.host.added_hotplug) },
	{ "paths_removed_device_gone", "pathcheck_paths_removed_total", "counter",
	  "cause=\"device_gone\"", "Paths removed, by cause.", S(k.host.removed[RM_DEVICE_GONE]) },
	{ "paths_removed_config", "pathcheck_paths_removed_total", "counter",
	  "cause=\"config\"", NULL, S(k.host.removed[RM_CONFIG]) },
	{ "paths_removed_command", "pathcheck_paths_removed_total", "counter",
	  "cause=\"command\"", NULL, S(k.host.removed[RM_COMMAND]) },
	{ "uevents", NULL, NULL, NULL, NULL, S(k.host.uevents) },
	{ "uevents_lost", NULL, NULL, NULL, NULL, S(k.host.uevents_lost) },
	{ "log_lines_suppressed", "pathcheck_log_lines_suppressed_total", "counter", NULL,
	  "Per-path log lines over the log budget, counted in the summaries instead.",
	  S(k.host.log_suppressed) },
	{ "uptime_s", NULL, NULL, NULL, NULL, S(uptime_s) },
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

static void snap_take(struct daemon *d, struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	stats_fill(d, &sn->s);
	sn->k = d->ctr;
	sn->records = d->nrecs;
	sn->unopened = limits_unopened(d);
	sn->clients = d->nclients;
	sn->subscribers = d->subscribers;
	sn->uptime_s = (now_ms() - d->start_ms) / 1000;
	sn->lag_p50 = hist_quantile_us(&d->lag, 0.5);
	sn->lag_p99 = hist_quantile_us(&d->lag, 0.99);
	sn->lag_max = hist_max_us(&d->lag);
}

static uint64_t get(const struct snap *sn, const struct counter_row *row)
{
	uint64_t v;

	memcpy(&v, (const char *)sn + row->off, sizeof(v));
	return v;
}

void metrics_stats(struct daemon *d, struct sbuf *b, bool json)
{
	struct snap sn;
	bool first = true;

	snap_take(d, &sn);
	if (json)
		sb_append(b, "{", 1);
	for (size_t i = 0; i < NCOUNTERS; i++) {
		const struct counter_row *row = &counters[i];

		if (!row->key)
			continue;
		if (json)
			sb_printf(b, "%s\"%s\":%llu", first ? "" : ",", row->key,
				  (unsigned long long)get(&sn, row));
		else
			sb_printf(b, "%-20s %llu\n", row->key, (unsigned long long)get(&sn, row));
		first = false;
	}
	if (json)
		sb_append(b, "}\n", 2);
}

static void head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counters_text(const struct snap *sn, struct sbuf *b)
{
	const char *family = NULL;

	for (size_t i = 0; i < NCOUNTERS; i++) {
		const struct counter_row *row = &counters[i];

		if (!row->metric)
			continue;
		/* a labelled family's rows are consecutive: one HELP and TYPE */
		if (!family || strcmp(family, row->metric))
			head(b, row->metric, row->type, row->help);
		family = row->metric;
		if (row->label)
			sb_printf(b, "%s{%s} %llu\n", row->metric, row->label,
				  (unsigned long long)get(sn, row));
		else
			sb_printf(b, "%s %llu\n", row->metric, (unsigned long long)get(sn, row));
	}
}

static void one(struct sbuf *b, const char *name, const char *type,
		const char *help, uint64_t v)
{
	head(b, name, type, help);
	sb_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void histogram(struct sbuf *b, const char *name, const char *help,
		      const struct hist *h)
{
	uint64_t cum = 0;

	head(b, name, "histogram", help);
	for (size_t i = 0; i < h->scale->n; i++) {
		cum += hist_bucket(h, i);
		if (i == h->scale->n - 1)
			sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				  (unsigned long long)cum);
		else
			sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
				  (double)h->scale->le_us[i] / 1e6, (unsigned long long)cum);
	}
	sb_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, (double)hist_sum_us(h) / 1e6,
		  name, (unsigned long long)hist_count(h));
}

/* By checker state as it is, and marginal apart: a marginal path that is
 * down counts as down. */
static void paths_by_state(struct daemon *d, struct sbuf *b)
{
	uint64_t count[CHK_NSTATES], marginal, flapping = 0, slow = 0;

	recs_count_states(d, count, &marginal);
	head(b, "pathcheck_paths", "gauge", "Paths by checker state (multipathd chk_st words).");
	for (int st = CHK_UNDEF; st < CHK_NSTATES; st++)
		sb_printf(b, "pathcheck_paths{state=\"%s\"} %llu\n",
			  chk_st_name((enum chk_st)st), (unsigned long long)count[st]);
	one(b, "pathcheck_marginal_paths", "gauge",
	    "Marginal paths (flapping, slow or both), whatever their checker state.", marginal);
	/* both reasons count: a path can be flapping and slow */
	for (size_t i = 0; i < d->nrecs; i++) {
		flapping += d->recs[i]->fl.flapping;
		slow += d->recs[i]->fl.slow;
	}
	head(b, "pathcheck_paths_marginal", "gauge", "Marginal paths by reason (a path may have both).");
	sb_printf(b, "pathcheck_paths_marginal{reason=\"flapping\"} %llu\n"
		  "pathcheck_paths_marginal{reason=\"slow\"} %llu\n",
		  (unsigned long long)flapping, (unsigned long long)slow);
}

static void liveness(struct daemon *d, struct sbuf *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	one(b, "pathcheck_daemon_up", "gauge",
	    "1 while pathcheckd runs; 0 in the textfile it writes at a clean stop.",
	    !d->stopping);
	head(b, "pathcheck_metrics_last_write_timestamp_seconds", "gauge",
	     "Unix time these metrics were written (the textfile: its last rewrite).");
	sb_printf(b, "pathcheck_metrics_last_write_timestamp_seconds %lld.%03ld\n",
		  (long long)ts.tv_sec, ts.tv_nsec / 1000000);
}

void metrics_text(struct daemon *d, struct sbuf *b)
{
	struct snap sn;

	snap_take(d, &sn);
	liveness(d, b);
	paths_by_state(d, b);
	counters_text(&sn, b);
	histogram(b, "pathcheck_check_latency_seconds",
		  "Time from submitting a read to its answer (timeouts: to the deadline).",
		  &d->latency);
	histogram(b, "pathcheck_schedule_lag_seconds",
		  "How late a scheduled check was started.", &d->lag);
	limits_metrics(d, b);
	one(b, "pathcheck_resident_memory_bytes", "gauge", "Resident memory of the daemon.",
	    rss_bytes());
}

/* Write the metrics file; an error is logged once until it changes. */
int metrics_write_file(struct daemon *d)
{
	static int last_err;
	struct sbuf b = { 0 };
	char tmp[4200];
	int fd, err = 0;

	if (!d->metrics_file)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->metrics_file);
	metrics_text(d, &b);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || b.oom) {
		err = fd < 0 ? errno : ENOMEM;
	} else {
		size_t off = 0;

		while (off < b.len && !err) {
			ssize_t n = write(fd, b.p + off, b.len - off);

			if (n < 0 && errno != EINTR)
				err = errno;
			else if (n > 0)
				off += (size_t)n;
		}
		if (close(fd) && !err)
			err = errno;
		if (!err && rename(tmp, d->metrics_file))
			err = errno;
		if (err)
			unlink(tmp);
	}
	sb_free(&b);
	if (err && err != last_err)
		logmsg(LOG_ERR, "metrics file %s: %s", d->metrics_file, strerror(err));
	last_err = err;
	return -err;
}
