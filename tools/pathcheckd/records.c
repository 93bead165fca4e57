/* SPDX-License-Identifier: MIT */
/*
 * The path records, in an array sorted by name and device.  The main thread
 * owns them.  A record leaves in two steps: recs_remove() frees its engine
 * path (after which no on_result names it) and parks it as REC_REMOVED;
 * recs_reap_removed() frees it once the result queue holding its last
 * results has been drained.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "array.h"
#include "clock.h"

#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "records.h"
#include "results.h"
#include "sched.h"
#include "format.h"
#include "hold.h"
#include "notify.h"
#include "hotplug.h"
#include "limits.h"

const char *chk_st_name(enum chk_st st)
{
	switch (st) {
	case CHK_READY:		return "ready";
	case CHK_FAULTY:	return "faulty";
	case CHK_TIMEOUT:	return "i/o timeout";
	case CHK_PENDING:	return "i/o pending";
	case CHK_UNOPENED:	return "unopened";
	case CHK_HELD:		return "held";
	case CHK_UNDEF:		break;
	}
	return "undef";
}

void rec_display(const struct rec *r, enum chk_st *st)
{
	*st = r->st;
	if (r->held)
		*st = CHK_HELD;
	else if (r->st == CHK_UNDEF && r->path && pc_path_state(r->path) == PC_PENDING)
		*st = CHK_PENDING;
}

void recs_count_states(const struct daemon *d, uint64_t count[CHK_NSTATES],
		       uint64_t *marginal)
{
	memset(count, 0, sizeof(uint64_t) * CHK_NSTATES);
	if (marginal)
		*marginal = 0;
	for (size_t i = 0; i < d->nrecs; i++) {
		enum chk_st st;

		rec_display(d->recs[i], &st);
		count[st]++;
		if (marginal)
			*marginal += rec_marginal(d->recs[i]);
	}
}

const char *rec_reason_text(const struct rec *r, char *buf, size_t len)
{
	switch (r->reason) {
	case PC_REASON_OK:
		snprintf(buf, len, "ok");
		break;
	case PC_REASON_IO_ERROR:
		snprintf(buf, len, "io error: %s", strerror(r->error));
		break;
	case PC_REASON_SHORT_READ:
		snprintf(buf, len, "short read");
		break;
	case PC_REASON_TIMEOUT:
		/* The deadline of that check: the timeout may have changed since. */
		snprintf(buf, len, "timeout after %llu ms",
			 (unsigned long long)(r->latency_us / 1000));
		break;
	case PC_REASON_SUBMIT_ERROR:
		snprintf(buf, len, "submit error: %s", strerror(r->error));
		break;
	case REASON_OPEN_FAILED:
		snprintf(buf, len, "open failed: %s", strerror(r->error));
		break;
	default:
		snprintf(buf, len, "-");
		break;
	}
	return buf;
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = *(struct rec *const *)pa, *b = *(struct rec *const *)pb;
	int c = strcmp(a->name, b->name);

	return c ? c : strcmp(a->dev, b->dev);
}

/* For listing: sort by name, once per change of the table. */
void recs_sort(struct daemon *d)
{
	if (d->recs_sorted || !d->nrecs)	/* none: recs may be NULL */
		return;
	qsort(d->recs, d->nrecs, sizeof(*d->recs), rec_cmp);
	for (size_t i = 0; i < d->nrecs; i++)
		d->recs[i]->idx = i;
	d->recs_sorted = true;
}

/* Grows the record table and the heap together: sched_insert never fails. */
static int recs_reserve(struct daemon *d)
{
	size_t heapcap = d->caprecs;

	/* The heap first: caprecs then never counts more than the heap holds. */
	if (array_reserve(&d->heap, &heapcap, d->nrecs + 1, sizeof(*d->heap)))
		return -ENOMEM;
	return array_reserve(&d->recs, &d->caprecs, d->nrecs + 1, sizeof(*d->recs));
}

/* --- the device-path index: a chained hash table ------------------------- */

