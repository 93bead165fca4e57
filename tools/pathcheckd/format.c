/* SPDX-License-Identifier: MIT */
/*
 * `show paths format "FMT"` and `show paths raw format "FMT"`: every one of
 * multipathd's path wildcards, with its header; a column as wide as its
 * widest cell (raw: no header, no padding).  The wildcards that mean
 * something here give their value, the others a placeholder column of "-"
 * (the table below; pathcheckd(8) says what each one does).  Text between
 * wildcards is copied.
 *
 * What sysfs and udev say of a device (%o %s %w %i %z %S) is read when its
 * record is made and at each change event, never while a command runs: a
 * format over 20,000 paths would otherwise open some 160,000 files in the
 * event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctl.h"
#include "format.h"
#include "clock.h"
#include "escape.h"
#include "cmds.h"

/* A device's attributes, as read last ("": none). */
struct rec_sysfs {
	char dev_st[16];	/* device/state: running, offline... */
	char hcil[24];		/* SCSI host:channel:id:lun */
	char vpr[96];		/* vendor,model,rev */
	char wwid[128];
	char serial[64];
	uint64_t size;		/* bytes; 0: unknown */
};

static void read_sysfs(const struct rec *r, struct rec_sysfs *sy);

void rec_note_devt(struct rec *r)
{
	struct stat st;
	bool found = stat(r->dev, &st) == 0;

	r->rdev = 0;
	if (found && S_ISBLK(st.st_mode))
		r->rdev = (uint64_t)st.st_rdev;
	if (!r->sys)
		r->sys = calloc(1, sizeof(*r->sys));
	if (!r->sys)
		return;		/* shown as "-" */
	memset(r->sys, 0, sizeof(*r->sys));
	if (r->rdev)
		read_sysfs(r, r->sys);
	else if (found && S_ISREG(st.st_mode))
		r->sys->size = (uint64_t)st.st_size;
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

/* --- sysfs and udev, read by rec_note_devt ---------------------------------- */

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

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major((dev_t)r->rdev),
		 minor((dev_t)r->rdev), attr);
	return read_line(path, buf, len);
}

/* E:KEY=value lines of udev's database entry for the device. */
struct udev_keys {
	char wwn[128], serial[128], serial_short[64];
};

static void udev_copy(const char *line, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);

	if (!strncmp(line, key, k) && line[k] == '=' && !buf[0])
		snprintf(buf, len, "%.*s", (int)strcspn(line + k + 1, "\n"), line + k + 1);
}

static void udev_props(const struct rec *r, struct udev_keys *u)
{
	char path[64], line[512];
	FILE *f;

	memset(u, 0, sizeof(*u));
	snprintf(path, sizeof(path), "/run/udev/data/b%u:%u", major((dev_t)r->rdev),
		 minor((dev_t)r->rdev));
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "E:", 2))
			continue;
		udev_copy(line + 2, "ID_WWN", u->wwn, sizeof(u->wwn));
		udev_copy(line + 2, "ID_SERIAL", u->serial, sizeof(u->serial));
		udev_copy(line + 2, "ID_SERIAL_SHORT", u->serial_short, sizeof(u->serial_short));
	}
	fclose(f);
}

/* An attribute, else "##" as multipathd writes a part it does not know. */
static bool attr_or_hashes(const struct rec *r, const char *attr, char *buf, size_t len)
{
	if (sys_attr(r, attr, buf, len))
		return true;
	snprintf(buf, len, "##");
	return false;
}

static void vpr(const struct rec *r, char *buf, size_t len)
{
	char v[32], p[48], rev[16];
	/* | not ||: each part is read */
	bool any = attr_or_hashes(r, "device/vendor", v, sizeof(v)) |
		   attr_or_hashes(r, "device/model", p, sizeof(p)) |
		   attr_or_hashes(r, "device/rev", rev, sizeof(rev));

	if (any)
		snprintf(buf, len, "%s,%s,%s", v, p, rev);
}

/* The SCSI address: the name the device's link points to, "H:C:I:L". */
static void hcil(const struct rec *r, char *buf, size_t len)
{
	char path[64], target[256];
	unsigned int h, c, i, l;
	const char *base;
	ssize_t n;
	int end = 0;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/device", major((dev_t)r->rdev),
		 minor((dev_t)r->rdev));
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (sscanf(base, "%u:%u:%u:%u%n", &h, &c, &i, &l, &end) == 4 && !base[end])
		snprintf(buf, len, "%u:%u:%u:%u", h, c, i, l);
}

