/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rule sets ("eras").  The era is chosen per run; the same driver code runs
 * under each, and the checker says what is legal where.
 *
 *   6.12   (default) SRCU list, sleepable range_start with the blockable
 *          flag, interval notifiers, arch_invalidate_secondary_tlbs from the
 *          TLB-flush points; no change_pte, invalidate_range, invalidate_page.
 *   6.1    as 6.12, plus change_pte (set_pte_at_notify, inside start/end)
 *          and invalidate_range (under the PT lock in the *_clear_flush_notify
 *          helpers, from range_end and from the TLB-gather flush).
 *   2.6.33 every callback under rcu_read_lock, spinlock rmap locks, per-CPU
 *          TLB gather around unmap_vmas, invalidate_page, no blockable flag,
 *          no interval notifiers.
 *
 * Era options: variants of one rule set, chosen per run with the era (they
 * are not eras of their own: every "mmn_era == ..." test stays true).
 *
 *   MMN_ERA_OPT_HOLT  2.6.33 only, written "2.6.33+holt" (scenario era
 *          line) or --holt-atomic (command line): Robin Holt's unmerged
 *          "[RFP-V2] Make mmu_notifier_invalidate_range_start able to
 *          sleep" (Feb 2010, reference linux-2.6.33.md section 4):
 *            1/3  the list is walked under SRCU instead of RCU, so a
 *                 callback may sleep wherever the call site holds no
 *                 spinlock;
 *            2/3  unmap_vmas() takes the per-CPU TLB gather after
 *                 range_start (no preemption-off around start);
 *            3/3  range_start takes `bool atomic` and returns int
 *                 (->invalidate_range_start_atomic): atomic is true only on
 *                 the truncate path under i_mmap_lock; a non-zero return
 *                 there makes unmap_mapping_range_vma() drop i_mmap_lock,
 *                 call start(atomic = false) and end outside it, relock and
 *                 restart the walk.
 */
#ifndef MMN_ERA_H
#define MMN_ERA_H

#include <stdbool.h>
#include <stddef.h>

#define MMN_ERAS(X)                  \
	X(6_12, "6.12")              \
	X(6_1, "6.1")                \
	X(2_6_33, "2.6.33")

enum mmn_era {
#define X(e, s) MMN_ERA_##e,
	MMN_ERAS(X)
#undef X
	MMN_ERA__COUNT
};

extern enum mmn_era mmn_era;	/* of the current run; default MMN_ERA_6_12 */

const char *mmn_era_name(enum mmn_era era);
/* Returns -1 for an unknown name. */
int mmn_era_parse(const char *name);

/* ---- era options ---------------------------------------------------- */

#define MMN_ERA_OPT_HOLT	(1u << 0)	/* "+holt", era 2.6.33 only */

/* Of the current run (0: the plain era); set with mmn_era. */
extern unsigned int mmn_era_opts;
/*
 * Options forced on every scenario instance whose era has them (the
 * command line's --holt-atomic); scn_setup() ORs them into mmn_era_opts.
 */
extern unsigned int mmn_era_opts_force;

/* Robin Holt's proposal is in force: era 2.6.33 with MMN_ERA_OPT_HOLT. */
static inline bool mmn_era_holt(void)
{
	return mmn_era == MMN_ERA_2_6_33 && (mmn_era_opts & MMN_ERA_OPT_HOLT);
}

/* The options @era can have (0 if none). */
unsigned int mmn_era_opts_valid(enum mmn_era era);
/*
 * "ERA" or "ERA+OPTION..." ("2.6.33+holt"): the era, and its options in
 * *@opts.  Returns -1 for an unknown era or option, or an option the era
 * does not have.
 */
int mmn_era_parse_opts(const char *name, unsigned int *opts);
/* "2.6.33+holt" into @buf (size @n); returns @buf. */
const char *mmn_era_full_name(enum mmn_era era, unsigned int opts, char *buf,
			      size_t n);

#endif
