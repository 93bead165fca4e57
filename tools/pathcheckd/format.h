/* SPDX-License-Identifier: MIT */
/*
 * multipathd's `show paths [raw] format "FMT"`, and the dev_t / next_check
 * columns and `show path MAJ:MIN` addressing (format.c).  Main thread only.
 */
#ifndef PATHCHECKD_FORMAT_H
#define PATHCHECKD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

struct cmd_ctx;
struct daemon;
struct client;
struct rec;

/* recs_add's hook, and a change event's: note the device number of a block
 * device and what sysfs and udev say of it (for show paths format). */
void rec_note_devt(struct rec *r);
/* "8:16", or "-" for a file or a path that is gone. */
const char *fmt_devt(const struct rec *r, char *buf, size_t len);
/* Time to the next scheduled check: "0.4s", "held", or "-" (not scheduled). */
const char *fmt_next_check(const struct rec *r, char *buf, size_t len);
/* A record by "MAJ:MIN", or NULL (also when what is no such number). */
struct rec *recs_find_devt(struct daemon *d, const char *what);
void cmd_show_paths_format(struct cmd_ctx *x);
/* No header, no padding (multipathd's show paths raw format). */
void cmd_show_paths_raw_format(struct cmd_ctx *x);

#endif
