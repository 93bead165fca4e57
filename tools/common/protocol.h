/* SPDX-License-Identifier: MIT */
/* pathcheckd's control protocol, as both ends see it (pathcheckd(8)). */
#ifndef TOOLS_PROTOCOL_H
#define TOOLS_PROTOCOL_H

#define PATHCHECKD_SOCKET	"/run/pathcheckd.sock"	/* default socket */
#define PATHCHECKD_LINE_MAX	4096	/* longest command, newline not counted */
#define PATHCHECKD_LINE_MAX_STR	"4096"

#endif
