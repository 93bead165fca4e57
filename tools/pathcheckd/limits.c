/* SPDX-License-Identifier: MIT */
/*
 * The machine's limits.  Every path holds a descriptor and an aio slot,
 * so a large config can run into RLIMIT_NOFILE, fs.file-max or
 * fs.aio-max-nr.  Then:
 *  - the paths that did not open are "unopened" (CHK_UNOPENED), with the
 *    errno as reason: the host's limit, not dead storage;
 *  - one summary line a batch says how many, why, and what to raise to
 *    what (never one line per path);
 *  - they are retried by themselves with a backoff (1 s doubling to 8 s),
 *    so raising the limit heals them without a reconfigure;
 *  - LIMITS_FD_RESERVE descriptors are never given to paths, so the
 *    control socket, its clients, the metrics file and the uevent socket
 *    always get one.
 * Long passes run in slices between turns of the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "limits.h"
#include "reconf.h"


static bool is_limit(int err)
{
	return err == EMFILE || err == ENFILE || err == EAGAIN || err == ENOMEM;
}

/* At start: the soft descriptor limit goes up to the hard one. */
void limits_init(struct daemon *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	d->host.lim.nofile_start = (unsigned long long)rl.rlim_cur;
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		logmsg(LOG_WARNING, "cannot raise the descriptor limit to %llu: %m",
		       (unsigned long long)rl.rlim_max);
	else
		logmsg(LOG_INFO, "descriptor limit raised from %llu to the hard limit %llu",
		       d->host.lim.nofile_start, (unsigned long long)rl.rlim_max);
}

/*
 * Descriptors a path may still take: the kernel hands out the lowest free
 * number and refuses one at or above the soft limit, so the lowest free
 * number tells exactly how many are left.
 */
static long fd_room(struct daemon *d)
{
	struct rlimit rl;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return LONG_MAX;
	fd = fcntl(d->epfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	close(fd);
	return (long)rl.rlim_cur - fd - LIMITS_FD_RESERVE;
}

static void open_failed(struct daemon *d, struct rec *r, int err)
{
	unsigned int b = r->backoff_ms;

	r->st = CHK_UNOPENED;
	r->reason = REASON_OPEN_FAILED;
	r->error = err;
	r->backoff_ms = !b ? LIMITS_BACKOFF_MIN_MS :
			b >= LIMITS_BACKOFF_MAX_MS / 2 ? LIMITS_BACKOFF_MAX_MS : 2 * b;
	r->retry_ms = now_ms() + r->backoff_ms;
	if (r->open_err_logged == err)
		return;		/* said already */
	r->open_err_logged = err;
	if (is_limit(err))
		d->host.lim.report_due = true;
	else
		logmsg(LOG_ERR, "%s: cannot open %s: %s", r->name, r->dev, strerror(err));
}

/*
 * Open r's path (r->path NULL), or leave it unopened with the reason.
 * Two descriptors of room: its own and a new aio group's eventfd.
 */
int limits_open(struct daemon *d, struct rec *r)
{
	int ret = -EMFILE;

	if (fd_room(d) >= 2) {
		log_engine_demote(true);
		ret = pc_path_open(d->engine, r->dev, r, &r->path);
		log_engine_demote(false);
		if (ret == 0)
			ret = pc_path_set_timeout(r->path, r->timeout_ms);
		if (ret && r->path) {
			pc_path_free(r->path);
			r->path = NULL;
		}
	}
	if (ret) {
		/* A path that could not be opened counts once, not each retry. */
		if (r->st != CHK_UNOPENED)
			d->ctr.path_open_failures++;
		open_failed(d, r, -ret);
		return ret;
	}
	if (r->st == CHK_UNOPENED) {
		r->st = CHK_UNDEF;
		r->reason = 0;
		r->error = 0;
	}
	r->backoff_ms = 0;
	r->open_err_logged = 0;
	return 0;
}

size_t limits_unopened(struct daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nrecs; i++)
		n += d->recs[i]->st == CHK_UNOPENED;
	return n;
}

static size_t count_err(struct daemon *d, int err)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nrecs; i++)
		n += d->recs[i]->st == CHK_UNOPENED && d->recs[i]->error == err;
	return n;
}

