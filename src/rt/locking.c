// SPDX-License-Identifier: GPL-2.0
/*
 * Spinlocks, mutexes and rw-semaphores, written once over the back end's
 * parking lot (sched.h).
 *
 * Each acquire, in order:
 *   1. might_sleep() for the sleeping locks (mutex, rwsem), at the caller's
 *      file:line, so a mutex_lock() under a spinlock is reported where the
 *      driver wrote it;
 *   2. a recursive-locking check (lockdep: "possible recursive locking");
 *   3. a LOCK schedule point (the controlled back end may switch here);
 *   4. the monitor loop: wp_lock, park while unavailable (the contention
 *      schedule point), take, wp_unlock;
 *   5. push the lock on current's held stack with the caller's file:line.
 * Each release pops the held entry (any order), updates the state under
 * wp, unparks everyone, and ends with an UNLOCK schedule point.  Releasing a
 * lock current does not hold is a lockdep "bad unlock balance" violation;
 * the lock is still released if it was locked, as the kernel would.
 *
 * Owner and counts are written under wp; the *_is_locked/held_by_current
 * helpers peek at them without it (READ_ONCE), which is exact for "held by
 * current" (only current can make it true or false) and a hint otherwise.
 *
 * Uncontended cost: one wp_lock/unlock pair (an uncontended pthread mutex
 * for the threads back end) per acquire and per release; no allocation.
 */
#include <mmn/linux/compiler.h>

#include "lockdep.h"
#include "sched.h"

static void lock_check_recursive(struct mmn_task *cur, const void *lock, const char *name,
				 enum mmn_lock_type type, const char *file, int line)
{
	struct mmn_held_lock *h = __mmn_held_find(cur, lock);

	if (unlikely(h))
		__mmn_report_recursive(lock, name, type, h, file, line);
}

#define LOCK_DESTROY_WARN(cond) do {						\
	if (unlikely(cond))							\
		__mmn_warn(#cond " at destroy", __FILE__, __LINE__);		\
} while (0)

/* ------------------------------------------------------------------ */
/* Spinlock: owner != NULL means locked; holding it raises preempt_count. */

void mmn_spin_lock_init(mmn_spinlock_t *l, const char *name)
{
	__mmn_wp_init(&l->wp);
	l->owner = NULL;
	l->name = name ? name : "spinlock";
}

void mmn_spin_lock_destroy(mmn_spinlock_t *l)
{
	LOCK_DESTROY_WARN(READ_ONCE(l->owner) != NULL);
	__mmn_wp_destroy(&l->wp);
}

void mmn_spin_lock(mmn_spinlock_t *l, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_park why = { MMN_PARK_SPIN, l, l->name, file, line };

	lock_check_recursive(cur, l, l->name, MMN_LOCK_SPIN, file, line);
	mmn_sched_point(MMN_SP_LOCK, l);
	cur->preempt_count++;		/* preempt_disable(), then spin */
	__mmn_wp_lock(&l->wp);
	while (l->owner)
		__mmn_wp_park(&l->wp, &why);
	WRITE_ONCE(l->owner, cur);
	__mmn_wp_unlock(&l->wp);
	__mmn_held_push(cur, l, l->name, MMN_LOCK_SPIN, false, file, line);
}

bool mmn_spin_trylock(mmn_spinlock_t *l, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	bool taken = false;

	mmn_sched_point(MMN_SP_LOCK, l);
	__mmn_wp_lock(&l->wp);
	if (!l->owner) {
		WRITE_ONCE(l->owner, cur);
		taken = true;
	}
	__mmn_wp_unlock(&l->wp);
	if (taken) {
		cur->preempt_count++;
		__mmn_held_push(cur, l, l->name, MMN_LOCK_SPIN, false, file, line);
	}
	return taken;
}

void mmn_spin_unlock(mmn_spinlock_t *l)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_task *owner;

	__mmn_held_pop(cur, l);
	__mmn_wp_lock(&l->wp);
	owner = l->owner;
	if (owner) {
		WRITE_ONCE(l->owner, NULL);
		__mmn_wp_unpark_all(&l->wp);
	}
	__mmn_wp_unlock(&l->wp);
	if (likely(owner == cur))
		cur->preempt_count--;	/* preempt_enable() */
	else
		__mmn_report_bad_unlock(l, l->name, owner);
	mmn_sched_point(MMN_SP_UNLOCK, l);
}

bool mmn_spin_is_locked(const mmn_spinlock_t *l)
{
	return READ_ONCE(l->owner) != NULL;
}

bool mmn_spin_held_by_current(const mmn_spinlock_t *l)
{
	return READ_ONCE(l->owner) == mmn_current();
}

