/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MMN_LINUX_SRCU_H
#define MMN_LINUX_SRCU_H

#include <mmn/rt.h>

struct srcu_struct { struct mmn_srcu_struct s; };
#define rcu_head mmn_rcu_head

#define init_srcu_struct(x)	mmn_init_srcu_struct(&(x)->s, #x)
#define cleanup_srcu_struct(x)	mmn_cleanup_srcu_struct(&(x)->s)
#define srcu_read_lock(x)	mmn_srcu_read_lock(&(x)->s, __FILE__, __LINE__)
#define srcu_read_unlock(x, i)	mmn_srcu_read_unlock(&(x)->s, (i))
#define synchronize_srcu(x)	mmn_synchronize_srcu(&(x)->s, __FILE__, __LINE__)
#define call_srcu(x, h, f)	mmn_call_srcu(&(x)->s, (h), (f))
#define srcu_barrier(x)		mmn_srcu_barrier(&(x)->s)

#endif
