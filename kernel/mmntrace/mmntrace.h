/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmntrace: the ioctl ABI of our MMU-notifier tracing module, shared by
 * the module (mmntrace.c) and the test program (../mmntest/mmntest.c).
 *
 * One open file = one session: a classic notifier (and, from 6.6, a
 * second notifier for arch_invalidate_secondary_tlbs) on the mm of the
 * process that called MMNTR_REGISTER, plus at most one interval notifier.
 * Every callback of every session goes to one global log, so that the
 * callbacks a process exit fires can be read afterwards by its parent.
 * read() returns the log as text, one record per line (format in
 * mmntrace.c), from the file position (a record index) on.
 */
#ifndef MMNTRACE_H
#define MMNTRACE_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
typedef uint64_t __u64;
#endif

#define MMNTR_DEV		"/dev/mmntrace"
#define MMNTR_MARK_LEN		80

struct mmntr_interval {
	__u64 start;
	__u64 length;
};

struct mmntr_mark {
	char text[MMNTR_MARK_LEN];	/* NUL-terminated */
};

#define MMNTR_IOC_MAGIC		'M'
/* register on current->mm: the classic notifier, and the tlbs one (>= 6.6) */
#define MMNTR_REGISTER		_IO(MMNTR_IOC_MAGIC, 1)
/* mmu_notifier_unregister: the tlbs notifier first, then the classic one */
#define MMNTR_UNREGISTER	_IO(MMNTR_IOC_MAGIC, 2)
#define MMNTR_INTERVAL_INSERT	_IOW(MMNTR_IOC_MAGIC, 3, struct mmntr_interval)
#define MMNTR_INTERVAL_REMOVE	_IO(MMNTR_IOC_MAGIC, 4)
/* append "# TEXT" to the log */
#define MMNTR_MARK		_IOW(MMNTR_IOC_MAGIC, 5, struct mmntr_mark)
/* empty the log */
#define MMNTR_CLEAR		_IO(MMNTR_IOC_MAGIC, 6)

#endif