static void read_sysfs(const struct rec *r, struct rec_sysfs *sy)
{
	struct udev_keys u;
	char size[32];

	sys_attr(r, "device/state", sy->dev_st, sizeof(sy->dev_st));
	hcil(r, sy->hcil, sizeof(sy->hcil));
	vpr(r, sy->vpr, sizeof(sy->vpr));
	udev_props(r, &u);
	if (!sys_attr(r, "device/wwid", sy->wwid, sizeof(sy->wwid)) &&
	    !sys_attr(r, "wwid", sy->wwid, sizeof(sy->wwid)))
		snprintf(sy->wwid, sizeof(sy->wwid), "%s", u.wwn[0] ? u.wwn : u.serial);
	if (!sys_attr(r, "device/serial", sy->serial, sizeof(sy->serial)))
		snprintf(sy->serial, sizeof(sy->serial), "%s", u.serial_short);
	if (sys_attr(r, "size", size, sizeof(size)))
		sy->size = strtoull(size, NULL, 10) * 512;	/* always 512-byte sectors */
}

/* --- the cells ---------------------------------------------------------------- */

static void sys_cell(const char *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s", v && v[0] ? v : "-");
}

static void cell_dev_st(const struct rec *r, char *buf, size_t len)
{
	if (r->sys && r->sys->dev_st[0])
		sys_cell(r->sys->dev_st, buf, len);
	else
		snprintf(buf, len, "%s", r->path ? "running" : "offline");
}

static void cell_vpr(const struct rec *r, char *buf, size_t len)
{
	sys_cell(r->sys ? r->sys->vpr : NULL, buf, len);
}

static void cell_wwid(const struct rec *r, char *buf, size_t len)
{
	sys_cell(r->sys ? r->sys->wwid : NULL, buf, len);
}

static void cell_hcil(const struct rec *r, char *buf, size_t len)
{
	sys_cell(r->sys ? r->sys->hcil : NULL, buf, len);
}

static void cell_serial(const struct rec *r, char *buf, size_t len)
{
	sys_cell(r->sys ? r->sys->serial : NULL, buf, len);
}

/* In binary units, as multipathd shows it: 512M, 1.5G, 20G. */
static void cell_size(const struct rec *r, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v;
	int u = 0;

	if (!r->sys || !r->sys->size) {
		snprintf(buf, len, "-");
		return;
	}
	v = (double)r->sys->size / 1024;
	while (v >= 1024 && units[u + 1]) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 && v != (double)(uint64_t)v ? "%.1f%c" : "%.0f%c",
		 v, units[u]);
}

static void cell_dev(const struct rec *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s", r->name);
}

static void cell_devt(const struct rec *r, char *buf, size_t len)
{
	fmt_devt(r, buf, len);
}

static void cell_chk_st(const struct rec *r, char *buf, size_t len)
{
	enum chk_st st;

	rec_display(r, &st);
	snprintf(buf, len, "%s", chk_st_name(st));
}

static void cell_checker(const struct rec *r, char *buf, size_t len)
{
	(void)r;
	snprintf(buf, len, "directio");
}

static void cell_next_check(const struct rec *r, char *buf, size_t len)
{
	fmt_next_check(r, buf, len);
}

/* No prioritizers here: multipathd's value for a path without one. */
static void cell_pri(const struct rec *r, char *buf, size_t len)
{
	(void)r;
	snprintf(buf, len, "-1");
}

static void cell_marginal(const struct rec *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s", rec_marginal(r) ? "marginal" : "normal");
}

static void cell_latency(const struct rec *r, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)r->latency_us);
}

static void cell_transitions(const struct rec *r, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)r->transitions);
}

/* --- the format ------------------------------------------------------------- */

/* multipathd's path wildcards, in its order, and ours (%x; %L and %t differ:
 * multipathd's LUN hex and dm_st).  No cell: a placeholder column. */
