/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel-shaped basics for driver code: likely(), READ_ONCE(), BUG_ON() ... */
#ifndef MMN_LINUX_COMPILER_H
#define MMN_LINUX_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif
#define __must_check	__attribute__((warn_unused_result))
#define __maybe_unused	__attribute__((unused))

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#if defined(__SANITIZE_THREAD__)
/* TSan does not model fences: a seq_cst RMW on a dummy orders as well. */
static int __mmn_fence_word __attribute__((unused));
#define smp_mb()	((void)__atomic_fetch_add(&__mmn_fence_word, 0, __ATOMIC_SEQ_CST))
#define smp_rmb()	smp_mb()
#define smp_wmb()	smp_mb()
#else
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#ifndef min
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif

/* WARN_ON() records a lab-bug/driver-bug violation instead of a splat. */
void __mmn_warn(const char *cond, const char *file, int line);
#define WARN_ON(c) ({ bool __w = !!(c); if (unlikely(__w)) __mmn_warn(#c, __FILE__, __LINE__); __w; })
#define WARN_ON_ONCE(c) WARN_ON(c)

#endif
