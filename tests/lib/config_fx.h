/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf(5) through the real daemon: `pathcheckd -t -c FILE`
 * parses and expands a configuration and prints one line per device
 * ("NAME PATH interval=MS timeout=MS", exit 0), or prints
 * "pathcheckd: FILE:LINE: reason" and exits 1.  Globs expand over a
 * temporary tree (config_fx_make_tree) of files, directories and symlinks:
 *
 *   d/sda d/sdb d/sdc      files
 *   d/sdd/                 a directory, matched by d/sd*
 *   d/a/p0 d/b/p0          two devices with one name
 *   d/fifo                 a FIFO
 *   links/link-b -> d/sdb, links/link-c -> d/sdc, links/dangling -> d/nothing,
 *   links/null -> /dev/null
 *
 * In templates, "@" stands for the tree's path.
 */
#ifndef PC_CONFIG_FX_H
#define PC_CONFIG_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_run {
	int status;		/* exit status, or -1 */
	int sig;		/* the signal that ended it, or 0 */
	bool timed_out;		/* killed after 5 s */
	uint64_t ms;
	size_t nout, nerr;
	char out[256 * 1024];
	char err[16 * 1024];
};

extern struct config_run config_last;	/* what the last config_fx_run gave */
extern char config_tree[128];		/* the temporary tree, resolved */

/* Makes the tree: 0 or -errno; config_fx_remove_tree() either way. */
int config_fx_make_tree(void);
void config_fx_remove_tree(void);

const char *config_fx_daemon_bin(void);
/* The daemon is part of the build: its absence fails, it never skips. */
bool config_fx_have_daemon(void);
/* Runs `pathcheckd -t -c conf` into config_last, killed after 5 s: 0 or -errno. */
int config_fx_run(const char *conf);

/* Writes len bytes of text as path (created, truncated): 0 or -errno. */
int config_fx_write(const char *path, const char *text, size_t len);
/* The template with every "@" replaced by the tree's path (malloc'd). */
char *config_fx_expand(const char *tmpl);
/* The tree's path and "/name". */
void config_fx_path(char *buf, size_t len, const char *name);
/* Writes the template as conf (test.conf in the tree) and runs -t on it. */
bool config_fx_run_template(const char *tmpl, char *conf, size_t conflen);

/* Exit 0 and exactly the expected stdout (templates). */
void config_fx_expect_devices(const char *conf_tmpl, const char *want_tmpl);
/* Exit 1 and "pathcheckd: FILE:LINE: ...reason..." (LINE 0: "FILE: "). */
void config_fx_expect_error_in(const char *conf, unsigned int line, const char *reason);
/* The same for a config of these bytes. */
void config_fx_expect_error_text(const char *text, size_t len, unsigned int line,
				 const char *reason);

#endif
