/* SPDX-License-Identifier: MIT */
/*
 * The watchdog: with WatchdogSec= set, systemd passes $WATCHDOG_USEC and
 * kills the service when no WATCHDOG=1 comes for that long.  The ping is
 * sent from the event loop's timer, at half the period, so only while the
 * loop turns: the engine's workers cannot keep the service alive while the
 * loop that owns every record is stuck.
 *
 * STATUS=: "N paths: R ready, F faulty, T i/o timeout, H held, U unchecked",
 * sent when it changes, looked at once a second (housekeeping).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "notify.h"
#include "clock.h"

#include "daemon.h"
#include "log.h"

void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		logmsg(LOG_DEBUG, "sd_notify: %m");
	close(fd);
}

int notify_init(struct daemon *d)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long us;
	char *end;

	d->watchdog_ms = 0;
	if (!usec || !getenv("NOTIFY_SOCKET"))
		return 0;
	/* Meant for another process (a parent that did not unset it). */
	if (pid && strtoll(pid, &end, 10) != (long long)getpid())
		return 0;
	us = strtoull(usec, &end, 10);
	if (*end || us < 2000) {
		logmsg(LOG_ERR, "WATCHDOG_USEC=%s: not a period in microseconds; "
		       "no watchdog pings", usec);
		return -EINVAL;
	}
	d->watchdog_ms = us / 1000 / 2;
	d->next_watchdog_ms = now_ms();
	logmsg(LOG_INFO, "watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)d->watchdog_ms);
	return 0;
}

uint64_t notify_next_ms(const struct daemon *d)
{
	return d->watchdog_ms ? d->next_watchdog_ms : UINT64_MAX;
}

/*
 * Called only from the loop's timer: a loop stuck in a handler, or one
 * that no longer turns, sends nothing, and systemd restarts the service
 * after WatchdogSec.  A ping that comes more than a period late means the
 * loop was blocked that long: logged, so the restart has a reason on record.
 */
void notify_tick(struct daemon *d, uint64_t now)
{
	if (!d->watchdog_ms || now < d->next_watchdog_ms)
		return;
	if (now - d->next_watchdog_ms > d->watchdog_ms)
		logmsg(LOG_WARNING, "watchdog: the event loop was blocked for %llu ms",
		       (unsigned long long)(now - d->next_watchdog_ms + d->watchdog_ms));
	d->next_watchdog_ms = now + d->watchdog_ms;
	sd_notify_msg("WATCHDOG=1");
}

void notify_status(struct daemon *d)
{
	uint64_t n[CHK_NSTATES], marginal;
	char msg[256];

	if (!getenv("NOTIFY_SOCKET"))
		return;
	recs_count_states(d, n, &marginal);
	snprintf(msg, sizeof(msg), "STATUS=%zu paths: %llu ready, %llu faulty, "
		 "%llu i/o timeout, %llu marginal, %llu held, %llu unchecked", d->nrecs,
		 (unsigned long long)n[CHK_READY], (unsigned long long)n[CHK_FAULTY],
		 (unsigned long long)n[CHK_TIMEOUT], (unsigned long long)marginal,
		 (unsigned long long)n[CHK_HELD],
		 (unsigned long long)(n[CHK_UNDEF] + n[CHK_PENDING]));
	if (d->last_status && !strcmp(d->last_status, msg))
		return;
	free(d->last_status);
	d->last_status = strdup(msg);
	sd_notify_msg(msg);
}
