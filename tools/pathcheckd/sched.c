/* SPDX-License-Identifier: MIT */
/*
 * The schedule: a min-heap of records on their due time.  Each path is
 * checked every interval_ms.  A path's first check is placed at a point of
 * its first interval derived from a hash of its device path, so that 100,000 paths
 * spread evenly over the interval instead of all submitting at once, and
 * the spread survives restarts.  Due paths are started in batches with
 * pc_check_many(), one io_submit per aio group.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hist.h"

#include "daemon.h"
#include "log.h"
#include "sched.h"

#define BATCH_MAX 4096

static bool before(const struct rec *a, const struct rec *b)
{
	return a->due_ms < b->due_ms;
}

static void heap_set(struct daemon *d, size_t i, struct rec *r)
{
	d->heap[i] = r;
	r->heap_idx = i;
}

static void sift_up(struct daemon *d, size_t i)
{
	struct rec *r = d->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(r, d->heap[parent]))
			break;
		heap_set(d, i, d->heap[parent]);
		i = parent;
	}
	heap_set(d, i, r);
}

static void sift_down(struct daemon *d, size_t i)
{
	struct rec *r = d->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= d->nheap)
			break;
		if (c + 1 < d->nheap && before(d->heap[c + 1], d->heap[c]))
			c++;
		if (!before(d->heap[c], r))
			break;
		heap_set(d, i, d->heap[c]);
		i = c;
	}
	heap_set(d, i, r);
}

/* The heap's array is sized with the record table (recs_add), so this
 * never allocates. */
void sched_insert(struct daemon *d, struct rec *r, uint64_t due_ms)
{
	r->due_ms = due_ms;
	d->heap[d->nheap++] = r;
	sift_up(d, d->nheap - 1);
}

void sched_remove(struct daemon *d, struct rec *r)
{
	size_t i = r->heap_idx;
	struct rec *last;

	if (i >= d->nheap || d->heap[i] != r)
		return;
	last = d->heap[--d->nheap];
	r->heap_idx = SIZE_MAX;
	if (last == r)
		return;
	heap_set(d, i, last);
	sift_up(d, i);
	sift_down(d, last->heap_idx);
}

uint64_t sched_next_ms(struct daemon *d)
{
	return d->nheap ? d->heap[0]->due_ms : UINT64_MAX;
}

/* FNV-1a of the device path picks the path's phase within its interval. */
uint64_t sched_spread(const struct rec *r, uint64_t now)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *s = r->dev; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return now + h % r->interval_ms;
}

static void start_batch(struct daemon *d, struct pc_path **batch, size_t n)
{
	int ret;

	if (!n)
		return;
	ret = pc_check_many(batch, n);
	if (ret < 0) {
		logmsg(LOG_ERR, "pc_check_many: %s", strerror(-ret));
		return;
	}
	d->ctr.checks_started += (uint64_t)ret;
	/* The rest still had a read in the kernel: a slow or hung path. */
	d->ctr.checks_busy += n - (size_t)ret;
}

/*
 * Start every check that is due.  The next due time advances by whole
 * intervals from the previous one, so the schedule does not drift by the
 * loop's latency; a path more than an interval late is re-phased to now.
 */
void sched_run(struct daemon *d, uint64_t now)
{
	struct pc_path *batch[BATCH_MAX];
	size_t n = 0;

	while (d->nheap && d->heap[0]->due_ms <= now) {
		struct rec *r = d->heap[0];
		uint64_t next = r->due_ms + flap_interval(r);	/* backoff */

		if (r->path && !r->held)	/* these are not checked */
			hist_add(&d->lag, (now - r->due_ms) * 1000);
		if (next <= now) {
			next = now + flap_interval(r);
			d->ctr.schedule_slips++;
		}
		r->due_ms = next;
		sift_down(d, 0);
		if (!r->path || r->held)
			continue;	/* unopened: limits_retry() opens it; held */
		batch[n++] = r->path;
		if (n == BATCH_MAX) {
			start_batch(d, batch, n);
			n = 0;
		}
	}
	start_batch(d, batch, n);
}
