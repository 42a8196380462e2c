// SPDX-License-Identifier: GPL-2.0
/*
 * Held-lock stacks and lockdep-style reports.
 *
 * This is not lockdep's dependency graph (no lock classes, no cycle search
 * yet): it is the per-task stack lockdep keeps (task_struct::held_locks),
 * which is enough to print "N locks held by comm/pid" in every report, to
 * answer lockdep_assert_held(), and to catch bad unlocks, recursive locking
 * and locks leaked at task exit.
 */
#include <stdio.h>
#include <string.h>

#include "lockdep.h"

void __mmn_held_push(struct mmn_task *t, const void *lock, const char *name,
		     enum mmn_lock_type type, bool read, const char *file, int line)
{
	struct mmn_held_lock *h;

	if (t->lockdep_depth >= MMN_MAX_HELD_LOCKS) {
		/* lockdep: "BUG: MAX_LOCK_DEPTH too low!"; stop tracking. */
		mmn_report(MMN_V_LAB_BUG, "MAX_LOCK_DEPTH",
			   "BUG: MAX_LOCK_DEPTH too low!\n"
			   "depth: %d  max: %d!\n", t->lockdep_depth, MMN_MAX_HELD_LOCKS);
		return;
	}
	h = &t->held[t->lockdep_depth++];
	h->lock = lock;
	h->name = name ? name : "(unnamed)";
	h->type = type;
	h->read = read;
	h->file = file ? file : "?";
	h->line = line;
}

struct mmn_held_lock *__mmn_held_find(struct mmn_task *t, const void *lock)
{
	for (int i = t->lockdep_depth - 1; i >= 0; i--)
		if (t->held[i].lock == lock)
			return &t->held[i];
	return NULL;
}

bool __mmn_held_pop(struct mmn_task *t, const void *lock)
{
	struct mmn_held_lock *h = __mmn_held_find(t, lock);
	int i;

	if (!h)
		return false;
	i = (int)(h - t->held);
	memmove(&t->held[i], &t->held[i + 1],
		(size_t)(t->lockdep_depth - i - 1) * sizeof(t->held[0]));
	t->lockdep_depth--;
	return true;
}

const char *__mmn_lock_usage(enum mmn_lock_type type)
{
	switch (type) {
	case MMN_LOCK_RWSEM:
		return "++++";
	case MMN_LOCK_SRCU:
		return ".+.+";
	case MMN_LOCK_RCU:
		return "....";
	case MMN_LOCK_SPIN:
	case MMN_LOCK_MUTEX:
	case MMN_LOCK_FAKE:
	default:
		return "+.+.";
	}
}

static void held_print_one(struct mmn_buf *b, const struct mmn_held_lock *h)
{
	mmn_buf_printf(b, "(%s){%s}, at: %s:%d\n", h->name, __mmn_lock_usage(h->type),
		       h->file, h->line);
}

/* lockdep_print_held_locks() */
void __mmn_print_held_locks(struct mmn_buf *b, const struct mmn_task *t)
{
	int depth = t->lockdep_depth;

	if (!depth) {
		mmn_buf_printf(b, "no locks held by %s/%d.\n", t->comm, t->pid);
		return;
	}
	mmn_buf_printf(b, "%d lock%s held by %s/%d:\n", depth, depth > 1 ? "s" : "",
		       t->comm, t->pid);
	for (int i = 0; i < depth; i++) {
		mmn_buf_printf(b, " #%d: ", i);
		held_print_one(b, &t->held[i]);
	}
}

void __mmn_report_bad_unlock(const void *lock, const char *name,
			     const struct mmn_task *owner)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_buf b = { 0 };
	char site[128];

	snprintf(site, sizeof(site), "bad-unlock:%p:%d", lock, cur->pid);
	if (__mmn_report_seen(MMN_V_LOCKDEP, site))
		return;
	mmn_buf_printf(&b, "WARNING: bad unlock balance detected!\n");
	mmn_buf_printf(&b, "-------------------------------------\n");
	mmn_buf_printf(&b, "%s/%d is trying to release lock (%s):\n", cur->comm, cur->pid,
		       name ? name : "(unnamed)");
	mmn_buf_printf(&b, "but there are no more locks to release!\n");
	if (owner && owner != cur)
		mmn_buf_printf(&b, "(the lock is held by %s/%d)\n", owner->comm, owner->pid);
	mmn_buf_printf(&b, "\nother info that might help us debug this:\n");
	__mmn_print_held_locks(&b, cur);
	mmn_report(MMN_V_LOCKDEP, site, "%s", b.s);
	mmn_buf_free(&b);
}

void __mmn_report_recursive(const void *lock, const char *name, enum mmn_lock_type type,
			    const struct mmn_held_lock *held, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_buf b = { 0 };
	char site[256];

	snprintf(site, sizeof(site), "recursive:%s:%d", file ? file : "?", line);
	if (__mmn_report_seen(MMN_V_LOCKDEP, site))
		return;
	mmn_buf_printf(&b, "WARNING: possible recursive locking detected\n");
	mmn_buf_printf(&b, "--------------------------------------------\n");
	mmn_buf_printf(&b, "%s/%d is trying to acquire lock:\n", cur->comm, cur->pid);
	mmn_buf_printf(&b, " (%s){%s}, at: %s:%d\n", name, __mmn_lock_usage(type),
		       file ? file : "?", line);
	mmn_buf_printf(&b, "\nbut task is already holding lock:\n ");
	held_print_one(&b, held);
	mmn_buf_printf(&b, "\nother info that might help us debug this:\n"
		       " Possible unsafe locking scenario:\n\n"
		       "       CPU0\n       ----\n  lock(%s);\n  lock(%s);\n\n"
		       " *** DEADLOCK ***\n\n", name, name);
	__mmn_print_held_locks(&b, cur);
	mmn_report(MMN_V_LOCKDEP, site, "%s", b.s);
	mmn_buf_free(&b);
}

void __mmn_task_exit_check(struct mmn_task *t)
{
	struct mmn_buf b = { 0 };
	char site[64];

	if (!t->lockdep_depth && !t->preempt_count && !t->rcu_depth && !t->non_block)
		return;
	snprintf(site, sizeof(site), "exit:%d", t->pid);
	if (t->lockdep_depth) {
		mmn_buf_printf(&b, "WARNING: lock held when returning to user space!\n");
		mmn_buf_printf(&b, "------------------------------------------------\n");
		mmn_buf_printf(&b, "%s/%d is leaving the kernel with locks still held!\n",
			       t->comm, t->pid);
	} else {
		mmn_buf_printf(&b, "BUG: %s/%d is leaving the kernel in atomic context!\n",
			       t->comm, t->pid);
	}
	mmn_buf_printf(&b, "preempt_count: %d, expected: 0\n", t->preempt_count);
	mmn_buf_printf(&b, "RCU nest depth: %d, expected: 0\n", t->rcu_depth);
	mmn_buf_printf(&b, "non_block: %d, expected: 0\n", t->non_block);
	__mmn_print_held_locks(&b, t);
	mmn_report(MMN_V_LOCKDEP, site, "%s", b.s);
	mmn_buf_free(&b);
}
