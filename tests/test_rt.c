// SPDX-License-Identifier: GPL-2.0
/*
 * rt/ on one thread: context rules, lock semantics, lockdep-style reports,
 * SRCU callback ordering, the violation table.  Every report rule is tested
 * both ways: the case that must report and the near miss that must not.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmn/linux/completion.h>
#include <mmn/linux/lockdep.h>
#include <mmn/linux/rcupdate.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/srcu.h>
#include <mmn/linux/wait.h>

#include "harness.h"

static char expect_buf[256];

/* "path:line" as the lab prints a call site. */
static const char *site(const char *file, int line)
{
	snprintf(expect_buf, sizeof(expect_buf), "%s:%d", file, line);
	return expect_buf;
}

/* might_sleep() under a spinlock: the kernel's __might_resched() text. */
TEST(might_sleep_under_spinlock_kernel_format)
{
	spinlock_t lock;
	int lock_line, sleep_line;
	const char *text;
	char want[1024];

	harness_expect_violations();
	spin_lock_init(&lock);
	lock_line = __LINE__ + 1;
	spin_lock(&lock);
	sleep_line = __LINE__ + 1;
	might_sleep();
	spin_unlock(&lock);
	spin_lock_destroy(&lock);

	ASSERT_EQ(mmn_report_count(), 1);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	text = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	snprintf(want, sizeof(want),
		 "BUG: sleeping function called from invalid context at %s\n",
		 site(__FILE__, sleep_line));
	ASSERT_EQ(strncmp(text, want, strlen(want)), 0);
	ASSERT_STR_CONTAINS(text,
		"\nin_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 1, name: main\n"
		"preempt_count: 1, expected: 0\n"
		"RCU nest depth: 0, expected: 0\n"
		"1 lock held by main/1:\n");
	snprintf(want, sizeof(want), " #0: (&lock){+.+.}, at: %s\n", site(__FILE__, lock_line));
	ASSERT_STR_CONTAINS(text, want);
}

/* Near miss: the same sequence after the unlock, and sleeping locks outside atomic. */
TEST(might_sleep_outside_atomic_is_silent)
{
	spinlock_t lock;
	struct mutex m;
	struct rw_semaphore s;

	spin_lock_init(&lock);
	mutex_init(&m);
	init_rwsem(&s);
	spin_lock(&lock);
	EXPECT_TRUE(in_atomic());
	spin_unlock(&lock);
	EXPECT_FALSE(in_atomic());
	EXPECT_EQ(preempt_count(), 0);
	might_sleep();
	mutex_lock(&m);
	down_read(&s);
	cond_resched();
	up_read(&s);
	down_write(&s);
	up_write(&s);
	mutex_unlock(&m);
	mutex_destroy(&m);
	destroy_rwsem(&s);
	spin_lock_destroy(&lock);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* mutex_lock() under a spinlock is reported at the driver's line, and the mutex is still taken. */
TEST(mutex_lock_under_spinlock_reports_at_caller)
{
	spinlock_t lock;
	struct mutex m;
	int line;
	const char *text;

	harness_expect_violations();
	spin_lock_init(&lock);
	mutex_init(&m);
	spin_lock(&lock);
	line = __LINE__ + 1;
	mutex_lock(&m);
	EXPECT_TRUE(mutex_is_locked(&m));
	mutex_unlock(&m);
	spin_unlock(&lock);
	mutex_destroy(&m);
	spin_lock_destroy(&lock);
	ASSERT_EQ(mmn_report_count(), 1);
	text = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(text, site(__FILE__, line));
}

/* An RCU read section is invalid context; the held list shows rcu_read_lock. */
TEST(might_sleep_under_rcu_read_lock)
{
	const char *text;

	harness_expect_violations();
	rcu_read_lock();
	EXPECT_TRUE(in_atomic());
	EXPECT_EQ(mmn_rcu_depth(), 1);
	might_sleep();
	rcu_read_unlock();
	might_sleep();			/* near miss: after the unlock */
	EXPECT_EQ(mmn_rcu_depth(), 0);
	ASSERT_EQ(mmn_report_count(), 1);
	text = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(text, "in_atomic(): 0, irqs_disabled(): 0, non_block: 0");
	ASSERT_STR_CONTAINS(text, "RCU nest depth: 1, expected: 0\n");
	ASSERT_STR_CONTAINS(text, " #0: (rcu_read_lock){....}, at: ");
}

/* non_block_start(): not atomic, but sleeping is still invalid. */
TEST(might_sleep_under_non_block)
{
	const char *text;

	harness_expect_violations();
	non_block_start();
	EXPECT_FALSE(in_atomic());
	might_sleep();
	non_block_end();
	might_sleep();
	ASSERT_EQ(mmn_report_count(), 1);
	text = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(text, "in_atomic(): 0, irqs_disabled(): 0, non_block: 1, pid: 1");
	ASSERT_STR_CONTAINS(text, "no locks held by main/1.\n");
}

/* preempt_disable() alone and cond_resched() are covered too. */
TEST(cond_resched_under_preempt_disable)
{
	harness_expect_violations();
	preempt_disable();
	cond_resched();
	preempt_enable();
	cond_resched();
	ASSERT_EQ(mmn_report_count(), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_SLEEP_IN_ATOMIC),
			    "preempt_count: 1, expected: 0");
}

