/* SPDX-License-Identifier: MIT */
/*
 * pathsim [OPTIONS] MOUNTPOINT: mounts simulated storage paths whose reads
 * can fail, slow down or hang on demand, through the kernel's real AIO
 * path.  pathsim ctl ...: changes them.  See docs/pathsim.md.
 *
 * Threads: main (signals, parent watch, start and stop), the FUSE session
 * thread, and the timer thread answering slow reads.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathsim.h"

#define PS_DEFAULT_PATHS	8u
#define PS_DEFAULT_SEED		1u
#define PS_PROGRESS_EVERY	1000u

struct ps_opts {
	unsigned int npaths;
	uint64_t size;
	bool loop;
	unsigned int loop_block_size;
	pid_t parent;		/* 0: no --parent-watch */
	uint64_t seed;
	bool debug;
	const char *mountpoint;
};

struct ps_main {
	struct ps_opts o;
	char mnt[PATH_MAX];
	struct ps_sim sim;
	struct ps_fs fs;
	struct ps_loop *loops;
	unsigned int nloops;
	struct ps_watch watch;
	int sigfd;
};

static void ps_usage(FILE *f)
{
	fprintf(f,
"usage: pathsim [OPTIONS] MOUNTPOINT\n"
"       pathsim ctl MOUNTPOINT set TARGET MODE | release [TARGET] | reset |\n"
"                              show [--json]\n"
"\n"
"Mounts N simulated storage paths p0..p{N-1} and a file 'control' on\n"
"MOUNTPOINT, in the foreground, and prints 'ready MOUNTPOINT' when usable.\n"
"\n"
"  -n, --paths N          number of path files (default 8)\n"
"      --size BYTES       size of each path file, K/M/G suffixes, at least\n"
"                         1M, a multiple of 512 (default 1M)\n"
"      --seed S           seed of the flaky coin (default 1)\n"
"      --loop             put each path behind a loop device (root only)\n"
"      --loop-block-size B  logical block size of those devices: 512,\n"
"                         1024, 2048 or 4096 (default 512)\n"
"      --parent-watch PID unmount and exit when PID starts exiting\n"
"  -d, --debug            print every FUSE request (libfuse debug)\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Modes: up, eio, short, slow:MS, hung, flaky:P\n"
"Control lines: set TARGET MODE | release [TARGET] | reset\n"
"Targets: all, pK, K, A-B, F%%, 0.F\n"
"Exit status: 0 clean exit, 1 error, 2 bad usage, 3 FUSE cannot mount.\n");
}

static int ps_bad_option(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int ps_bad_option(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pathsim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pathsim --help'.\n");
	return -EINVAL;
}

/* BYTES with an optional K, M, G or T (powers of 1024). */
static int ps_parse_size(const char *s, uint64_t *size)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	char digits[32];
	size_t len = strlen(s);
	const char *u;
	unsigned int shift = 0;

	if (!len || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, len + 1);
	u = strchr(units, digits[len - 1] & ~0x20);
	if (digits[len - 1] >= 'A' && u && *u) {
		shift = 10u * (unsigned int)(u - units + 1);
		digits[len - 1] = '\0';
	}
	if (sim_parse_uint(digits, PS_MAX_SIZE >> shift, &v))
		return -EINVAL;
	*size = (uint64_t)v << shift;
	return 0;
}

static int ps_opt_value(int opt, const char *arg, struct ps_opts *o)
{
	unsigned long long v;

	switch (opt) {
	case 'n':
		if (sim_parse_uint(arg, PS_MAX_PATHS, &v) || !v)
			return ps_bad_option("--paths: '%s' is not a number "
					     "from 1 to 1000000", arg);
		o->npaths = (unsigned int)v;
		return 0;
	case 's':
		if (ps_parse_size(arg, &o->size) || o->size < PS_MIN_SIZE ||
		    o->size % 512)
			return ps_bad_option("--size: '%s' is not a size of at "
					     "least 1M and a multiple of 512",
					     arg);
		return 0;
	case 'S':
		if (sim_parse_uint(arg, UINT64_MAX, &v))
			return ps_bad_option("--seed: '%s' is not a number",
					     arg);
		o->seed = v;
		return 0;
	case 'b':
		if (sim_parse_uint(arg, 4096, &v) || v < 512 || (v & (v - 1)))
			return ps_bad_option("--loop-block-size: '%s' is not "
					     "512, 1024, 2048 or 4096", arg);
		o->loop_block_size = (unsigned int)v;
		return 0;
	case 'P':
		if (sim_parse_uint(arg, INT_MAX, &v) || !v)
			return ps_bad_option("--parent-watch: '%s' is not a "
					     "process id", arg);
		o->parent = (pid_t)v;
		return 0;
	}
	return -EINVAL;
}

