/* SPDX-License-Identifier: MIT */
/*
 * Connections to a unix socket held by other users (root only: setuid),
 * each user in a child process of its own, sending nothing:
 *
 *	struct pool p;
 *	int n = pool_start(&p, fx->sock, 1030, 64);	(uids 65534, 65533, ...)
 *	... pool_refused(&p, &refused, first, sizeof(first), &eof) ...
 *	pool_stop(&p);
 *
 * The socket's directory must let them through (mode 0711 or so).
 */
#ifndef PC_UID_POOL_H
#define PC_UID_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define POOL_NOBODY	65534
#define POOL_KIDS	32

struct pool_kid {
	pid_t pid;
	int to_child, from_child;
};

struct pool {
	struct pool_kid kids[POOL_KIDS];
	unsigned int nkids;
};

/* n connections, per_uid of each of uids 65534, 65533, ... (at most
 * POOL_KIDS users); waits (30 s a user) until they are made: how many
 * connected, or -1. */
int pool_start(struct pool *p, const char *sock, unsigned int n, unsigned int per_uid);

/* What they got so far: connections refused (an "error: " line), the first
 * such line, connections ended by the other side. */
bool pool_refused(struct pool *p, unsigned int *refused, char *first, size_t len,
		  unsigned int *eof);

/* Closes them all: each child ends. */
void pool_stop(struct pool *p);

#endif
