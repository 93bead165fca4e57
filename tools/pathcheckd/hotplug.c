/* SPDX-License-Identifier: MIT */
/*
 * Devices that come and go.  pathcheckd follows block uevents through a
 * libudev monitor: udev's events when udevd runs (/run/udev/control
 * exists), because the /dev/disk/by-* links exist only once udev has
 * processed an event; otherwise the kernel's own (netlink group 1), which
 * arrive even without udevd.
 *
 * An add or change event makes a device a path when it has a size and its
 * node or one of its links matches a `path` rule and no blacklist rule; a
 * change that takes its size away, or a remove, ends the path: its fd is
 * closed (so `losetup -d` completes), its read in flight becomes an orphan,
 * the log says "NAME: path removed (device gone)" and subscribers get
 * {"event":"removed",...}.  Events are read in slices of LOOP_SLICE_MS:
 * a storm of adds does not hold the loop, the control socket answers
 * between slices.
 */
#include <errno.h>
#include <fnmatch.h>
#include <libudev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"

#include "ctl.h"
#include "format.h"
#include "log.h"
#include "sched.h"
#include "hotplug.h"
#include "limits.h"
#include "logbudget.h"
#include "reconf.h"

#define HOTPLUG_RCVBUF		(64 << 20)	/* a rescan of thousands of LUNs */

const char *rm_cause_word(enum rm_cause cause)
{
	static const char *const w[RM_NCAUSES] = {
		[RM_DEVICE_GONE] = "device_gone", [RM_CONFIG] = "config",
		[RM_COMMAND] = "command",
	};

	return w[cause];
}

static const char *rm_cause_text(enum rm_cause cause)
{
	return cause == RM_DEVICE_GONE ? "device gone" : rm_cause_word(cause);
}

/* {"event":"added"|"removed",...} to every subscriber. */
static void publish(struct daemon *d, const struct rec *r, const char *event,
		    const char *cause)
{
	struct sbuf ev = { 0 };
	char when[40];

	d->seq++;
	if (!d->subscribers)
		return;
	fmt_wall(when, sizeof(when), now_ms());
	sb_printf(&ev, "{\"event\":\"%s\",\"seq\":%llu,\"dev\":", event,
		  (unsigned long long)d->seq);
	sb_json_str(&ev, r->name);
	sb_printf(&ev, ",\"path\":");
	sb_json_str(&ev, r->dev);
	sb_printf(&ev, ",\"cause\":\"%s\",\"time\":\"%s\"}\n", cause, when);
	ctl_publish(d, &ev);
	sb_free(&ev);
}

/* Every way a path leaves goes through here: logged, published, counted. */
void path_removed(struct daemon *d, struct rec *r, enum rm_cause cause)
{
	if (logbudget_take(d, r->name, LOGB_REMOVED + cause))
		logmsg(LOG_NOTICE, "%s: path removed (%s)", r->name, rm_cause_text(cause));
	publish(d, r, "removed", rm_cause_word(cause));
	d->ctr.host.removed[cause]++;
	recs_remove(d, r);
}

/* --- matching --------------------------------------------------------------- */

/* Names of the device: its node, then its /dev/disk/by-* links. */
struct names {
	const char *v[64];
	size_t n;
};

static void dev_names(struct udev_device *dev, const char *node, struct names *nm)
{
	struct udev_list_entry *e;

	nm->n = 0;
	nm->v[nm->n++] = node;
	udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(dev))
		if (nm->n < sizeof(nm->v) / sizeof(nm->v[0]))
			nm->v[nm->n++] = udev_list_entry_get_name(e);
}

/* The first rule any name matches, as glob(3) would; NULL if none or if
 * a blacklist glob matches any name. */
static const struct cfg_path_rule *match(const struct config *cfg, const struct names *nm)
{
	const struct cfg_path_rule *rule = NULL;

	for (size_t i = 0; i < cfg->nrules && !rule; i++)
		for (size_t j = 0; j < nm->n && !rule; j++)
			if (!fnmatch(cfg->rules[i].glob, nm->v[j], FNM_PATHNAME | FNM_PERIOD))
				rule = &cfg->rules[i];
	for (size_t i = 0; rule && i < cfg->nblacklist; i++)
		for (size_t j = 0; j < nm->n; j++)
			if (!fnmatch(cfg->blacklist[i], nm->v[j], 0))
				return NULL;
	return rule;
}

static bool has_size(struct udev_device *dev)
{
	const char *s = udev_device_get_sysattr_value(dev, "size");

	return s && strtoull(s, NULL, 10) > 0;
}