static void sleep_here(void)
{
	might_sleep();
}

/* One report per call site per run, as the kernel's might_sleep does. */
TEST(might_sleep_dedup_per_site)
{
	harness_expect_violations();
	preempt_disable();
	for (int i = 0; i < 5; i++)
		sleep_here();
	ASSERT_EQ(mmn_report_count(), 1);
	might_sleep();			/* another site */
	ASSERT_EQ(mmn_report_count(), 2);
	preempt_enable();
}

TEST(mutex_trylock_and_held_by_current)
{
	struct mutex m;

	mutex_init(&m);
	EXPECT_FALSE(mutex_is_locked(&m));
	EXPECT_FALSE(mmn_mutex_held_by_current(&m.m));
	ASSERT_TRUE(mutex_trylock(&m));
	EXPECT_TRUE(mutex_is_locked(&m));
	EXPECT_TRUE(mmn_mutex_held_by_current(&m.m));
	EXPECT_FALSE(mutex_trylock(&m));
	EXPECT_EQ(mmn_current()->lockdep_depth, 1);
	mutex_unlock(&m);
	EXPECT_FALSE(mutex_is_locked(&m));
	EXPECT_EQ(mmn_current()->lockdep_depth, 0);
	mutex_destroy(&m);
}

TEST(spin_trylock_is_atomic)
{
	spinlock_t l;

	spin_lock_init(&l);
	ASSERT_TRUE(spin_trylock(&l));
	EXPECT_EQ(preempt_count(), 1);
	EXPECT_TRUE(spin_is_locked(&l));
	EXPECT_TRUE(mmn_spin_held_by_current(&l.rlock));
	EXPECT_FALSE(spin_trylock(&l));
	EXPECT_EQ(preempt_count(), 1);
	spin_unlock(&l);
	EXPECT_EQ(preempt_count(), 0);
	EXPECT_FALSE(spin_is_locked(&l));
	spin_lock_destroy(&l);
}

/* Out-of-order release is allowed and keeps the held stack right. */
TEST(out_of_order_release)
{
	struct mutex a, b, c;
	struct mmn_task *cur = mmn_current();

	mutex_init(&a);
	mutex_init(&b);
	mutex_init(&c);
	mutex_lock(&a);
	mutex_lock(&b);
	mutex_lock(&c);
	mutex_unlock(&b);
	ASSERT_EQ(cur->lockdep_depth, 2);
	EXPECT_EQ(cur->held[0].lock, &a.m);
	EXPECT_EQ(cur->held[1].lock, &c.m);
	mutex_unlock(&a);
	mutex_unlock(&c);
	EXPECT_EQ(cur->lockdep_depth, 0);
	mutex_destroy(&a);
	mutex_destroy(&b);
	mutex_destroy(&c);
}

