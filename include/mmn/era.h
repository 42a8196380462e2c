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
 */
#ifndef MMN_ERA_H
#define MMN_ERA_H

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

#endif
