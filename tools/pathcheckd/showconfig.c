/* SPDX-License-Identifier: MIT */
/*
 * show config: every setting in force, its value and where it came from
 * (FILE:LINE, "default" or the command line), the path rules and the
 * blacklist; after a refused reload, that the old configuration is still
 * in force and why.  A setting that applies at restart (config.c's table)
 * shows the value the daemon runs with, and a reload's new value beside
 * it as "pending restart".  show blacklist: the blacklist rules alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <syslog.h>

#include "config_keywords.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "hold.h"
#include "showconfig.h"
#include "escape.h"
#include "cmds.h"

static void fmt_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void showconfig_reload_result(struct daemon *d, const char *err)
{
	free(d->reload_error);
	d->reload_error = NULL;
	if (err) {
		d->reload_error = strdup(err);
		d->reload_failed_at = time(NULL);
	} else {
		d->config_loaded_at = time(NULL);
	}
}

/* One setting, whatever its origin says; pending: a value read by a
 * reload that waits for a restart ("" when none). */
struct setting {
	const char *name;
	char value[4200];
	char origin[4200];
	char pending[4200];
	char pending_origin[4200];
};

static void origin_line(const struct daemon *d, unsigned int line, char *buf, size_t len)
{
	if (line)
		snprintf(buf, len, "%s:%u", d->config_file, line);
	else
		snprintf(buf, len, "default");
}

/* The command line wins over the file for these. */
static void override(const struct daemon *d, struct setting *s)
{
	static const char *const logs[] = { "auto", "stderr", "syslog", "journal" };

	if (!strcmp(s->name, "socket") && d->socket_from_cli) {
		snprintf(s->value, sizeof(s->value), "%s", d->socket_path);
		snprintf(s->origin, sizeof(s->origin), "command line (-s)");
	} else if (!strcmp(s->name, "socket") && !strcmp(s->value, "-")) {
		snprintf(s->value, sizeof(s->value), "%s", d->socket_path);
	} else if (!strcmp(s->name, "metrics_file") && d->metrics_from_cli) {
		snprintf(s->value, sizeof(s->value), "%s", d->metrics_file);
		snprintf(s->origin, sizeof(s->origin), "command line (--metrics-file)");
	} else if (!strcmp(s->name, "log") && d->log_from_cli) {
		snprintf(s->value, sizeof(s->value), "%s", logs[d->log_cli % 4]);
		snprintf(s->origin, sizeof(s->origin), "command line (-f or --log)");
	}
}

/* The command line's socket is the one in force, whatever the file says. */
static bool waits_restart(const struct daemon *d, const char *name)
{
	const struct keyword *kw = config_keyword(name);

	if (!kw || kw->apply != KW_RESTART || (!strcmp(name, "socket") && d->socket_from_cli))
		return false;
	return config_differs(&d->started, &d->cfg, name);
}

/*
 * A setting that applies at restart shows the value in force (read at
 * start) and where it came from then; the file's new value is pending.
 */
static void in_force(const struct daemon *d, struct setting *s, size_t i)
{
	const char *name;
	unsigned int line;

	snprintf(s->pending, sizeof(s->pending), "%s", s->value);
	snprintf(s->pending_origin, sizeof(s->pending_origin), "%s", s->origin);
	config_setting(&d->started, i, &name, s->value, sizeof(s->value), &line);
	origin_line(d, line, s->origin, sizeof(s->origin));
	if (!strcmp(s->pending, "-"))	/* a line removed: the built-in default */
		snprintf(s->pending, sizeof(s->pending), "%s", PATHCHECKD_SOCKET);
}

void showconfig_restart_check(struct daemon *d, const struct config *cfg)
{
	struct sbuf names = { 0 };

	for (size_t k = 0; k < config_nkeywords; k++) {
		const struct keyword *kw = &config_keywords[k];

		if (kw->apply != KW_RESTART || (!strcmp(kw->name, "socket") && d->socket_from_cli))
			continue;
		if (config_differs(&d->started, cfg, kw->name))
			sb_printf(&names, "%s%s", names.len ? ", " : "", kw->name);
	}
	if (names.len)
		logmsg(LOG_WARNING, "new %s take%s effect at restart (show config: pending restart)",
		       names.p, strchr(names.p, ',') ? "" : "s");
	sb_free(&names);
}

