/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A recording secondary MMU: subscribes to an mm like a driver would and
 * appends one normalised line per callback, in the order the callbacks
 * ran.  Tests pin the notifier call sequence of each primary-MMU operation
 * with it, and the same lines are what a trace of a real kernel (recorded
 * by our tracing module under QEMU, DESIGN.md section 8) is normalised to.
 *
 * Line formats ([a,b) is the range, end exclusive, in hex; blk is
 * mmu_notifier_range_blockable(); atomic is in_atomic() sampled when the
 * callback was entered; seq is the cur_seq handed to an interval
 * invalidate):
 *
 *   start EVENT [a,b) blk=B atomic=A           invalidate_range_start
 *   end EVENT [a,b) blk=B atomic=A             invalidate_range_end
 *   interval EVENT [a,b) blk=B seq=N           interval invalidate
 *   release                                    ->release (classic notifier)
 *   release tlbs                               ->release (tlbs notifier)
 *   arch_invalidate_secondary_tlbs [a,b) atomic=A
 *   clear_flush_young [a,b) atomic=A
 *   clear_young [a,b) atomic=A
 *   test_young ADDR atomic=A
 *   invalidate_range [a,b) atomic=A            legacy (6.1)
 *   change_pte ADDR atomic=A                   legacy (6.1, 2.6.33)
 *   invalidate_page ADDR atomic=A              legacy (2.6.33)
 *   start_atomic [a,b) arg=X ret=R atomic=A    2.6.33+holt: Robin Holt's
 *                                              range_start, X its `atomic`
 *                                              argument, R what it returned
 *   # TEXT                                     mmn_recorder_mark()
 *
 * Addresses print as 0x%lx.  With a base set (mmn_recorder_set_base) they
 * print relative to it, as +0xOFF or -0xOFF, except 0 and ULONG_MAX, the
 * bounds of the whole-address-space ranges (fork's flush_tlb_mm, exit),
 * which stay absolute: [0x0,0xffffffffffffffff).
 */
#ifndef MMN_RECORDER_H
#define MMN_RECORDER_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mm_struct;
struct mmn_recorder;

/*
 * The classic notifier (start, end, release and the young callbacks) is
 * always registered.  It cannot also carry arch_invalidate_secondary_tlbs
 * (registration refuses the combination), so that one lives on a second
 * notifier, the "tlbs" notifier, which also has release.
 */
#define MMN_REC_TLBS	(1u << 0)	/* register the tlbs notifier */
#define MMN_REC_LEGACY	(1u << 1)	/* classic notifier also has change_pte,
					 * invalidate_range, invalidate_page */
#define MMN_REC_NO_YOUNG (1u << 2)	/* classic notifier without the young
					 * callbacks */
#define MMN_REC_HOLT	(1u << 3)	/* era 2.6.33+holt: the classic notifier's
					 * start is invalidate_range_start_atomic
					 * (with MMN_REC_LEGACY: and the legacy
					 * callbacks) */

/* Register on @mm (mm_users > 0, mmap_lock not held).  NULL + *err. */
struct mmn_recorder *mmn_recorder_create(struct mm_struct *mm, unsigned int flags,
					 int *err);
/* Also insert an interval notifier over [start, start + length). */
int mmn_recorder_add_interval(struct mmn_recorder *rec, unsigned long start,
			      unsigned long length);
/* Remove the interval notifier (no interval lines after this returns). */
void mmn_recorder_remove_interval(struct mmn_recorder *rec);
/* Unregister the classic and tlbs notifiers now (->release runs, and is
 * recorded, if exit has not run it yet). */
void mmn_recorder_unregister(struct mmn_recorder *rec);

/* MMN_REC_HOLT: refuse (return 1 from) the next @n starts with atomic
 * true, as XPMEM would with pages attached. */
void mmn_recorder_refuse_atomic(struct mmn_recorder *rec, unsigned int n);

/* Print addresses relative to @base from now on (0: absolute). */
void mmn_recorder_set_base(struct mmn_recorder *rec, unsigned long base);
/* Append "# TEXT" (a phase marker). */
void mmn_recorder_mark(struct mmn_recorder *rec, const char *text);

/*
 * The lines so far, '\n'-terminated, "" if none.  The pointer is valid
 * until the next recorded line, clear or destroy: with callbacks possibly
 * running concurrently use mmn_recorder_dup_text() (free() the result).
 */
const char *mmn_recorder_text(struct mmn_recorder *rec);
char *mmn_recorder_dup_text(struct mmn_recorder *rec);
unsigned long mmn_recorder_lines(struct mmn_recorder *rec);
void mmn_recorder_clear(struct mmn_recorder *rec);

/* Unregister whatever is still registered and free.  May sleep. */
void mmn_recorder_destroy(struct mmn_recorder *rec);

#ifdef __cplusplus
}
#endif
#endif
