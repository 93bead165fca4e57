/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf: parsing and expansion.  The format is in
 * pathcheckd.conf(5).  The parser never trusts its input: every line is
 * bounded, every number saturates before it can overflow, and an error
 * leaves *cfg empty with one "FILE:LINE: reason" message.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "pathcheck.h"

#define MAX_FILE	(1u << 20)	/* bytes */
#define MAX_LINE	4096		/* bytes, without the newline */
#define MAX_SHOWN	64		/* bytes of a word quoted in a message */
#define DAY_MS		86400000u
#define SPACE		" \t\r"
#define SOCKET_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define DEFAULT_INTERVAL_MS	5000
#define DEFAULT_SOCKET_MODE	0600

struct parser {
	const char *file;
	unsigned int line;
	struct config *cfg;
	char *err;
	size_t errlen;
};

/* --- messages ------------------------------------------------------------- */

static int __attribute__((format(printf, 3, 0)))
vfail(struct parser *p, int ret, const char *fmt, va_list ap)
{
	int n = p->line ? snprintf(p->err, p->errlen, "%s:%u: ", p->file, p->line)
			: snprintf(p->err, p->errlen, "%s: ", p->file);

	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	return ret;
}

/* Writes "FILE:LINE: reason" (or "FILE: reason" outside any line). */
static int __attribute__((format(printf, 3, 4)))
fail(struct parser *p, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vfail(p, ret, fmt, ap);
	va_end(ap);
	return ret;
}

/* A word of the file as a message shows it: at most MAX_SHOWN bytes. */
static const char *shown(const char *word, char buf[MAX_SHOWN + 4])
{
	size_t n = strlen(word);

	if (n <= MAX_SHOWN)
		return word;
	memcpy(buf, word, MAX_SHOWN);
	memcpy(buf + MAX_SHOWN, "...", 4);
	return buf;
}

/* --- values ----------------------------------------------------------------- */

enum dur_err { DUR_OK = 0, DUR_SYNTAX, DUR_UNIT, DUR_RANGE, DUR_FRACTION };

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t unit_ms(const char *u)
{
	if (!*u || !strcmp(u, "s"))
		return 1000;
	if (!strcmp(u, "ms"))
		return 1;
	if (!strcmp(u, "m"))
		return 60000;
	if (!strcmp(u, "h"))
		return 3600000;
	return 0;
}

/*
 * DIGITS[.DIGITS][ms|s|m|h], no unit meaning seconds, 1 ms .. 24 h and a
 * whole number of milliseconds.  The integer part saturates just above a
 * day; the fraction keeps 9 digits, since a non-zero digit past the
 * eighth decimal can never make whole milliseconds, even of hours.
 */
static enum dur_err parse_dur(const char *s, unsigned int *ms)
{
	uint64_t whole = 0, frac = 0, scale = 1, unit, total;
	bool sub_ms = false;
	const char *c = s;

	if (!is_digit(*c))
		return DUR_SYNTAX;
	for (; is_digit(*c); c++)
		if (whole <= DAY_MS)
			whole = whole * 10 + (uint64_t)(*c - '0');
	if (*c == '.') {
		if (!is_digit(*++c))
			return DUR_SYNTAX;
		for (; is_digit(*c); c++) {
			if (scale < 1000000000) {
				frac = frac * 10 + (uint64_t)(*c - '0');
				scale *= 10;
			} else if (*c != '0') {
				sub_ms = true;
			}
		}
	}
	unit = unit_ms(c);
	if (!unit)
		return *c == '.' ? DUR_SYNTAX : DUR_UNIT;
	if (whole * unit > DAY_MS)
		return DUR_RANGE;
	total = whole * unit * scale + frac * unit;	/* < 2^57 */
	if (total > (uint64_t)DAY_MS * scale || total < scale)
		return DUR_RANGE;
	if (sub_ms || total % scale)
		return DUR_FRACTION;
	*ms = (unsigned int)(total / scale);
	return DUR_OK;
}

int config_parse_duration(const char *s, unsigned int *ms)
{
	unsigned int v;

	if (!s || parse_dur(s, &v) != DUR_OK)
		return -EINVAL;
	*ms = v;
	return 0;
}