static size_t hash_dev(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static int index_grow(struct daemon *d)
{
	size_t nb = d->nbuckets ? d->nbuckets * 2 : 256;
	struct rec **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct rec *r = d->buckets[i], *next;

		for (; r; r = next) {
			size_t h = hash_dev(r->dev) & (nb - 1);

			next = r->hnext;
			r->hnext = b[h];
			b[h] = r;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = nb;
	return 0;
}

static struct rec **index_slot(struct daemon *d, const char *dev)
{
	struct rec **pp;

	if (!d->nbuckets)
		return NULL;
	pp = &d->buckets[hash_dev(dev) & (d->nbuckets - 1)];
	while (*pp && strcmp((*pp)->dev, dev))
		pp = &(*pp)->hnext;
	return pp;
}

static struct rec *index_find(struct daemon *d, const char *dev)
{
	struct rec **pp = index_slot(d, dev);

	return pp ? *pp : NULL;
}

static struct rec *rec_new(struct daemon *d, const char *dev, const char *name,
			   unsigned int interval_ms, unsigned int timeout_ms)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->d = d;
	r->dev = strdup(dev);
	r->name = strdup(name);
	r->interval_ms = interval_ms;
	r->timeout_ms = timeout_ms;
	r->heap_idx = SIZE_MAX;
	if (!r->dev || !r->name) {
		free(r->dev);
		free(r->name);
		free(r);
		return NULL;
	}
	return r;
}

static void rec_free(struct rec *r)
{
	flap_free(r);
	free(r->sys);
	free(r->dev);
	free(r->name);
	free(r->waiters);
	free(r);
}

/*
 * Add a path.  A device that cannot be opened is still recorded
 * (unopened, with the reason) so that operators see it; it is retried by
 * itself (limits.c).
 * Returns 0, -EEXIST or -ENOMEM.
 */
int recs_add(struct daemon *d, const char *dev, const char *name,
	     unsigned int interval_ms, unsigned int timeout_ms,
	     struct rec **recp)
{
	struct rec *r, **slot;

	if (index_find(d, dev))
		return -EEXIST;
	if (recs_reserve(d))
		return -ENOMEM;
	if (d->nrecs >= d->nbuckets && index_grow(d))
		return -ENOMEM;
	r = rec_new(d, dev, name, interval_ms, timeout_ms);
	if (!r)
		return -ENOMEM;
	limits_open(d, r);
	rec_note_devt(r);
	hold_apply(d, r);
	slot = index_slot(d, dev);
	*slot = r;
	r->idx = d->nrecs;
	d->recs[d->nrecs++] = r;
	d->recs_sorted = false;
	sched_insert(d, r, sched_spread(r, now_ms()));
	if (recp)
		*recp = r;
	return 0;
}

void recs_remove(struct daemon *d, struct rec *r)
{
	struct rec **slot = index_slot(d, r->dev);
	size_t i = r->idx;

	if (r->rstate != REC_ACTIVE || !slot || *slot != r)
		return;
	*slot = r->hnext;
	d->recs[i] = d->recs[--d->nrecs];
	d->recs[i]->idx = i;
	d->recs_sorted = false;
	sched_remove(d, r);
	/* After this returns no on_result for r runs; some may be queued. */
	if (r->path)
		pc_path_free(r->path);
	r->path = NULL;
	r->rstate = REC_REMOVED;
	r->removed_gen = d->drain_gen;
	if (r->nwaiters)
		ctl_check_done(d, r);
	if (array_reserve(&d->removed, &d->capremoved, d->nremoved + 1,
			  sizeof(*d->removed))) {
		/* Cannot park it: drain now, then it is safe to free. */
		results_drain(d);
		rec_free(r);
		return;
	}
	d->removed[d->nremoved++] = r;
}

/*
 * Free the records removed before drain number gen swapped the result queue
 * out: their engine paths were freed before that, so every result naming
 * them was in that queue, and it has been consumed.
 */
void recs_reap_removed(struct daemon *d, uint64_t gen)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->nremoved; i++) {
		struct rec *r = d->removed[i];

		if (r->removed_gen < gen)
			rec_free(r);
		else
			d->removed[kept++] = r;
	}
	d->nremoved = kept;
}

/* DEV: a record's name, its device path, its dev_t "MAJ:MIN", or a path
 * resolving to it. */
struct rec *recs_find(struct daemon *d, const char *what)
{
	char real[PATH_MAX];
	struct rec *r = index_find(d, what);

