/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf: parsing (expansion: config_expand.c).  The format is in
 * pathcheckd.conf(5).  The parser never trusts its input: every line is
 * bounded, every number saturates before it can overflow, and an error
 * leaves *cfg empty with one "FILE:LINE: reason" message.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "pathcheck.h"
#include "array.h"
#include "duration.h"

#include "config.h"
#include "config_keywords.h"

#define MAX_FILE	(1u << 20)	/* bytes */
#define MAX_LINE	4096		/* bytes, without the newline */
#define MAX_SHOWN	64		/* bytes of a word quoted in a message */
#define SPACE		" \t\r"
#define SOCKET_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define DEFAULT_INTERVAL_MS	5000
#define DEFAULT_SOCKET_MODE	0600
#define DEFAULT_LOG_BUDGET	100	/* per-path lines a second */

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

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "for 'interval'" or "for option 'interval'": where the value was. */
static int set_duration(struct parser *p, const char *what, const char *key,
			const char *val, unsigned int *ms)
{
	char b[MAX_SHOWN + 4];
	const char *v = shown(val, b);

	switch (dur_parse(val, ms)) {
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

/*
 * A row a key, through the macro of its kind, which fills in what the kind
 * decides: a duration's range is dur_parse's and a path's lower bound none;
 * the man page's tag line is the keyword and the kind's argument.
 */
#define ROW(key, kind, fld, min, max, def, zero, apply, arg) \
	{ key, kind, offsetof(struct config, fld), min, max, def, zero, apply, \
	  ".BI " key " \" " arg "\"" }
#define DURATION(key, fld, def, zero, apply) \
	ROW(key, KW_DURATION, fld, 0, 0, def, zero, apply, "DUR")
#define COUNT(key, fld, min, max, def, zero, apply) \
	ROW(key, KW_COUNT, fld, min, max, def, zero, apply, "N")
#define ABSPATH(key, fld, maxlen, apply) \
	ROW(key, KW_ABSPATH, fld, 0, maxlen, 0, 0, apply, "PATH")

/* key, field, [min, max,] default, what 0 stands for, when it applies */
const struct keyword config_keywords[] = {
	DURATION("interval", interval_ms, DEFAULT_INTERVAL_MS, 0, KW_RELOAD),
	DURATION("timeout", timeout_ms, PC_DEFAULT_TIMEOUT_MS, 0, KW_RELOAD),
	COUNT("workers", workers, 0, 1024, 0, 0, KW_RESTART),
	COUNT("group_size", group_size, 1, 65536, 0, PC_DEFAULT_GROUP_SIZE, KW_RESTART),
	DURATION("shutdown_timeout", shutdown_ms, 0, PC_DEFAULT_SHUTDOWN_MS, KW_RESTART),
	ABSPATH("socket", socket_path, SOCKET_MAX, KW_RESTART),
	ROW("socket_mode", KW_MODE, socket_mode, 0, 0777, DEFAULT_SOCKET_MODE, 0, KW_RELOAD,
	    "MODE"),
	ABSPATH("metrics_file", metrics_file, PATH_MAX - 1, KW_RELOAD),
	{ "log", KW_LOG, offsetof(struct config, log_target), 0, 0, CFG_LOG_AUTO, 0, KW_RELOAD,
	  ".BR log \" \" stderr | syslog | journal | auto" },
	COUNT("log_budget", log_budget, 0, 1000000, DEFAULT_LOG_BUDGET, 0, KW_RELOAD),
	COUNT("clients_per_uid", clients_per_uid, 1, 1024, 64, 0, KW_RELOAD),
	DURATION("client_idle_timeout", client_idle_ms, 10000, 0, KW_RELOAD),
	COUNT("flap_threshold", flap_threshold, 1, 1000, 2, 0, KW_RELOAD),
	DURATION("flap_window", flap_window_ms, 60000, 0, KW_RELOAD),
	DURATION("flap_recovery", flap_recovery_ms, 60000, 0, KW_RELOAD),
	DURATION("slow_threshold", slow_threshold_ms, 0, 0, KW_RELOAD),
	DURATION("slow_window", slow_window_ms, 60000, 0, KW_RELOAD),
	DURATION("max_interval", max_interval_ms, 0, 0, KW_RELOAD),
	{ "path", KW_PATH, 0, 0, 0, 0, 0, KW_RELOAD,
	  ".BI path \" GLOB \" \\fR[\\fBinterval=\\fIDUR\\fR] \" \" \\fR[\\fBtimeout=\\fIDUR\\fR]" },
	{ "blacklist", KW_BLACKLIST, 0, 0, 0, 0, 0, KW_RELOAD, ".BI blacklist \" GLOB\"" },
};
#define NKEYWORDS (sizeof(config_keywords) / sizeof(config_keywords[0]))
const size_t config_nkeywords = NKEYWORDS;
_Static_assert(NKEYWORDS <= CFG_NSETTINGS, "struct config's set_line is too small");

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

/* A count in decimal or a mode in octal, within kw->min..kw->max. */
static int set_number(struct parser *p, const struct keyword *kw, const char *val)
{
	bool mode = kw->kind == KW_MODE;
	char b[MAX_SHOWN + 4], lo[16], hi[16];
	unsigned int v;

	if (!parse_uint(val, mode ? 8 : 10, kw->max, &v))
		return fail(p, -EINVAL, "bad %s '%s' for '%s'", mode ? "octal mode" : "number",
			    shown(val, b), kw->name);
	if (v < kw->min || v > kw->max) {
		snprintf(lo, sizeof(lo), mode ? "%#o" : "%u", kw->min);
		snprintf(hi, sizeof(hi), mode ? "%#o" : "%u", kw->max);
		return fail(p, -EINVAL, "%s '%s' for '%s' out of range (%s..%s)",
			    mode ? "mode" : "value", shown(val, b), kw->name, lo, hi);
	}
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
	grown = r.glob ? array_room(c->rules, c->nrules, sizeof(*c->rules)) : NULL;
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
	grown = copy ? array_room(c->blacklist, c->nblacklist, sizeof(*c->blacklist)) : NULL;
	if (grown)
		c->blacklist = grown;
	lines = grown ? array_room(c->blacklist_line, c->nblacklist, sizeof(*lines)) : NULL;
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
	case KW_MODE:
		return set_number(p, kw, val);
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
	for (size_t i = 0; i < NKEYWORDS && !kw; i++)
		if (!strcmp(key, config_keywords[i].name))
			kw = &config_keywords[i];
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
	p->cfg->set_line[kw - config_keywords] = p->line;	/* for show config */
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

/* The table's defaults; the lists and paths start empty. */
static void set_defaults(struct config *cfg)
{
	for (size_t i = 0; i < NKEYWORDS; i++) {
		const struct keyword *kw = &config_keywords[i];
		void *f = (char *)cfg + kw->off;

		switch (kw->kind) {
		case KW_DURATION:
		case KW_COUNT:
		case KW_MODE:
			*(unsigned int *)f = kw->def;
			break;
		case KW_LOG:
			*(int *)f = (int)kw->def;
			break;
		case KW_ABSPATH:
		case KW_PATH:
		case KW_BLACKLIST:
			break;
		}
	}
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
	ssize_t n;

	char *text = NULL;

	if (fd < 0) {
		ret = -errno;
		return fail(p, ret, "cannot open: %s", strerror(-ret));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = fail(p, -EINVAL, "not a regular file");
		goto out;
	}
	text = malloc(MAX_FILE + 1);
	if (!text) {
		ret = fail(p, -ENOMEM, "out of memory");
		goto out;
	}
	while (len <= MAX_FILE && (n = read(fd, text + len, MAX_FILE + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			fail(p, ret, "read: %s", strerror(-ret));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > MAX_FILE) {
		ret = fail(p, -EINVAL, "larger than 1 MiB, refused");
		goto out;
	}
	*textp = text;
	*lenp = len;
	text = NULL;
out:
	close(fd);
	free(text);
	return ret;
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