/* "for 'interval'" or "for option 'interval'": where the value was. */
static int set_duration(struct parser *p, const char *what, const char *key,
			const char *val, unsigned int *ms)
{
	char b[MAX_SHOWN + 4];
	const char *v = shown(val, b);

	switch (parse_dur(val, ms)) {
	case DUR_OK:
		return 0;
	case DUR_UNIT:
		return fail(p, -EINVAL, "bad duration unit in '%s' for %s'%s' (use ms, s, m or h)",
			    v, what, key);
	case DUR_RANGE:
		return fail(p, -EINVAL, "duration '%s' for %s'%s' out of range (1ms..24h)",
			    v, what, key);
	case DUR_FRACTION:
		return fail(p, -EINVAL, "duration '%s' for %s'%s' is not a whole number of milliseconds",
			    v, what, key);
	case DUR_SYNTAX:
		break;
	}
	return fail(p, -EINVAL, "bad duration '%s' for %s'%s' (e.g. 250ms, 5s, 1.5s, 2m)",
		    v, what, key);
}

/* Digits of base 8 or 10 only; saturates just above max. */
static bool parse_uint(const char *s, unsigned int base, unsigned int max, unsigned int *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!is_digit(*s) || (unsigned int)(*s - '0') >= base)
			return false;
		if (v <= max)
			v = v * base + (uint64_t)(*s - '0');
	}
	*out = v > max ? max + 1 : (unsigned int)v;
	return true;
}

/* --- keywords --------------------------------------------------------------- */

enum kw_kind { KW_DURATION, KW_COUNT, KW_MODE, KW_ABSPATH, KW_LOG, KW_PATH, KW_BLACKLIST };

struct keyword {
	const char *name;
	enum kw_kind kind;
	size_t off;		/* of the field in struct config */
	unsigned int min, max;	/* KW_COUNT: range; KW_ABSPATH: max length */
};

static const struct keyword keywords[] = {
	{ "interval", KW_DURATION, offsetof(struct config, interval_ms), 0, 0 },
	{ "timeout", KW_DURATION, offsetof(struct config, timeout_ms), 0, 0 },
	{ "workers", KW_COUNT, offsetof(struct config, workers), 0, 1024 },
	{ "group_size", KW_COUNT, offsetof(struct config, group_size), 1, 65536 },
	{ "shutdown_timeout", KW_DURATION, offsetof(struct config, shutdown_ms), 0, 0 },
	{ "socket", KW_ABSPATH, offsetof(struct config, socket_path), 0, SOCKET_MAX },
	{ "socket_mode", KW_MODE, offsetof(struct config, socket_mode), 0, 0777 },
	{ "metrics_file", KW_ABSPATH, offsetof(struct config, metrics_file), 0, PATH_MAX - 1 },
	{ "log", KW_LOG, offsetof(struct config, log_target), 0, 0 },
	{ "flap_threshold", KW_COUNT, offsetof(struct config, flap_threshold), 1, 1000 },
	{ "flap_window", KW_DURATION, offsetof(struct config, flap_window_ms), 0, 0 },
	{ "flap_recovery", KW_DURATION, offsetof(struct config, flap_recovery_ms), 0, 0 },
	{ "slow_threshold", KW_DURATION, offsetof(struct config, slow_threshold_ms), 0, 0 },
	{ "slow_window", KW_DURATION, offsetof(struct config, slow_window_ms), 0, 0 },
	{ "max_interval", KW_DURATION, offsetof(struct config, max_interval_ms), 0, 0 },
	{ "path", KW_PATH, 0, 0, 0 },
	{ "blacklist", KW_BLACKLIST, 0, 0, 0 },
};
_Static_assert(sizeof(keywords) / sizeof(keywords[0]) <= CFG_NSETTINGS,
	       "struct config's set_line is too small");

static void *field(struct parser *p, const struct keyword *kw)
{
	return (char *)p->cfg + kw->off;
}

/* The next word of the line, NUL-terminated in place; NULL at the end. */
static char *next_word(char **cur)
{
	char *s = *cur + strspn(*cur, SPACE), *e;

	if (!*s)
		return NULL;
	e = s + strcspn(s, SPACE);
	if (*e)
		*e++ = '\0';
	*cur = e;
	return s;
}

