// SPDX-License-Identifier: GPL-2.0
/*
 * Wait queues and completions, over the back end's parking lot (sched.h).
 *
 * Wait queue: no lost wake-ups through a wake sequence number.
 *
 *	waiter (wait_event)			waker
 *	-------------------			-----
 *	tok = wake_seq  (acquire)		cond = true
 *	if (cond) done				wp_lock
 *	wp_lock					wake_seq++  (release)
 *	park while wake_seq == tok		unpark_all
 *	wp_unlock, re-check cond		wp_unlock
 *
 * If the waiter read the old wake_seq it sleeps only until the waker's
 * increment, which it cannot miss (both are under wp); if it read the new
 * one, the acquire pairs with the waker's release and it sees cond true.
 */
#include <limits.h>

#include <mmn/linux/compiler.h>

#include "sched.h"

void mmn_init_waitqueue_head(mmn_wait_queue_head_t *wq, const char *name)
{
	__mmn_wp_init(&wq->wp);
	wq->wake_seq = 0;
	wq->name = name ? name : "wait_queue";
}

void mmn_wait_queue_destroy(mmn_wait_queue_head_t *wq)
{
	__mmn_wp_destroy(&wq->wp);
}

/* wait_event() starts with might_sleep(), whether or not it will sleep. */
uint64_t mmn_wait_queue_prepare(mmn_wait_queue_head_t *wq, const char *file, int line)
{
	mmn_might_sleep(file, line);
	return __atomic_load_n(&wq->wake_seq, __ATOMIC_ACQUIRE);
}

void mmn_wait_queue_sleep(mmn_wait_queue_head_t *wq, uint64_t token, const char *file, int line)
{
	struct mmn_park why = { MMN_PARK_WAITQ, wq, wq->name, file, line };

	__mmn_wp_lock(&wq->wp);
	while (wq->wake_seq == token)
		__mmn_wp_park(&wq->wp, &why);
	__mmn_wp_unlock(&wq->wp);
}

void mmn_wake_up_all(mmn_wait_queue_head_t *wq)
{
	__mmn_wp_lock(&wq->wp);
	__atomic_store_n(&wq->wake_seq, wq->wake_seq + 1, __ATOMIC_RELEASE);
	__mmn_wp_unpark_all(&wq->wp);
	__mmn_wp_unlock(&wq->wp);
	mmn_sched_point(MMN_SP_WAKE, wq);
}

/* ------------------------------------------------------------------ */
/*
 * Completion: @done counts complete() calls not yet consumed by a waiter;
 * UINT_MAX after complete_all() (every waiter passes, nothing consumed),
 * as in kernel/sched/completion.c.
 */

void mmn_init_completion(struct mmn_completion *c, const char *name)
{
	__mmn_wp_init(&c->wp);
	c->done = 0;
	c->name = name ? name : "completion";
}

void mmn_completion_destroy(struct mmn_completion *c)
{
	__mmn_wp_destroy(&c->wp);
}

void mmn_reinit_completion(struct mmn_completion *c)
{
	__mmn_wp_lock(&c->wp);
	c->done = 0;
	__mmn_wp_unlock(&c->wp);
}

void mmn_wait_for_completion(struct mmn_completion *c, const char *file, int line)
{
	struct mmn_park why = { MMN_PARK_COMPLETION, c, c->name, file, line };

	mmn_might_sleep(file, line);
	__mmn_wp_lock(&c->wp);
	while (!c->done)
		__mmn_wp_park(&c->wp, &why);
	if (c->done != UINT_MAX)
		c->done--;
	__mmn_wp_unlock(&c->wp);
}

/* Never sleeps: legal in atomic context. */
bool mmn_try_wait_for_completion(struct mmn_completion *c)
{
	bool ret = false;

	__mmn_wp_lock(&c->wp);
	if (c->done) {
		if (c->done != UINT_MAX)
			c->done--;
		ret = true;
	}
	__mmn_wp_unlock(&c->wp);
	return ret;
}

void mmn_complete(struct mmn_completion *c)
{
	__mmn_wp_lock(&c->wp);
	if (c->done != UINT_MAX)
		c->done++;
	__mmn_wp_unpark_all(&c->wp);
	__mmn_wp_unlock(&c->wp);
	mmn_sched_point(MMN_SP_WAKE, c);
}

void mmn_complete_all(struct mmn_completion *c)
{
	__mmn_wp_lock(&c->wp);
	c->done = UINT_MAX;
	__mmn_wp_unpark_all(&c->wp);
	__mmn_wp_unlock(&c->wp);
	mmn_sched_point(MMN_SP_WAKE, c);
}