/* 0 to run, 1 for --help, 2 for --version, -EINVAL for bad usage (already reported). */
static int ps_parse_opts(int argc, char **argv, struct ps_opts *o)
{
	static const struct option longopts[] = {
		{ "paths", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "loop", no_argument, NULL, 'L' },
		{ "loop-block-size", required_argument, NULL, 'b' },
		{ "parent-watch", required_argument, NULL, 'P' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, ret;

	*o = (struct ps_opts){ .npaths = PS_DEFAULT_PATHS,
			       .size = PS_MIN_SIZE, .seed = PS_DEFAULT_SEED,
			       .loop_block_size = 512 };
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:n:dhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return 1;
		case 'V':
			return 2;
		case 'L':
			o->loop = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case ':':
			return ps_bad_option("%s needs a value",
					     argv[optind - 1]);
		case '?':
			if (optopt)
				return ps_bad_option("unknown option '-%c'",
						     optopt);
			return ps_bad_option("unknown option '%s'",
					     argv[optind - 1]);
		default:
			ret = ps_opt_value(opt, optarg, o);
			if (ret)
				return ret;
		}
	}
	if (optind != argc - 1)
		return ps_bad_option("%s", optind == argc ?
				     "no MOUNTPOINT given" :
				     "one MOUNTPOINT expected, got more");
	o->mountpoint = argv[optind];
	return 0;
}

/* A /proc/self/mountinfo field, its \ooo escapes (space, tab, ...) undone. */
static void ps_unescape(char *s)
{
	char *w = s;

	for (; *s; s++, w++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*w = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*w = *s;
		}
	}
	*w = '\0';
}

/*
 * Whether dir is already the mount point of a pathsim (fstype fuse.pathsim).
 * A second pathsim would stack on it and hide the first one's paths from
 * whoever uses them: refuse instead.
 */
static bool ps_is_pathsim_mount(const char *dir)
{
	char line[2 * PATH_MAX + 256], mnt[PATH_MAX + 1], type[64];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTS */
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4096s", mnt) != 1 ||
		    sscanf(dash, " - %63s", type) != 1)
			continue;
		ps_unescape(mnt);
		found = !strcmp(type, "fuse.pathsim") && !strcmp(mnt, dir);
	}
	fclose(f);
	return found;
}

