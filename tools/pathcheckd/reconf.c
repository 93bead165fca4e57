/* SPDX-License-Identifier: MIT */
/*
 * Reconfigure (the command and SIGHUP) without stalling the loop:
 *  - a helper thread reads the file and expands its globs (glob(3) and
 *    realpath(3) of 20,000 devices take long), then writes reconf.efd;
 *  - the main thread joins it and applies the result in slices of
 *    LOOP_SLICE_MS between turns of the loop: first the removals, then
 *    the additions.  Unchanged paths keep their schedule throughout.
 * At most one reconfigure runs and at most one waits: a request while one
 * runs queues one more (it must read the file as it is now); any further
 * request merges into the queued one.  Each client that asked gets its
 * answer when the reconfigure that covers its request ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"

#include "ctl.h"
#include "notify.h"
#include "showconfig.h"
#include "log.h"
#include "hotplug.h"
#include "limits.h"
#include "reconf.h"


int reconf_init(struct daemon *d)
{
	d->host.rc.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->host.rc.efd < 0)
		return -errno;
	loop_watch(d, d->host.rc.efd, EPOLLIN, loop_tag(TAG_RECONF));
	return 0;
}

bool reconf_busy(const struct daemon *d)
{
	return d->host.rc.phase == RECONF_REMOVING || d->host.rc.phase == RECONF_ADDING;
}

static int idlist_add(struct idlist *l, uint64_t id)
{
	uint64_t *p = realloc(l->id, (l->n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	l->id = p;
	l->id[l->n++] = id;
	return 0;
}

/* Answer every client waiting on this reconfigure. */
static void answer(struct daemon *d, struct idlist *l, int ret, const char *err)
{
	for (size_t i = 0; i < l->n; i++) {
		struct client *c = ctl_client_by_id(d, l->id[i]);

		if (!c || !c->waiting)
			continue;
		c->waiting = false;
		if (ret) {
			ctl_error(d, c, "%s", err);
		} else {
			ctl_send(d, c, "ok\n");
			ctl_reply_end(d, c);
		}
		d->resume_clients = true;
		ctl_flush(d, c);
	}
	free(l->id);
	l->id = NULL;
	l->n = 0;
}

/* Helper thread: only the load fields of struct reconf, then efd. */
static void *load(void *arg)
{
	struct reconf *rc = arg;
	uint64_t one = 1;
	int n;

	rc->ret = config_load(rc->file, &rc->cfg, rc->err, sizeof(rc->err));
	if (!rc->ret) {
		n = config_expand(&rc->cfg, &rc->devs);
		if (n < 0) {
			rc->ret = n;
			snprintf(rc->err, sizeof(rc->err), "%s: expanding paths: %s",
				 rc->file, strerror(-n));
			config_free(&rc->cfg);
		} else {
			rc->ndevs = (size_t)n;
			recs_sort_devs(rc->devs, rc->ndevs);
		}
	}
	/* The main thread joins before it reads what is above. */
	if (write(rc->efd, &one, sizeof(one)) < 0)
		abort();	/* an eventfd write of 1 cannot fail */
	return NULL;
}

static void start(struct daemon *d)
{
	struct reconf *rc = &d->host.rc;
	int err;

	rc->phase = RECONF_LOADING;
	rc->t0_ms = now_ms();
	rc->ret = 0;
	rc->err[0] = '\0';
	rc->devs = NULL;
	rc->ndevs = 0;
	rc->added = rc->removed = 0;
	rc->apply_err = 0;
	rc->file = d->config_file;
	sd_notify_msg("RELOADING=1");
	err = pthread_create(&rc->thread, NULL, load, rc);
	if (err) {
		rc->phase = RECONF_IDLE;
		d->ctr.reconfigure_errors++;
		logmsg(LOG_ERR, "reconfigure failed: cannot start a thread: %s", strerror(err));
		sd_notify_msg("READY=1");
		answer(d, &rc->waiters, -err, "cannot start a thread");
		return;
	}
	rc->thread_live = true;
}

void reconf_request(struct daemon *d, struct client *c)
{
	struct reconf *rc = &d->host.rc;
	struct idlist *l = rc->phase == RECONF_IDLE ? &rc->waiters : &rc->queued_waiters;

	d->ctr.host.reconfigure_requests++;
	if (c) {
		if (idlist_add(l, c->id)) {
			ctl_error(d, c, "out of memory");
			return;
		}
		c->waiting = true;
	}
	if (rc->phase == RECONF_IDLE) {
		start(d);
		return;
	}
	if (rc->queued)
		d->ctr.host.reconfigures_merged++;
	rc->queued = true;
}

static void finish(struct daemon *d, int ret, const char *err)
{
	struct reconf *rc = &d->host.rc;

	for (size_t i = 0; i < rc->ngone; i++)
		free(rc->gone[i]);
	free(rc->gone);
	rc->gone = NULL;
	rc->ngone = rc->next = 0;
	config_devs_free(rc->devs, rc->ndevs);
	rc->devs = NULL;
	rc->ndevs = 0;
	rc->phase = RECONF_IDLE;
	if (!d->stopping)
		sd_notify_msg("READY=1");
	answer(d, &rc->waiters, ret, err);
	if (!rc->queued)
		return;
	rc->queued = false;
	rc->waiters = rc->queued_waiters;
	rc->queued_waiters = (struct idlist){ 0 };
	start(d);
}

