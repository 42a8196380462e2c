// SPDX-License-Identifier: GPL-2.0
/*
 * sva, correct form, under real threads (TSan clean): a CPU task and a
 * device agent on the same pages while the CPU mprotects; no report,
 * clean audit.  See mirror_stress.h.
 *
 * With DONTNEED and fork: SVA may legally read the old frame through its
 * IOTLB between the zap and the flush after range_end, and a device write
 * between fork's write-protect and the flush at the end of dup_mmap is
 * Linux's accepted window for CPU TLBs too; the checker judges neither
 * (accesses in a legal window are not judged on the ghost, rule (b) skips
 * TLB-flush windows: docs/checker.md).  Left out here until that was
 * fixed; 0 reports in 80 runs since.
 */
#include "mirror_stress.h"
#include "mirrors/sva.h"

TEST(sva_correct_stress)
{
	int errors = 0;

	EXPECT_EQ(mirror_stress(&mmn_driver_sva, "correct", true, true, &errors), 0);
	EXPECT_EQ(errors, 0);
}
