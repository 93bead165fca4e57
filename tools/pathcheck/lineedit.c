/* SPDX-License-Identifier: MIT */
/* The -k shell's input, through libedit on a terminal.  See lineedit.h. */
#include <histedit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineedit.h"

#define HISTORY_SIZE	1000

struct line_in {
	EditLine *el;		/* NULL: not a terminal */
	History *hist;
	char *buf;		/* getline's, or a copy of el_gets' */
	size_t cap;
};

static char *prompt(EditLine *el)
{
	(void)el;
	return (char *)"pathcheck> ";
}

struct line_in *line_in_open(void)
{
	struct line_in *li = calloc(1, sizeof(*li));
	HistEvent ev;

	if (!li || !isatty(STDIN_FILENO))
		return li;
	li->el = el_init("pathcheck", stdin, stdout, stderr);
	li->hist = history_init();
	if (!li->el || !li->hist) {
		/* No terminal editing after all: plain lines still work. */
		if (li->el)
			el_end(li->el);
		if (li->hist)
			history_end(li->hist);
		li->el = NULL;
		li->hist = NULL;
		return li;
	}
	history(li->hist, &ev, H_SETSIZE, HISTORY_SIZE);
	history(li->hist, &ev, H_SETUNIQUE, 1);
	el_set(li->el, EL_PROMPT, prompt);
	el_set(li->el, EL_EDITOR, "emacs");
	el_set(li->el, EL_HIST, history, li->hist);
	el_set(li->el, EL_SIGNAL, 1);
	el_source(li->el, NULL);	/* ~/.editrc, as other libedit programs */
	return li;
}

char *line_in_read(struct line_in *li)
{
	size_t n;

	if (!li->el) {
		ssize_t k = getline(&li->buf, &li->cap, stdin);

		if (k < 0)
			return NULL;
		n = (size_t)k;
	} else {
		int count = 0;
		const char *s = el_gets(li->el, &count);

		if (!s || count <= 0) {
			putchar('\n');
			return NULL;
		}
		n = strlen(s);
		if (n + 1 > li->cap) {
			char *p = realloc(li->buf, n + 1);

			if (!p)
				return NULL;
			li->buf = p;
			li->cap = n + 1;
		}
		memcpy(li->buf, s, n + 1);
	}
	if (n && li->buf[n - 1] == '\n')
		li->buf[--n] = '\0';
	return li->buf;
}

void line_in_history(struct line_in *li, const char *line)
{
	HistEvent ev;

	if (li->hist && *line)
		history(li->hist, &ev, H_ENTER, line);
}

void line_in_close(struct line_in *li)
{
	if (!li)
		return;
	if (li->el)
		el_end(li->el);
	if (li->hist)
		history_end(li->hist);
	free(li->buf);
	free(li);
}
