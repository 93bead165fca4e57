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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"
#include "sbuf.h"

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "records.h"

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

static void head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
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

static void paths_by_state(struct daemon *d, struct sbuf *b)
{
	uint64_t count[CHK_NSTATES] = { 0 };

	for (size_t i = 0; i < d->nrecs; i++) {
		enum chk_st st;

		rec_display(d->recs[i], &st);
		count[st]++;
	}
	head(b, "pathcheck_paths", "gauge", "Paths by checker state (multipathd chk_st words).");
	for (int st = CHK_UNDEF; st < CHK_NSTATES; st++)
		sb_printf(b, "pathcheck_paths{state=\"%s\"} %llu\n",
			  chk_st_name((enum chk_st)st), (unsigned long long)count[st]);
	/* both reasons count: a path can be flapping and slow */
	uint64_t flapping = 0, slow = 0;

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
	struct pc_stats s;
	const struct counters *k = &d->ctr;

	stats_fill(d, &s);
	liveness(d, b);
	paths_by_state(d, b);
	one(b, "pathcheck_path_transitions_total", "counter",
	    "Path state changes between up and down (first results included).", k->transitions);
	head(b, "pathcheck_checks_total", "counter", "Checks finished, by result.");
	sb_printf(b, "pathcheck_checks_total{result=\"up\"} %llu\n",
		  (unsigned long long)s.up);
	sb_printf(b, "pathcheck_checks_total{result=\"down\"} %llu\n",
		  (unsigned long long)s.down);
	one(b, "pathcheck_check_timeouts_total", "counter",
	    "Checks that reached their deadline.", s.timeouts);
	one(b, "pathcheck_checks_busy_total", "counter",
	    "Scheduled checks not started: the previous read was still in the kernel.",
	    k->checks_busy);
	one(b, "pathcheck_schedule_slips_total", "counter",
	    "Times a path's check ran a whole interval late.", k->schedule_slips);
	histogram(b, "pathcheck_check_latency_seconds",
		  "Time from submitting a read to its answer (timeouts: to the deadline).",
		  &d->latency);
	histogram(b, "pathcheck_schedule_lag_seconds",
		  "How late a scheduled check was started.", &d->lag);
	one(b, "pathcheck_aio_groups", "gauge", "Shared aio contexts alive.", s.groups);
	one(b, "pathcheck_aio_groups_created_total", "counter", "Aio groups created.",
	    s.groups_created);
	one(b, "pathcheck_aio_groups_destroyed_total", "counter", "Aio groups destroyed.",
	    s.groups_destroyed);
	one(b, "pathcheck_inflight_reads", "gauge", "Reads now in the kernel.", s.inflight);
	one(b, "pathcheck_orphan_reads", "gauge",
	    "Reads whose path was removed, still in the kernel.", s.orphans);
	one(b, "pathcheck_late_completions_total", "counter",
	    "Answers that came after their check's deadline.", s.late_completions);
	one(b, "pathcheck_control_clients", "gauge", "Control-socket clients connected.",
	    d->nclients);
	one(b, "pathcheck_control_clients_dropped_total", "counter",
	    "Clients dropped for not reading or overlong input.", k->clients_dropped);
	one(b, "pathcheck_reconfigures_total", "counter", "Successful reconfigures.",
	    k->reconfigures);
	one(b, "pathcheck_reconfigures_failed_total", "counter",
	    "Reconfigures refused (the old configuration kept) or half applied.",
	    k->reconfigure_errors);
	one(b, "pathcheck_path_open_failures_total", "counter",
	    "Paths that could not be opened (a path counts once until it opens; its retries do not count).",
	    k->path_open_failures);
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
