/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MMN_LINUX_LOCKDEP_H
#define MMN_LINUX_LOCKDEP_H

#include <mmn/rt.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/mutex.h>
#include <mmn/linux/rwsem.h>

/* lockdep_assert_held(l) for spinlock_t, struct mutex and struct rw_semaphore. */
#define __mmn_lock_held(l) _Generic((l),                                   \
	spinlock_t *: mmn_spin_held_by_current((const mmn_spinlock_t *)(l)),  \
	struct mutex *: mmn_mutex_held_by_current((const mmn_mutex_t *)(l)),  \
	struct rw_semaphore *: mmn_rwsem_held_by_current((const mmn_rwsem_t *)(l)))
#define lockdep_assert_held(l) \
	mmn_lockdep_assert_held((l), __mmn_lock_held(l), #l, __FILE__, __LINE__)
#define lockdep_assert_held_write(l) \
	mmn_lockdep_assert_held((l), mmn_rwsem_write_held_by_current(&(l)->s), #l " (write)", __FILE__, __LINE__)

#define lock_map_acquire(m)	mmn_lock_map_acquire((m), __FILE__, __LINE__)
#define lock_map_release(m)	mmn_lock_map_release(m)

#endif