static int set_count(struct parser *p, const struct keyword *kw, const char *val)
{
	char b[MAX_SHOWN + 4];
	unsigned int v;

	if (!parse_uint(val, 10, kw->max, &v))
		return fail(p, -EINVAL, "bad number '%s' for '%s'", shown(val, b), kw->name);
	if (v < kw->min || v > kw->max)
		return fail(p, -EINVAL, "value '%s' for '%s' out of range (%u..%u)",
			    shown(val, b), kw->name, kw->min, kw->max);
	*(unsigned int *)field(p, kw) = v;
	return 0;
}

static int set_mode(struct parser *p, const struct keyword *kw, const char *val)
{
	char b[MAX_SHOWN + 4];
	unsigned int v;

	if (!parse_uint(val, 8, kw->max, &v))
		return fail(p, -EINVAL, "bad octal mode '%s' for '%s'", shown(val, b), kw->name);
	if (v > kw->max)
		return fail(p, -EINVAL, "mode '%s' for '%s' out of range (0..0777)",
			    shown(val, b), kw->name);
	*(unsigned int *)field(p, kw) = v;
	return 0;
}

static int set_abspath(struct parser *p, const struct keyword *kw, const char *val)
{
	char b[MAX_SHOWN + 4], **dst = field(p, kw), *copy;

	if (val[0] != '/')
		return fail(p, -EINVAL, "'%s' needs an absolute path, not '%s'",
			    kw->name, shown(val, b));
	if (strlen(val) > kw->max)
		return fail(p, -EINVAL, "'%s' path longer than %u bytes", kw->name, kw->max);
	copy = strdup(val);
	if (!copy)
		return fail(p, -ENOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

static int set_log(struct parser *p, const struct keyword *kw, const char *val)
{
	char b[MAX_SHOWN + 4];
	int *dst = field(p, kw);

	if (!strcmp(val, "stderr"))
		*dst = CFG_LOG_STDERR;
	else if (!strcmp(val, "syslog"))
		*dst = CFG_LOG_SYSLOG;
	else if (!strcmp(val, "journal"))
		*dst = CFG_LOG_JOURNAL;
	else if (!strcmp(val, "auto"))
		*dst = CFG_LOG_AUTO;
	else
		return fail(p, -EINVAL, "'log' takes stderr, syslog, journal or auto, not '%s'",
			    shown(val, b));
	return 0;
}

/*
 * Room for element n of an array grown by doubling (its capacity is the
 * power of two at or above n): the array, moved or not, or NULL.
 */
static void *grow(void *arr, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return arr;
	return reallocarray(arr, n ? n * 2 : 1, size);
}

/* interval=DUR / timeout=DUR after a path glob. */
static int path_option(struct parser *p, struct cfg_path_rule *r, char *w)
{
	char b[MAX_SHOWN + 4], *eq = strchr(w, '=');
	unsigned int *dst;

	if (eq)
		*eq = '\0';
	if (!strcmp(w, "interval"))
		dst = &r->interval_ms;
	else if (!strcmp(w, "timeout"))
		dst = &r->timeout_ms;
	else
		return fail(p, -EINVAL, "unknown option '%s' (use interval=DUR or timeout=DUR)",
			    shown(w, b));
	if (*dst)
		return fail(p, -EINVAL, "duplicate option '%s'", w);
	if (!eq || !eq[1])
		return fail(p, -EINVAL, "missing value for option '%s' (%s=DUR)", w, w);
	return set_duration(p, "option ", w, eq + 1, dst);
}

static int add_path(struct parser *p, const char *glob, char **cur)
{
	struct cfg_path_rule r = { .line = p->line }, *grown;
	struct config *c = p->cfg;
	char b[MAX_SHOWN + 4], *w;
	int ret;

	if (glob[0] != '/')
		return fail(p, -EINVAL, "'path' needs an absolute path or glob, not '%s'",
			    shown(glob, b));
	while ((w = next_word(cur)))
		if ((ret = path_option(p, &r, w)))
			return ret;
	r.glob = strdup(glob);
	grown = r.glob ? grow(c->rules, c->nrules, sizeof(*c->rules)) : NULL;
	if (!grown) {
		free(r.glob);
		return fail(p, -ENOMEM, "out of memory");
	}
	c->rules = grown;
	c->rules[c->nrules++] = r;
	return 0;
}

/*
 * Blacklist globs match whole paths with fnmatch(3) without FNM_PATHNAME,
 * so "*" crosses "/".  One that is neither absolute nor starts with a
 * wildcard could never match anything: that is a mistake worth an error.
 */
static int add_blacklist(struct parser *p, const char *glob)
{
	struct config *c = p->cfg;
	char b[MAX_SHOWN + 4], *copy, **grown;
	unsigned int *lines;

	if (!strchr("/*?[", glob[0]))
		return fail(p, -EINVAL, "'blacklist' needs an absolute path or a glob starting "
			    "with '*', '?' or '[', not '%s'", shown(glob, b));
	copy = strdup(glob);
	grown = copy ? grow(c->blacklist, c->nblacklist, sizeof(*c->blacklist)) : NULL;
	if (grown)
		c->blacklist = grown;
	lines = grown ? grow(c->blacklist_line, c->nblacklist, sizeof(*lines)) : NULL;
	if (!lines) {
		free(copy);
		return fail(p, -ENOMEM, "out of memory");
	}
	c->blacklist_line = lines;
	c->blacklist_line[c->nblacklist] = p->line;
	c->blacklist[c->nblacklist++] = copy;
	return 0;
}

static int set_scalar(struct parser *p, const struct keyword *kw, const char *val)
{
	switch (kw->kind) {
	case KW_DURATION:
		return set_duration(p, "", kw->name, val, field(p, kw));
	case KW_COUNT:
		return set_count(p, kw, val);
	case KW_MODE:
		return set_mode(p, kw, val);
	case KW_ABSPATH:
		return set_abspath(p, kw, val);
	case KW_LOG:
		return set_log(p, kw, val);
	case KW_BLACKLIST:
		return add_blacklist(p, val);
	case KW_PATH:
		break;
	}
	return -EINVAL;
}

/* One line's words, comment already cut off. */
static int parse_words(struct parser *p, char *cur)
{
	char b[MAX_SHOWN + 4], *key = next_word(&cur), *val, *extra;
	const struct keyword *kw = NULL;

	if (!key)
		return 0;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]) && !kw; i++)
		if (!strcmp(key, keywords[i].name))
			kw = &keywords[i];
	if (!kw)
		return fail(p, -EINVAL, "unknown keyword '%s'", shown(key, b));
	val = next_word(&cur);
	if (!val)
		return fail(p, -EINVAL, "missing value for '%s'", kw->name);
	if (kw->kind == KW_PATH)
		return add_path(p, val, &cur);
	extra = next_word(&cur);
	if (extra)
		return fail(p, -EINVAL, "extra word '%s' after the value of '%s'",
			    shown(extra, b), kw->name);
	p->cfg->set_line[kw - keywords] = p->line;	/* for show config */
	return set_scalar(p, kw, val);
}

