/* SPDX-License-Identifier: MIT */
/*
 * A path's timeout when the configuration gives none: as multipathd does,
 * the SCSI device's own command timeout, /sys/dev/block/MAJ:MIN/device/timeout
 * (whole seconds), else the default.  $PATHCHECKD_SYSFS replaces /sys, for
 * tests on machines without SCSI devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"

#define TIMEOUT_MAX_S	86400u

unsigned int dev_sysfs_timeout_ms(const char *real)
{
	const char *root = getenv("PATHCHECKD_SYSFS");
	char path[4200];
	unsigned int s = 0;
	struct stat st;
	char end;
	FILE *f;

	if (!real || stat(real, &st) || !S_ISBLK(st.st_mode))
		return 0;
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/device/timeout",
		 root && *root ? root : "/sys", major(st.st_rdev), minor(st.st_rdev));
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%u%c", &s, &end) < 1 || s == 0 || s > TIMEOUT_MAX_S)
		s = 0;
	fclose(f);
	return s * 1000;
}