static void device_added(struct daemon *d, struct udev_device *dev, const char *node)
{
	const struct cfg_path_rule *rule;
	struct names nm;
	struct rec *r;
	unsigned int tline, tms;
	bool tsys;
	int ret;

	dev_names(dev, node, &nm);
	rule = match(&d->cfg, &nm);
	if (!rule)
		return;
	/* The same timeout as a path of the config: rule, file, sysfs, default. */
	tms = config_path_timeout(&d->cfg, rule, node, &tline, &tsys);
	ret = recs_add(d, node, strrchr(node, '/') + 1,
		       rule->interval_ms ? rule->interval_ms : d->cfg.interval_ms,
		       tms, &r);
	if (ret) {
		if (ret != -EEXIST)
			logmsg(LOG_ERR, "%s: cannot add path: %s", node, strerror(-ret));
		return;
	}
	r->timeout_line = tline;
	r->timeout_sysfs = tsys;
	/* A device just came: its first check now, not a phase later. */
	sched_remove(d, r);
	sched_insert(d, r, now_ms());
	d->ctr.host.added_hotplug++;
	if (logbudget_take(d, r->name, LOGB_ADDED))
		logmsg(LOG_NOTICE, "%s: path added (%s, %s event)", r->name, node,
		       udev_device_get_action(dev));
	publish(d, r, "added", "device");
}

static void device_event(struct daemon *d, struct udev_device *dev)
{
	const char *action = udev_device_get_action(dev);
	const char *node = udev_device_get_devnode(dev);
	struct rec *r;

	d->ctr.host.uevents++;
	if (!action || !node || node[0] != '/')
		return;
	r = recs_find_dev(d, node);
	if (!strcmp(action, "remove")) {
		if (r)
			path_removed(d, r, RM_DEVICE_GONE);
		return;
	}
	if (strcmp(action, "add") && strcmp(action, "change"))
		return;
	if (!has_size(dev)) {
		if (r)		/* no medium, unbound: not a path */
			path_removed(d, r, RM_DEVICE_GONE);
		return;
	}
	if (r)
		rec_note_devt(r);	/* what sysfs says may have changed */
	if (!r)
		device_added(d, dev, node);
	else if (r->st == CHK_UNOPENED && limits_open(d, r) == 0) {
		/* its node came, say: opened now, checked now */
		sched_remove(d, r);
		sched_insert(d, r, now_ms());
		if (logbudget_take(d, r->name, LOGB_OPENED))
			logmsg(LOG_NOTICE, "%s: opened (%s event)", r->name, action);
	}
}

/* Read events for at most LOOP_SLICE_MS; epoll comes back for the rest. */
void hotplug_event(struct daemon *d)
{
	struct udev_monitor *mon = d->host.hp.mon;
	uint64_t t0 = now_ms();

	for (unsigned int i = 0;; i++) {
		struct udev_device *dev;

		if ((i & 15) == 15 && now_ms() - t0 >= LOOP_SLICE_MS)
			break;
		errno = 0;
		dev = udev_monitor_receive_device(mon);
		if (!dev) {
			if (errno == ENOBUFS) {
				/* The socket overflowed: what came is lost; the
				 * config, expanded again, has the truth. */
				d->ctr.host.uevents_lost++;
				logmsg(LOG_WARNING, "device events lost (receive buffer full): "
				       "reconfiguring to catch up");
				reconf_request(d, NULL);
				continue;
			}
			break;
		}
		device_event(d, dev);
		udev_device_unref(dev);
	}
	/* Paths a storm could not open: one line at the next housekeeping. */
}

int hotplug_start(struct daemon *d)
{
	struct hotplug *hp = &d->host.hp;
	struct udev_monitor *mon;
	struct udev *udev;

	hp->fd = -1;
	hp->source = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel";
	udev = udev_new();
	mon = udev ? udev_monitor_new_from_netlink(udev, hp->source) : NULL;
	if (!mon || udev_monitor_filter_add_match_subsystem_devtype(mon, "block", NULL) < 0 ||
	    udev_monitor_enable_receiving(mon) < 0) {
		logmsg(LOG_WARNING, "cannot follow device events (%s): %m; devices that come "
		       "and go need a reconfigure", hp->source);
		udev_monitor_unref(mon);
		udev_unref(udev);
		return -EIO;
	}
	/* Best effort: a small buffer only means an overflow comes sooner. */
	udev_monitor_set_receive_buffer_size(mon, HOTPLUG_RCVBUF);
	hp->udev = udev;
	hp->mon = mon;
	hp->fd = udev_monitor_get_fd(mon);
	loop_watch(d, hp->fd, EPOLLIN, loop_tag(TAG_UEVENT));
	logmsg(LOG_INFO, "following device events from %s", hp->source);
	return 0;
}

void hotplug_stop(struct daemon *d)
{
	struct hotplug *hp = &d->host.hp;

	udev_monitor_unref(hp->mon);
	udev_unref(hp->udev);
	hp->mon = hp->udev = NULL;
	hp->fd = -1;
}