/* Bytes that a line may hold outside its comment: no control characters. */
static int check_bytes(struct parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return fail(p, -EINVAL, "control character 0x%02x (words are separated "
				    "by spaces or tabs)", c);
	}
	return 0;
}

static int parse_line(struct parser *p, const char *s, size_t n)
{
	char buf[MAX_LINE + 1];
	const char *hash;
	int ret;

	if (memchr(s, '\0', n))
		return fail(p, -EINVAL, "NUL byte in the file");
	if (n > MAX_LINE)
		return fail(p, -EINVAL, "line longer than %u bytes", MAX_LINE);
	hash = memchr(s, '#', n);
	if (hash)
		n = (size_t)(hash - s);
	ret = check_bytes(p, s, n);
	if (ret)
		return ret;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_words(p, buf);
}

static void set_defaults(struct config *cfg)
{
	cfg->interval_ms = DEFAULT_INTERVAL_MS;
	cfg->timeout_ms = PC_DEFAULT_TIMEOUT_MS;
	cfg->socket_mode = DEFAULT_SOCKET_MODE;
	cfg->log_target = CFG_LOG_AUTO;
	cfg->flap_threshold = 2;
	cfg->flap_window_ms = 60000;
	cfg->flap_recovery_ms = 60000;
	cfg->slow_window_ms = 60000;
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0;

	if (len > MAX_FILE)
		return fail(p, -EINVAL, "larger than 1 MiB, refused");
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		int ret;

		p->line++;
		ret = parse_line(p, text + pos, n);
		if (ret)
			return ret;
		pos += n + 1;
	}
	return 0;
}