TEST(rwsem_semantics_and_trylock)
{
	struct rw_semaphore s;

	init_rwsem(&s);
	ASSERT_TRUE(down_read_trylock(&s));
	EXPECT_TRUE(rwsem_is_locked(&s));
	EXPECT_FALSE(mmn_rwsem_is_write_locked(&s.s));
	EXPECT_TRUE(mmn_rwsem_held_by_current(&s.s));
	EXPECT_FALSE(mmn_rwsem_write_held_by_current(&s.s));
	EXPECT_FALSE(down_write_trylock(&s));
	up_read(&s);
	EXPECT_FALSE(rwsem_is_locked(&s));
	EXPECT_FALSE(mmn_rwsem_held_by_current(&s.s));

	ASSERT_TRUE(down_write_trylock(&s));
	EXPECT_TRUE(mmn_rwsem_is_write_locked(&s.s));
	EXPECT_TRUE(mmn_rwsem_write_held_by_current(&s.s));
	EXPECT_FALSE(down_read_trylock(&s));
	EXPECT_FALSE(down_write_trylock(&s));
	up_write(&s);
	EXPECT_FALSE(rwsem_is_locked(&s));
	EXPECT_EQ(mmn_current()->lockdep_depth, 0);
	destroy_rwsem(&s);
}

/* A queued writer makes down_read_trylock fail (writer preference). */
TEST(rwsem_read_trylock_fails_behind_queued_writer)
{
	struct rw_semaphore s;

	init_rwsem(&s);
	s.s.writers_waiting = 1;	/* as if a writer were parked */
	EXPECT_FALSE(down_read_trylock(&s));
	s.s.writers_waiting = 0;
	EXPECT_TRUE(down_read_trylock(&s));
	up_read(&s);
	destroy_rwsem(&s);
}

TEST(rwsem_downgrade_write)
{
	struct rw_semaphore s;
	struct mmn_task *cur = mmn_current();

	init_rwsem(&s);
	down_write(&s);
	ASSERT_EQ(cur->lockdep_depth, 1);
	EXPECT_FALSE(cur->held[0].read);
	downgrade_write(&s);
	EXPECT_TRUE(rwsem_is_locked(&s));
	EXPECT_FALSE(mmn_rwsem_is_write_locked(&s.s));
	EXPECT_TRUE(mmn_rwsem_held_by_current(&s.s));
	EXPECT_FALSE(mmn_rwsem_write_held_by_current(&s.s));
	EXPECT_TRUE(cur->held[0].read);
	EXPECT_EQ(s.s.readers, 1);
	EXPECT_FALSE(down_write_trylock(&s));
	up_read(&s);
	EXPECT_FALSE(rwsem_is_locked(&s));
	EXPECT_EQ(mmn_report_count(), 0);
	destroy_rwsem(&s);
}

/* down_read() twice can deadlock behind a writer: lockdep says so. */
TEST(rwsem_recursive_read_reported)
{
	struct rw_semaphore s;
	const char *text;

	harness_expect_violations();
	init_rwsem(&s);
	down_read(&s);
	ASSERT_EQ(mmn_report_count(), 0);
	down_read(&s);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	text = harness_violation_text(MMN_V_LOCKDEP);
	ASSERT_STR_CONTAINS(text, "WARNING: possible recursive locking detected\n");
	ASSERT_STR_CONTAINS(text, "main/1 is trying to acquire lock:\n (&s){++++}, at: ");
	ASSERT_STR_CONTAINS(text, "but task is already holding lock:\n (&s){++++}");
	up_read(&s);
	up_read(&s);
	EXPECT_FALSE(rwsem_is_locked(&s));
	EXPECT_EQ(mmn_report_count(), 1);
	destroy_rwsem(&s);
}

TEST(lockdep_assert_held_both_ways)
{
	struct mutex m;
	spinlock_t l;
	struct rw_semaphore s;
	int line;
	const char *text;
	char want[1024];

	harness_expect_violations();
	mutex_init(&m);
	spin_lock_init(&l);
	init_rwsem(&s);
	mutex_lock(&m);
	down_write(&s);
	spin_lock(&l);
	lockdep_assert_held(&m);
	lockdep_assert_held(&l);
	lockdep_assert_held(&s);
	lockdep_assert_held_write(&s);
	downgrade_write(&s);
	lockdep_assert_held(&s);
	ASSERT_EQ(mmn_report_count(), 0);
	up_read(&s);
	spin_unlock(&l);

	line = __LINE__ + 1;
	lockdep_assert_held(&l);
	mutex_unlock(&m);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	text = harness_violation_text(MMN_V_LOCKDEP);
	snprintf(want, sizeof(want), "WARNING: CPU: 0 PID: 1 at %s lockdep_assert_held(&l) failed\n",
		 site(__FILE__, line));
	ASSERT_STR_CONTAINS(text, want);
	ASSERT_STR_CONTAINS(text, "1 lock held by main/1:\n #0: (&m){+.+.}");
	mutex_destroy(&m);
	spin_lock_destroy(&l);
	destroy_rwsem(&s);
}

