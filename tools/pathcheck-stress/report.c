/* SPDX-License-Identifier: MIT */
/* The result of a load run: a table or one JSON object. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pathcheck.h"
#include "hist.h"

#include "stress.h"

long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Resident KiB now from an fd opened in advance (--lifecycle may use up
 * the others), or -1. */
long statm_rss_kib(int fd)
{
	char buf[128];
	long pages, rss;
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld", &pages, &rss) != 2)
		return -1;
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Without a file descriptor: --lifecycle may have used them all. */
long peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
}

static const char *mode_name(struct stress *s)
{
	return s->cfg.mode == RUN_SYNC ? "sync" : s->cfg.mode == RUN_SYNC_CB ? "sync-cb" : s->cfg.mode == RUN_BATCH ? "batch" : "async";
}

int report(struct stress *s, double wall, long rss, const struct pc_stats *st, int mismatch)
{
	uint64_t checks = atomic_load(&s->ctr.delivered);
	double cps = wall > 0 ? (double)checks / wall : 0;

	if (s->cfg.json) {
		printf("{\"mode\":\"%s\",\"threads\":%u,\"paths\":%u,\"devices\":%u,"
		       "\"started\":%" PRIu64 ",\"checks\":%" PRIu64 ",\"checks_per_s\":%.0f,"
		       "\"lat_p50_us\":%" PRIu64 ",\"lat_p99_us\":%" PRIu64 ",\"lat_max_us\":%" PRIu64 ","
		       "\"up\":%" PRIu64 ",\"down\":%" PRIu64 ",\"timeouts\":%" PRIu64 ","
		       "\"lost\":%" PRIu64 ",\"wrong\":%" PRIu64 ",\"blocked\":%" PRIu64 ","
		       "\"straddled\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"churned\":%" PRIu64 ","
		       "\"resets\":%" PRIu64 ",\"orphans_reaped\":%" PRIu64 ","
		       "\"groups_created\":%" PRIu64 ",\"groups_destroyed\":%" PRIu64 ","
		       "\"stats_checks\":%" PRIu64 ",\"stats_mismatch\":%d,\"unexpected\":%" PRIu64 ","
		       "\"rss_kib\":%ld,\"wall_s\":%.3f}\n",
		       mode_name(s), s->cfg.threads, s->cfg.npaths, s->cfg.ndevs, (uint64_t)s->ctr.started, checks, cps,
		       hist_quantile_us(&s->hist, 0.5), hist_quantile_us(&s->hist, 0.99), hist_max_us(&s->hist),
		       (uint64_t)s->ctr.up, (uint64_t)s->ctr.down, (uint64_t)s->ctr.timeouts,
		       (uint64_t)s->ctr.lost, (uint64_t)s->ctr.wrong, (uint64_t)s->ctr.blocked,
		       (uint64_t)s->ctr.straddled, (uint64_t)s->ctr.errors, (uint64_t)s->ctr.churned,
		       (uint64_t)s->ctr.resets, st->orphans_reaped, st->groups_created,
		       st->groups_destroyed, st->checks, mismatch, (uint64_t)s->ctr.delivered_freed, rss, wall);
	} else {
		printf("mode %s, %u threads, %u paths on %u devices, %.2f s\n",
		       mode_name(s), s->cfg.threads, s->cfg.npaths, s->cfg.ndevs, wall);
		printf("checks %" PRIu64 " (%.0f/s)  up %" PRIu64 "  down %" PRIu64
		       "  timeouts %" PRIu64 "\n", checks, cps, (uint64_t)s->ctr.up,
		       (uint64_t)s->ctr.down, (uint64_t)s->ctr.timeouts);
		printf("latency p50 %" PRIu64 " us  p99 %" PRIu64 " us  max %" PRIu64 " us\n",
		       hist_quantile_us(&s->hist, 0.5), hist_quantile_us(&s->hist, 0.99), hist_max_us(&s->hist));
		printf("lost %" PRIu64 "  wrong %" PRIu64 "  blocked %" PRIu64
		       "  straddled %" PRIu64 "  errors %" PRIu64 "\n",
		       (uint64_t)s->ctr.lost, (uint64_t)s->ctr.wrong, (uint64_t)s->ctr.blocked,
		       (uint64_t)s->ctr.straddled, (uint64_t)s->ctr.errors);
		printf("churned %" PRIu64 "  resets %" PRIu64 "  orphans reaped %" PRIu64
		       "  groups created %" PRIu64 " destroyed %" PRIu64 "  rss %ld KiB\n",
		       (uint64_t)s->ctr.churned, (uint64_t)s->ctr.resets, st->orphans_reaped,
		       st->groups_created, st->groups_destroyed, rss);
		if (mismatch)
			printf("engine stats disagree: stats.checks %" PRIu64 " vs %" PRIu64 " delivered\n",
			       st->checks, checks);
	}
	return (s->ctr.lost || s->ctr.wrong || mismatch) ? 1 : 0;
}
