/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd: keeps every configured path checked on schedule, logs and
 * publishes each state change, answers on a control socket, and exports
 * Prometheus metrics.  See pathcheckd(8).
 *
 * Threads: this one runs the event loop and owns all daemon state; the
 * engine's workers only hand results over (results.c).  The loop sleeps
 * in epoll_wait on: the control socket and its clients, a signalfd, the
 * result queue's eventfd, and one timerfd armed for the next due check,
 * housekeeping or metrics write.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "protocol.h"
#include "hist.h"

#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "results.h"
#include "sched.h"
#include "explain.h"
#include "hotplug.h"
#include "limits.h"
#include "logbudget.h"
#include "reconf.h"
#include "hold.h"
#include "notify.h"
#include "showconfig.h"

#define DEFAULT_CONFIG	"/etc/pathcheckd.conf"
#define HOUSEKEEPING_MS	1000
#define SCHED_TICK_MS	10
/*
 * The workers gather the answers of a tick's checks for this long before
 * they reap (pc_options.coalesce_us): one wake-up per burst instead of one
 * per answer.  Results wait for the next tick anyway (RESULTS_MAX_DELAY_MS).
 */
#define DAEMON_COALESCE_US	2000


struct args {
	const char *config;
	const char *socket;
	const char *metrics;
	const char *state_dir;
	int log;		/* enum cfg_log, -1: from the config */
	bool debug, test_config;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pathcheckd [options]\n"
		"  -c, --config FILE        configuration (default " DEFAULT_CONFIG ")\n"
		"  -s, --socket PATH        control socket (default: config, else " PATHCHECKD_SOCKET ")\n"
		"      --metrics-file PATH  Prometheus textfile, rewritten every interval\n"
		"      --state-dir DIR      where holds are kept (default: $STATE_DIRECTORY,\n"
		"                           else " DEFAULT_STATE_DIR ")\n"
		"  -f, --foreground         log to stderr (the daemon never forks)\n"
		"      --log stderr|syslog|journal  where log lines go (default: journal under\n"
		"                           systemd, stderr on a tty, else syslog; without\n"
		"                           /dev/log, <N>-prefixed lines on stderr)\n"
		"  -d, --debug              log debug lines too\n"
		"  -t, --test-config        check the config, list the paths it gives, exit\n"
		"  -V, --version            print the version\n"
		"  -h, --help               this help\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "metrics-file", required_argument, NULL, 'M' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'L' },
		{ "debug", no_argument, NULL, 'd' },
		{ "test-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*a = (struct args){ .config = DEFAULT_CONFIG, .log = -1 };
	while ((c = getopt_long(argc, argv, "c:s:fdtVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 's': a->socket = optarg; break;
		case 'M': a->metrics = optarg; break;
		case 'S': a->state_dir = optarg; break;
		case 'f': a->log = CFG_LOG_STDERR; break;
		case 'd': a->debug = true; break;
		case 't': a->test_config = true; break;
		case 'L':
			if (!strcmp(optarg, "stderr"))
				a->log = CFG_LOG_STDERR;
			else if (!strcmp(optarg, "syslog"))
				a->log = CFG_LOG_SYSLOG;
			else if (!strcmp(optarg, "journal"))
				a->log = CFG_LOG_JOURNAL;
			else {
				fprintf(stderr, "pathcheckd: --log takes stderr, syslog or journal, "
					"not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'V':
			printf("pathcheckd %s\n", PC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pathcheckd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if ((a->socket && a->socket[0] != '/') || (a->metrics && a->metrics[0] != '/') ||
	    (a->state_dir && a->state_dir[0] != '/')) {
		fprintf(stderr, "pathcheckd: --socket, --metrics-file and --state-dir take "
			"absolute paths\n");
		return 2;
	}
	return -1;
}

/* -t: what the config gives, one device a line, and why (explain.c). */
static int test_config(const struct config *cfg)
{
	int ret = config_explain(cfg, stdout);

	if (ret < 0) {
		fprintf(stderr, "pathcheckd: %s: expanding paths: %s\n", cfg->file, strerror(-ret));
		return 1;
	}
	return 0;
}

/* --- epoll helpers ---------------------------------------------------------- */

void loop_watch(struct daemon *d, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
		logmsg(LOG_ERR, "epoll_ctl add: %m");
}

void loop_modify(struct daemon *d, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev))
		logmsg(LOG_ERR, "epoll_ctl mod: %m");
}

/* --- reconfigure -------------------------------------------------------------- */

void daemon_apply_settings(struct daemon *d, const struct config *old,
			   const struct config *cfg)
{
	showconfig_restart_check(d, cfg);
	if (!d->log_from_cli && cfg->log_target != old->log_target)
		log_setup(cfg->log_target, d->debug);
	if (cfg->socket_mode != old->socket_mode && chmod(d->socket_path, cfg->socket_mode))
		logmsg(LOG_ERR, "chmod %s: %m", d->socket_path);
	if (!d->metrics_from_cli) {
		free(d->metrics_file);
		d->metrics_file = cfg->metrics_file ? strdup(cfg->metrics_file) : NULL;
	}
}

void daemon_request_stop(struct daemon *d)
{
	d->stopping = true;
}

/* --- the loop ------------------------------------------------------------------ */

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			logmsg(LOG_NOTICE, "SIGHUP: reconfigure");
			reconf_request(d, NULL);
		} else {
			logmsg(LOG_NOTICE, "%s: shutting down", strsignal((int)si.ssi_signo));
			daemon_request_stop(d);
		}
	}
}

static void arm_timer(struct daemon *d, uint64_t at_ms)
{
	struct itimerspec its = { 0 };

	if (at_ms == d->timer_armed_ms)
		return;
	d->timer_armed_ms = at_ms;
	its.it_value = ts_from_ms(at_ms);
	if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		logmsg(LOG_ERR, "timerfd_settime: %m");
}

/*
 * Wake on tick boundaries only: the checks due within one tick start
 * together, in one pc_check_many() batch (one io_submit per aio group),
 * instead of a wake-up per due millisecond.  A check starts at most one
 * tick late.
 */
static uint64_t tick_round(uint64_t ms)
{
	if (ms == UINT64_MAX)
		return ms;
	return (ms + SCHED_TICK_MS - 1) / SCHED_TICK_MS * SCHED_TICK_MS;
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* The host modules' work in slices (reconfigure, open retries): while any
 * is left the loop polls instead of sleeping, and runs one slice a turn. */
static bool host_busy(const struct daemon *d)
{
	return d->host.lim.retry_more || reconf_busy(d);
}

static void host_step(struct daemon *d)
{
	if (reconf_busy(d))
		reconf_step(d);
	if (d->host.lim.retry_more)
		limits_retry(d, now_ms());
}

/* Once a second.  Retries wait while a reconfigure is applied. */
static void host_housekeeping(struct daemon *d, uint64_t now)
{
	if (!reconf_busy(d)) {
		limits_retry(d, now);
		limits_report(d);
	}
	logbudget_tick(d, now);
}

static void on_timer(struct daemon *d)
{
	uint64_t v, now;

	if (read(d->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		logmsg(LOG_ERR, "timerfd: %m");
	d->timer_armed_ms = 0;	/* expired: the next arm_timer must set it */
	now = now_ms();
	results_drain(d);	/* also frees removed records */
	sched_run(d, now);
	if (now >= d->next_housekeeping_ms) {
		d->next_housekeeping_ms = now + HOUSEKEEPING_MS;
		ctl_housekeeping(d, now);
		host_housekeeping(d, now);
		notify_status(d);
		flap_housekeeping(d, now);
	}
	notify_tick(d, now);
	if (now >= d->next_metrics_ms) {
		d->next_metrics_ms = now + d->cfg.interval_ms;
		metrics_write_file(d);
	}
}

static void dispatch(struct daemon *d, struct epoll_event *ev)
{
	switch ((uintptr_t)ev->data.ptr) {
	case TAG_LISTEN:
		ctl_accept(d);
		break;
	case TAG_SIGNAL:
		on_signal(d);
		break;
	case TAG_TIMER:
		on_timer(d);
		break;
	case TAG_RESULTS:
		results_drain(d);
		break;
	case TAG_UEVENT:
		hotplug_event(d);
		break;
	case TAG_RECONF:
		reconf_loaded(d);
		break;
	default:
		ctl_event(d, ev->data.ptr, ev->events);
		break;
	}
}

static int run_loop(struct daemon *d)
{
	struct epoll_event ev[64];

	while (!d->stopping) {
		uint64_t next = min3(sched_next_ms(d), d->next_housekeeping_ms,
				     d->metrics_file ? d->next_metrics_ms : UINT64_MAX);
		bool waiting;
		int n;

		if (notify_next_ms(d) < next)
			next = notify_next_ms(d);
		arm_timer(d, tick_round(next));
		/* Results queued unannounced: take them, after a look at the
		 * other events, without sleeping.  Work in slices
		 * (reconfigure, retries, clients' commands beyond their share
		 * of a turn): poll between them. */
		waiting = results_before_sleep(&d->results, d->timer_armed_ms);
		n = epoll_wait(d->epfd, ev, 64,
			       waiting || host_busy(d) || ctl_busy(d) ? 0 : -1);
		if (n < 0 && errno != EINTR) {
			logmsg(LOG_CRIT, "epoll_wait: %m");
			return -EIO;
		}
		for (int i = 0; i < n; i++)
			dispatch(d, &ev[i]);
		if (waiting)
			results_drain(d);
		if (host_busy(d))
			host_step(d);
		ctl_sweep(d);
	}
	return 0;
}

/* --- start and stop --------------------------------------------------------------- */

static int setup_fds(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before the engine starts, so its threads inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->timer_fd < 0 || d->epfd < 0)
		return -errno;
	if (reconf_init(d))
		return -errno;
	return results_init(&d->results);
}

static int start_engine(struct daemon *d)
{
	struct pc_options o = {
		.workers = d->cfg.workers,
		.group_size = d->cfg.group_size,
		.timeout_ms = d->cfg.timeout_ms,
		.shutdown_ms = d->cfg.shutdown_ms,
		.log = log_engine,
		.on_result = results_on_result,
		.coalesce_us = DAEMON_COALESCE_US,
	};

	return pc_engine_new(&o, &d->engine);
}

static int start(struct daemon *d, const struct args *a)
{
	int ret;

	limits_init(d);
	ret = setup_fds(d);

	if (ret) {
		fprintf(stderr, "pathcheckd: start-up: %s\n", strerror(-ret));
		return ret;
	}
	ret = start_engine(d);
	if (ret) {
		fprintf(stderr, "pathcheckd: cannot start the engine: %s\n", strerror(-ret));
		return ret;
	}
	ret = ctl_listen(d);
	if (ret) {
		fprintf(stderr, "pathcheckd: cannot listen on %s: %s\n", d->socket_path,
			ret == -EADDRINUSE ? "another pathcheckd answers there" :
			ret == -ENOTSOCK ? "a file that is not a socket is there (never removed): "
					   "remove it, or name another socket (-s, or socket in the config)" :
			strerror(-ret));
		return ret;
	}
	ret = holds_init(d, a->state_dir);
	if (ret) {
		fprintf(stderr, "pathcheckd: holds: %s\n", strerror(-ret));
		return ret;
	}
	d->state_dir_origin = a->state_dir ? "command line (--state-dir)" :
			      getenv("STATE_DIRECTORY") ? "$STATE_DIRECTORY" : NULL;
	showconfig_reload_result(d, NULL);
	/* Events first: a device that comes during the expansion is seen. */
	hotplug_start(d);
	ret = recs_apply_config(d, &d->cfg);
	if (ret) {
		fprintf(stderr, "pathcheckd: %s: %s\n", a->config, strerror(-ret));
		return ret;
	}
	limits_report(d);
	loop_watch(d, d->listen_fd, EPOLLIN, loop_tag(TAG_LISTEN));
	loop_watch(d, d->sig_fd, EPOLLIN, loop_tag(TAG_SIGNAL));
	loop_watch(d, d->timer_fd, EPOLLIN, loop_tag(TAG_TIMER));
	loop_watch(d, d->results.efd, EPOLLIN, loop_tag(TAG_RESULTS));
	d->start_ms = now_ms();
	d->next_housekeeping_ms = d->start_ms + HOUSEKEEPING_MS;
	d->next_metrics_ms = d->start_ms;
	return 0;
}

/*
 * Bounded even with hung reads: pc_path_free never blocks and
 * pc_engine_free waits at most shutdown_ms.  The process's exit itself
 * can still wait in the kernel for a hung read (see pathcheckd(8)).
 */
static void stop(struct daemon *d, bool started)
{
	uint64_t t0 = now_ms();

	if (started)
		sd_notify_msg("STOPPING=1");
	reconf_fini(d);
	if (d->start_ms) {
		/* The textfile's last word: pathcheck_daemon_up 0. */
		d->stopping = true;
		metrics_write_file(d);
	}
	ctl_close(d);
	ctl_close_all(d);
	hotplug_stop(d);
	recs_free_all(d);
	if (d->engine)
		pc_engine_free(d->engine);
	d->engine = NULL;
	results_fini(&d->results);
	holds_fini(d);
	free(d->reload_error);
	free(d->last_status);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	if (started)
		logmsg(LOG_NOTICE, "pathcheckd: stopped in %llu ms",
		       (unsigned long long)(now_ms() - t0));
}

int main(int argc, char **argv)
{
	struct daemon d = { .epfd = -1, .listen_fd = -1, .sig_fd = -1, .timer_fd = -1,
			    .spare_fds = { -1, -1, -1, -1 } };
	struct args a;
	char err[512];
	int ret = parse_args(argc, argv, &a);

	hist_init(&d.lag, &hist_scale_prometheus);
	hist_init(&d.latency, &hist_scale_prometheus);
	if (ret >= 0)
		return ret;
	d.results.efd = -1;
	d.host.rc.efd = -1;
	d.host.hp.fd = -1;
	if (config_load(a.config, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "pathcheckd: %s\n", err);
		return 1;
	}
	if (a.test_config) {
		ret = test_config(&d.cfg);
		config_free(&d.cfg);
		return ret;
	}
	log_setup(a.log >= 0 ? a.log : d.cfg.log_target, a.debug);
	d.log_from_cli = a.log >= 0;
	d.log_cli = a.log;
	d.debug = a.debug;
	/* Absolute, so that reconfigure finds it whatever the cwd. */
	d.config_file = realpath(a.config, NULL);
	if (!d.config_file) {
		fprintf(stderr, "pathcheckd: %s: %s\n", a.config, strerror(errno));
		config_free(&d.cfg);
		return 1;
	}
	d.socket_from_cli = a.socket != NULL;
	if (config_copy_restart(&d.started, &d.cfg)) {
		fprintf(stderr, "pathcheckd: out of memory\n");
		config_free(&d.cfg);
		config_free(&d.started);
		return 1;
	}
	d.socket_path = strdup(a.socket ? a.socket : d.cfg.socket_path ? d.cfg.socket_path : PATHCHECKD_SOCKET);
	d.metrics_from_cli = a.metrics != NULL;
	if (a.metrics || d.cfg.metrics_file)
		d.metrics_file = strdup(a.metrics ? a.metrics : d.cfg.metrics_file);
	ret = d.socket_path ? start(&d, &a) : -ENOMEM;
	if (ret == 0) {
		logmsg(LOG_NOTICE, "pathcheckd: ready, %zu paths, socket %s", d.nrecs, d.socket_path);
		sd_notify_msg("READY=1");
		notify_init(&d);
		notify_status(&d);
		ret = run_loop(&d);
	}
	stop(&d, ret == 0);
	config_free(&d.cfg);
	config_free(&d.started);
	free(d.config_file);
	free(d.socket_path);
	free(d.metrics_file);
	return ret ? 1 : 0;
}
