/* SPDX-License-Identifier: MIT */
/*
 * systemd's notify protocol, without libsystemd: READY=1, RELOADING=1,
 * STOPPING=1, STATUS= and the watchdog.  Main thread only.
 */
#ifndef PATHCHECKD_NOTIFY_H
#define PATHCHECKD_NOTIFY_H

#include <stdint.h>

struct daemon;

/* One datagram to $NOTIFY_SOCKET; nothing when it is not set. */
void sd_notify_msg(const char *msg);
/* Reads $WATCHDOG_USEC (and $WATCHDOG_PID): 0, or -EINVAL if malformed. */
int  notify_init(struct daemon *d);
/* When the loop must wake next for the watchdog (UINT64_MAX: never). */
uint64_t notify_next_ms(const struct daemon *d);
/* From the loop's timer: the watchdog ping if due and healthy, and STATUS=
 * if the counts changed (called at most once a second for that). */
void notify_tick(struct daemon *d, uint64_t now);
void notify_status(struct daemon *d);

#endif
