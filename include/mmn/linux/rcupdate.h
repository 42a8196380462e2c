/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MMN_LINUX_RCUPDATE_H
#define MMN_LINUX_RCUPDATE_H

#include <mmn/rt.h>

#define rcu_read_lock()		mmn_rcu_read_lock(__FILE__, __LINE__)
#define rcu_read_unlock()	mmn_rcu_read_unlock()

#endif
