/* SPDX-License-Identifier: MIT */
/*
 * The path checker plugin interface of multipath-tools 0.9.0 to 0.10.x,
 * as far as a plugin sees it, described from the published ABI (the
 * layout of struct checker and the libcheck_* entry points that
 * libmultipath looks up with dlsym).  Written for pathcheck; it is not
 * multipath-tools' header and holds none of its declarations that a
 * plugin does not need.
 *
 * A plugin of this family answers every call of libcheck_check() with a
 * path state; PATH_PENDING makes multipathd call it again on a later tick.
 */
#ifndef PATHCHECK_MPT_CHECKERS_H
#define PATHCHECK_MPT_CHECKERS_H

#include <stddef.h>

#define MPT_CHECKER_FAMILY "0.9"

/* The states a checker returns (values fixed by the ABI). */
enum path_check_state {
	PATH_WILD = 0,
	PATH_UNCHECKED = 1,
	PATH_DOWN = 2,
	PATH_UP = 3,
	PATH_SHAKY = 4,
	PATH_GHOST = 5,
	PATH_PENDING = 6,
	PATH_TIMEOUT = 7,
	PATH_REMOVED = 8,
	PATH_DELAYED = 9,
	PATH_MAX_STATE = 10,
};

/* Message ids: below CHECKER_GENERIC_MSGTABLE_SIZE libmultipath's own
 * texts; from CHECKER_FIRST_MSGID on, libcheck_msgtable[id - 100]. */
enum {
	CHECKER_MSGID_NONE = 0,
	CHECKER_MSGID_DISABLED = 1,
	CHECKER_MSGID_NO_FD = 2,
	CHECKER_MSGID_INVALID = 3,
	CHECKER_MSGID_UP = 4,
	CHECKER_MSGID_DOWN = 5,
	CHECKER_MSGID_GHOST = 6,
	CHECKER_MSGID_UNSUPPORTED = 7,
	CHECKER_GENERIC_MSGTABLE_SIZE = 8,
	CHECKER_FIRST_MSGID = 100,
	CHECKER_MSGTABLE_SIZE = 100,	/* most entries libmultipath reads */
};

/* libmultipath's; a plugin only passes the pointer on. */
struct checker_class;

/* One per path, owned by libmultipath. */
struct checker {
	struct checker_class *cls;
	int fd;			/* the path's device, opened without O_DIRECT */
	unsigned int timeout;	/* checker_timeout, seconds; may change */
	int disable;
	short msgid;		/* set by the plugin at each check */
	void *context;		/* the plugin's, per path */
	void **mpcontext;	/* the plugin's, per map (unused here) */
};

_Static_assert(offsetof(struct checker, fd) == 8, "multipath-tools 0.9 ABI");
_Static_assert(offsetof(struct checker, timeout) == 12, "multipath-tools 0.9 ABI");
_Static_assert(offsetof(struct checker, msgid) == 20, "multipath-tools 0.9 ABI");
_Static_assert(offsetof(struct checker, context) == 24, "multipath-tools 0.9 ABI");
_Static_assert(sizeof(struct checker) == 40, "multipath-tools 0.9 ABI");

/* The plugin's entry points: libcheck_init, libcheck_check and
 * libcheck_free are required, the rest optional.  libcheck_reset runs
 * before the plugin is unloaded and on reconfiguration. */
int libcheck_init(struct checker *c);
int libcheck_check(struct checker *c);
void libcheck_free(struct checker *c);
void libcheck_reset(void);

/* Texts of the plugin's own message ids, NULL-terminated. */
extern const char *libcheck_msgtable[];

/*
 * In libmultipath, not in the plugin: whether the class runs its checks
 * synchronously (multipathd's force_sync, or a checker run by multipath).
 * Versioned differently by almost every release, so a plugin meant for a
 * whole family looks it up at run time rather than linking to it.
 */
typedef int (*checker_is_sync_fn)(const struct checker *c);

#endif
