/* SPDX-License-Identifier: GPL-2.0 */
/* might_sleep(), cond_resched(), current. */
#ifndef MMN_LINUX_SCHED_H
#define MMN_LINUX_SCHED_H

#include <mmn/rt.h>
#include <mmn/linux/preempt.h>

#define current			mmn_current()
#define might_sleep()		mmn_might_sleep(__FILE__, __LINE__)
#define cond_resched()		mmn_cond_resched(__FILE__, __LINE__)
#define schedule()		mmn_cond_resched(__FILE__, __LINE__)

#endif
