/* SPDX-License-Identifier: MIT */
/*
 * `show paths format "FMT"`: multipathd's path wildcards where they mean
 * something here, with its headers, each column as wide as its widest cell:
 *
 *	%d dev		%D dev_t	%t %T chk_st	%o dev_st
 *	%C next_check	%s vend/prod/rev		%w uuid (wwid)
 *	%L latency_us	%x transitions	(ours; multipathd's %L is the LUN)
 *	%% a percent sign
 *
 * Text between wildcards is copied.  Values come from the record, and for
 * %o %s %w from sysfs (/sys/dev/block/MAJ:MIN/...) or udev's database
 * (/run/udev/data/bMAJ:MIN), read when asked: "-" when there is none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ctl.h"
#include "format.h"
#include "clock.h"
#include "escape.h"
#include "cmds.h"

void rec_note_devt(struct rec *r)
{
	struct stat st;

	r->rdev = 0;
	if (stat(r->dev, &st) == 0 && S_ISBLK(st.st_mode))
		r->rdev = (uint64_t)st.st_rdev;
}

const char *fmt_devt(const struct rec *r, char *buf, size_t len)
{
	if (!r->rdev)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u:%u", major((dev_t)r->rdev), minor((dev_t)r->rdev));
	return buf;
}

const char *fmt_next_check(const struct rec *r, char *buf, size_t len)
{
	uint64_t now = now_ms();

	if (r->held)
		snprintf(buf, len, "held");
	else if (!r->path || r->heap_idx == SIZE_MAX)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1fs", r->due_ms > now ? (double)(r->due_ms - now) / 1e3 : 0.0);
	return buf;
}

struct rec *recs_find_devt(struct daemon *d, const char *what)
{
	unsigned int maj, min;
	int n = 0;

	if (sscanf(what, "%u:%u%n", &maj, &min, &n) != 2 || what[n] ||
	    what[strspn(what, "0123456789:")])
		return NULL;
	for (size_t i = 0; i < d->nrecs; i++)
		if (d->recs[i]->rdev && d->recs[i]->rdev == (uint64_t)makedev(maj, min))
			return d->recs[i];
	return NULL;
}

/* --- sysfs and udev --------------------------------------------------------- */

/* The first line of a small file, trimmed: true if there is one. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;
	char *s;

	if (!f)
		return false;
	s = fgets(buf, (int)len, f);
	fclose(f);
	if (!s)
		return false;
	n = strcspn(buf, "\n");
	while (n && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	s = buf + strspn(buf, " ");
	memmove(buf, s, strlen(s) + 1);
	return buf[0] != '\0';
}

static bool sys_attr(const struct rec *r, const char *attr, char *buf, size_t len)
{
	char path[128];

	if (!r->rdev)
		return false;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major((dev_t)r->rdev),
		 minor((dev_t)r->rdev), attr);
	return read_line(path, buf, len);
}

/* E:KEY=value of udev's database entry for the device. */
static bool udev_prop(const struct rec *r, const char *key, char *buf, size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f;

	if (!r->rdev)
		return false;
	snprintf(path, sizeof(path), "/run/udev/data/b%u:%u", major((dev_t)r->rdev),
		 minor((dev_t)r->rdev));
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "E:", 2) && !strncmp(line + 2, key, klen) &&
		    line[2 + klen] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(line + 3 + klen, "\n"),
				 line + 3 + klen);
			found = buf[0] != '\0';
		}
	}
	fclose(f);
	return found;
}

static void dev_st(const struct rec *r, char *buf, size_t len)
{
	if (sys_attr(r, "device/state", buf, len))
		return;
	snprintf(buf, len, "%s", r->path ? "running" : "offline");
}

static void vpr(const struct rec *r, char *buf, size_t len)
{
	char v[64], p[64], rev[32];

	if (!sys_attr(r, "device/vendor", v, sizeof(v)))
		snprintf(v, sizeof(v), "##");
	if (!sys_attr(r, "device/model", p, sizeof(p)))
		snprintf(p, sizeof(p), "##");
	if (!sys_attr(r, "device/rev", rev, sizeof(rev)))
		snprintf(rev, sizeof(rev), "##");
	if (!strcmp(v, "##") && !strcmp(p, "##") && !strcmp(rev, "##"))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s,%s,%s", v, p, rev);
}

static void wwid(const struct rec *r, char *buf, size_t len)
{
	if (sys_attr(r, "device/wwid", buf, len) || sys_attr(r, "wwid", buf, len) ||
	    udev_prop(r, "ID_WWN", buf, len) || udev_prop(r, "ID_SERIAL", buf, len))
		return;
	snprintf(buf, len, "-");
}

/* --- the format ------------------------------------------------------------- */

struct wildcard {
	char c;
	const char *header;
};

static const struct wildcard wildcards[] = {
	{ 'd', "dev" }, { 'D', "dev_t" }, { 't', "chk_st" }, { 'T', "chk_st" },
	{ 'o', "dev_st" }, { 'C', "next_check" }, { 's', "vend/prod/rev" },
	{ 'w', "uuid" }, { 'L', "latency_us" }, { 'x', "transitions" },
};
#define NWILD (sizeof(wildcards) / sizeof(wildcards[0]))