static size_t gather(const struct daemon *d, struct setting *v, size_t cap)
{
	size_t n = 0;
	const char *name;
	unsigned int line;

	while (n < cap && config_setting(&d->cfg, n, &name, v[n].value, sizeof(v[n].value),
					 &line)) {
		v[n].name = name;
		v[n].pending[0] = '\0';
		origin_line(d, line, v[n].origin, sizeof(v[n].origin));
		if (waits_restart(d, name))
			in_force(d, &v[n], n);
		if (!line && !strcmp(name, "timeout"))
			snprintf(v[n].origin, sizeof(v[n].origin),
				 "default (a device's sysfs device/timeout first)");
		override(d, &v[n]);
		n++;
	}
	if (n < cap && d->holds) {
		v[n].name = "state_dir";
		snprintf(v[n].value, sizeof(v[n].value), "%s", d->holds->dir);
		snprintf(v[n].origin, sizeof(v[n].origin), "%s",
			 d->state_dir_origin ? d->state_dir_origin : "default");
		n++;
	}
	return n;
}

/* What show config says first: which file, since when, and a refused reload. */
struct config_head {
	const char *file;
	char since[40];
	const char *error;	/* NULL: the last reload worked */
	char failed_at[40];
};

/*
 * show config's output kinds.  One walk (config_walk) goes over the same
 * parts in the same order for each: the head, the settings, the path rules
 * and the blacklist; a kind says how it writes one item of each part and
 * what stands before each part and after the last.
 */
struct config_fmt {
	void (*head)(struct sbuf *b, const struct config_head *h);
	void (*setting)(struct sbuf *b, const struct setting *s, size_t i);
	void (*rule)(struct sbuf *b, const struct daemon *d, size_t i);
	void (*blacklisted)(struct sbuf *b, const struct daemon *d, size_t i);
	const char *settings, *paths, *blacklist, *end;
};

/* --- text: a line an item, the key in a column ------------------------------ */

static void key_text(struct sbuf *b, const char *name)
{
	sb_printf(b, "%-17s ", name);
}

static void head_text(struct sbuf *b, const struct config_head *h)
{
	sb_printf(b, "config ");
	sb_text_str(b, h->file);
	sb_printf(b, " (in force since %s)\n", h->since);
	if (!h->error)
		return;
	sb_printf(b, "reload refused at %s, the configuration below is still in force: ",
		  h->failed_at);
	sb_text_str(b, h->error);
	sb_append(b, "\n", 1);
}

static void setting_text(struct sbuf *b, const struct setting *s, size_t i)
{
	size_t w = text_esc_len(s->value);

	key_text(b, s->name);
	sb_text_str(b, s->value);
	sb_printf(b, "%*s  ", w < 24 ? (int)(24 - w) : 0, "");
	sb_text_str(b, s->origin);
	if (s->pending[0]) {
		sb_printf(b, "  (pending restart: ");
		sb_text_str(b, s->pending);
		sb_printf(b, " from ");
		sb_text_str(b, s->pending_origin);
		sb_append(b, ")", 1);
	}
	sb_append(b, "\n", 1);
}

static void rule_text(struct sbuf *b, const struct daemon *d, size_t i)
{
	const struct cfg_path_rule *r = &d->cfg.rules[i];

	key_text(b, "path");
	sb_text_str(b, r->glob);
	if (r->interval_ms)
		sb_printf(b, " interval=%ums", r->interval_ms);
	if (r->timeout_ms)
		sb_printf(b, " timeout=%ums", r->timeout_ms);
	sb_printf(b, "  %s:%u\n", d->config_file, r->line);
}

/* A blacklist glob and its line, as show blacklist writes it. */
static void blacklisted_text(struct sbuf *b, const struct daemon *d, size_t i)
{
	sb_text_str(b, d->cfg.blacklist[i]);
	sb_printf(b, "  %s:%u\n", d->config_file, d->cfg.blacklist_line[i]);
}

static void config_blacklisted_text(struct sbuf *b, const struct daemon *d, size_t i)
{
	key_text(b, "blacklist");
	blacklisted_text(b, d, i);
}

static const struct config_fmt config_text = {
	.head = head_text, .setting = setting_text, .rule = rule_text,
	.blacklisted = config_blacklisted_text,
	.settings = "", .paths = "", .blacklist = "", .end = "",
};

/* --- JSON: one object, the settings keyed by name, the lists as arrays ------ */

static void origin_json(struct sbuf *b, const struct daemon *d, unsigned int line)
{
	sb_printf(b, ",\"file\":");
	sb_json_str(b, d->config_file);
	sb_printf(b, ",\"line\":%u}", line);
}

