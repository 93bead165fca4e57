/* SPDX-License-Identifier: MIT */
/*
 * pathsim ctl MOUNTPOINT set TARGET MODE | release [TARGET] | reset |
 *                        show [--json]
 * A thin client of MOUNTPOINT/control, for scripts and people.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathsim.h"

static void ps_ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: pathsim ctl MOUNTPOINT set TARGET MODE\n"
		"       pathsim ctl MOUNTPOINT release [TARGET]\n"
		"       pathsim ctl MOUNTPOINT reset\n"
		"       pathsim ctl MOUNTPOINT show [--json]\n"
		"TARGET: all | pK | K | A-B | F%% | 0.F\n"
		"MODE:   up | eio | short | slow:MS | hung | flaky:P\n");
}

static int ps_ctl_path(const char *mnt, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/control", mnt);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int ps_ctl_write(const char *mnt, const char *cmd)
{
	char path[4096];
	size_t len = strlen(cmd);
	ssize_t n;
	int fd, ret;

	ret = ps_ctl_path(mnt, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, cmd, len);
	ret = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return ret;
}

static int ps_ctl_slurp(int fd, char **out)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1), *p;
	ssize_t n;

	for (;;) {
		if (!buf)
			return -ENOMEM;
		if (len == cap) {
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p)
				free(buf);
			buf = p;
			continue;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0) {
		free(buf);
		return -errno;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int ps_ctl_read(const char *mnt, char **out)
{
	char path[4096];
	int fd, ret;

	ret = ps_ctl_path(mnt, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ps_ctl_slurp(fd, out);
	close(fd);
	return ret;
}

static void ps_ctl_json(const char *table)
{
	unsigned long reads, ok, failed, shortreads, hung;
	char name[32], mode[64];
	const char *line, *sep = "";

	printf("[");
	for (line = table; line && *line; line = strchr(line, '\n'),
	     line = line ? line + 1 : NULL) {
		if (sscanf(line, "%31s %63s reads=%lu ok=%lu failed=%lu "
			   "short=%lu hung=%lu", name, mode, &reads, &ok,
			   &failed, &shortreads, &hung) != 7 || name[0] != 'p')
			continue;
		printf("%s\n{\"path\":\"%s\",\"mode\":\"%s\",\"reads\":%lu,"
		       "\"ok\":%lu,\"failed\":%lu,\"short\":%lu,\"hung\":%lu}",
		       sep, name, mode, reads, ok, failed, shortreads, hung);
		sep = ",";
	}
	printf("\n]\n");
}

static int ps_ctl_show(const char *mnt, bool json)
{
	char *table;
	int ret = ps_ctl_read(mnt, &table);

	if (ret)
		return ret;
	if (json)
		ps_ctl_json(table);
	else
		fputs(table, stdout);
	free(table);
	return fflush(stdout) ? -errno : 0;
}

/* The command line to write, or NULL for bad usage. */
static char *ps_ctl_command(int argc, char **argv)
{
	const char *verb = argv[0];
	char *cmd = NULL;
	int i, n = -1;

	for (i = 1; i < argc; i++)
		if (!*argv[i] || strpbrk(argv[i], " \t\r\n"))
			return NULL;	/* one word each: no smuggled lines */
	if (!strcmp(verb, "set") && argc == 3)
		n = asprintf(&cmd, "set %s %s\n", argv[1], argv[2]);
	else if (!strcmp(verb, "release") && argc <= 2)
		n = asprintf(&cmd, "release %s\n", argc == 2 ? argv[1] : "all");
	else if (!strcmp(verb, "reset") && argc == 1)
		n = asprintf(&cmd, "reset\n");
	return n < 0 ? NULL : cmd;
}

static int ps_ctl_fail(const char *mnt, const char *what, int err)
{
	if (err == -EINVAL)
		fprintf(stderr, "pathsim: %s/control refused '%s': invalid "
			"command, target or mode\n", mnt, what);
	else
		fprintf(stderr, "pathsim: %s/control: %s: %s\n", mnt, what,
			strerror(-err));
	return PS_EXIT_ERROR;
}

/* argv[0] is "ctl". */
int ps_ctl_main(int argc, char **argv)
{
	const char *mnt;
	char *cmd;
	int ret;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		ps_ctl_usage(stdout);
		return PS_EXIT_OK;
	}
	if (argc < 3) {
		ps_ctl_usage(stderr);
		return PS_EXIT_USAGE;
	}
	mnt = argv[1];
	if (!strcmp(argv[2], "show")) {
		if (argc > 4 || (argc == 4 && strcmp(argv[3], "--json"))) {
			ps_ctl_usage(stderr);
			return PS_EXIT_USAGE;
		}
		ret = ps_ctl_show(mnt, argc == 4);
		return ret ? ps_ctl_fail(mnt, "show", ret) : PS_EXIT_OK;
	}
	cmd = ps_ctl_command(argc - 2, argv + 2);
	if (!cmd) {
		ps_ctl_usage(stderr);
		return PS_EXIT_USAGE;
	}
	ret = ps_ctl_write(mnt, cmd);
	cmd[strlen(cmd) - 1] = '\0';
	if (ret)
		ret = ps_ctl_fail(mnt, cmd, ret);
	free(cmd);
	return ret;
}
