/* SPDX-License-Identifier: GPL-2.0 */
/* gru: the SGI GRU's TLB, range-active counter and dropin (see gru.c). */
#ifndef MMN_MIRRORS_GRU_H
#define MMN_MIRRORS_GRU_H

#include <mmn/device.h>

#define GRU_TLB_ENTRIES	8

extern const struct mmn_driver mmn_driver_gru;

/*
 * The interrupt-context dropin (gru_intr -> gru_try_dropin with atomic
 * lookups): never waits.  Returns 0 (entry installed), -EAGAIN ("range
 * active": the user-context dropin must retry) or -EFAULT (not mapped).
 */
int gru_try_dropin(struct mmn_device *dev, unsigned long va, bool write);
/* Introspection for tests. */
long gru_range_active(struct mmn_device *dev);
unsigned int gru_tlb_used(struct mmn_device *dev);
/* Tests only: after an `unbalanced` hang was shown, drop the counter to
 * zero and wake the sleepers so that the test can clean up. */
void gru_test_rescue(struct mmn_device *dev);

#endif
