/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error pointers, kernel-shaped (<linux/err.h>): a pointer-returning
 * function returns ERR_PTR(-errno) on failure (mmu_notifier_get(), a
 * driver's alloc_notifier).  The last 4095 addresses are never valid.
 */
#ifndef MMN_LINUX_ERR_H
#define MMN_LINUX_ERR_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_ERRNO	4095

/* spelled exactly as src/mm/internal.h spells it: a benign redefinition */
#define IS_ERR_VALUE(x)	((unsigned long)(x) >= (unsigned long)-4095)

static inline void *ERR_PTR(long error)
{
	return (void *)(intptr_t)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)(intptr_t)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE((uintptr_t)ptr);
}

static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return !ptr || IS_ERR(ptr);
}

#endif