int config_parse(const char *file, const char *text, size_t len,
		 struct config *cfg, char *err, size_t errlen)
{
	struct parser p = { .file = file ? file : "(config)", .cfg = cfg,
			    .err = err, .errlen = errlen };
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (errlen)
		err[0] = '\0';
	set_defaults(cfg);
	cfg->file = strdup(p.file);
	if (!cfg->file)
		ret = fail(&p, -ENOMEM, "out of memory");
	else
		ret = parse_text(&p, text, len);
	if (ret)
		config_free(cfg);
	return ret;
}

/* The whole file, at most MAX_FILE bytes (one more to see it is larger). */
static int read_file(struct parser *p, char **textp, size_t *lenp)
{
	int fd = open(p->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), ret = 0;
	size_t len = 0;
	struct stat st;
	char *text;
	ssize_t n;

	if (fd < 0) {
		ret = -errno;
		return fail(p, ret, "cannot open: %s", strerror(-ret));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(p, -EINVAL, "not a regular file");
	}
	text = malloc(MAX_FILE + 1);
	if (!text) {
		close(fd);
		return fail(p, -ENOMEM, "out of memory");
	}
	while (len <= MAX_FILE && (n = read(fd, text + len, MAX_FILE + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			fail(p, ret, "read: %s", strerror(-ret));
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (!ret && len > MAX_FILE)
		ret = fail(p, -EINVAL, "larger than 1 MiB, refused");
	if (ret) {
		free(text);
		return ret;
	}
	*textp = text;
	*lenp = len;
	return 0;
}

int config_load(const char *file, struct config *cfg, char *err, size_t errlen)
{
	struct parser p = { .file = file, .err = err, .errlen = errlen };
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (errlen)
		err[0] = '\0';
	ret = read_file(&p, &text, &len);
	if (ret)
		return ret;
	ret = config_parse(file, text, len, cfg, err, errlen);
	free(text);
	return ret;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nrules; i++)
		free(cfg->rules[i].glob);
	for (size_t i = 0; i < cfg->nblacklist; i++)
		free(cfg->blacklist[i]);
	free(cfg->rules);
	free(cfg->blacklist);
	free(cfg->blacklist_line);
	free(cfg->file);
	free(cfg->socket_path);
	free(cfg->metrics_file);
	memset(cfg, 0, sizeof(*cfg));
}

static void fmt_duration(char *val, size_t len, unsigned int ms)
{
	if (ms % 1000)
		snprintf(val, len, "%ums", ms);
	else
		snprintf(val, len, "%us", ms / 1000);
}

bool config_setting(const struct config *cfg, size_t i, const char **name,
		    char *val, size_t len, unsigned int *line)
{
	static const char *const logs[] = { "auto", "stderr", "syslog", "journal" };
	size_t n = sizeof(keywords) / sizeof(keywords[0]);
	const struct keyword *kw;
	const void *f;

	/* path and blacklist are lists, shown apart: skip them. */
	for (size_t k = 0; k < n; k++) {
		if (keywords[k].kind == KW_PATH || keywords[k].kind == KW_BLACKLIST)
			continue;
		if (i--)
			continue;
		kw = &keywords[k];
		f = (const char *)cfg + kw->off;
		*name = kw->name;
		*line = cfg->set_line[k];
		switch (kw->kind) {
		case KW_DURATION:	/* 0: the engine's default, or off */
			if (*(const unsigned int *)f)
				fmt_duration(val, len, *(const unsigned int *)f);
			else if (!strcmp(kw->name, "shutdown_timeout"))
				fmt_duration(val, len, PC_DEFAULT_SHUTDOWN_MS);
			else
				snprintf(val, len, "off");
			break;
		case KW_COUNT:
			snprintf(val, len, "%u", *(const unsigned int *)f ||
				 strcmp(kw->name, "group_size") ? *(const unsigned int *)f
				 : (unsigned int)PC_DEFAULT_GROUP_SIZE);
			break;
		case KW_MODE:
			snprintf(val, len, "%04o", *(const unsigned int *)f);
			break;
		case KW_ABSPATH:
			snprintf(val, len, "%s", *(char *const *)f ? *(char *const *)f : "-");
			break;
		case KW_LOG:
			snprintf(val, len, "%s", logs[*(const int *)f % 4]);
			break;
		case KW_PATH:
		case KW_BLACKLIST:
			break;
		}
		return true;
	}
	return false;
}

/* --- expansion ------------------------------------------------------------------ */

/* A device found by a rule; seq orders the finds so the first one wins. */
struct found {
	struct cfg_dev dev;
	size_t seq;
	const struct cfg_path_rule *rule;
};

struct expansion {
	const struct config *cfg;
	struct found *v;
	size_t n;
	void (*note)(void *arg, const struct cfg_note *n);
	void *arg;
};

static void note(struct expansion *x, enum cfg_note_kind kind, const struct cfg_path_rule *r,
		 const char *match, const char *real, size_t bl, const struct cfg_path_rule *w)
{
	struct cfg_note n = { .kind = kind, .rule = r, .match = match, .real = real,
			      .blacklist = bl, .winner = w };

	if (x->note)
		x->note(x->arg, &n);
}

/* The first blacklist glob matching, or -1. */
static ssize_t blacklisted(const struct config *cfg, const char *match, const char *real)
{
	for (size_t i = 0; i < cfg->nblacklist; i++)
		if (!fnmatch(cfg->blacklist[i], match, 0) ||
		    (real && !fnmatch(cfg->blacklist[i], real, 0)))
			return (ssize_t)i;
	return -1;
}

unsigned int config_path_timeout(const struct config *cfg, const struct cfg_path_rule *r,
				 const char *real, unsigned int *line, bool *sysfs)
{
	size_t global = 0;
	unsigned int ms;

	while (strcmp(keywords[global].name, "timeout"))
		global++;
	*sysfs = false;
	*line = 0;
	if (r && r->timeout_ms) {
		*line = r->line;
		return r->timeout_ms;
	}
	if (cfg->set_line[global]) {
		*line = cfg->set_line[global];
		return cfg->timeout_ms;
	}
	ms = dev_sysfs_timeout_ms(real);
	*sysfs = ms != 0;
	return ms ? ms : cfg->timeout_ms;
}

/* The last component, trailing slashes ignored: "/dev/sdb/" is "sdb". */
static char *base_name(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (start == end)	/* "/" */
		return strdup(path);
	return strndup(path + start, end - start);
}

/* Takes path (malloc'ed) over: it is freed on error. */
static int add_found(struct expansion *x, const struct cfg_path_rule *r, char *path)
{
	char *name = base_name(path);
	struct found *grown = name ? grow(x->v, x->n, sizeof(*x->v)) : NULL;

	if (!grown) {
		free(name);
		free(path);
		return -ENOMEM;
	}
	x->v = grown;
	unsigned int tline;
	bool tsys;
	unsigned int tms = config_path_timeout(x->cfg, r, path, &tline, &tsys);

	x->v[x->n] = (struct found){
		.dev = {
			.path = path,
			.name = name,
			.interval_ms = r->interval_ms ? r->interval_ms : x->cfg->interval_ms,
			.timeout_ms = tms,
			.timeout_line = tline,
			.timeout_sysfs = tsys,
		},
		.seq = x->n,
		.rule = r,
	};
	x->n++;
	return 0;
}

/*
 * One match of a rule.  A literal path (no wildcard) is what the admin
 * named: it is kept even when it does not resolve or is no device, so
 * that the daemon reports why it cannot check it; only a directory is
 * skipped.  A glob match is kept only if it resolves to a block device
 * or a regular file: a glob sweeps in dangling links, directories and
 * things like /dev/loop-control that were never meant.
 */
static int add_match(struct expansion *x, const struct cfg_path_rule *r,
		     const char *match, bool literal)
{
	char *real = realpath(match, NULL);
	struct stat st;
	ssize_t bl;
	bool keep;

	if (!real) {
		if (errno == ENOMEM)
			return -ENOMEM;
		if (!literal)
			return 0;
		bl = blacklisted(x->cfg, match, NULL);
		if (bl >= 0) {
			note(x, CFG_NOTE_BLACKLISTED, r, match, NULL, (size_t)bl, NULL);
			return 0;
		}
		real = strdup(match);
		return real ? add_found(x, r, real) : -ENOMEM;
	}
	if (stat(real, &st))
		keep = literal;
	else if (literal)
		keep = !S_ISDIR(st.st_mode);
	else
		keep = S_ISBLK(st.st_mode) || S_ISREG(st.st_mode);
	bl = keep ? blacklisted(x->cfg, match, real) : -1;
	if (!keep)
		note(x, CFG_NOTE_NOT_DEVICE, r, match, real, 0, NULL);
	else if (bl >= 0)
		note(x, CFG_NOTE_BLACKLISTED, r, match, real, (size_t)bl, NULL);
	if (!keep || bl >= 0) {
		free(real);
		return 0;
	}
	return add_found(x, r, real);
}

static int expand_rule(struct expansion *x, const struct cfg_path_rule *r)
{
	glob_t g = { 0 };
	int ret;

	if (!strpbrk(r->glob, "*?[\\"))
		return add_match(x, r, r->glob, true);
	ret = glob(r->glob, GLOB_NOSORT, NULL, &g);
	if (ret == GLOB_NOMATCH)
		ret = 0;
	else if (ret == GLOB_NOSPACE)
		ret = -ENOMEM;
	else if (ret)
		ret = -EIO;
	for (size_t i = 0; !ret && i < g.gl_pathc; i++)
		ret = add_match(x, r, g.gl_pathv[i], false);
	globfree(&g);
	return ret;
}

static int by_path_then_seq(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c = strcmp(x->dev.path, y->dev.path);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_name_then_path(const void *a, const void *b)
{
	const struct cfg_dev *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->path, y->path);
}

/* Keeps the first find of each canonical path, in a new cfg_dev array. */
static int dedupe(struct expansion *x, struct cfg_dev **devsp)
{
	struct cfg_dev *devs;
	size_t n = 0;

	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), by_path_then_seq);
	devs = calloc(x->n ? x->n : 1, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	for (size_t i = 0, first = 0; i < x->n; i++) {
		if (n && !strcmp(devs[n - 1].path, x->v[i].dev.path)) {
			note(x, CFG_NOTE_SHADOWED, x->v[i].rule, x->v[i].dev.path,
			     x->v[i].dev.path, 0, x->v[first].rule);
			free(x->v[i].dev.path);
			free(x->v[i].dev.name);
		} else {
			note(x, CFG_NOTE_KEPT, x->v[i].rule, x->v[i].dev.path, x->v[i].dev.path,
			     0, NULL);
			first = i;
			devs[n++] = x->v[i].dev;
		}
	}
	free(x->v);
	x->v = NULL;
	x->n = 0;
	if (n)
		qsort(devs, n, sizeof(*devs), by_name_then_path);
	*devsp = devs;
	return (int)n;
}

static void found_free(struct expansion *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].dev.path);
		free(x->v[i].dev.name);
	}
	free(x->v);
}

int config_expand(const struct config *cfg, struct cfg_dev **devsp)
{
	return config_expand_notes(cfg, devsp, NULL, NULL);
}

int config_expand_notes(const struct config *cfg, struct cfg_dev **devsp,
			void (*notef)(void *arg, const struct cfg_note *n), void *arg)
{
	struct expansion x = { .cfg = cfg, .note = notef, .arg = arg };
	int ret = 0;

	*devsp = NULL;
	for (size_t i = 0; !ret && i < cfg->nrules; i++)
		ret = expand_rule(&x, &cfg->rules[i]);
	if (!ret && x.n > INT_MAX)
		ret = -EOVERFLOW;
	if (!ret)
		ret = dedupe(&x, devsp);
	if (ret < 0)
		found_free(&x);
	return ret;
}

void config_devs_free(struct cfg_dev *devs, size_t n)
{
	if (!devs)
		return;
	for (size_t i = 0; i < n; i++) {
		free(devs[i].path);
		free(devs[i].name);
	}
	free(devs);
}