/* Usage problems found before mounting: exit status 2. */
static int ps_check_setup(struct ps_main *m)
{
	struct stat st;
	int ret = 0;

	if (!realpath(m->o.mountpoint, m->mnt) || stat(m->mnt, &st))
		ret = errno;
	else if (!S_ISDIR(st.st_mode))
		ret = ENOTDIR;
	if (ret) {
		fprintf(stderr, "pathsim: mount point %s: %s\n",
			m->o.mountpoint, strerror(ret));
		return -ret;
	}
	if (ps_is_pathsim_mount(m->mnt)) {
		fprintf(stderr, "pathsim: %s is already a pathsim mount: stop that "
			"pathsim or unmount it (fusermount3 -u %s), or choose another "
			"mount point\n", m->mnt, m->mnt);
		return -EBUSY;
	}
	if (m->o.loop && geteuid() != 0) {
		fprintf(stderr, "pathsim: --loop needs root\n");
		return -EPERM;
	}
	if (m->o.parent) {
		ret = ps_watch_init(&m->watch, m->o.parent);
		if (ret) {
			fprintf(stderr, "pathsim: --parent-watch %d: %s\n",
				(int)m->o.parent, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Many paths with --loop need a descriptor each. */
static void ps_raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Before any thread exists, so that only signalfd sees them. */
static int ps_setup_signals(struct ps_main *m)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return m->sigfd < 0 ? -errno : 0;
}

static int ps_attach_loops(struct ps_main *m)
{
	char file[PATH_MAX + 16];
	unsigned int i;
	int ret;

	m->loops = calloc(m->o.npaths, sizeof(*m->loops));
	if (!m->loops)
		return -ENOMEM;
	for (i = 0; i < m->o.npaths; i++) {
		snprintf(file, sizeof(file), "%s/p%u", m->mnt, i);
		ret = ps_loop_attach(file, m->o.loop_block_size, &m->loops[i]);
		if (ret) {
			fprintf(stderr, "pathsim: %s: cannot attach a loop "
				"device: %s\n", file, strerror(-ret));
			return ret;
		}
		m->nloops++;
		if (!m->loops[i].direct_io)
			fprintf(stderr, "pathsim: %s: the loop driver refused "
				"direct IO: its reads go through a page cache\n",
				m->loops[i].dev);
		printf("loop p%u %s\n", i, m->loops[i].dev);
		if (m->o.npaths >= PS_PROGRESS_EVERY &&
		    !((i + 1) % PS_PROGRESS_EVERY))
			fprintf(stderr, "pathsim: %u/%u loop devices\n", i + 1,
				m->o.npaths);
	}
	return 0;
}

/* Waits for a signal, the session's end or the watched parent's exit. */
static int ps_wait(struct ps_main *m)
{
	struct pollfd pfd[2] = {
		{ .fd = m->sigfd, .events = POLLIN },
		{ .fd = m->fs.done_fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;

	for (;;) {
		if (poll(pfd, 2, m->o.parent ? PS_POLL_MS : -1) < 0 &&
		    errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN) {
			if (read(m->sigfd, &si, sizeof(si)) != sizeof(si))
				continue;
			return 0;
		}
		if (pfd[1].revents & POLLIN) {
			fprintf(stderr, "pathsim: %s was unmounted\n", m->mnt);
			return 0;
		}
		if (m->o.parent && ps_watch_gone(&m->watch))
			return 0;
	}
}

/*
 * Answers every held read first (a process stuck in exit_aio on one of
 * them can then go), then detaches the loops while the session thread
 * still serves their last requests, then closes and unmounts.
 */
static void ps_shutdown(struct ps_main *m)
{
	unsigned int i;

	ps_sim_stop(&m->sim);
	for (i = 0; i < m->nloops; i++)
		ps_loop_detach(&m->loops[i]);
	ps_fs_unmount(&m->fs);
	ps_sim_destroy(&m->sim);
	free(m->loops);
	m->loops = NULL;
}

static int ps_start(struct ps_main *m)
{
	int ret;

	ret = ps_sim_start_timer(&m->sim);
	if (!ret)
		ret = ps_fs_start(&m->fs);
	if (!ret && m->o.loop)
		ret = ps_attach_loops(m);
	if (ret)
		return ret;
	printf("ready %s\n", m->mnt);
	return fflush(stdout) ? -errno : 0;
}

static int ps_run(struct ps_main *m)
{
	int ret;

	ret = ps_check_setup(m);
	if (ret)
		return PS_EXIT_USAGE;
	ps_raise_nofile();
	ret = ps_setup_signals(m);
	if (!ret)
		ret = ps_sim_init(&m->sim, m->o.npaths, m->o.size, m->o.seed);
	if (ret) {
		fprintf(stderr, "pathsim: %s\n", strerror(-ret));
		return PS_EXIT_ERROR;
	}
	ret = ps_fs_mount(&m->fs, &m->sim, m->mnt, m->o.debug);
	if (ret) {
		fprintf(stderr, "pathsim: cannot mount FUSE on %s\n", m->mnt);
		ps_sim_destroy(&m->sim);
		return ret == -ENODEV ? PS_EXIT_NOMOUNT : PS_EXIT_ERROR;
	}
	ret = ps_start(m);
	if (!ret)
		ret = ps_wait(m);
	if (ret)
		fprintf(stderr, "pathsim: %s\n", strerror(-ret));
	ps_shutdown(m);
	return ret ? PS_EXIT_ERROR : PS_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ps_main m;
	int ret;

	if (argc >= 2 && !strcmp(argv[1], "ctl"))
		return ps_ctl_main(argc - 1, argv + 1);
	memset(&m, 0, sizeof(m));
	m.sigfd = -1;
	ret = ps_parse_opts(argc, argv, &m.o);
	if (ret == 1) {
		ps_usage(stdout);
		return PS_EXIT_OK;
	}
	if (ret == 2) {
		printf("pathsim %s\n", PC_VERSION);
		return PS_EXIT_OK;
	}
	if (ret)
		return PS_EXIT_USAGE;
	ret = ps_run(&m);
	if (m.sigfd >= 0)
		close(m.sigfd);
	return ret;
}
