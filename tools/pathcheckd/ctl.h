/* SPDX-License-Identifier: MIT */
/* Control-socket clients.  Main thread only. */
#ifndef PATHCHECKD_CTL_H
#define PATHCHECKD_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "protocol.h"
#include "sbuf.h"

#define CTL_IN_MAX	(PATHCHECKD_LINE_MAX + 1)	/* a line and its newline */
#define CTL_MAX_CLIENTS	1024
#define CTL_ROOT_SLOTS	16		/* of those, only for privileged clients */
#define CTL_SPARE_FDS	4		/* descriptors kept for privileged clients */
#define CTL_SUB_BACKLOG	(1U << 20)	/* events a subscriber may leave unread */
#define CTL_OUT_PAUSE	(1U << 20)	/* output unsent: run no more commands */
/* One client's share of an event-loop turn: it goes on at the next turn. */
#define CTL_TURN_CMDS	16		/* commands run */
#define CTL_TURN_IN	(64U << 10)	/* bytes read */
#define CTL_TURN_OUT	(256U << 10)	/* reply bytes made (checked per command) */
#define CTL_OUT_MAX	(256U << 20)	/* any reply backlog beyond this: dropped */
#define CTL_STALL_MS	10000		/* unread output this long: dropped */

enum client_state {
	CLIENT_OPEN,		/* reading commands */
	CLIENT_DRAINING,	/* input ended or was refused: close once flushed */
	CLIENT_DEAD,		/* closed; freed by ctl_sweep() */
};

struct client {
	uint64_t id;
	int fd;
	enum client_state state;
	uid_t uid;
	pid_t pid;
	bool privileged;	/* root or the daemon's own user */
	bool subscribed;
	bool waiting;		/* a `check` reply is outstanding */
	bool wait_json;
	bool input_closed;	/* peer sent EOF; a subscriber stays */
	bool commanded;		/* has sent a complete command */
	char in[CTL_IN_MAX + 1];
	size_t inlen;
	uint64_t since_ms;	/* connected, or a command begun: idle timeout */
	uint64_t turn;		/* the loop turn turn_* count for */
	unsigned int turn_cmds;
	size_t turn_in, turn_out;
	struct sbuf out;
	uint64_t stalled_since_ms; /* output pending and not moving; 0: none */
	uint32_t events;	/* what epoll watches now */
};

/* The socket and the clients, for the event loop. */
int  ctl_listen(struct daemon *d);
void ctl_close(struct daemon *d);
void ctl_accept(struct daemon *d);
void ctl_event(struct daemon *d, struct client *c, uint32_t events);
void ctl_housekeeping(struct daemon *d, uint64_t now);
void ctl_publish(struct daemon *d, const struct sbuf *ev);	/* one event line */
void ctl_publish_transition(struct daemon *d, const struct rec *r,
			    enum chk_st from);
void ctl_check_done(struct daemon *d, struct rec *r);
struct client *ctl_client_by_id(struct daemon *d, uint64_t id);
void ctl_close_all(struct daemon *d);


/* Replies, for the commands. */
void ctl_send(struct daemon *d, struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_reply_end(struct daemon *d, struct client *c);
void ctl_error(struct daemon *d, struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_flush(struct daemon *d, struct client *c);
void ctl_drop(struct daemon *d, struct client *c, const char *why);
void ctl_sweep(struct daemon *d);
bool ctl_busy(const struct daemon *d);	/* commands wait for the next turn */

/* ctl_admit.c: the descriptors kept for privileged clients. */
void spares_refill(struct daemon *d);	/* take again those that are free */
bool spare_release(struct daemon *d);	/* give one up: false if none */
void spares_close(struct daemon *d);

#endif