static void *lock_and_leave(void *arg)
{
	mutex_lock((struct mutex *)arg);
	return NULL;
}

static void *lock_and_unlock(void *arg)
{
	mutex_lock((struct mutex *)arg);
	mutex_unlock((struct mutex *)arg);
	return arg;
}

/* A task that returns holding a lock, and its release by another task. */
TEST(lock_held_at_exit_and_non_owner_unlock)
{
	struct mutex m;
	struct mmn_task *t;
	const char *text;

	harness_expect_violations();
	mutex_init(&m);
	t = mmn_task_create("clean", MMN_TASK_WORKER, NULL, lock_and_unlock, &m);
	ASSERT_TRUE(t != NULL);
	EXPECT_EQ(mmn_task_join(t), &m);
	ASSERT_EQ(mmn_report_count(), 0);

	t = mmn_task_create("leaver", MMN_TASK_WORKER, NULL, lock_and_leave, &m);
	ASSERT_TRUE(t != NULL);
	mmn_task_join(t);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	text = harness_violation_text(MMN_V_LOCKDEP);
	ASSERT_STR_CONTAINS(text, "WARNING: lock held when returning to user space!\n");
	ASSERT_STR_CONTAINS(text, "leaver/3 is leaving the kernel with locks still held!\n");
	ASSERT_STR_CONTAINS(text, "1 lock held by leaver/3:\n #0: (&m){+.+.}");

	mutex_unlock(&m);		/* main/1 does not own it */
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 2);
	text = mmn_report_get(1)->text;
	ASSERT_STR_CONTAINS(text, "WARNING: bad unlock balance detected!\n");
	ASSERT_STR_CONTAINS(text, "main/1 is trying to release lock (&m):\n");
	ASSERT_STR_CONTAINS(text, "(the lock is held by leaver/3)\n");
	EXPECT_FALSE(mutex_is_locked(&m));
	mutex_destroy(&m);
}

TEST(unlock_of_unlocked_lock_reported)
{
	spinlock_t l;

	harness_expect_violations();
	spin_lock_init(&l);
	spin_unlock(&l);
	EXPECT_EQ(preempt_count(), 0);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOCKDEP),
			    "but there are no more locks to release!");
	spin_lock_destroy(&l);
}

static void *leave_atomic(void *arg)
{
	preempt_disable();
	return NULL;
}

static void *balanced_atomic(void *arg)
{
	preempt_disable();
	rcu_read_lock();
	rcu_read_unlock();
	preempt_enable();
	return NULL;
}

TEST(task_exit_in_atomic_context)
{
	struct mmn_task *t;

	harness_expect_violations();
	t = mmn_task_create("ok", MMN_TASK_CPU, NULL, balanced_atomic, NULL);
	mmn_task_join(t);
	ASSERT_EQ(mmn_report_count(), 0);
	t = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, leave_atomic, NULL);
	mmn_task_join(t);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOCKDEP),
			    "BUG: cpu1/3 is leaving the kernel in atomic context!\n"
			    "preempt_count: 1, expected: 0\n");
}

static void *report_pid(void *arg)
{
	struct mmn_task *cur = current;

	snprintf(arg, 64, "%s/%d kind=%d", cur->comm, cur->pid, cur->kind);
	return NULL;
}

/* Pids count from 1 per run, main first, then in creation order. */
TEST(pids_deterministic)
{
	char a[64], b[64];
	struct mmn_task *ta, *tb;

	ta = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, report_pid, a);
	tb = mmn_task_create("a-very-long-task-name", MMN_TASK_DEVICE, NULL, report_pid, b);
	mmn_task_join(tb);
	mmn_task_join(ta);
	EXPECT_EQ(current->pid, 1);
	EXPECT_EQ(current->kind, MMN_TASK_MAIN);
	EXPECT_EQ(strcmp(current->comm, "main"), 0);
	ASSERT_STR_CONTAINS(a, "cpu0/2 kind=0");
	ASSERT_STR_CONTAINS(b, "a-very-long-tas/3 kind=1");
}

