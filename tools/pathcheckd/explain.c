/* SPDX-License-Identifier: MIT */
/*
 * `pathcheckd -t`: the devices the configuration gives, one line each as
 * before, then "# " lines explaining every candidate that a path rule
 * found: which rule took it, which blacklist rule dropped it, which rule
 * it was shadowed from, why a match was skipped; then the rules that take
 * nothing.  Names are escaped as in the control socket's text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "escape.h"

#include "metrics.h"

struct item {
	struct cfg_note n;	/* match and real point into path */
	char *path;
};

struct notes {
	struct item *v;
	size_t n, cap;
	bool oom;
};

static void collect(void *arg, const struct cfg_note *n)
{
	struct notes *ns = arg;
	const char *p = n->real ? n->real : n->match;

	if (ns->oom)
		return;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		struct item *v = realloc(ns->v, cap * sizeof(*v));

		if (!v) {
			ns->oom = true;
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = (struct item){ .n = *n, .path = strdup(p) };
	if (!ns->v[ns->n].path) {
		ns->oom = true;
		return;
	}
	ns->n++;
}

static int by_path(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (int)x->n.kind - (int)y->n.kind;
}

static void rule_ref(struct sbuf *b, const struct config *cfg, const char *what,
		     unsigned int line, const char *glob)
{
	sb_printf(b, "%s %s:%u (", what, cfg->file, line);
	sb_text_str(b, glob);
	sb_append(b, ")", 1);
}

static void explain_item(struct sbuf *b, const struct config *cfg, const struct item *it)
{
	const struct cfg_path_rule *r = it->n.rule;

	sb_printf(b, "# ");
	sb_text_str(b, it->path);
	switch (it->n.kind) {
	case CFG_NOTE_KEPT:
		sb_printf(b, ": kept by ");
		rule_ref(b, cfg, "path", r->line, r->glob);
		break;
	case CFG_NOTE_SHADOWED:
		sb_printf(b, ": also matched by ");
		rule_ref(b, cfg, "path", r->line, r->glob);
		sb_printf(b, ", shadowed by line %u", it->n.winner->line);
		break;
	case CFG_NOTE_BLACKLISTED:
		sb_printf(b, ": dropped by ");
		rule_ref(b, cfg, "blacklist", cfg->blacklist_line[it->n.blacklist],
			 cfg->blacklist[it->n.blacklist]);
		sb_printf(b, ", matched by path line %u", r->line);
		break;
	case CFG_NOTE_NOT_DEVICE:
		sb_printf(b, ": skipped, not a block device or a file (path line %u)", r->line);
		break;
	}
	sb_append(b, "\n", 1);
}

static void explain_rules(struct sbuf *b, const struct config *cfg, const struct notes *ns)
{
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct cfg_path_rule *r = &cfg->rules[i];
		size_t kept = 0, any = 0;

		for (size_t k = 0; k < ns->n; k++) {
			any += ns->v[k].n.rule == r;
			kept += ns->v[k].n.rule == r && ns->v[k].n.kind == CFG_NOTE_KEPT;
		}
		if (!any) {
			sb_printf(b, "# ");
			rule_ref(b, cfg, "path", r->line, r->glob);
			sb_printf(b, " matches nothing\n");
		} else if (!kept) {
			sb_printf(b, "# ");
			rule_ref(b, cfg, "path", r->line, r->glob);
			sb_printf(b, " keeps nothing: its %zu match%s shadowed, blacklisted "
				  "or skipped\n", any, any == 1 ? " is" : "es are");
		}
	}
	for (size_t i = 0; i < cfg->nblacklist; i++) {
		bool used = false;

		for (size_t k = 0; k < ns->n && !used; k++)
			used = ns->v[k].n.kind == CFG_NOTE_BLACKLISTED && ns->v[k].n.blacklist == i;
		if (!used) {
			sb_printf(b, "# ");
			rule_ref(b, cfg, "blacklist", cfg->blacklist_line[i], cfg->blacklist[i]);
			sb_printf(b, " drops nothing\n");
		}
	}
}

int config_explain(const struct config *cfg, FILE *out)
{
	struct notes ns = { 0 };
	struct cfg_dev *devs;
	struct sbuf b = { 0 };
	int n = config_expand_notes(cfg, &devs, collect, &ns), ret = 0;

	if (n < 0 || ns.oom) {
		ret = n < 0 ? n : -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		sb_text_str(&b, devs[i].name);
		sb_append(&b, " ", 1);
		sb_text_str(&b, devs[i].path);
		sb_printf(&b, " interval=%u timeout=%u\n", devs[i].interval_ms, devs[i].timeout_ms);
	}
	if (ns.n)
		qsort(ns.v, ns.n, sizeof(*ns.v), by_path);
	for (size_t i = 0; i < ns.n; i++)
		explain_item(&b, cfg, &ns.v[i]);
	explain_rules(&b, cfg, &ns);
	if (b.oom)
		ret = -ENOMEM;
	else if (b.len && fwrite(b.p, 1, b.len, out) != b.len)
		ret = -EIO;
out:
	if (n >= 0)
		config_devs_free(devs, (size_t)n);
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i].path);
	free(ns.v);
	sb_free(&b);
	return ret;
}
