/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MMN_LINUX_COMPLETION_H
#define MMN_LINUX_COMPLETION_H

#include <mmn/rt.h>

struct completion { struct mmn_completion c; };

#define init_completion(x)	mmn_init_completion(&(x)->c, #x)
#define reinit_completion(x)	mmn_reinit_completion(&(x)->c)
#define destroy_completion(x)	mmn_completion_destroy(&(x)->c)
#define wait_for_completion(x)	mmn_wait_for_completion(&(x)->c, __FILE__, __LINE__)
#define try_wait_for_completion(x) mmn_try_wait_for_completion(&(x)->c)
#define complete(x)		mmn_complete(&(x)->c)
#define complete_all(x)		mmn_complete_all(&(x)->c)

#endif
