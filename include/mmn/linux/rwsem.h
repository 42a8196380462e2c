/* SPDX-License-Identifier: GPL-2.0 */
/* struct rw_semaphore for driver code: may sleep. */
#ifndef MMN_LINUX_RWSEM_H
#define MMN_LINUX_RWSEM_H

#include <mmn/rt.h>
#include <mmn/linux/compiler.h>

struct rw_semaphore { mmn_rwsem_t s; };

#define init_rwsem(x)		mmn_rwsem_init(&(x)->s, #x)
#define destroy_rwsem(x)	mmn_rwsem_destroy(&(x)->s)
#define down_read(x)		mmn_down_read(&(x)->s, __FILE__, __LINE__)
#define down_read_trylock(x)	mmn_down_read_trylock(&(x)->s, __FILE__, __LINE__)
#define up_read(x)		mmn_up_read(&(x)->s)
#define down_write(x)		mmn_down_write(&(x)->s, __FILE__, __LINE__)
#define down_write_trylock(x)	mmn_down_write_trylock(&(x)->s, __FILE__, __LINE__)
#define up_write(x)		mmn_up_write(&(x)->s)
#define downgrade_write(x)	mmn_downgrade_write(&(x)->s)
#define rwsem_is_locked(x)	mmn_rwsem_is_locked(&(x)->s)

#endif
