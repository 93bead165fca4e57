/* SPDX-License-Identifier: MIT */
/*
 * The layout of the structures the caller and the library share
 * (docs/abi.md): their size and every field's offset on x86_64 and every
 * other LP64 target.  A change that moves one fails the build here instead
 * of breaking programs built against an older header.
 *
 * A new field taken from reserved space adds its (field, offset) entry to
 * its structure's layout list and touches nothing else: the size stays,
 * and the last assert only says that the reserved array still ends the
 * structure.
 */
#include <stddef.h>

#include "pathcheck.h"

#if defined(__LP64__)

/*
 * One list a structure: each field with its offset, four to a line in
 * the order of the header.  PC_ABI_CHECK asserts the size, every listed
 * offset, and that the reserved array still ends the structure.
 */
#define PC_OPTIONS_LAYOUT(F, t) \
	F(t, workers, 0) F(t, group_size, 4) F(t, timeout_ms, 8) F(t, shutdown_ms, 12) \
	F(t, log, 16) F(t, log_arg, 24) F(t, on_result, 32) F(t, coalesce_us, 40) \
	F(t, resv32, 44) F(t, on_free, 48) F(t, stack_size, 56) F(t, sched_policy, 60) \
	F(t, sched_priority, 64) F(t, resv32b, 68)

#define PC_STATS_LAYOUT(F, t) \
	F(t, paths, 0) F(t, groups, 8) F(t, inflight, 16) F(t, orphans, 24) \
	F(t, checks, 32) F(t, up, 40) F(t, down, 48) F(t, timeouts, 56) \
	F(t, groups_created, 64) F(t, groups_destroyed, 72) F(t, orphans_reaped, 80) \
	F(t, late_completions, 88) F(t, aio_slots, 96)

#define PC_RESULT_LAYOUT(F, t) \
	F(t, state, 0) F(t, reason, 4) F(t, error, 8) F(t, bytes, 12) \
	F(t, latency_us, 16) F(t, finished_ms, 24) F(t, checks, 32)

#define PC_ABI_FIELD(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), \
		       "ABI: struct " #type "." #field " moved");
#define PC_ABI_CHECK(type, size, LAYOUT, resv) \
	_Static_assert(sizeof(struct type) == (size), \
		       "ABI: sizeof(struct " #type ") changed"); \
	LAYOUT(PC_ABI_FIELD, type) \
	_Static_assert(offsetof(struct type, resv) + \
		       sizeof(((struct type *)0)->resv) == sizeof(struct type), \
		       "ABI: struct " #type "." #resv " no longer ends it")

PC_ABI_CHECK(pc_options, 104, PC_OPTIONS_LAYOUT, resv);
PC_ABI_CHECK(pc_stats, 168, PC_STATS_LAYOUT, resv);
PC_ABI_CHECK(pc_result, 72, PC_RESULT_LAYOUT, resv);

#endif

/* ISO C wants a translation unit to declare something. */
typedef int pc_abi_checked;