/* ------------------------------------------------------------------ */
/* Mutex: owner != NULL means locked; acquiring may sleep.             */

void mmn_mutex_init(mmn_mutex_t *m, const char *name)
{
	__mmn_wp_init(&m->wp);
	m->owner = NULL;
	m->name = name ? name : "mutex";
}

void mmn_mutex_destroy(mmn_mutex_t *m)
{
	LOCK_DESTROY_WARN(READ_ONCE(m->owner) != NULL);
	__mmn_wp_destroy(&m->wp);
}

void mmn_mutex_lock(mmn_mutex_t *m, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_park why = { MMN_PARK_MUTEX, m, m->name, file, line };

	mmn_might_sleep(file, line);
	lock_check_recursive(cur, m, m->name, MMN_LOCK_MUTEX, file, line);
	mmn_sched_point(MMN_SP_LOCK, m);
	__mmn_wp_lock(&m->wp);
	while (m->owner)
		__mmn_wp_park(&m->wp, &why);
	WRITE_ONCE(m->owner, cur);
	__mmn_wp_unlock(&m->wp);
	__mmn_held_push(cur, m, m->name, MMN_LOCK_MUTEX, false, file, line);
}

/* mutex_trylock() never sleeps, so it is legal in atomic context. */
bool mmn_mutex_trylock(mmn_mutex_t *m, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	bool taken = false;

	mmn_sched_point(MMN_SP_LOCK, m);
	__mmn_wp_lock(&m->wp);
	if (!m->owner) {
		WRITE_ONCE(m->owner, cur);
		taken = true;
	}
	__mmn_wp_unlock(&m->wp);
	if (taken)
		__mmn_held_push(cur, m, m->name, MMN_LOCK_MUTEX, false, file, line);
	return taken;
}

void mmn_mutex_unlock(mmn_mutex_t *m)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_task *owner;

	__mmn_held_pop(cur, m);
	__mmn_wp_lock(&m->wp);
	owner = m->owner;
	if (owner) {
		WRITE_ONCE(m->owner, NULL);
		__mmn_wp_unpark_all(&m->wp);
	}
	__mmn_wp_unlock(&m->wp);
	if (unlikely(owner != cur))
		__mmn_report_bad_unlock(m, m->name, owner);
	mmn_sched_point(MMN_SP_UNLOCK, m);
}

bool mmn_mutex_is_locked(const mmn_mutex_t *m)
{
	return READ_ONCE(m->owner) != NULL;
}

bool mmn_mutex_held_by_current(const mmn_mutex_t *m)
{
	return READ_ONCE(m->owner) == mmn_current();
}

/* ------------------------------------------------------------------ */
/*
 * Read/write semaphore.  State: @readers active readers, or @writer; never
 * both.  @writers_waiting counts queued writers; while any is queued a new
 * reader waits (and down_read_trylock fails), as in Linux, so a stream of
 * readers cannot starve a writer.  A reader that re-takes a rwsem it holds
 * can therefore deadlock against a queued writer: lockdep calls that
 * recursive locking, and so do we.
 *
 *	reader				writer
 *	------				------
 *	park while writer ||		writers_waiting++
 *	    writers_waiting		park while writer || readers
 *	readers++			writers_waiting--; writer = current
 *	...				...
 *	if (--readers == 0)		writer = NULL
 *		unpark_all		unpark_all
 */

void mmn_rwsem_init(mmn_rwsem_t *s, const char *name)
{
	__mmn_wp_init(&s->wp);
	s->readers = 0;
	s->writers_waiting = 0;
	s->writer = NULL;
	s->name = name ? name : "rwsem";
}

void mmn_rwsem_destroy(mmn_rwsem_t *s)
{
	LOCK_DESTROY_WARN(mmn_rwsem_is_locked(s));
	__mmn_wp_destroy(&s->wp);
}

void mmn_down_read(mmn_rwsem_t *s, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_park why = { MMN_PARK_RWSEM_READ, s, s->name, file, line };

	mmn_might_sleep(file, line);
	lock_check_recursive(cur, s, s->name, MMN_LOCK_RWSEM, file, line);
	mmn_sched_point(MMN_SP_LOCK, s);
	__mmn_wp_lock(&s->wp);
	while (s->writer || s->writers_waiting)
		__mmn_wp_park(&s->wp, &why);
	WRITE_ONCE(s->readers, s->readers + 1);
	__mmn_wp_unlock(&s->wp);
	__mmn_held_push(cur, s, s->name, MMN_LOCK_RWSEM, true, file, line);
}

