/* SPDX-License-Identifier: MIT */
/*
 * The -k shell's input: libedit (line editing, history, ~/.editrc) when
 * stdin is a terminal, plain getline(3) otherwise, so scripts that pipe
 * commands in see no prompt and no escape sequences.
 */
#ifndef PATHCHECK_LINEEDIT_H
#define PATHCHECK_LINEEDIT_H

struct line_in;

/* NULL only when out of memory. */
struct line_in *line_in_open(void);
/* The next line without its newline (owned by li, valid until the next
 * call), or NULL at EOF. */
char *line_in_read(struct line_in *li);
/* Remember a line in the history (terminal only). */
void line_in_history(struct line_in *li, const char *line);
void line_in_close(struct line_in *li);

#endif
