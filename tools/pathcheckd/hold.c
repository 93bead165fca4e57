/* SPDX-License-Identifier: MIT */
/* fail path / reinstate path, and the state file.  See hold.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "ctl.h"
#include "hold.h"
#include "clock.h"
#include "escape.h"
#include "log.h"
#include "sched.h"
#include "logbudget.h"
#include "cmds.h"

#define HOLD_LINE_MAX	8192

/* --- the device's identity ---------------------------------------------------- */

/* The first line of a small file, its trailing blanks cut; false if none. */
static bool first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n > 0;
}

void hold_identity(const char *path, char *buf, size_t len)
{
	char sys[96], attr[HOLD_ID_MAX - 8];
	unsigned int maj, min;
	struct stat st;

	buf[0] = '\0';
	if (stat(path, &st))
		return;
	if (!S_ISBLK(st.st_mode)) {
		snprintf(buf, len, "ino:%llx:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		return;
	}
	maj = major(st.st_rdev);
	min = minor(st.st_rdev);
	/* SCSI's device/wwid, NVMe's wwid: the LUN, whatever its name now. */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/device/wwid", maj, min);
	if (first_line(sys, attr, sizeof(attr))) {
		snprintf(buf, len, "wwid:%s", attr);
		return;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/wwid", maj, min);
	if (first_line(sys, attr, sizeof(attr))) {
		snprintf(buf, len, "wwid:%s", attr);
		return;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/diskseq", maj, min);
	if (!first_line(sys, attr, sizeof(attr)))
		snprintf(attr, sizeof(attr), "0");
	snprintf(buf, len, "devt:%u:%u:%s", maj, min, attr);
}

/* "devt:8:16:42" -> the length of "devt:8:16:" (0 if not a devt identity). */
static size_t devt_prefix(const char *id)
{
	const char *p = id;

	if (strncmp(id, "devt:", 5))
		return 0;
	for (int colons = 0; *p; p++)
		if (*p == ':' && ++colons == 3)
			return (size_t)(p - id) + 1;
	return 0;
}

static enum hold_match hold_match(const struct holds *h, const struct hold *x,
				  const char *now_id)
{
	size_t n;

	/* A 0.1 hold, or a device we cannot look at: the name decides. */
	if (!x->id[0] || !now_id[0])
		return HOLD_APPLIES;
	/* Disk sequence numbers start again at each boot. */
	n = devt_prefix(x->id);
	if (n && strcmp(x->boot, h->boot))
		return strncmp(x->id, now_id, n) ? HOLD_OTHER_DEVICE : HOLD_APPLIES;
	return strcmp(x->id, now_id) ? HOLD_OTHER_DEVICE : HOLD_APPLIES;
}

/* --- the state file ---------------------------------------------------------- */

static void put_path(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == '%' || c >= 0x7f)
			sb_printf(b, "%%%02X", c);
		else
			sb_append(b, s, 1);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In place; false if malformed, empty, or it decodes to a NUL. */
static bool get_path(char *s)
{
	char *o = s, *start = s;

	for (; *s; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

		if (lo < 0 || (hi == 0 && lo == 0))
			return false;
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return o > start;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The whole table, atomically: a reader sees the old file or the new. */
static int holds_save(struct holds *h)
{
	struct sbuf b = { 0 };
	char tmp[4200];
	int fd, ret = 0;

	sb_printf(&b, "# pathcheckd holds: fail path / reinstate path. Written by pathcheckd.\n");
	for (size_t i = 0; i < h->n; i++) {
		sb_printf(&b, "hold %lld ", (long long)h->v[i].since);
		put_path(&b, h->v[i].dev);
		if (h->v[i].id[0]) {
			sb_printf(&b, " id=");
			put_path(&b, h->v[i].id);
			sb_printf(&b, " boot=");
			put_path(&b, h->v[i].boot);
		}
		sb_printf(&b, " %s\n", h->v[i].by);
	}
	if (b.oom) {
		sb_free(&b);
		return -ENOMEM;
	}
	if (mkdir(h->dir, 0755) && errno != EEXIST) {
		sb_free(&b);
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", h->file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = -errno;
	if (!ret)
		ret = write_all(fd, b.p, b.len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, h->file))
		ret = -errno;
	if (ret) {
		unlink(tmp);
	} else {
		/* The rename itself must reach the disk before we answer ok. */
		int dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	sb_free(&b);
	return ret;
}

static int holds_reserve(struct holds *h)
{
	size_t cap = h->cap ? h->cap * 2 : 8;
	struct hold *v;

	if (h->n < h->cap)
		return 0;
	v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

static int holds_add(struct holds *h, const char *dev, const char *by, time_t since,
		     const char *id, const char *boot)
{
	struct hold x = { .dev = strdup(dev), .by = strdup(by), .since = since };

	snprintf(x.id, sizeof(x.id), "%s", id);
	snprintf(x.boot, sizeof(x.boot), "%s", boot);
	if (!x.dev || !x.by || holds_reserve(h)) {
		free(x.dev);
		free(x.by);
		return -ENOMEM;
	}
	h->v[h->n++] = x;
	return 0;
}

static void holds_del(struct holds *h, size_t i)
{
	free(h->v[i].dev);
	free(h->v[i].by);
	h->v[i] = h->v[--h->n];
}

/* The optional "id=... boot=..." after the path (0.2 on); false if bad. */
static bool parse_identity(char **save, char *id, char *boot)
{
	char *rest = *save;

	id[0] = boot[0] = '\0';
	if (!rest || strncmp(rest, "id=", 3))
		return true;
	char *idw = strtok_r(NULL, " ", save), *bootw = strtok_r(NULL, " ", save);

	if (!bootw || strncmp(bootw, "boot=", 5) || !get_path(idw + 3) ||
	    strlen(idw + 3) >= HOLD_ID_MAX || !get_path(bootw + 5) ||
	    strlen(bootw + 5) >= HOLD_BOOT_MAX)
		return false;
	strcpy(id, idw + 3);
	strcpy(boot, bootw + 5);
	return true;
}

/* One line of the file: 0 (a hold, now in the table, or a comment),
 * -EINVAL (no hold line) or -ENOMEM. */
static int parse_line(struct holds *h, char *line)
{
	char *save = NULL, *kw, *since, *dev, *by, *end;
	char id[HOLD_ID_MAX], boot[HOLD_BOOT_MAX];
	long long t;
	bool id_ok;

	kw = strtok_r(line, " ", &save);
	if (!kw || kw[0] == '#')
		return 0;
	since = strtok_r(NULL, " ", &save);
	dev = strtok_r(NULL, " ", &save);
	id_ok = parse_identity(&save, id, boot);
	by = save && *save ? save : (char *)"unknown";
	t = since ? strtoll(since, &end, 10) : -1;
	if (strcmp(kw, "hold") || !since || *end || t < 0 || !dev || !get_path(dev) ||
	    dev[0] != '/' || !id_ok)
		return -EINVAL;
	return holds_add(h, dev, by, (time_t)t, id, boot);
}

/* A corrupt file is one line in the log, however many lines it has. */
static void report_bad(const struct holds *h, unsigned int bad, unsigned int first,
		       unsigned int oom)
{
	if (bad)
		logmsg(LOG_WARNING, "%s: %u line%s not hold lines, ignored (the first: line %u)",
		       h->file, bad, bad == 1 ? " is" : "s are", first);
	if (oom)
		logmsg(LOG_ERR, "%s: out of memory: %u holds not loaded", h->file, oom);
}

static void holds_load(struct holds *h)
{
	FILE *f = fopen(h->file, "re");
	char line[HOLD_LINE_MAX];
	unsigned int n = 0, bad = 0, first_bad = 0, oom = 0;

	if (!f) {
		if (errno != ENOENT)
			logmsg(LOG_ERR, "%s: %m; no path starts held", h->file);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		n++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		switch (parse_line(h, line)) {
		case -EINVAL:
			first_bad = bad++ ? first_bad : n;
			break;
		case -ENOMEM:
			oom++;
			break;
		}
	}
	fclose(f);
	report_bad(h, bad, first_bad, oom);
	if (h->n)
		logmsg(LOG_NOTICE, "%zu path%s held (%s)", h->n, h->n == 1 ? "" : "s", h->file);
}

int holds_init(struct daemon *d, const char *dir_opt)
{
	struct holds *h = calloc(1, sizeof(*h));
	const char *env = getenv("STATE_DIRECTORY");
	size_t len;

	if (!h)
		return -ENOMEM;
	/* systemd gives a colon-separated list: ours is the first. */
	if (dir_opt)
		h->dir = strdup(dir_opt);
	else if (env && env[0] == '/')
		h->dir = strndup(env, strcspn(env, ":"));
	else
		h->dir = strdup(DEFAULT_STATE_DIR);
	len = h->dir ? strlen(h->dir) : 0;
	while (len > 1 && h->dir[len - 1] == '/')
		h->dir[--len] = '\0';
	if (!h->dir || asprintf(&h->file, "%s/holds", h->dir) < 0) {
		free(h->dir);
		free(h);
		return -ENOMEM;
	}
	if (!first_line("/proc/sys/kernel/random/boot_id", h->boot, sizeof(h->boot)))
		snprintf(h->boot, sizeof(h->boot), "unknown");
	d->holds = h;
	holds_load(h);
	return 0;
}

void holds_fini(struct daemon *d)
{
	struct holds *h = d->holds;

	if (!h)
		return;
	while (h->n)
		holds_del(h, h->n - 1);
	free(h->v);
	free(h->dir);
	free(h->file);
	free(h);
	d->holds = NULL;
}

const struct hold *hold_find(const struct daemon *d, const char *dev)
{
	const struct holds *h = d->holds;

	for (size_t i = 0; h && i < h->n; i++)
		if (!strcmp(h->v[i].dev, dev))
			return &h->v[i];
	return NULL;
}

void hold_apply(struct daemon *d, struct rec *r)
{
	const struct hold *x = hold_find(d, r->dev);
	char now_id[HOLD_ID_MAX], esc[256], esc_id[2 * HOLD_ID_MAX];

	r->held = false;
	if (!x)
		return;
	hold_identity(r->dev, now_id, sizeof(now_id));
	if (hold_match(d->holds, x, now_id) == HOLD_APPLIES) {
		r->held = true;
		return;
	}
	char esc_by[256], esc_held[2 * HOLD_ID_MAX];

	if (!logbudget_take(d, r->name, LOGB_HOLD_OTHER))
		return;
	logmsg(LOG_WARNING, "%s: the hold by %s does not apply: the name leads to another "
	       "device now (%s, held: %s); checked; `reinstate path %s` releases the hold",
	       text_esc(r->name, esc, sizeof(esc)), text_esc(x->by, esc_by, sizeof(esc_by)),
	       text_esc(now_id, esc_id, sizeof(esc_id)),
	       text_esc(x->id, esc_held, sizeof(esc_held)), esc);
}

size_t holds_active(const struct daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nrecs; i++)
		n += d->recs[i]->held;
	return n;
}

/* --- events and commands ------------------------------------------------------ */

/* What a hold is called when no record stands for it: its device's name. */
static const char *hold_name(const struct hold *x)
{
	const char *slash = strrchr(x->dev, '/');

	return slash ? slash + 1 : x->dev;
}

static void wall(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void publish(struct daemon *d, const char *name, const char *dev, const char *kind,
		    const char *by, time_t since)
{
	struct sbuf ev = { 0 };
	char when[40];

	d->seq++;	/* every event is numbered, subscribed or not */
	if (!d->subscribers)
		return;
	wall(since, when, sizeof(when));
	sb_printf(&ev, "{\"event\":\"%s\",\"seq\":%llu,\"dev\":", kind,
		  (unsigned long long)d->seq);
	sb_json_str(&ev, name);
	sb_printf(&ev, ",\"path\":");
	sb_json_str(&ev, dev);
	sb_printf(&ev, ",\"by\":");
	sb_json_str(&ev, by);
	sb_printf(&ev, ",\"time\":\"%s\"}\n", when);
	ctl_publish(d, &ev);
	sb_free(&ev);
}

static struct rec *find(struct daemon *d, struct client *c, const char *what)
{
	struct rec *r = recs_find(d, what);
	char esc[256];

	if (!r)
		ctl_error(d, c, "no such path '%s'", text_esc(what, esc, sizeof(esc)));
	return r;
}

static void client_by(const struct client *c, char *by, size_t len)
{
	snprintf(by, len, "uid %u pid %d", (unsigned int)c->uid, (int)c->pid);
}

void cmd_fail_path(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	const char *what = x->arg;
	struct rec *r = find(d, c, what);
	const struct hold *old;
	char by[64], esc[256], esc_by[256], id[HOLD_ID_MAX];
	time_t now = time(NULL);
	int ret;

	if (!r)
		return;
	old = hold_find(d, r->dev);
	if (old && r->held) {
		ctl_error(d, c, "path %s is already held (by %s)",
			  text_esc(r->name, esc, sizeof(esc)),
			  text_esc(old->by, esc_by, sizeof(esc_by)));
		return;
	}
	if (old) {		/* a hold on another device that had this name */
		ctl_error(d, c, "path %s has a hold of another device (by %s): "
			  "reinstate path %s first", text_esc(r->name, esc, sizeof(esc)),
			  text_esc(old->by, esc_by, sizeof(esc_by)), esc);
		return;
	}
	client_by(c, by, sizeof(by));
	hold_identity(r->dev, id, sizeof(id));
	ret = holds_add(d->holds, r->dev, by, now, id, d->holds->boot);
	if (!ret) {
		ret = holds_save(d->holds);
		if (ret)
			holds_del(d->holds, d->holds->n - 1);
	}
	if (ret) {
		ctl_error(d, c, "cannot keep the hold in %s: %s; %s is not held",
			  d->holds->file, strerror(-ret), text_esc(r->name, esc, sizeof(esc)));
		return;
	}
	r->held = true;
	logmsg(LOG_NOTICE, "%s: path held out of checking by %s",
	       text_esc(r->name, esc, sizeof(esc)), by);
	publish(d, r->name, r->dev, "held", by, now);
	ctl_send(d, c, "ok\n");
	ctl_reply_end(d, c);
}

/*
 * The hold that `reinstate path WHAT` releases: the one on the device path of
 * WHAT's record, else, for a path that is gone, the one whose device path or
 * name is WHAT.  h->n if none.
 */
static size_t hold_index(const struct holds *h, const struct rec *r, const char *what)
{
	size_t i;

	for (i = 0; r && i < h->n; i++)
		if (!strcmp(h->v[i].dev, r->dev))
			return i;
	for (i = 0; !r && i < h->n; i++)
		if (!strcmp(h->v[i].dev, what) || !strcmp(hold_name(&h->v[i]), what))
			return i;
	return h->n;
}

void cmd_reinstate_path(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	const char *what = x->arg;
	struct rec *r = recs_find(d, what);
	struct holds *h = d->holds;
	char by[64], esc[256];
	size_t i = hold_index(h, r, what);
	int ret;

	if (i == h->n) {
		if (r)
			ctl_error(d, c, "path %s is not held", text_esc(r->name, esc, sizeof(esc)));
		else
			ctl_error(d, c, "no such path or hold '%s'",
				  text_esc(what, esc, sizeof(esc)));
		return;
	}
	struct hold saved = h->v[i];

	h->v[i] = h->v[--h->n];
	ret = holds_save(h);
	if (ret) {
		h->v[h->n++] = saved;	/* room: it was there */
		ctl_error(d, c, "cannot update %s: %s; %s stays held", h->file,
			  strerror(-ret), text_esc(hold_name(&saved), esc, sizeof(esc)));
		return;
	}
	client_by(c, by, sizeof(by));
	if (r && r->held) {
		r->held = false;
		/* Checked at once: the operator wants to know where it stands. */
		sched_remove(d, r);
		sched_insert(d, r, now_ms());
	}
	logmsg(LOG_NOTICE, "%s: path reinstated by %s%s",
	       text_esc(hold_name(&saved), esc, sizeof(esc)), by,
	       r ? "" : " (the path is not present; its hold is released)");
	publish(d, r ? r->name : hold_name(&saved), saved.dev, "reinstated", by, time(NULL));
	free(saved.dev);
	free(saved.by);
	ctl_send(d, c, "ok\n");
	ctl_reply_end(d, c);
}

/* --- show holds ------------------------------------------------------------------ */

/* What a hold does now: "held", "absent" (no path by that device path) or
 * "other device" (the name leads to another device: not applied). */
static const char *hold_status(const struct daemon *d, const struct hold *x)
{
	struct rec *r = recs_find_dev((struct daemon *)d, x->dev);

	if (!r)
		return "absent";
	return r->held ? "held" : "other device";
}

static void show_holds_json(struct daemon *d, struct client *c)
{
	const struct holds *h = d->holds;
	struct sbuf b = { 0 };
	char when[40];

	sb_printf(&b, "{\"holds\":[");
	for (size_t i = 0; i < h->n; i++) {
		const struct hold *x = &h->v[i];

		wall(x->since, when, sizeof(when));
		sb_printf(&b, "%s{\"dev\":", i ? "," : "");
		sb_json_str(&b, hold_name(x));
		sb_printf(&b, ",\"path\":");
		sb_json_str(&b, x->dev);
		sb_printf(&b, ",\"status\":\"%s\",\"since\":\"%s\",\"by\":", hold_status(d, x), when);
		sb_json_str(&b, x->by);
		sb_printf(&b, ",\"id\":");
		if (x->id[0])
			sb_json_str(&b, x->id);
		else
			sb_printf(&b, "null");
		sb_printf(&b, "}");
	}
	sb_printf(&b, "]}\n");
	ctl_send(d, c, "%s", b.oom ? "{\"holds\":null}\n" : b.p);
	sb_free(&b);
}

void cmd_show_holds(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;
	const struct holds *h = d->holds;
	char when[40], e_dev[256], e_path[512], e_by[256], e_id[2 * HOLD_ID_MAX];

	if (json) {
		show_holds_json(d, c);
		ctl_reply_end(d, c);
		return;
	}
	ctl_send(d, c, "%-12s %-13s %-20s %-20s %-24s %s\n", "dev", "status", "since", "by",
		 "id", "path");
	for (size_t i = 0; i < h->n; i++) {
		const struct hold *e = &h->v[i];

		wall(e->since, when, sizeof(when));
		ctl_send(d, c, "%-12s %-13s %-20s %-20s %-24s %s\n",
			 text_esc(hold_name(e), e_dev, sizeof(e_dev)), hold_status(d, e), when,
			 text_esc(e->by, e_by, sizeof(e_by)),
			 e->id[0] ? text_esc(e->id, e_id, sizeof(e_id)) : "-",
			 text_esc(e->dev, e_path, sizeof(e_path)));
	}
	ctl_reply_end(d, c);
}