	if (r)
		return r;
	for (size_t i = 0; i < d->nrecs; i++)
		if (!strcmp(d->recs[i]->name, what))
			return d->recs[i];
	r = recs_find_devt(d, what);	/* "8:16" */
	if (r)
		return r;
	/* Only absolute paths: a bare name must not resolve in our cwd. */
	if (what[0] != '/' || !realpath(what, real))
		return NULL;
	return index_find(d, real);
}

struct rec *recs_find_dev(struct daemon *d, const char *dev)
{
	return index_find(d, dev);
}

static int dev_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_dev *)a)->path, ((const struct cfg_dev *)b)->path);
}

const struct cfg_dev *recs_cfg_dev(const struct cfg_dev *devs, size_t n,
				  const char *dev)
{
	struct cfg_dev key = { .path = (char *)dev };

	return bsearch(&key, devs, n, sizeof(*devs), dev_cmp);
}

void recs_sort_devs(struct cfg_dev *devs, size_t n)
{
	qsort(devs, n, sizeof(*devs), dev_cmp);
}

/* A kept path takes its new interval and timeout; if unopened, it is
 * retried at the next pass. */
void recs_retune(struct daemon *d, struct rec *r, const struct cfg_dev *cd)
{
	r->timeout_line = cd->timeout_line;
	r->timeout_sysfs = cd->timeout_sysfs;
	if (r->timeout_ms != cd->timeout_ms) {
		r->timeout_ms = cd->timeout_ms;
		if (r->path)
			pc_path_set_timeout(r->path, r->timeout_ms);
	}
	if (r->interval_ms != cd->interval_ms) {
		r->interval_ms = cd->interval_ms;
		sched_remove(d, r);
		sched_insert(d, r, sched_spread(r, now_ms()));
	}
	if (!r->path)
		r->retry_ms = 0;
}

/*
 * Make the records match a configuration: paths no longer listed are
 * removed, kept ones keep their state (and take new intervals and
 * timeouts), new ones are added.  Returns 0 or -errno (then the records
 * are as they were, except for what was already applied).
 */
int recs_apply_config(struct daemon *d, const struct config *cfg)
{
	struct cfg_dev *devs;
	int n = config_expand(cfg, &devs), ret = 0;

	if (n < 0)
		return n;
	/* Sorted by path for the lookups; the records are listed by name. */
	recs_sort_devs(devs, (size_t)n);
	for (size_t i = d->nrecs; i-- > 0;) {
		struct rec *r = d->recs[i];
		const struct cfg_dev *cd = recs_cfg_dev(devs, (size_t)n, r->dev);

		if (cd)
			recs_retune(d, r, cd);
		else
			path_removed(d, r, RM_CONFIG);
	}
	size_t first_new = d->nrecs;
	uint64_t t0 = now_ms();

	for (int i = 0; i < n; i++) {
		struct rec *r = NULL;
		int err = recs_add(d, devs[i].path, devs[i].name,
				   devs[i].interval_ms, devs[i].timeout_ms, &r);

		if (err && err != -EEXIST) {
			ret = err;
			break;
		}
		if (r) {
			r->timeout_line = devs[i].timeout_line;
			r->timeout_sysfs = devs[i].timeout_sysfs;
		}
		/* Opening 100,000 devices takes a while, and it is progress:
		 * the watchdog hears of it (a ping only when one is due). */
		if ((i & 1023) == 1023)
			notify_tick(d, now_ms());
	}
	config_devs_free(devs, (size_t)n);
	/*
	 * Opening 100,000 paths takes a while, and the first ones' phases
	 * would pass before the loop runs: count their phases from now.
	 */
	uint64_t now = now_ms();

	for (size_t i = first_new; now != t0 && i < d->nrecs; i++) {
		struct rec *r = d->recs[i];

		sched_remove(d, r);
		sched_insert(d, r, sched_spread(r, now));
	}
	return ret;
}

void recs_free_all(struct daemon *d)
{
	while (d->nrecs)
		recs_remove(d, d->recs[d->nrecs - 1]);
	/* No path is left, so no result can arrive: this drain frees all. */
	results_drain(d);
	free(d->recs);
	free(d->heap);
	free(d->removed);
	free(d->buckets);
	d->buckets = NULL;
	d->nbuckets = 0;
	d->recs = d->heap = d->removed = NULL;
	d->caprecs = d->capremoved = 0;
}