static struct mmn_lockdep_map test_range_start_map = {
	.name = "__mmu_notifier_invalidate_range_start",
};

/* Lock maps are listed in the held locks and are not atomic. */
TEST(lock_map_listed_in_held_locks)
{
	spinlock_t l;
	const char *text;

	harness_expect_violations();
	spin_lock_init(&l);
	lock_map_acquire(&test_range_start_map);
	might_sleep();			/* a lock map alone is not atomic */
	ASSERT_EQ(mmn_report_count(), 0);
	spin_lock(&l);
	might_sleep();
	spin_unlock(&l);
	lock_map_release(&test_range_start_map);
	ASSERT_EQ(mmn_report_count(), 1);
	text = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(text, "2 locks held by main/1:\n"
			    " #0: (__mmu_notifier_invalidate_range_start){+.+.}, at: ");
	ASSERT_STR_CONTAINS(text, " #1: (&l){+.+.}, at: ");
	EXPECT_EQ(mmn_current()->lockdep_depth, 0);

	lock_map_release(&test_range_start_map);	/* not held any more */
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	spin_lock_destroy(&l);
}

TEST(completion_single_thread)
{
	struct completion c;

	init_completion(&c);
	EXPECT_FALSE(try_wait_for_completion(&c));
	complete(&c);
	complete(&c);
	wait_for_completion(&c);
	EXPECT_TRUE(try_wait_for_completion(&c));
	EXPECT_FALSE(try_wait_for_completion(&c));
	complete_all(&c);
	wait_for_completion(&c);
	wait_for_completion(&c);
	EXPECT_TRUE(try_wait_for_completion(&c));
	reinit_completion(&c);
	EXPECT_FALSE(try_wait_for_completion(&c));
	destroy_completion(&c);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* wait_event() might sleep even when the condition is already true. */
TEST(wait_event_true_condition)
{
	wait_queue_head_t wq;
	spinlock_t l;
	int flag = 1;

	harness_expect_violations();
	init_waitqueue_head(&wq);
	spin_lock_init(&l);
	wait_event(wq, flag == 1);
	ASSERT_EQ(mmn_report_count(), 0);
	spin_lock(&l);
	wait_event(wq, flag == 1);
	spin_unlock(&l);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	wake_up(&wq);
	destroy_waitqueue_head(&wq);
	spin_lock_destroy(&l);
}

/* ------------------------------------------------------------------ */
/* SRCU.                                                               */

struct srcu_test_cb {
	struct rcu_head rh;
	int id;
	int *log;
	int *nlog;
	bool sleep;
};

static void srcu_test_func(struct rcu_head *rh)
{
	struct srcu_test_cb *cb = container_of(rh, struct srcu_test_cb, rh);

	cb->log[(*cb->nlog)++] = cb->id;
	if (cb->sleep)
		might_sleep();
}

/* Callbacks wait for readers active at call time, including one that entered mid-GP. */
TEST(srcu_call_srcu_waits_for_readers_in_order)
{
	struct srcu_struct ss;
	struct srcu_test_cb a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	int log[8], nlog = 0, r1, r2;

	a.log = b.log = c.log = log;
	a.nlog = b.nlog = c.nlog = &nlog;
	init_srcu_struct(&ss);
	r1 = srcu_read_lock(&ss);
	call_srcu(&ss, &a.rh, srcu_test_func);	/* GP 1 starts, waits for r1 */
	r2 = srcu_read_lock(&ss);		/* enters the new epoch */
	EXPECT_NE(r1, r2);
	call_srcu(&ss, &b.rh, srcu_test_func);	/* must wait for r2 too */
	call_srcu(&ss, &c.rh, srcu_test_func);
	EXPECT_EQ(nlog, 0);
	srcu_read_unlock(&ss, r1);
	EXPECT_EQ(nlog, 0);			/* r2 still inside */
	srcu_read_unlock(&ss, r2);
	ASSERT_EQ(nlog, 3);
	EXPECT_EQ(log[0], 1);
	EXPECT_EQ(log[1], 2);
	EXPECT_EQ(log[2], 3);
	srcu_barrier(&ss);
	EXPECT_EQ(nlog, 3);
	cleanup_srcu_struct(&ss);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* call_srcu() never runs the callback itself; srcu_barrier() does. */
TEST(srcu_call_srcu_not_synchronous)
{
	struct srcu_struct ss;
	struct srcu_test_cb a = { .id = 7 };
	int log[2], nlog = 0;

	a.log = log;
	a.nlog = &nlog;
	init_srcu_struct(&ss);
	call_srcu(&ss, &a.rh, srcu_test_func);
	EXPECT_EQ(nlog, 0);
	srcu_barrier(&ss);
	EXPECT_EQ(nlog, 1);
	synchronize_srcu(&ss);
	EXPECT_EQ(nlog, 1);
	cleanup_srcu_struct(&ss);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* Callbacks run in atomic context: one that sleeps is reported. */
TEST(srcu_callback_runs_in_atomic_context)
{
	struct srcu_struct ss;
	struct srcu_test_cb ok = { .id = 1 }, bad = { .id = 2, .sleep = true };
	int log[2], nlog = 0;
	const char *text;

	harness_expect_violations();
	ok.log = bad.log = log;
	ok.nlog = bad.nlog = &nlog;
	init_srcu_struct(&ss);
	call_srcu(&ss, &ok.rh, srcu_test_func);
	synchronize_srcu(&ss);
	ASSERT_EQ(nlog, 1);
	ASSERT_EQ(mmn_report_count(), 0);
	call_srcu(&ss, &bad.rh, srcu_test_func);
	synchronize_srcu(&ss);
	ASSERT_EQ(nlog, 2);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	text = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(text, "in_atomic(): 1");
	ASSERT_STR_CONTAINS(text, "(rcu_callback){....}");
	EXPECT_EQ(preempt_count(), 0);
	cleanup_srcu_struct(&ss);
}

/* An SRCU reader may sleep, and is listed as held. */
TEST(srcu_reader_may_sleep_and_is_held)
{
	struct srcu_struct ss;
	int idx;

	harness_expect_violations();
	init_srcu_struct(&ss);
	idx = srcu_read_lock(&ss);
	might_sleep();
	ASSERT_EQ(mmn_report_count(), 0);
	ASSERT_EQ(mmn_current()->lockdep_depth, 1);
	EXPECT_EQ(mmn_current()->held[0].type, MMN_LOCK_SRCU);
	preempt_disable();
	might_sleep();
	preempt_enable();
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_SLEEP_IN_ATOMIC),
			    " #0: (&ss){.+.+}, at: ");
	srcu_read_unlock(&ss, idx);
	cleanup_srcu_struct(&ss);
}

/* synchronize_srcu() inside its own read section: reported, not a hang. */
TEST(srcu_synchronize_in_own_read_section)
{
	struct srcu_struct ss, other;
	int idx;

	harness_expect_violations();
	init_srcu_struct(&ss);
	init_srcu_struct(&other);
	idx = srcu_read_lock(&ss);
	synchronize_srcu(&other);		/* a different srcu_struct: fine */
	ASSERT_EQ(mmn_report_count(), 0);
	synchronize_srcu(&ss);
	srcu_read_unlock(&ss, idx);
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LOCKDEP), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOCKDEP),
			    "Illegal synchronize_srcu() in same-type SRCU (&ss) read-side critical section!");
	cleanup_srcu_struct(&other);
	cleanup_srcu_struct(&ss);
}

