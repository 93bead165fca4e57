/* SPDX-License-Identifier: MIT */
/*
 * Connections to the daemon of a fixture (daemon_fixture.h).  The
 * protocol: one command a line; every reply is its lines and then one
 * empty line.  Replies here are returned without that empty line ("ok\n",
 * "" for an empty reply, "error: ...\n").
 */
#ifndef PC_DAEMON_CONN_H
#define PC_DAEMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon_fx;

/*
 * One connection for one command (a newline is added): the reply, without
 * its terminating empty line, NUL-terminated in reply.  Returns its length,
 * or -errno: -ETIMEDOUT (no complete reply within fx->reply_ms),
 * -ECONNRESET (the connection ended first), -EMSGSIZE (it did not fit:
 * truncated, but read whole).
 */
int daemon_cmd(struct daemon_fx *fx, const char *cmd, char *reply, size_t len);

/* A persistent connection. */
struct dconn;

int dconn_open(struct daemon_fx *fx, struct dconn **cp);
/* Same, but the connect itself may fail (its -errno, nothing printed). */
int dconn_try_open(const char *sock, struct dconn **cp);
void dconn_close(struct dconn *c);
int dconn_fd(struct dconn *c);
/* Sends bytes as they are; bounded by timeout_ms. 0 or -errno. */
int dconn_write(struct dconn *c, const void *buf, size_t len, unsigned int timeout_ms);
/* Sends one command line (a newline added). */
int dconn_send(struct dconn *c, const char *cmd);
/* The next reply (as daemon_cmd); its length or -errno. */
int dconn_reply(struct dconn *c, char *reply, size_t len, unsigned int timeout_ms);
/* The next line, without its newline: its length, -ETIMEDOUT, -ECONNRESET. */
int dconn_line(struct dconn *c, char *line, size_t len, unsigned int timeout_ms);
/* Waits for the daemon to close: 0, or -ETIMEDOUT.  Discards what comes. */
int dconn_wait_eof(struct dconn *c, unsigned int timeout_ms);
/* Reads and discards what has come: 0, or -ECONNRESET once it ended. */
int dconn_drain(struct dconn *c);
/* send + reply in one go: its length or -errno. */
int dconn_cmd(struct dconn *c, const char *cmd, char *reply, size_t len,
	      unsigned int timeout_ms);

/* Runs cmd; true if the reply (in fx->last) is exactly want; printed if not. */
bool daemon_reply_is(struct daemon_fx *fx, const char *cmd, const char *want);
/* Runs cmd; true if the reply (in fx->last) starts with want; printed if not. */
bool daemon_reply_starts(struct daemon_fx *fx, const char *cmd, const char *want);
/* The integer key of `show path DEV json`, or -1 (printed). */
long long daemon_path_int(struct daemon_fx *fx, const char *dev, const char *key);
/* The string key of `show path DEV json` (the reply in fx->last): true if found. */
bool daemon_path_str(struct daemon_fx *fx, const char *dev, const char *key,
		     char *out, size_t len);
/* The number key of `show stats`: true if there. */
bool daemon_stat(struct daemon_fx *fx, const char *key, uint64_t *v);

#endif
