// SPDX-License-Identifier: GPL-2.0
/*
 * Sleepable RCU, classic two-epoch form (the kernel's pre-tree srcu.c).
 *
 * Readers count themselves in readers[idx] of the epoch current when they
 * entered, and may sleep.  A grace period flips the epoch twice and waits,
 * after each flip, for the epoch new readers just left to drain:
 *
 *	phase 0 (idle)
 *	  | gp start: idx ^= 1                  new readers enter the other epoch
 *	phase 1: wait readers[idx ^ 1] == 0     every reader from before the GP
 *	  | idx ^= 1
 *	phase 2: wait readers[idx ^ 1] == 0     every reader that raced the flip
 *	  | completed++, unpark synchronizers
 *	phase 0
 *
 * There is no grace-period thread.  The state machine is pushed forward by
 * whoever may have unblocked it: the last srcu_read_unlock() of the awaited
 * epoch, synchronize_srcu(), call_srcu() (which starts a grace period) and
 * srcu_barrier().  A reader that entered before a synchronize_srcu() is in
 * the epoch phase 1 or phase 2 waits for; so synchronize_srcu() waits for
 * one whole grace period that starts after it was called, or for the one
 * running if it is still in phase 1 (see srcu_gp_target()).
 *
 * call_srcu() callbacks wait for the same target and are run, in call
 * order, by the next task that finds them ready: srcu_read_unlock(),
 * synchronize_srcu() or srcu_barrier() -- never by call_srcu() itself,
 * since the kernel never runs a callback in its caller's context.  They run
 * as the kernel runs them, in atomic context (softirq: preempt_count
 * raised, "rcu_callback" in the held list), so a callback that sleeps (a
 * free_notifier() that takes a mutex) is reported by might_sleep.
 */
#include <stdio.h>

#include <mmn/linux/compiler.h>

#include "lockdep.h"
#include "sched.h"

/* rcu_callback_map: held while callbacks run, as rcu_do_batch() does. */
static const int srcu_callback_map;

/* ------------------------------------------------------------------ */
/* Callback queue: circular, @cbs points at the newest, newest->next is */
/* the oldest.  Grace-period targets never decrease in call order.      */

static void srcu_cb_enqueue(struct mmn_srcu_struct *s, struct mmn_rcu_head *h)
{
	if (!s->cbs) {
		h->next = h;
	} else {
		h->next = s->cbs->next;
		s->cbs->next = h;
	}
	s->cbs = h;
}

/* Detach the callbacks whose grace period completed, oldest first, as a
 * NULL-terminated list; the caller must run them (srcu_cb_run). */
static struct mmn_rcu_head *srcu_cb_take_ready(struct mmn_srcu_struct *s)
{
	struct mmn_rcu_head *first = NULL, **tail = &first;

	while (s->cbs && s->cbs->next->gp <= s->completed) {
		struct mmn_rcu_head *h = s->cbs->next;

		if (h == s->cbs)
			s->cbs = NULL;
		else
			s->cbs->next = h->next;
		h->next = NULL;
		*tail = h;
		tail = &h->next;
	}
	if (first)
		s->cbs_running++;
	return first;
}

/* Called without wp, after srcu_cb_take_ready() returned @list. */
static void srcu_cb_run(struct mmn_srcu_struct *s, struct mmn_rcu_head *list)
{
	struct mmn_task *cur = mmn_current();

	cur->preempt_count++;		/* softirq: local_bh_disable() */
	__mmn_held_push(cur, &srcu_callback_map, "rcu_callback", MMN_LOCK_RCU, true,
			__FILE__, __LINE__);
	while (list) {
		struct mmn_rcu_head *next = list->next;

		list->func(list);	/* may free @list */
		list = next;
	}
	__mmn_held_pop(cur, &srcu_callback_map);
	cur->preempt_count--;

	__mmn_wp_lock(&s->wp);
	if (!--s->cbs_running)
		__mmn_wp_unpark_all(&s->wp);
	__mmn_wp_unlock(&s->wp);
}

/* ------------------------------------------------------------------ */
/* Grace periods (all under wp).                                       */

static void srcu_gp_start(struct mmn_srcu_struct *s)
{
	s->idx ^= 1;
	s->gp_phase = 1;
	s->gp_running = true;
}

/*
 * The grace period that covers every reader active now: the next one if
 * none is running or the running one is in phase 1 (its phase 2 still
 * waits for the epoch new readers enter now), else the one after it.
 */
static uint64_t srcu_gp_target(const struct mmn_srcu_struct *s)
{
	return s->completed + (s->gp_phase == 2 ? 2 : 1);
}

static void srcu_gp_advance(struct mmn_srcu_struct *s)
{
	while (s->gp_phase) {
		if (s->readers[s->idx ^ 1])
			return;
		if (s->gp_phase == 1) {
			s->idx ^= 1;
			s->gp_phase = 2;
			continue;
		}
		s->completed++;
		s->gp_phase = 0;
		s->gp_running = false;
		__mmn_wp_unpark_all(&s->wp);
		/* the newest callback has the highest target */
		if (s->cbs && s->cbs->gp > s->completed)
			srcu_gp_start(s);
	}
}

/* ------------------------------------------------------------------ */

void mmn_init_srcu_struct(struct mmn_srcu_struct *s, const char *name)
{
	__mmn_wp_init(&s->wp);
	s->readers[0] = s->readers[1] = 0;
	s->idx = 0;
	s->completed = 0;
	s->gp_running = false;
	s->gp_phase = 0;
	s->cbs_running = 0;
	s->cbs = NULL;
	s->name = name ? name : "srcu";
}

