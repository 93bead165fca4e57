/* SPDX-License-Identifier: MIT */
/* The README's embedding example: at most 30 lines, built against the
 * shared library (only the exported symbols), and it works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void test_example(void)
{
	const char *b = getenv("PC_BUILD_DIR");
	char src[512], cmd[1024], out[512] = "", file[256];
	unsigned int lines = 0;
	FILE *f;
	int fd, status;

	snprintf(src, sizeof(src), "%s/readme-example.c", b ? b : "build");
	f = fopen(src, "r");
	PC_REQUIRE(f != NULL);
	while (fgets(cmd, sizeof(cmd), f))
		lines++;
	fclose(f);
	printf("\n  README example: %u lines\n", lines);
	CU_ASSERT_TRUE(lines > 10 && lines <= 30);

	fd = pc_test_tmpfile(file, sizeof(file), 1 << 20);
	PC_REQUIRE(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s/readme-example %s", b ? b : "build", file);
	f = popen(cmd, "r");
	PC_REQUIRE(f != NULL);
	if (!fgets(out, sizeof(out), f))
		out[0] = 0;
	status = pclose(f);
	printf("  %s", out);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ": up (ok, "));
	snprintf(cmd, sizeof(cmd), "%s/readme-example /nonexistent >/dev/null 2>&1",
		 b ? b : "build");
	status = system(cmd);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	unlink(file);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "example", test_example },
		{ NULL, NULL },
	};

	return pc_test_main("readme", tests, argc, argv);
}