bool mmn_down_read_trylock(mmn_rwsem_t *s, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	bool taken = false;

	mmn_sched_point(MMN_SP_LOCK, s);
	__mmn_wp_lock(&s->wp);
	if (!s->writer && !s->writers_waiting) {
		WRITE_ONCE(s->readers, s->readers + 1);
		taken = true;
	}
	__mmn_wp_unlock(&s->wp);
	if (taken)
		__mmn_held_push(cur, s, s->name, MMN_LOCK_RWSEM, true, file, line);
	return taken;
}

void mmn_up_read(mmn_rwsem_t *s)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_held_lock *h = __mmn_held_find(cur, s);
	bool mine = h && h->read;
	int readers;

	if (mine)
		__mmn_held_pop(cur, s);
	__mmn_wp_lock(&s->wp);
	readers = s->readers;
	if (readers > 0) {
		WRITE_ONCE(s->readers, readers - 1);
		if (readers == 1)
			__mmn_wp_unpark_all(&s->wp);
	}
	__mmn_wp_unlock(&s->wp);
	if (unlikely(!mine))
		__mmn_report_bad_unlock(s, s->name, NULL);
	mmn_sched_point(MMN_SP_UNLOCK, s);
}

void mmn_down_write(mmn_rwsem_t *s, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_park why = { MMN_PARK_RWSEM_WRITE, s, s->name, file, line };

	mmn_might_sleep(file, line);
	lock_check_recursive(cur, s, s->name, MMN_LOCK_RWSEM, file, line);
	mmn_sched_point(MMN_SP_LOCK, s);
	__mmn_wp_lock(&s->wp);
	if (s->writer || s->readers) {
		WRITE_ONCE(s->writers_waiting, s->writers_waiting + 1);
		do
			__mmn_wp_park(&s->wp, &why);
		while (s->writer || s->readers);
		WRITE_ONCE(s->writers_waiting, s->writers_waiting - 1);
	}
	WRITE_ONCE(s->writer, cur);
	__mmn_wp_unlock(&s->wp);
	__mmn_held_push(cur, s, s->name, MMN_LOCK_RWSEM, false, file, line);
}

bool mmn_down_write_trylock(mmn_rwsem_t *s, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	bool taken = false;

	mmn_sched_point(MMN_SP_LOCK, s);
	__mmn_wp_lock(&s->wp);
	if (!s->writer && !s->readers && !s->writers_waiting) {
		WRITE_ONCE(s->writer, cur);
		taken = true;
	}
	__mmn_wp_unlock(&s->wp);
	if (taken)
		__mmn_held_push(cur, s, s->name, MMN_LOCK_RWSEM, false, file, line);
	return taken;
}

void mmn_up_write(mmn_rwsem_t *s)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_task *writer;

	__mmn_wp_lock(&s->wp);
	writer = s->writer;
	if (writer) {
		WRITE_ONCE(s->writer, NULL);
		__mmn_wp_unpark_all(&s->wp);
	}
	__mmn_wp_unlock(&s->wp);
	if (likely(writer == cur))
		__mmn_held_pop(cur, s);
	else
		__mmn_report_bad_unlock(s, s->name, writer);
	mmn_sched_point(MMN_SP_UNLOCK, s);
}

/*
 * downgrade_write(): the writer becomes a reader without letting another
 * writer in between.  Readers queued behind it may now proceed, unless a
 * writer is queued too (writer preference).
 */
void mmn_downgrade_write(mmn_rwsem_t *s)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_held_lock *h;
	bool mine;

	__mmn_wp_lock(&s->wp);
	mine = s->writer == cur;
	if (mine) {
		WRITE_ONCE(s->writer, NULL);
		WRITE_ONCE(s->readers, 1);
		__mmn_wp_unpark_all(&s->wp);
	}
	__mmn_wp_unlock(&s->wp);
	if (unlikely(!mine)) {
		__mmn_report_bad_unlock(s, s->name, NULL);
		return;
	}
	h = __mmn_held_find(cur, s);
	if (h)
		h->read = true;
	mmn_sched_point(MMN_SP_UNLOCK, s);
}

bool mmn_rwsem_is_locked(const mmn_rwsem_t *s)
{
	return READ_ONCE(s->readers) > 0 || READ_ONCE(s->writer) != NULL;
}

bool mmn_rwsem_is_write_locked(const mmn_rwsem_t *s)
{
	return READ_ONCE(s->writer) != NULL;
}

bool mmn_rwsem_held_by_current(const mmn_rwsem_t *s)
{
	struct mmn_task *cur = mmn_current();

	return READ_ONCE(s->writer) == cur || __mmn_held_find(cur, s) != NULL;
}

bool mmn_rwsem_write_held_by_current(const mmn_rwsem_t *s)
{
	return READ_ONCE(s->writer) == mmn_current();
}