/* The thread is done: the new config takes over, the paths follow in slices. */
void reconf_loaded(struct daemon *d)
{
	struct reconf *rc = &d->host.rc;
	struct config old;
	uint64_t v;

	if (read(rc->efd, &v, sizeof(v)) < 0 || !rc->thread_live)
		return;
	pthread_join(rc->thread, NULL);
	rc->thread_live = false;
	showconfig_reload_result(d, rc->ret ? rc->err : NULL);
	if (rc->ret) {
		d->ctr.reconfigure_errors++;
		logmsg(LOG_ERR, "reconfigure failed, old config kept: %s", rc->err);
		finish(d, rc->ret, rc->err);
		return;
	}
	daemon_apply_settings(d, &d->cfg, &rc->cfg);
	old = d->cfg;
	d->cfg = rc->cfg;	/* hotplug matches on the new rules from now */
	rc->cfg = (struct config){ 0 };
	config_free(&old);
	/* Kept paths are retuned now (cheap); removals are listed for slices. */
	rc->gone = malloc((d->nrecs ? d->nrecs : 1) * sizeof(*rc->gone));
	if (!rc->gone) {
		d->ctr.reconfigure_errors++;
		finish(d, -ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *r = d->recs[i];
		const struct cfg_dev *cd = recs_cfg_dev(rc->devs, rc->ndevs, r->dev);

		if (cd)
			recs_retune(d, r, cd);
		else if ((rc->gone[rc->ngone] = strdup(r->dev)))
			rc->ngone++;
	}
	rc->next = 0;
	rc->phase = RECONF_REMOVING;
}

static bool slice_over(uint64_t t0, size_t i)
{
	return (i & 31) == 31 && now_ms() - t0 >= LOOP_SLICE_MS;
}

static void done(struct daemon *d)
{
	struct reconf *rc = &d->host.rc;
	int released = pc_engine_reset(d->engine);
	char err[256];

	if (rc->apply_err) {
		snprintf(err, sizeof(err), "applying %s: %s; %zu paths now", d->config_file,
			 strerror(-rc->apply_err), d->nrecs);
		d->ctr.reconfigure_errors++;
		logmsg(LOG_ERR, "reconfigure: %s", err);
		finish(d, rc->apply_err, err);
		return;
	}
	d->ctr.reconfigures++;
	logmsg(LOG_NOTICE, "reconfigured: %zu paths (%zu added, %zu removed), %d aio groups "
	       "released, %llu ms", d->nrecs, rc->added, rc->removed, released < 0 ? 0 : released,
	       (unsigned long long)(now_ms() - rc->t0_ms));
	limits_retry(d, now_ms());	/* kept unopened paths: due now */
	finish(d, 0, NULL);
}

/* One slice of the apply. */
void reconf_step(struct daemon *d)
{
	struct reconf *rc = &d->host.rc;
	uint64_t t0 = now_ms();
	size_t i = 0;

	for (; rc->phase == RECONF_REMOVING && rc->next < rc->ngone; rc->next++, i++) {
		struct rec *r;

		if (slice_over(t0, i))
			return;
		r = recs_find_dev(d, rc->gone[rc->next]);
		/* gone already (a uevent, a del path), or back by a uevent that
		 * the new rules match: keep it */
		if (r && !recs_cfg_dev(rc->devs, rc->ndevs, r->dev)) {
			path_removed(d, r, RM_CONFIG);
			rc->removed++;
		}
	}
	if (rc->phase == RECONF_REMOVING) {
		rc->phase = RECONF_ADDING;
		rc->next = 0;
	}
	for (; rc->next < rc->ndevs; rc->next++, i++) {
		const struct cfg_dev *cd = &rc->devs[rc->next];
		struct rec *r = NULL;
		int err;

		if (slice_over(t0, i))
			return;		/* the report waits for the end: one line */
		err = recs_add(d, cd->path, cd->name, cd->interval_ms, cd->timeout_ms, &r);
		if (err == 0) {
			r->timeout_line = cd->timeout_line;
			r->timeout_sysfs = cd->timeout_sysfs;
			rc->added++;
		} else if (err != -EEXIST) {
			rc->apply_err = err;
			break;
		}
	}
	limits_report(d);
	done(d);
}

void reconf_fini(struct daemon *d)
{
	struct reconf *rc = &d->host.rc;

	if (rc->thread_live) {
		pthread_join(rc->thread, NULL);
		rc->thread_live = false;
		config_free(&rc->cfg);
	}
	rc->queued = false;
	if (rc->phase != RECONF_IDLE)
		finish(d, -ECANCELED, "shutting down");
	free(rc->queued_waiters.id);
	rc->queued_waiters = (struct idlist){ 0 };
	if (rc->efd >= 0)
		close(rc->efd);
	rc->efd = -1;
}
