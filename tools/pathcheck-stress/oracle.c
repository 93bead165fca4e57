/* SPDX-License-Identifier: MIT */
/*
 * The oracle: each path's mode is known (pathsim's control file sets it),
 * so every result is judged right or wrong, and a check that never comes
 * back is counted lost.  A result of a check that began before the modes
 * last changed is "straddled" and not judged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathcheck.h"
#include "clock.h"
#include "hist.h"

#include "stress.h"

int control_write(struct stress *s, const char *text)
{
	char buf[4096];
	int fd, ret = 0;
	ssize_t len = (ssize_t)strlen(text);

	snprintf(buf, sizeof(buf), "%s/control", s->cfg.mount);
	fd = open(buf, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len)
		ret = -errno;
	close(fd);
	if (ret)
		fprintf(stderr, "pathcheck-stress: control '%s': %s\n", text, strerror(-ret));
	return ret;
}

/* The word that gives a pathsim file mode kind m (--slow and --flaky
 * carry their MS and P). */
static const char *mode_word(struct stress *s, unsigned int m, char *buf, size_t len)
{
	struct sim_mode mode = { .kind = (enum sim_mode_kind)m };

	if (m == SIM_MODE_SLOW)
		mode = s->cfg.slow;
	else if (m == SIM_MODE_FLAKY)
		mode = s->cfg.flaky;
	return sim_mode_format(&mode, buf, len) < 0 ? "up" : buf;
}

/* Give file i its mode from the fractions, rotated by flip_offset. */
int apply_modes(struct stress *s)
{
	unsigned int n = s->cfg.nsim, i, cut[4];
	char *text, word[32];
	size_t len = 0, cap = (size_t)n * 48 + 64;
	int ret;

	if (!s->cfg.mount)
		return 0;
	cut[0] = (unsigned int)(s->cfg.f_hung * n + 0.5);
	cut[1] = cut[0] + (unsigned int)(s->cfg.f_eio * n + 0.5);
	cut[2] = cut[1] + (unsigned int)(s->cfg.f_slow * n + 0.5);
	cut[3] = cut[2] + (unsigned int)(s->cfg.f_flaky * n + 0.5);
	text = malloc(cap);
	if (!text)
		return -ENOMEM;
	text[0] = 0;
	for (i = 0; i < n; i++) {
		unsigned int r = i, m = SIM_MODE_UP;

		if (r < cut[0]) m = SIM_MODE_HUNG;
		else if (r < cut[1]) m = SIM_MODE_EIO;
		else if (r < cut[2]) m = SIM_MODE_SLOW;
		else if (r < cut[3]) m = SIM_MODE_FLAKY;
		s->sim_mode[(i + s->flip_offset) % n] = m;
	}
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "set %u %s\n", i,
					mode_word(s, s->sim_mode[i], word, sizeof(word)));
	ret = control_write(s, text);
	free(text);
	for (i = 0; i < s->cfg.npaths; i++)
		atomic_store(&s->paths[i].mode, s->sim_mode[i % n]);
	return ret;
}

void flip_modes(struct stress *s)
{
	atomic_fetch_add(&s->epoch, 1);		/* odd: results not judged */
	s->flip_offset++;
	apply_modes(s);
	control_write(s, "release\n");
	atomic_fetch_add(&s->epoch, 1);
}

/* Mark sp as started; undo when the engine did not start a read. */
void mark_started(struct stress *s, struct spath *sp)
{
	atomic_store(&sp->start_epoch, atomic_load(&s->epoch));
	atomic_store(&sp->start_us, now_us());
	atomic_store(&sp->pending, 1);
}

void account_check(struct stress *s, struct spath *sp, int ret)
{
	if (ret == PC_PENDING) {
		atomic_fetch_add(&s->ctr.started, 1);
		atomic_fetch_add(&sp->started, 1);
		return;
	}
	/* no read started: timed-out read still held, or an error */
	if (atomic_exchange(&sp->pending, 0)) {
		if (ret < 0)
			atomic_fetch_add(&s->ctr.errors, 1);
		else
			atomic_fetch_add(&s->ctr.blocked, 1);
	}
}

static void judge(struct stress *s, struct spath *sp, int state, unsigned int started_epoch)
{
	struct pc_result r;
	unsigned int m = atomic_load(&sp->mode);
	int reason = PC_REASON_NONE;

	if (started_epoch & 1 || started_epoch != atomic_load(&s->epoch)) {
		atomic_fetch_add(&s->ctr.straddled, 1);
		return;
	}
	if (pc_path_result(sp->p, &r) == 0)
		reason = r.reason;
	if (reason == PC_REASON_TIMEOUT)
		atomic_fetch_add(&s->ctr.timeouts, 1);
	if ((m == SIM_MODE_UP || m == SIM_MODE_SLOW) && state == PC_DOWN &&
	    reason != PC_REASON_TIMEOUT)
		atomic_fetch_add(&s->ctr.wrong, 1);
	if ((m == SIM_MODE_HUNG || m == SIM_MODE_EIO) && state == PC_UP)
		atomic_fetch_add(&s->ctr.wrong, 1);
}

void on_result(struct pc_path *p, int state, void *arg)
{
	struct spath *sp = arg;

	(void)p;
	account_result(sp->s, sp, state);
}

/* A check's result, from on_result or a PC_NOCALLBACK check's return. */
void account_result(struct stress *s, struct spath *sp, int state)
{
	uint64_t t0 = atomic_load(&sp->start_us);

	if (!atomic_exchange(&sp->pending, 0)) {
		/* a result nobody started (or already counted lost) */
		atomic_fetch_add(&s->ctr.delivered_freed, 1);
	}
	atomic_fetch_add(&s->ctr.delivered, 1);
	atomic_fetch_add(&sp->delivered, 1);
	if (state == PC_UP)
		atomic_fetch_add(&s->ctr.up, 1);
	else
		atomic_fetch_add(&s->ctr.down, 1);
	hist_add(&s->hist, now_us() - t0);
	judge(s, sp, state, atomic_load(&sp->start_epoch));
}

/* Every second: count reads pending past timeout + 2 s as lost. */
void scan_lost(struct stress *s, uint64_t margin_us)
{
	unsigned int i;

	for (i = 0; i < s->cfg.npaths; i++) {
		struct spath *sp = &s->paths[i];
		bool late;

		if (!atomic_load(&sp->pending))
			continue;
		/* Checks start under sp->lock (mark_started): holding it,
		 * start_us belongs to the pending check.  Busy: one is being
		 * started right now, so it is not late. */
		if (pthread_mutex_trylock(&sp->lock))
			continue;
		/* now after the lock: a check started since is not in the past */
		late = now_us() - atomic_load(&sp->start_us) >= margin_us &&
		       atomic_exchange(&sp->pending, 0);
		pthread_mutex_unlock(&sp->lock);
		if (!late)
			continue;
		if (atomic_load(&sp->start_epoch) != atomic_load(&s->epoch))
			atomic_fetch_add(&s->ctr.straddled, 1);
		else
			atomic_fetch_add(&s->ctr.lost, 1);
	}
}

uint64_t outstanding(struct stress *s)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < s->cfg.npaths; i++)
		n += atomic_load(&s->paths[i].pending);
	return n;
}
