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

static void rule_text(struct sbuf *b, const struct cfg_path_rule *r)
{
	sb_text_str(b, r->glob);
	if (r->interval_ms)
		sb_printf(b, " interval=%ums", r->interval_ms);
	if (r->timeout_ms)
		sb_printf(b, " timeout=%ums", r->timeout_ms);
}

static void config_text(struct daemon *d, struct sbuf *b, const struct setting *v, size_t n)
{
	char when[40];

	sb_printf(b, "config ");
	sb_text_str(b, d->config_file);
	fmt_time(when, sizeof(when), d->config_loaded_at);
	sb_printf(b, " (in force since %s)\n", when);
	if (d->reload_error) {
		fmt_time(when, sizeof(when), d->reload_failed_at);
		sb_printf(b, "reload refused at %s, the configuration below is still in force: ",
			  when);
		sb_text_str(b, d->reload_error);
		sb_append(b, "\n", 1);
	}
	for (size_t i = 0; i < n; i++) {
		size_t w = text_esc_len(v[i].value);

		sb_printf(b, "%-17s ", v[i].name);
		sb_text_str(b, v[i].value);
		sb_printf(b, "%*s  ", w < 24 ? (int)(24 - w) : 0, "");
		sb_text_str(b, v[i].origin);
		if (v[i].pending[0]) {
			sb_printf(b, "  (pending restart: ");
			sb_text_str(b, v[i].pending);
			sb_printf(b, " from ");
			sb_text_str(b, v[i].pending_origin);
			sb_append(b, ")", 1);
		}
		sb_append(b, "\n", 1);
	}
	for (size_t i = 0; i < d->cfg.nrules; i++) {
		sb_printf(b, "%-17s ", "path");
		rule_text(b, &d->cfg.rules[i]);
		sb_printf(b, "  %s:%u\n", d->config_file, d->cfg.rules[i].line);
	}
	for (size_t i = 0; i < d->cfg.nblacklist; i++) {
		sb_printf(b, "%-17s ", "blacklist");
		sb_text_str(b, d->cfg.blacklist[i]);
		sb_printf(b, "  %s:%u\n", d->config_file, d->cfg.blacklist_line[i]);
	}
}

static void origin_json(struct sbuf *b, const struct daemon *d, unsigned int line)
{
	sb_printf(b, ",\"file\":");
	sb_json_str(b, d->config_file);
	sb_printf(b, ",\"line\":%u}", line);
}

static void config_json(struct daemon *d, struct sbuf *b, const struct setting *v, size_t n)
{
	char when[40];

	sb_printf(b, "{\"file\":");
	sb_json_str(b, d->config_file);
	fmt_time(when, sizeof(when), d->config_loaded_at);
	sb_printf(b, ",\"in_force_since\":\"%s\",\"reload_error\":", when);
	if (d->reload_error) {
		sb_json_str(b, d->reload_error);
		fmt_time(when, sizeof(when), d->reload_failed_at);
		sb_printf(b, ",\"reload_failed_at\":\"%s\"", when);
	} else {
		sb_printf(b, "null,\"reload_failed_at\":null");
	}
	sb_printf(b, ",\"settings\":{");
	for (size_t i = 0; i < n; i++) {
		sb_printf(b, "%s\"%s\":{\"value\":", i ? "," : "", v[i].name);
		sb_json_str(b, v[i].value);
		sb_printf(b, ",\"origin\":");
		sb_json_str(b, v[i].origin);
		if (v[i].pending[0]) {	/* only then: the settings' shape stays */
			sb_printf(b, ",\"pending_restart\":{\"value\":");
			sb_json_str(b, v[i].pending);
			sb_printf(b, ",\"origin\":");
			sb_json_str(b, v[i].pending_origin);
			sb_append(b, "}", 1);
		}
		sb_append(b, "}", 1);
	}
	sb_printf(b, "},\"paths\":[");
	for (size_t i = 0; i < d->cfg.nrules; i++) {
		const struct cfg_path_rule *r = &d->cfg.rules[i];

		sb_printf(b, "%s{\"glob\":", i ? "," : "");
		sb_json_str(b, r->glob);
		sb_printf(b, ",\"interval_ms\":%u,\"timeout_ms\":%u",
			  r->interval_ms ? r->interval_ms : d->cfg.interval_ms,
			  r->timeout_ms ? r->timeout_ms : d->cfg.timeout_ms);
		origin_json(b, d, r->line);
	}
	sb_printf(b, "],\"blacklist\":[");
	for (size_t i = 0; i < d->cfg.nblacklist; i++) {
		sb_printf(b, "%s{\"glob\":", i ? "," : "");
		sb_json_str(b, d->cfg.blacklist[i]);
		origin_json(b, d, d->cfg.blacklist_line[i]);
	}
	sb_printf(b, "]}\n");
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
	if (json)
		config_json(d, &c->out, v, n);
	else
		config_text(d, &c->out, v, n);
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
	for (size_t i = 0; i < d->cfg.nblacklist; i++) {
		if (json) {
			sb_printf(b, "%s{\"glob\":", i ? "," : "");
			sb_json_str(b, d->cfg.blacklist[i]);
			origin_json(b, d, d->cfg.blacklist_line[i]);
			continue;
		}
		sb_text_str(b, d->cfg.blacklist[i]);
		sb_printf(b, "  %s:%u\n", d->config_file, d->cfg.blacklist_line[i]);
	}
	if (json)
		sb_printf(b, "]}\n");
	else if (!d->cfg.nblacklist)
		sb_printf(b, "no blacklist rules\n");
	ctl_reply_end(d, c);
}
