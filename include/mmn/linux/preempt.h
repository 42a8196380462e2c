/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MMN_LINUX_PREEMPT_H
#define MMN_LINUX_PREEMPT_H

#include <mmn/rt.h>

#define preempt_disable()	mmn_preempt_disable()
#define preempt_enable()	mmn_preempt_enable()
#define preempt_count()		mmn_preempt_count()
#define in_atomic()		mmn_in_atomic()
#define non_block_start()	mmn_non_block_start()
#define non_block_end()		mmn_non_block_end()

#endif