/*
 * As in the kernel, callbacks still queued at cleanup mean a missing
 * srcu_barrier(): a warning.  The lab then runs them anyway, so that the
 * memory they free does not show up as a leak on top of the warning.
 */
void mmn_cleanup_srcu_struct(struct mmn_srcu_struct *s)
{
	bool readers, cbs;

	__mmn_wp_lock(&s->wp);
	readers = s->readers[0] || s->readers[1];
	cbs = s->cbs || s->cbs_running;
	__mmn_wp_unlock(&s->wp);
	if (WARN_ON(readers))
		return;
	if (WARN_ON(cbs))
		mmn_srcu_barrier(s);
	__mmn_wp_destroy(&s->wp);
}

int mmn_srcu_read_lock(struct mmn_srcu_struct *s, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	unsigned int idx;

	mmn_sched_point(MMN_SP_LOCK, s);
	__mmn_wp_lock(&s->wp);
	idx = s->idx;
	s->readers[idx]++;
	__mmn_wp_unlock(&s->wp);
	__mmn_held_push(cur, s, s->name, MMN_LOCK_SRCU, true, file, line);
	return (int)idx;
}

void mmn_srcu_read_unlock(struct mmn_srcu_struct *s, int idx)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_rcu_head *ready;
	bool ok = __mmn_held_pop(cur, s) && (idx == 0 || idx == 1);

	if (unlikely(!ok)) {
		__mmn_report_bad_unlock(s, s->name, NULL);
		if (idx != 0 && idx != 1)
			return;
	}
	__mmn_wp_lock(&s->wp);
	if (s->readers[idx])
		s->readers[idx]--;
	if (s->gp_phase && !s->readers[idx] && (unsigned int)idx == (s->idx ^ 1))
		srcu_gp_advance(s);
	ready = srcu_cb_take_ready(s);
	__mmn_wp_unlock(&s->wp);
	if (ready)
		srcu_cb_run(s, ready);
	mmn_sched_point(MMN_SP_UNLOCK, s);
}

/*
 * Waiting for our own read section would never end: the kernel's lockdep
 * says "Illegal synchronize_srcu() in same-type SRCU read-side critical
 * section" and then hangs; the lab reports and returns, without a grace
 * period, so that the run can go on to show what else went wrong.
 */
static bool srcu_check_self_wait(struct mmn_srcu_struct *s, const char *verb,
				 const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_buf b = { 0 };
	char site[256];

	if (likely(!__mmn_held_find(cur, s)))
		return false;
	snprintf(site, sizeof(site), "%s:%d", file, line);
	mmn_buf_printf(&b, "WARNING: suspicious RCU usage\n"
		       "-----------------------------\n"
		       "%s:%d Illegal %s() in same-type SRCU (%s) read-side critical section!\n\n"
		       "other info that might help us debug this:\n\n",
		       file, line, verb, s->name);
	__mmn_print_held_locks(&b, cur);
	mmn_report(MMN_V_LOCKDEP, site, "%s", b.s);
	mmn_buf_free(&b);
	return true;
}

void mmn_synchronize_srcu(struct mmn_srcu_struct *s, const char *file, int line)
{
	struct mmn_park why = { MMN_PARK_SRCU_GP, s, s->name, file, line };
	struct mmn_rcu_head *ready;
	uint64_t target;

	mmn_might_sleep(file, line);
	if (srcu_check_self_wait(s, "synchronize_srcu", file, line))
		return;
	__mmn_wp_lock(&s->wp);
	target = srcu_gp_target(s);
	for (;;) {
		if (!s->gp_phase && s->completed < target)
			srcu_gp_start(s);
		srcu_gp_advance(s);
		if (s->completed >= target)
			break;
		__mmn_wp_park(&s->wp, &why);
	}
	ready = srcu_cb_take_ready(s);
	__mmn_wp_unlock(&s->wp);
	if (ready)
		srcu_cb_run(s, ready);
}

void mmn_call_srcu(struct mmn_srcu_struct *s, struct mmn_rcu_head *head,
		   void (*func)(struct mmn_rcu_head *head))
{
	head->func = func;
	__mmn_wp_lock(&s->wp);
	head->gp = srcu_gp_target(s);
	srcu_cb_enqueue(s, head);
	if (!s->gp_phase)
		srcu_gp_start(s);
	srcu_gp_advance(s);
	__mmn_wp_unlock(&s->wp);
}

/*
 * Wait until every callback queued before the call has run (by us or by
 * whichever task took it), starting the grace periods they need.
 */
void mmn_srcu_barrier(struct mmn_srcu_struct *s)
{
	struct mmn_park why = { MMN_PARK_SRCU_BARRIER, s, s->name, NULL, 0 };
	struct mmn_rcu_head *ready;
	uint64_t target;

	mmn_might_sleep(__FILE__, __LINE__);
	if (srcu_check_self_wait(s, "srcu_barrier", __FILE__, __LINE__))
		return;
	__mmn_wp_lock(&s->wp);
	target = s->cbs ? s->cbs->gp : s->completed;
	for (;;) {
		if (!s->gp_phase && s->completed < target)
			srcu_gp_start(s);
		srcu_gp_advance(s);
		ready = srcu_cb_take_ready(s);
		if (ready) {
			__mmn_wp_unlock(&s->wp);
			srcu_cb_run(s, ready);
			__mmn_wp_lock(&s->wp);
			continue;
		}
		if (s->completed >= target && !s->cbs_running)
			break;
		__mmn_wp_park(&s->wp, &why);
	}
	__mmn_wp_unlock(&s->wp);
}
