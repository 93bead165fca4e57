/* SPDX-License-Identifier: MIT */
/*
 * --parent-watch: notices the watched process *starting* to exit.
 *
 * A process exiting with an AIO read still in flight waits in the kernel
 * (exit_aio) for that read before its files close or PDEATHSIG fires; if
 * the read is hung here, only we can end that wait.  So we poll
 * /proc/PID/stat for PF_EXITING, and /proc/PID/status for a pending
 * SIGKILL (a thread blocked in a synchronous read on a hung path is
 * killed but not yet exiting).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pathsim.h"

#define PS_PF_EXITING	0x4u
#define PS_SIGKILL_BIT	(1ull << (9 - 1))

static int ps_read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	return 0;
}

struct ps_stat {
	char state;
	unsigned int flags;
	unsigned long long start_time;
};

/* Fields 3 (state), 9 (flags) and 22 (starttime), after the comm. */
static int ps_parse_stat(const char *buf, struct ps_stat *st)
{
	const char *p = strrchr(buf, ')');

	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &st->state, &st->flags, &st->start_time) != 3)
		return -EINVAL;
	return 0;
}

static int ps_stat_of(pid_t pid, struct ps_stat *st)
{
	char buf[1024];
	int ret = ps_read_proc(pid, "stat", buf, sizeof(buf));

	return ret ? ret : ps_parse_stat(buf, st);
}

static bool ps_sigkill_pending(pid_t pid)
{
	static const char *const keys[] = { "\nSigPnd:", "\nShdPnd:" };
	unsigned long long mask;
	char buf[4096];
	const char *p;
	size_t i;

	if (ps_read_proc(pid, "status", buf, sizeof(buf)))
		return false;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		p = strstr(buf, keys[i]);
		if (p && sscanf(p + strlen(keys[i]), " %llx", &mask) == 1 &&
		    (mask & PS_SIGKILL_BIT))
			return true;
	}
	return false;
}

int ps_watch_init(struct ps_watch *w, pid_t pid)
{
	struct ps_stat st;
	int ret;

	if (pid <= 0)
		return -EINVAL;
	ret = ps_stat_of(pid, &st);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	w->pid = pid;
	w->start_time = st.start_time;
	return 0;
}

bool ps_watch_gone(const struct ps_watch *w)
{
	struct ps_stat st;

	if (ps_stat_of(w->pid, &st))
		return true;
	if (st.start_time != w->start_time)
		return true;		/* the pid was reused */
	if (st.state == 'Z' || st.state == 'X' || (st.flags & PS_PF_EXITING))
		return true;
	return ps_sigkill_pending(w->pid);
}
