/* SPDX-License-Identifier: GPL-2.0 */
/* Wait queues for driver code. */
#ifndef MMN_LINUX_WAIT_H
#define MMN_LINUX_WAIT_H

#include <mmn/rt.h>
#include <mmn/linux/compiler.h>

typedef struct { mmn_wait_queue_head_t q; } wait_queue_head_t;

#define init_waitqueue_head(w)	mmn_init_waitqueue_head(&(w)->q, #w)
#define destroy_waitqueue_head(w) mmn_wait_queue_destroy(&(w)->q)
#define wake_up(w)		mmn_wake_up_all(&(w)->q)
#define wake_up_all(w)		mmn_wake_up_all(&(w)->q)
/* wait_event(wq, cond): sleeps (might_sleep) until cond is true. */
#define wait_event(w, cond)	mmn_wait_event(&(w).q, (cond), __FILE__, __LINE__)

#endif
