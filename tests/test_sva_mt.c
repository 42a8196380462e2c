// SPDX-License-Identifier: GPL-2.0
/*
 * sva, correct form, under real threads (TSan clean): a CPU task and a
 * device agent on the same pages while the CPU mprotects; no report,
 * clean audit.  See mirror_stress.h.
 *
 * No DONTNEED: the lab resets a zapped location's ghost when the zap
 * starts, while SVA may legally read the old frame through its IOTLB until
 * the flush after range_end -- the checker reports a false stale-read in
 * that legal window (an open issue of mm/ + check/, see docs/drivers.md).
 * No fork: the parent's write-protect is flushed only at the end of
 * dup_mmap, so a device write in between reaches the page the child now
 * shares -- Linux's accepted window for CPU TLBs too, which the ghost
 * (copied per pte at fork) would report.
 */
#include "mirror_stress.h"
#include "mirrors/sva.h"

TEST(sva_correct_stress)
{
	int errors = 0;

	EXPECT_EQ(mirror_stress(&mmn_driver_sva, "correct", false, false, &errors), 0);
	EXPECT_EQ(errors, 0);
}