TEST(srcu_grace_periods_advance)
{
	struct srcu_struct ss;

	init_srcu_struct(&ss);
	synchronize_srcu(&ss);
	EXPECT_EQ(ss.s.completed, 1);
	synchronize_srcu(&ss);
	EXPECT_EQ(ss.s.completed, 2);
	EXPECT_FALSE(ss.s.gp_running);
	cleanup_srcu_struct(&ss);
}

/* ------------------------------------------------------------------ */
/* Reports.                                                            */

TEST(violation_names_round_trip)
{
	for (int k = 0; k < MMN_V__COUNT; k++) {
		EXPECT_EQ(mmn_violation_parse(mmn_violation_name(k)), k);
		EXPECT_TRUE(strlen(mmn_violation_rule(k)) > 10);
	}
	EXPECT_EQ(mmn_violation_parse("no-such-violation"), -1);
	EXPECT_EQ(mmn_violation_parse("sleep-in-atomic"), MMN_V_SLEEP_IN_ATOMIC);
	EXPECT_EQ(mmn_violation_class(MMN_V_LOST_WRITE), MMN_VC_DATA);
	EXPECT_EQ(mmn_violation_class(MMN_V_LOCKDEP), MMN_VC_PROTOCOL);
	EXPECT_EQ(strcmp(mmn_violation_name(MMN_V__COUNT), "?"), 0);
}

