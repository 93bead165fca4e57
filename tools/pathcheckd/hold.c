/* SPDX-License-Identifier: MIT */
/* fail path / reinstate path, and the state file.  See hold.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "ctl.h"
#include "hold.h"
#include "clock.h"
#include "escape.h"
#include "log.h"
#include "sched.h"

#define HOLD_LINE_MAX	8192

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

static int holds_add(struct holds *h, const char *dev, const char *by, time_t since)
{
	struct hold x = { .dev = strdup(dev), .by = strdup(by), .since = since };

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

/* One line of the file: 0 (a hold, now in the table, or a comment),
 * -EINVAL (no hold line) or -ENOMEM. */
static int parse_line(struct holds *h, char *line)
{
	char *save = NULL, *kw, *since, *dev, *by, *end;
	long long t;

	kw = strtok_r(line, " ", &save);
	if (!kw || kw[0] == '#')
		return 0;
	since = strtok_r(NULL, " ", &save);
	dev = strtok_r(NULL, " ", &save);
	by = save && *save ? save : (char *)"unknown";
	t = since ? strtoll(since, &end, 10) : -1;
	if (strcmp(kw, "hold") || !since || *end || t < 0 || !dev || !get_path(dev) ||
	    dev[0] != '/')
		return -EINVAL;
	return holds_add(h, dev, by, (time_t)t);
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
	r->held = hold_find(d, r->dev) != NULL;
}

size_t holds_active(const struct daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nrecs; i++)
		n += d->recs[i]->held;
	return n;
}

/* --- events and commands ------------------------------------------------------ */

static void publish(struct daemon *d, const struct rec *r, const char *kind,
		    const char *by, time_t since)
{
	struct sbuf ev = { 0 };
	char when[40];
	struct tm tm;

	d->seq++;	/* every event is numbered, subscribed or not */
	if (!d->subscribers)
		return;
	gmtime_r(&since, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_printf(&ev, "{\"event\":\"%s\",\"seq\":%llu,\"dev\":", kind,
		  (unsigned long long)d->seq);
	sb_json_str(&ev, r->name);
	sb_printf(&ev, ",\"path\":");
	sb_json_str(&ev, r->dev);
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

void cmd_fail_path(struct daemon *d, struct client *c, const char *what)
{
	struct rec *r = find(d, c, what);
	const struct hold *old;
	char by[64], esc[256], esc_by[256];
	time_t now = time(NULL);
	int ret;

	if (!r)
		return;
	old = hold_find(d, r->dev);
	if (old) {
		ctl_error(d, c, "path %s is already held (by %s)",
			  text_esc(r->name, esc, sizeof(esc)),
			  text_esc(old->by, esc_by, sizeof(esc_by)));
		return;
	}
	snprintf(by, sizeof(by), "uid %u pid %d", (unsigned int)c->uid, (int)c->pid);
	ret = holds_add(d->holds, r->dev, by, now);
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
	publish(d, r, "held", by, now);
	ctl_send(d, c, "ok\n");
	ctl_reply_end(d, c);
}

void cmd_reinstate_path(struct daemon *d, struct client *c, const char *what)
{
	struct rec *r = find(d, c, what);
	struct holds *h = d->holds;
	char by[64], esc[256];
	size_t i;
	int ret;

	if (!r)
		return;
	for (i = 0; i < h->n && strcmp(h->v[i].dev, r->dev); i++)
		;
	if (i == h->n) {
		ctl_error(d, c, "path %s is not held", text_esc(r->name, esc, sizeof(esc)));
		return;
	}
	struct hold saved = h->v[i];

	h->v[i] = h->v[--h->n];
	ret = holds_save(h);
	if (ret) {
		h->v[h->n++] = saved;	/* room: it was there */
		ctl_error(d, c, "cannot update %s: %s; %s stays held", h->file,
			  strerror(-ret), text_esc(r->name, esc, sizeof(esc)));
		return;
	}
	free(saved.dev);
	free(saved.by);
	r->held = false;
	/* Checked at once: the operator wants to know where it stands. */
	sched_remove(d, r);
	sched_insert(d, r, now_ms());
	snprintf(by, sizeof(by), "uid %u pid %d", (unsigned int)c->uid, (int)c->pid);
	logmsg(LOG_NOTICE, "%s: path reinstated by %s", text_esc(r->name, esc, sizeof(esc)), by);
	publish(d, r, "reinstated", by, time(NULL));
	ctl_send(d, c, "ok\n");
	ctl_reply_end(d, c);
}