static const struct wildcard {
	char c;
	const char *header;
	void (*cell)(const struct rec *r, char *buf, size_t len);
} wildcards[] = {
	{ 'w', "uuid", cell_wwid },		{ 'i', "hcil", cell_hcil },
	{ 'd', "dev", cell_dev },		{ 'D', "dev_t", cell_devt },
	{ 't', "chk_st", cell_chk_st },		{ 'o', "dev_st", cell_dev_st },
	{ 'T', "chk_st", cell_chk_st },		{ 's', "vend/prod/rev", cell_vpr },
	{ 'c', "checker", cell_checker },	{ 'C', "next_check", cell_next_check },
	{ 'p', "pri", cell_pri },		{ 'S', "size", cell_size },
	{ 'z', "serial", cell_serial },		{ 'M', "marginal_st", cell_marginal },
	{ 'm', "multipath", NULL },		{ 'N', "host WWNN", NULL },
	{ 'n', "target WWNN", NULL },		{ 'R', "host WWPN", NULL },
	{ 'r', "target WWPN", NULL },		{ 'a', "host adapter", NULL },
	{ 'G', "foreign", NULL },		{ 'g', "vpd page data", NULL },
	{ '0', "failures", NULL },		{ 'P', "protocol", NULL },
	{ 'I', "init_st", NULL },		{ 'L', "latency_us", cell_latency },
	{ 'A', "TPG", NULL },			{ 'x', "transitions", cell_transitions },
};
#define NWILD (sizeof(wildcards) / sizeof(wildcards[0]))

static const struct wildcard *wildcard(char c)
{
	for (size_t i = 0; i < NWILD; i++)
		if (wildcards[i].c == c)
			return &wildcards[i];
	return NULL;
}

/* The value of wildcard w for r, escaped for text. */
static void cell(const struct rec *r, const struct wildcard *w, struct sbuf *out)
{
	char buf[512];

	if (w->cell)
		w->cell(r, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
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
			snprintf(err, len, "unknown wildcard '%%%c' in format (multipathd's "
				 "path wildcards, %%x and %%%%: see pathcheckd(8))", *p);
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
	const struct wildcard *w;	/* NULL for literal text */
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
			cols[n++] = (struct col){ .w = wildcard(p[1]) };
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

/* Row 0 is the header; raw: none, and no padding. */
static void emit_rows(struct daemon *d, struct sbuf *b, struct col *cols, size_t n,
		      struct sbuf *cells, bool raw)
{
	for (size_t i = raw; i <= d->nrecs; i++) {
		size_t start = b->len;

		for (size_t j = 0; j < n; j++) {
			struct sbuf *s = &cells[i * n + j];

			if (!cols[j].w) {
				sb_append(b, cols[j].lit, cols[j].litlen);
				continue;
			}
			sb_append(b, s->p ? s->p : "", s->len);
			if (j + 1 < n && !raw)
				sb_printf(b, "%*s", (int)(cols[j].width - columns(s)), "");
		}
		/* no trailing blanks, and never an empty line: it would end the reply */
		while (b->len > start && b->p[b->len - 1] == ' ')
			b->p[--b->len] = '\0';
		if (b->len == start)
			sb_append(b, "-", 1);
		sb_append(b, "\n", 1);
	}
}

static void show_format(struct cmd_ctx *x, bool raw)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	const char *fmt = x->arg;
	struct col cols[128];
	char err[160];
	size_t n, nr = d->nrecs;
	struct sbuf *cells;

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
		if (!cols[j].w)
			continue;
		sb_printf(&cells[j], "%s", cols[j].w->header);
		cols[j].width = columns(&cells[j]);
		for (size_t i = 0; i < nr; i++) {
			struct sbuf *s = &cells[(i + 1) * n + j];

			cell(d->recs[i], cols[j].w, s);
			if (columns(s) > cols[j].width)
				cols[j].width = columns(s);
		}
	}
	emit_rows(d, &c->out, cols, n, cells, raw);
	for (size_t i = 0; i < (nr + 1) * n; i++)
		sb_free(&cells[i]);
	free(cells);
	ctl_reply_end(d, c);
}

void cmd_show_paths_format(struct cmd_ctx *x)
{
	show_format(x, false);
}

void cmd_show_paths_raw_format(struct cmd_ctx *x)
{
	show_format(x, true);
}
