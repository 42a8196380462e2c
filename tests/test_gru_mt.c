// SPDX-License-Identifier: GPL-2.0
/*
 * gru, correct form, under real threads (TSan clean): a CPU task and a
 * device agent on the same pages while the CPU DONTNEEDs, mprotects and
 * forks; no report, clean audit.  See mirror_stress.h.
 * Note: GRU invalidates in range_start: forks included.
 */
#include "mirror_stress.h"
#include "mirrors/gru.h"

TEST(gru_correct_stress)
{
	int errors = 0;

	EXPECT_EQ(mirror_stress(&mmn_driver_gru, "correct", true, true, &errors), 0);
	EXPECT_EQ(errors, 0);
}