static const struct wildcard *wildcard(char c)
{
	for (size_t i = 0; i < NWILD; i++)
		if (wildcards[i].c == c)
			return &wildcards[i];
	return NULL;
}

/* The value of wildcard c for r, escaped for text. */
static void cell(const struct rec *r, char c, struct sbuf *out)
{
	char buf[512];
	enum chk_st st;

	switch (c) {
	case 'd':
		sb_text_str(out, r->name);
		return;
	case 'D':
		fmt_devt(r, buf, sizeof(buf));
		break;
	case 't':
	case 'T':
		rec_display(r, &st);
		snprintf(buf, sizeof(buf), "%s", chk_st_name(st));
		break;
	case 'o':
		dev_st(r, buf, sizeof(buf));
		break;
	case 'C':
		fmt_next_check(r, buf, sizeof(buf));
		break;
	case 's':
		vpr(r, buf, sizeof(buf));
		break;
	case 'w':
		wwid(r, buf, sizeof(buf));
		break;
	case 'L':
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->latency_us);
		break;
	case 'x':
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->transitions);
		break;
	default:
		buf[0] = '\0';
	}
	sb_text_str(out, buf);
}

/* Checks fmt: NULL, or the error. */
static const char *check_fmt(const char *fmt, char *err, size_t len)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (!*++p) {
			snprintf(err, len, "format ends in '%%' (use %%%% for a percent sign)");
			return err;
		}
		if (*p != '%' && !wildcard(*p)) {
			snprintf(err, len, "unknown wildcard '%%%c' in format (known: "
				 "%%d %%D %%t %%T %%o %%C %%s %%w %%L %%x %%%%)", *p);
			return err;
		}
	}
	return NULL;
}

/*
 * Two passes: the cells of every row (and the header) into one buffer each,
 * the width of each wildcard column, then the lines padded.
 */
struct col {
	char c;			/* wildcard, or 0 for literal text */
	const char *lit;
	size_t litlen;
	size_t width;
};

static size_t parse_cols(const char *fmt, struct col *cols, size_t max)
{
	size_t n = 0;
	const char *p = fmt;

	while (*p && n < max) {
		if (p[0] == '%' && p[1] == '%') {
			cols[n++] = (struct col){ .lit = p, .litlen = 1 };
			p += 2;
		} else if (p[0] == '%') {
			cols[n++] = (struct col){ .c = p[1] };
			p += 2;
		} else {
			size_t k = strcspn(p, "%");

			cols[n++] = (struct col){ .lit = p, .litlen = k };
			p += k;
		}
	}
	return n;
}

/* Columns of escaped text: its UTF-8 characters. */
static size_t columns(const struct sbuf *s)
{
	size_t w = 0;

	for (size_t i = 0; i < s->len; i++)
		w += ((unsigned char)s->p[i] & 0xc0) != 0x80;
	return w;
}

void cmd_show_paths_format(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	const char *fmt = x->arg;
	struct col cols[128];
	char err[160];
	size_t n, nr = d->nrecs;
	struct sbuf *cells;
	struct sbuf *b = &c->out;

	if (check_fmt(fmt, err, sizeof(err))) {
		ctl_error(d, c, "%s", err);
		return;
	}
	n = parse_cols(fmt, cols, 128);
	cells = calloc((nr + 1) * n + 1, sizeof(*cells));
	if (!cells) {
		ctl_error(d, c, "out of memory");
		return;
	}
	recs_sort(d);
	for (size_t j = 0; j < n; j++) {
		if (!cols[j].c)
			continue;
		sb_printf(&cells[j], "%s", wildcard(cols[j].c)->header);
		cols[j].width = columns(&cells[j]);
		for (size_t i = 0; i < nr; i++) {
			struct sbuf *s = &cells[(i + 1) * n + j];

			cell(d->recs[i], cols[j].c, s);
			if (columns(s) > cols[j].width)
				cols[j].width = columns(s);
		}
	}
	for (size_t i = 0; i <= nr; i++) {
		size_t start = b->len;

		for (size_t j = 0; j < n; j++) {
			struct sbuf *s = &cells[i * n + j];

			if (!cols[j].c) {
				sb_append(b, cols[j].lit, cols[j].litlen);
				continue;
			}
			sb_append(b, s->p ? s->p : "", s->len);
			if (j + 1 < n)
				sb_printf(b, "%*s", (int)(cols[j].width - columns(s)), "");
		}
		/* no trailing blanks, and never an empty line: it would end the reply */
		while (b->len > start && b->p[b->len - 1] == ' ')
			b->p[--b->len] = '\0';
		if (b->len == start)
			sb_append(b, "-", 1);
		sb_append(b, "\n", 1);
	}
	for (size_t i = 0; i < (nr + 1) * n; i++)
		sb_free(&cells[i]);
	free(cells);
	ctl_reply_end(d, c);
}
