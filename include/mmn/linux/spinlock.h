/* SPDX-License-Identifier: GPL-2.0 */
/* spinlock_t for driver code: holding one is atomic context. */
#ifndef MMN_LINUX_SPINLOCK_H
#define MMN_LINUX_SPINLOCK_H

#include <mmn/rt.h>
#include <mmn/linux/compiler.h>

typedef struct { mmn_spinlock_t rlock; } spinlock_t;

#define spin_lock_init(l)	mmn_spin_lock_init(&(l)->rlock, #l)
#define spin_lock_destroy(l)	mmn_spin_lock_destroy(&(l)->rlock)
#define spin_lock(l)		mmn_spin_lock(&(l)->rlock, __FILE__, __LINE__)
#define spin_trylock(l)		mmn_spin_trylock(&(l)->rlock, __FILE__, __LINE__)
#define spin_unlock(l)		mmn_spin_unlock(&(l)->rlock)
#define spin_is_locked(l)	mmn_spin_is_locked(&(l)->rlock)
/* Interrupts do not exist in the lab: the _irq/_bh forms are the plain ones. */
#define spin_lock_irq(l)	spin_lock(l)
#define spin_unlock_irq(l)	spin_unlock(l)
#define spin_lock_bh(l)		spin_lock(l)
#define spin_unlock_bh(l)	spin_unlock(l)

#endif