static unsigned long long read_ull(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void report_nofile(struct daemon *d, size_t n)
{
	unsigned int gs = d->started.group_size ? d->started.group_size : PC_DEFAULT_GROUP_SIZE;
	struct rlimit rl;
	unsigned long long need;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	/* one each, one more per aio group they start */
	need = (unsigned long long)rl.rlim_cur + n + (n + gs - 1) / gs;
	logmsg(LOG_ERR, "%zu paths not opened: too many open files (EMFILE): the descriptor "
	       "limit is %llu (hard %llu, %u kept in reserve); raise it to at least %llu "
	       "(LimitNOFILE=%llu in the unit, or ulimit -n)%s; they are retried by themselves",
	       n, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
	       LIMITS_FD_RESERVE, need, need,
	       need > (unsigned long long)rl.rlim_max ? ", the hard limit too" : "");
}

/*
 * fs.aio-nr counts the slots of every io_setup on the machine (ours
 * included), and a new group takes group_size of them: the unopened paths
 * need ceil(n / group_size) more groups.  A new group is only made when
 * every group is full, so none of them fits in a group we hold.
 */
static void report_aio(struct daemon *d, size_t n)
{
	unsigned long long gs = d->started.group_size ? d->started.group_size : PC_DEFAULT_GROUP_SIZE;
	unsigned long long max = read_ull("/proc/sys/fs/aio-max-nr");
	unsigned long long nr = read_ull("/proc/sys/fs/aio-nr");
	unsigned long long need = nr + (n + gs - 1) / gs * gs;

	logmsg(LOG_ERR, "%zu paths not opened: out of aio slots (EAGAIN): fs.aio-max-nr is %llu, "
	       "fs.aio-nr %llu; raise it to at least %llu (sysctl -w fs.aio-max-nr=%llu) or "
	       "lower group_size (%llu); they are retried by themselves",
	       n, max, nr, need, need, gs);
}

/* One line for each limit that paths newly ran into since the last one. */
void limits_report(struct daemon *d)
{
	size_t n;

	if (!d->host.lim.report_due)
		return;
	d->host.lim.report_due = false;
	if ((n = count_err(d, EMFILE)))
		report_nofile(d, n);
	if ((n = count_err(d, EAGAIN)))
		report_aio(d, n);
	if ((n = count_err(d, ENFILE)))
		logmsg(LOG_ERR, "%zu paths not opened: too many open files in the system (ENFILE): "
		       "fs.file-max is %llu, fs.file-nr %llu; raise fs.file-max by at least %zu; "
		       "they are retried by themselves", n, read_ull("/proc/sys/fs/file-max"),
		       read_ull("/proc/sys/fs/file-nr"), n);
	if ((n = count_err(d, ENOMEM)))
		logmsg(LOG_ERR, "%zu paths not opened: out of memory (ENOMEM); "
		       "they are retried by themselves", n);
}

/*
 * Retry the unopened paths whose backoff has passed.  The first failure on a limit ends the tries of this pass: the
 * others would fail alike, and only wait their next turn.  A pass longer
 * than LOOP_SLICE_MS goes on at the next loop turn.
 */
void limits_retry(struct daemon *d, uint64_t now)
{
	size_t healed = 0, left = 0;
	uint64_t t0 = now_ms();
	int limit_err = 0;

	d->host.lim.retry_more = false;
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *r = d->recs[i];

		if (r->st != CHK_UNOPENED || r->path)
			continue;
		if (r->retry_ms > now) {
			left++;
			continue;
		}
		if (limit_err && r->error == limit_err) {
			open_failed(d, r, limit_err);	/* the next backoff step */
			left++;
			continue;
		}
		if (!(healed & 31) && now_ms() - t0 > LOOP_SLICE_MS) {
			d->host.lim.retry_more = true;
			left++;
			continue;
		}
		d->ctr.host.open_retries++;
		if (limits_open(d, r) == 0) {
			healed++;
		} else {
			left++;
			if (is_limit(r->error))
				limit_err = r->error;
		}
	}
	if (healed)
		logmsg(LOG_NOTICE, "%zu unopened paths opened on retry, %zu%s still unopened",
		       healed, left, d->host.lim.retry_more ? " or more" : "");
	if (!d->host.lim.retry_more && !reconf_busy(d))
		limits_report(d);
}

/* Unopened paths by reason: pathcheck_paths_unopened{reason="EMFILE"}. */
void limits_metrics(struct daemon *d, struct sbuf *b)
{
	static const int errs[] = { EMFILE, ENFILE, EAGAIN, ENOMEM, ENOENT, EACCES };
	size_t other = limits_unopened(d);

	/* A family with computed series, so not in the counter table (metrics.c). */
	sb_printf(b, "# HELP pathcheck_paths_unopened Configured paths that could not be opened, "
		  "by errno.\n# TYPE pathcheck_paths_unopened gauge\n");
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		size_t n = count_err(d, errs[i]);

		other -= n;
		sb_printf(b, "pathcheck_paths_unopened{reason=\"%s\"} %zu\n",
			  strerrorname_np(errs[i]), n);
	}
	sb_printf(b, "pathcheck_paths_unopened{reason=\"other\"} %zu\n", other);
}
