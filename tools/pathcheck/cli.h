/* SPDX-License-Identifier: MIT */
/*
 * pathcheck: the one-shot checker (oneshot.c) and the client of pathcheckd
 * (conn.c: the socket protocol, client.c: commands, subscribe, -k shell).
 * main.c parses the command line and picks the mode.
 */
#ifndef PATHCHECK_CLI_H
#define PATHCHECK_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "protocol.h"

/* Exit status of every mode. */
enum {
	EXIT_ALL_UP = 0,	/* one-shot: all up; client: the command worked */
	EXIT_SOME_DOWN = 1,	/* one-shot: some path down; client: error reply */
	EXIT_TROUBLE = 2,	/* usage error, no daemon, no reply in time */
};


struct oneshot_opts {
	bool json;
	bool all;		/* also loop, ram, dm-, md... devices */
	unsigned int timeout_ms;
};

/* Checks devs (every suitable block device when n == 0); the exit status. */
int oneshot_run(const struct oneshot_opts *o, char **devs, size_t n);

struct client_opts {
	const char *socket;
	unsigned int timeout_ms;	/* connect, and each reply */
	unsigned long count;		/* subscribe: stop after this many events (0: never) */
};

/* Is word one of pathcheckd's command words (show, list, check, ...)? */
bool client_is_command(const char *word);
/* The command word that word is a typo of, or NULL. */
const char *client_near_command(const char *word);
/* Is line the subscribe command? */
bool client_is_subscribe(const char *line);
/* Sends one command line, prints its reply (a subscribe then streams). */
int client_command(const struct client_opts *o, const char *line);
/* A command the daemon would refuse and hang up on: message, -EINVAL. */
int client_check_line(const char *line);
/* -k without a command: lines from stdin over one connection. */
int client_shell(const struct client_opts *o);

/* --- conn.c: one connection to pathcheckd ---------------------------------- */

struct conn {
	int fd;
	const char *path;
	unsigned int timeout_ms;
	size_t off, len;		/* unread bytes are buf[off, len) */
	char buf[65536];
};

/* Connects within timeout_ms; on failure prints why and returns -errno. */
int conn_open(struct conn *c, const char *path, unsigned int timeout_ms);
void conn_close(struct conn *c);
/* True when pathcheckd has closed its end (nothing unread before EOF). */
bool conn_hung_up(struct conn *c);
/* Sends line and '\n' within the timeout: 0 or -errno. */
int conn_send(struct conn *c, const char *line);
/*
 * Reads one reply within the timeout: the body goes to out, an
 * "error: ..." reply to stderr as "pathcheck: ...".  Returns 0 for a body,
 * 1 for an error reply, or -errno (-ETIMEDOUT, -ECONNRESET for EOF).
 */
int conn_reply(struct conn *c, FILE *out);
/*
 * Copies lines to out, flushing each, until EOF, count lines (count > 0),
 * or *stop is set by a signal that ppoll lets in through waitmask.
 * Returns the number of lines copied, or -errno for a read error.
 */
long conn_stream(struct conn *c, FILE *out, unsigned long count,
		 const sigset_t *waitmask, volatile sig_atomic_t *stop);
/* Prints what a -errno from conn_send/conn_reply means; returns EXIT_TROUBLE. */
int conn_fail(const struct conn *c, int err);

#endif
