// SPDX-License-Identifier: GPL-2.0
/*
 * Atomic context: preempt_count, RCU read-side nesting, non_block
 * sections, and the checks built on them (might_sleep, lockdep asserts).
 *
 * All of it is per task and touched only by the task itself, so none of it
 * needs a lock.  A task is in atomic context when preempt_count > 0 (a
 * spinlock is held, preemption or an SRCU callback is running) or an RCU
 * read-side section is open; inside non_block_start() it may not sleep
 * either (an OOM-reaper-style non-blockable invalidation).
 */
#include <stdio.h>

#include <mmn/linux/compiler.h>
#include <mmn/report.h>

#include "lockdep.h"
#include "sched.h"

/* rcu_read_lock() is a "lock" in the held list, like lockdep's rcu_lock_map. */
static const char rcu_lock_map_name[] = "rcu_read_lock";
static const int rcu_lock_map;

void mmn_preempt_disable(void)
{
	mmn_current()->preempt_count++;
}

void mmn_preempt_enable(void)
{
	struct mmn_task *cur = mmn_current();

	if (cur->preempt_count <= 0) {
		__mmn_warn("preempt_count underflow (preempt_enable)", "src/rt/context.c", __LINE__);
		return;
	}
	cur->preempt_count--;
}

void mmn_rcu_read_lock(const char *file, int line)
{
	struct mmn_task *cur = mmn_current();

	cur->rcu_depth++;
	__mmn_held_push(cur, &rcu_lock_map, rcu_lock_map_name, MMN_LOCK_RCU, true, file, line);
}

void mmn_rcu_read_unlock(void)
{
	struct mmn_task *cur = mmn_current();

	if (cur->rcu_depth <= 0) {
		__mmn_report_bad_unlock(&rcu_lock_map, rcu_lock_map_name, NULL);
		return;
	}
	cur->rcu_depth--;
	__mmn_held_pop(cur, &rcu_lock_map);
}

void mmn_non_block_start(void)
{
	mmn_current()->non_block++;
}

void mmn_non_block_end(void)
{
	struct mmn_task *cur = mmn_current();

	if (cur->non_block <= 0) {
		__mmn_warn("non_block underflow (non_block_end)", "src/rt/context.c", __LINE__);
		return;
	}
	cur->non_block--;
}

int mmn_preempt_count(void)
{
	return mmn_current()->preempt_count;
}

int mmn_rcu_depth(void)
{
	return mmn_current()->rcu_depth;
}

bool mmn_in_atomic(void)
{
	struct mmn_task *cur = mmn_current();

	return cur->preempt_count > 0 || cur->rcu_depth > 0;
}

/*
 * __might_resched() in kernel/sched/core.c: the same lines, in the same
 * order, with the lab's call site in place of the kernel's.  in_atomic() is
 * preempt_count() != 0, as in the kernel; an RCU read section shows up in
 * "RCU nest depth" (a PREEMPT_RCU kernel).
 */
void mmn_might_sleep(const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_buf b = { 0 };
	char site[256];

	if (likely(cur->preempt_count <= 0 && cur->rcu_depth <= 0 && cur->non_block <= 0))
		return;
	snprintf(site, sizeof(site), "%s:%d", file, line);
	if (__mmn_report_seen(MMN_V_SLEEP_IN_ATOMIC, site))
		return;
	mmn_buf_printf(&b, "BUG: sleeping function called from invalid context at %s:%d\n",
		       file, line);
	mmn_buf_printf(&b, "in_atomic(): %d, irqs_disabled(): 0, non_block: %d, pid: %d, name: %s\n",
		       cur->preempt_count != 0, cur->non_block, cur->pid, cur->comm);
	mmn_buf_printf(&b, "preempt_count: %d, expected: 0\n", cur->preempt_count);
	mmn_buf_printf(&b, "RCU nest depth: %d, expected: 0\n", cur->rcu_depth);
	__mmn_print_held_locks(&b, cur);
	mmn_report(MMN_V_SLEEP_IN_ATOMIC, site, "%s", b.s);
	mmn_buf_free(&b);
}

void mmn_lockdep_assert_held(const void *lock, bool held, const char *what,
			     const char *file, int line)
{
	struct mmn_task *cur;
	struct mmn_buf b = { 0 };
	char site[256];

	if (likely(held))
		return;
	cur = mmn_current();
	snprintf(site, sizeof(site), "%s:%d", file, line);
	if (__mmn_report_seen(MMN_V_LOCKDEP, site))
		return;
	mmn_buf_printf(&b, "WARNING: CPU: 0 PID: %d at %s:%d lockdep_assert_held(%s) failed\n",
		       cur->pid, file, line, what);
	mmn_buf_printf(&b, "Comm: %s\n", cur->comm);
	__mmn_print_held_locks(&b, cur);
	mmn_report(MMN_V_LOCKDEP, site, "%s", b.s);
	mmn_buf_free(&b);
}

/*
 * lock_map_acquire(): a lockdep map with no lock behind it.  It only shows
 * up in the held list, as __mmu_notifier_invalidate_range_start_map does in
 * the kernel's reports; it neither blocks nor makes the context atomic.
 */
void mmn_lock_map_acquire(struct mmn_lockdep_map *map, const char *file, int line)
{
	__mmn_held_push(mmn_current(), map, map->name, MMN_LOCK_FAKE, false, file, line);
}

void mmn_lock_map_release(struct mmn_lockdep_map *map)
{
	if (!__mmn_held_pop(mmn_current(), map))
		__mmn_report_bad_unlock(map, map->name, NULL);
}

void mmn_cond_resched(const char *file, int line)
{
	mmn_might_sleep(file, line);
	mmn_sched_point(MMN_SP_YIELD, NULL);
}
