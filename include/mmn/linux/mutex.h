/* SPDX-License-Identifier: GPL-2.0 */
/* struct mutex for driver code: may sleep. */
#ifndef MMN_LINUX_MUTEX_H
#define MMN_LINUX_MUTEX_H

#include <mmn/rt.h>
#include <mmn/linux/compiler.h>

struct mutex { mmn_mutex_t m; };

#define mutex_init(x)		mmn_mutex_init(&(x)->m, #x)
#define mutex_destroy(x)	mmn_mutex_destroy(&(x)->m)
#define mutex_lock(x)		mmn_mutex_lock(&(x)->m, __FILE__, __LINE__)
#define mutex_trylock(x)	mmn_mutex_trylock(&(x)->m, __FILE__, __LINE__)
#define mutex_unlock(x)		mmn_mutex_unlock(&(x)->m)
#define mutex_is_locked(x)	mmn_mutex_is_locked(&(x)->m)

#endif