static void head_json(struct sbuf *b, const struct config_head *h)
{
	sb_printf(b, "{\"file\":");
	sb_json_str(b, h->file);
	sb_printf(b, ",\"in_force_since\":\"%s\",\"reload_error\":", h->since);
	if (!h->error) {
		sb_printf(b, "null,\"reload_failed_at\":null");
		return;
	}
	sb_json_str(b, h->error);
	sb_printf(b, ",\"reload_failed_at\":\"%s\"", h->failed_at);
}

/* Opens {"value":...,"origin":...: a setting, and its pending value inside it. */
static void value_json(struct sbuf *b, const char *value, const char *origin)
{
	sb_printf(b, "{\"value\":");
	sb_json_str(b, value);
	sb_printf(b, ",\"origin\":");
	sb_json_str(b, origin);
}

static void setting_json(struct sbuf *b, const struct setting *s, size_t i)
{
	sb_printf(b, "%s\"%s\":", i ? "," : "", s->name);
	value_json(b, s->value, s->origin);
	if (s->pending[0]) {	/* only then: the settings' shape stays */
		sb_printf(b, ",\"pending_restart\":");
		value_json(b, s->pending, s->pending_origin);
		sb_append(b, "}", 1);
	}
	sb_append(b, "}", 1);
}

static void rule_json(struct sbuf *b, const struct daemon *d, size_t i)
{
	const struct cfg_path_rule *r = &d->cfg.rules[i];

	sb_printf(b, "%s{\"glob\":", i ? "," : "");
	sb_json_str(b, r->glob);
	sb_printf(b, ",\"interval_ms\":%u,\"timeout_ms\":%u",
		  r->interval_ms ? r->interval_ms : d->cfg.interval_ms,
		  r->timeout_ms ? r->timeout_ms : d->cfg.timeout_ms);
	origin_json(b, d, r->line);
}

static void blacklisted_json(struct sbuf *b, const struct daemon *d, size_t i)
{
	sb_printf(b, "%s{\"glob\":", i ? "," : "");
	sb_json_str(b, d->cfg.blacklist[i]);
	origin_json(b, d, d->cfg.blacklist_line[i]);
}

static const struct config_fmt config_json = {
	.head = head_json, .setting = setting_json, .rule = rule_json,
	.blacklisted = blacklisted_json,
	.settings = ",\"settings\":{", .paths = "},\"paths\":[",
	.blacklist = "],\"blacklist\":[", .end = "]}\n",
};

static void config_walk(const struct daemon *d, struct sbuf *b, const struct setting *v,
			size_t n, const struct config_fmt *f)
{
	struct config_head h = { .file = d->config_file, .error = d->reload_error };

	fmt_time(h.since, sizeof(h.since), d->config_loaded_at);
	if (h.error)
		fmt_time(h.failed_at, sizeof(h.failed_at), d->reload_failed_at);
	f->head(b, &h);
	sb_printf(b, "%s", f->settings);
	for (size_t i = 0; i < n; i++)
		f->setting(b, &v[i], i);
	sb_printf(b, "%s", f->paths);
	for (size_t i = 0; i < d->cfg.nrules; i++)
		f->rule(b, d, i);
	sb_printf(b, "%s", f->blacklist);
	for (size_t i = 0; i < d->cfg.nblacklist; i++)
		f->blacklisted(b, d, i);
	sb_printf(b, "%s", f->end);
}

void cmd_show_config(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;
	struct setting *v = calloc(CFG_NSETTINGS + 1, sizeof(*v));
	size_t n;

	if (!v) {
		ctl_error(d, c, "out of memory");
		return;
	}
	n = gather(d, v, CFG_NSETTINGS + 1);
	config_walk(d, &c->out, v, n, json ? &config_json : &config_text);
	free(v);
	ctl_reply_end(d, c);
}

void cmd_show_blacklist(struct cmd_ctx *x)
{
	struct daemon *d = x->d;
	struct client *c = x->c;
	bool json = x->json;
	struct sbuf *b = &c->out;

	if (json)
		sb_printf(b, "{\"blacklist\":[");
	for (size_t i = 0; i < d->cfg.nblacklist; i++)
		(json ? blacklisted_json : blacklisted_text)(b, d, i);
	if (json)
		sb_printf(b, "]}\n");
	else if (!d->cfg.nblacklist)
		sb_printf(b, "no blacklist rules\n");
	ctl_reply_end(d, c);
}