TEST(warn_on_records_lab_bug)
{
	int line;
	char want[1024];

	harness_expect_violations();
	EXPECT_FALSE(WARN_ON(1 + 1 == 3));
	ASSERT_EQ(mmn_report_count(), 0);
	line = __LINE__ + 1;
	EXPECT_TRUE(WARN_ON(1 + 1 == 2));
	ASSERT_EQ(mmn_report_count_kind(MMN_V_LAB_BUG), 1);
	snprintf(want, sizeof(want), "WARNING: CPU: 0 PID: 1 at %s 1 + 1 == 2\n",
		 site(__FILE__, line));
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LAB_BUG), want);
}

TEST(report_dedup_print_reset)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	harness_expect_violations();
	mmn_report(MMN_V_STALE_READ, "a.c:1", "first %d", 1);
	mmn_report(MMN_V_STALE_READ, "a.c:1", "dup");
	mmn_report(MMN_V_LOST_WRITE, "a.c:1", "other kind, same site\n");
	mmn_report(MMN_V_STALE_READ, NULL, "no site");
	mmn_report(MMN_V_STALE_READ, NULL, "no site");
	ASSERT_EQ(mmn_report_count(), 4);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 3);
	EXPECT_EQ(strcmp(mmn_report_get(0)->text, "first 1\n"), 0);
	EXPECT_TRUE(mmn_report_get(4) == NULL);

	f = open_memstream(&out, &len);
	ASSERT_TRUE(f != NULL);
	mmn_report_print(f);
	fclose(f);
	ASSERT_STR_CONTAINS(out, "==================================================================\n"
			    "mmnlab: stale-read: ");
	ASSERT_STR_CONTAINS(out, "first 1\n=====");
	ASSERT_STR_CONTAINS(out, "no site\n==================================================================\n");
	free(out);

	mmn_report_reset();
	EXPECT_EQ(mmn_report_count(), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 0);
	mmn_report(MMN_V_STALE_READ, "a.c:1", "again");
	EXPECT_EQ(mmn_report_count(), 1);	/* dedup is per run */
}

TEST(buf_grows)
{
	struct mmn_buf b = { 0 };

	for (int i = 0; i < 1000; i++)
		mmn_buf_printf(&b, "%04d,", i);
	ASSERT_EQ(b.len, 5000);
	EXPECT_EQ(strncmp(b.s + 4995, "0999,", 5), 0);
	EXPECT_EQ(b.s[b.len], '\0');
	mmn_buf_free(&b);
	EXPECT_TRUE(b.s == NULL);
}

TEST(rt_config_kept)
{
	const struct mmn_rt_config *cfg = mmn_rt_config();

	EXPECT_EQ(cfg->backend, MMN_BACKEND_THREADS);
	EXPECT_EQ(cfg->stress_yield_permille, 0);
}

/* With an echo stream set, each record is also printed as it is recorded. */
TEST(report_echo)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	harness_expect_violations();
	ASSERT_TRUE(f != NULL);
	mmn_report_set_echo(f);
	mmn_report(MMN_V_DEADLOCK, NULL, "every agent is stuck");
	mmn_report_set_echo(NULL);
	mmn_report(MMN_V_DEADLOCK, NULL, "not echoed");
	fclose(f);
	ASSERT_STR_CONTAINS(out, "=\nevery agent is stuck\n=");
	EXPECT_TRUE(strstr(out, "not echoed") == NULL);
	EXPECT_EQ(mmn_report_count(), 2);
	free(out);
}
