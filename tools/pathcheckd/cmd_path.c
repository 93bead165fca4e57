/* SPDX-License-Identifier: MIT */
/*
 * The commands on one path: check, add path, del path (fail path and
 * reinstate path: hold.c), and the reply to a check, sent at once or when
 * the read ends (ctl.c).  Main thread only.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "array.h"
#include "sbuf.h"

#include "cmd_path.h"
#include "cmd_show.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "records.h"
#include "escape.h"
#include "hotplug.h"
#include "cmds.h"

struct rec *cmd_need_path(struct cmd_ctx *x)
{
	struct rec *r = recs_find(x->d, x->arg);
	char esc[256];

	if (!r)
		ctl_error(x->d, x->c, "no such path '%s'", text_esc(x->arg, esc, sizeof(esc)));
	return r;
}


/* --- check ------------------------------------------------------------------ */

void cmd_reply_check(struct daemon *d, struct client *c, const struct rec *r, bool json)
{
	char why[128], esc[256];

	text_esc(r->name, esc, sizeof(esc));
	if (json) {
		cmd_path_json(&c->out, r);
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
void cmd_check_path(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;
	struct rec *r = cmd_need_path(x);
	char esc[256];
	int ret;

	if (!r)
		return;
	if (r->held) {
		ctl_error(d, c, "path %s is held (fail path): reinstate it to check it",
			  text_esc(r->name, esc, sizeof(esc)));
		return;
	}
	if (!r->path) {
		cmd_reply_check(d, c, r, json);
		return;
	}
	ret = pc_check(r->path, 0);
	if (ret < 0) {
		ctl_error(d, c, "check %s: %s", r->name, strerror(-ret));
		return;
	}
	/*
	 * PENDING: a read is in flight.  DOWN on a path last seen up: its read
	 * just passed the deadline, and the timeout's result is on its way.
	 * Either way the answer is the next result.  DOWN on a path already
	 * down: its timed-out read is still in the kernel; that is the answer.
	 */
	if (ret == PC_PENDING || (ret == PC_DOWN && (r->st == CHK_READY || r->st == CHK_UNDEF))) {
		if (add_waiter(r, c->id)) {
			ctl_error(d, c, "out of memory");
			return;
		}
		c->waiting = true;
		c->wait_json = json;
		return;
	}
	cmd_reply_check(d, c, r, json);
}

/* --- changes ------------------------------------------------------------------ */

void cmd_add_path(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	const char *what = x->arg;
	char real[PATH_MAX];
	const char *base;
	const struct cfg_path_rule *rule = NULL;
	unsigned int interval, timeout;
	int ret;

	if (what[0] != '/') {
		ctl_error(d, c, "add path needs an absolute path, not '%s'", what);
		return;
	}
	struct stat st;
	struct rec *r;

	if (!realpath(what, real) || stat(real, &st)) {
		ctl_error(d, c, "%s: %s", what, strerror(errno));
		return;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		ctl_error(d, c, "%s is not a block device or a file", what);
		return;
	}
	if (S_ISBLK(st.st_mode) && config_blk_empty(st.st_rdev)) {
		ctl_error(d, c, "%s has size zero (no medium, or unbound): not a path", what);
		return;
	}
	for (size_t i = 0; i < d->cfg.nrules && !rule; i++)
		if (!fnmatch(d->cfg.rules[i].glob, real, 0) ||
		    !fnmatch(d->cfg.rules[i].glob, what, 0))
			rule = &d->cfg.rules[i];
	unsigned int tline;
	bool tsys;

	interval = rule && rule->interval_ms ? rule->interval_ms : d->cfg.interval_ms;
	timeout = config_path_timeout(&d->cfg, rule, real, &tline, &tsys);
	base = strrchr(real, '/') + 1;
	ret = recs_add(d, real, base, interval, timeout, &r);
	if (ret == -EEXIST) {
		ctl_error(d, c, "path %s is already checked", real);
		return;
	}
	if (ret) {
		ctl_error(d, c, "add path %s: %s", real, strerror(-ret));
		return;
	}
	r->timeout_line = tline;
	r->timeout_sysfs = tsys;
	/* Asked for by hand: say it now rather than keep a dead record. */
	if (!r->path) {
		ctl_error(d, c, "cannot open %s: %s", real, strerror(r->error));
		recs_remove(d, r);
		return;
	}
	logmsg(LOG_NOTICE, "%s: path added (%s)", base, real);
	ctl_send(d, c, "ok\n");
	ctl_reply_end(d, c);
}

void cmd_del_path(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	struct rec *r = cmd_need_path(x);

	if (!r)
		return;
	path_removed(d, r, RM_COMMAND);
	ctl_send(d, c, "ok\n");
	ctl_reply_end(d, c);
}
