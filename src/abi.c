/* SPDX-License-Identifier: MIT */
/*
 * The layout of the structures the caller and the library share
 * (docs/abi.md): their size and every field's offset on x86_64 and every
 * other LP64 target.  A change that moves one fails the build here instead
 * of breaking programs built against an older header.
 *
 * A new field taken from reserved space adds its own PC_ABI_FIELD line and
 * touches nothing else: the size stays, and PC_ABI_TAIL only says that the
 * reserved array still ends the structure.
 */
#include <stddef.h>

#include "pathcheck.h"

#if defined(__LP64__)

#define PC_ABI_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), \
		       "ABI: sizeof(struct " #type ") changed")
#define PC_ABI_FIELD(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), \
		       "ABI: struct " #type "." #field " moved")
#define PC_ABI_TAIL(type, resv) \
	_Static_assert(offsetof(struct type, resv) + \
		       sizeof(((struct type *)0)->resv) == sizeof(struct type), \
		       "ABI: struct " #type "." #resv " no longer ends it")

PC_ABI_SIZE(pc_options, 104);
PC_ABI_FIELD(pc_options, workers, 0);
PC_ABI_FIELD(pc_options, group_size, 4);
PC_ABI_FIELD(pc_options, timeout_ms, 8);
PC_ABI_FIELD(pc_options, shutdown_ms, 12);
PC_ABI_FIELD(pc_options, log, 16);
PC_ABI_FIELD(pc_options, log_arg, 24);
PC_ABI_FIELD(pc_options, on_result, 32);
PC_ABI_FIELD(pc_options, coalesce_us, 40);
PC_ABI_FIELD(pc_options, resv32, 44);
PC_ABI_FIELD(pc_options, on_free, 48);
PC_ABI_FIELD(pc_options, stack_size, 56);
PC_ABI_FIELD(pc_options, sched_policy, 60);
PC_ABI_FIELD(pc_options, sched_priority, 64);
PC_ABI_FIELD(pc_options, resv32b, 68);
PC_ABI_TAIL(pc_options, resv);

PC_ABI_SIZE(pc_stats, 168);
PC_ABI_FIELD(pc_stats, paths, 0);
PC_ABI_FIELD(pc_stats, groups, 8);
PC_ABI_FIELD(pc_stats, inflight, 16);
PC_ABI_FIELD(pc_stats, orphans, 24);
PC_ABI_FIELD(pc_stats, checks, 32);
PC_ABI_FIELD(pc_stats, up, 40);
PC_ABI_FIELD(pc_stats, down, 48);
PC_ABI_FIELD(pc_stats, timeouts, 56);
PC_ABI_FIELD(pc_stats, groups_created, 64);
PC_ABI_FIELD(pc_stats, groups_destroyed, 72);
PC_ABI_FIELD(pc_stats, orphans_reaped, 80);
PC_ABI_FIELD(pc_stats, late_completions, 88);
PC_ABI_FIELD(pc_stats, aio_slots, 96);
PC_ABI_TAIL(pc_stats, resv);

PC_ABI_SIZE(pc_result, 72);
PC_ABI_FIELD(pc_result, state, 0);
PC_ABI_FIELD(pc_result, reason, 4);
PC_ABI_FIELD(pc_result, error, 8);
PC_ABI_FIELD(pc_result, bytes, 12);
PC_ABI_FIELD(pc_result, latency_us, 16);
PC_ABI_FIELD(pc_result, finished_ms, 24);
PC_ABI_FIELD(pc_result, checks, 32);
PC_ABI_TAIL(pc_result, resv);

#endif

/* ISO C wants a translation unit to declare something. */
typedef int pc_abi_checked;
