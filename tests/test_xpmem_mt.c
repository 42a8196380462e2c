// SPDX-License-Identifier: GPL-2.0
/*
 * xpmem, correct form, under real threads (TSan clean): a CPU task and a
 * device agent on the same pages while the CPU DONTNEEDs, mprotects and
 * forks; no report, clean audit.  See mirror_stress.h.
 * Note: the device's accesses are B's CPU through its attachment (xpmem_attacher()); forks included.
 */
#include "mirror_stress.h"
#include "mirrors/xpmem.h"

TEST(xpmem_correct_stress)
{
	int errors = 0;

	EXPECT_EQ(mirror_stress(&mmn_driver_xpmem, "correct", true, true, &errors), 0);
	EXPECT_EQ(errors, 0);
}
