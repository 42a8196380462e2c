/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rt/-internal lockdep: each task's held-lock stack and the lockdep-style
 * report texts built from it.  The stack lives in struct mmn_task and is
 * touched only by the task itself (another task may print it only while the
 * owner cannot run, as the controlled back end's deadlock report does).
 */
#ifndef MMN_RT_LOCKDEP_H
#define MMN_RT_LOCKDEP_H

#include <mmn/report.h>
#include <mmn/rt.h>

/* Record @lock as held by @t (top of the stack). */
void __mmn_held_push(struct mmn_task *t, const void *lock, const char *name,
		     enum mmn_lock_type type, bool read, const char *file, int line);
/* Forget the topmost entry for @lock; out-of-order release is allowed.
 * Returns false if @t does not hold it. */
bool __mmn_held_pop(struct mmn_task *t, const void *lock);
/* The topmost entry for @lock, or NULL. */
struct mmn_held_lock *__mmn_held_find(struct mmn_task *t, const void *lock);

/* lockdep's usage string for a held entry: "+.+.", "++++", ".+.+", "....". */
const char *__mmn_lock_usage(enum mmn_lock_type type);
/* "2 locks held by cpu0/3:\n #0: (name){usage}, at: file:line\n ..." */
void __mmn_print_held_locks(struct mmn_buf *b, const struct mmn_task *t);

/* "WARNING: bad unlock balance detected!": current released @lock, which it
 * does not hold.  @owner: who holds it, if known. */
void __mmn_report_bad_unlock(const void *lock, const char *name,
			     const struct mmn_task *owner);
/* "WARNING: possible recursive locking detected": current acquires @lock,
 * which it already holds as @held. */
void __mmn_report_recursive(const void *lock, const char *name, enum mmn_lock_type type,
			    const struct mmn_held_lock *held, const char *file, int line);
/* A task ends (returns from its function, or the run ends for main) holding
 * locks or in atomic context: "WARNING: lock held when returning to user
 * space!". */
void __mmn_task_exit_check(struct mmn_task *t);

/* report.c: was (kind, site) already recorded this run? Lets a hot
 * violation site skip building its text. */
bool __mmn_report_seen(enum mmn_violation_kind kind, const char *site);

#endif /* MMN_RT_LOCKDEP_H */
