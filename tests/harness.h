/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A kselftest-shaped test harness: TEST(name) { ... } with ASSERT_*() and
 * EXPECT_*().  One executable per area; main() runs every TEST in the file
 * (or those named on the command line), prints KTAP, and closes with
 * "N passed, N failed".  An ASSERT failure ends the test; EXPECT continues.
 *
 * Each test runs with a fresh lab (rt + frame pool + empty report) set up
 * by the harness; at the end the harness checks that the frame pool, the
 * mm and VMA counts are back to their baseline and that no unexpected
 * violation was reported (tests that expect violations call
 * harness_expect_violations()).
 */
#ifndef MMN_TEST_HARNESS_H
#define MMN_TEST_HARNESS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mmn/mmn.h>

struct harness_test {
	const char *name;
	void (*fn)(void);
	const char *file;
	int line;
	unsigned long nr_frames;	/* 0: default */
	struct harness_test *next;
};

void harness_register(struct harness_test *t);
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Violations are part of this test's intent: do not fail on them. */
void harness_expect_violations(void);
/* Skip the end-of-test leak checks (a test that leaks on purpose). */
void harness_skip_leak_check(void);
extern bool harness_failed;

#define TEST_FRAMES(name, frames)                                           \
	static void test_##name(void);                                      \
	static struct harness_test __test_##name = {                        \
		#name, test_##name, __FILE__, __LINE__, (frames), NULL };   \
	__attribute__((constructor)) static void __reg_##name(void)         \
	{ harness_register(&__test_##name); }                               \
	static void test_##name(void)
#define TEST(name) TEST_FRAMES(name, 0)

#define __H_CMP(fatal, a, op, b) do {                                       \
	long long __a = (long long)(a), __b = (long long)(b);               \
	if (!(__a op __b)) {                                                \
		harness_fail(__FILE__, __LINE__,                            \
			"%s %s %s (%lld %s %lld)", #a, #op, #b, __a, #op, __b); \
		if (fatal) return;                                          \
	}                                                                   \
} while (0)

#define ASSERT_EQ(a, b) __H_CMP(1, a, ==, b)
#define ASSERT_NE(a, b) __H_CMP(1, a, !=, b)
#define ASSERT_LT(a, b) __H_CMP(1, a, <, b)
#define ASSERT_LE(a, b) __H_CMP(1, a, <=, b)
#define ASSERT_GT(a, b) __H_CMP(1, a, >, b)
#define ASSERT_GE(a, b) __H_CMP(1, a, >=, b)
#define EXPECT_EQ(a, b) __H_CMP(0, a, ==, b)
#define EXPECT_NE(a, b) __H_CMP(0, a, !=, b)
#define ASSERT_TRUE(c)  __H_CMP(1, !!(c), ==, 1)
#define ASSERT_FALSE(c) __H_CMP(1, !!(c), ==, 0)
#define EXPECT_TRUE(c)  __H_CMP(0, !!(c), ==, 1)
#define EXPECT_FALSE(c) __H_CMP(0, !!(c), ==, 0)
#define ASSERT_STR_CONTAINS(hay, needle) do {                               \
	const char *__h = (hay), *__n = (needle);                           \
	if (!__h || !strstr(__h, __n)) {                                    \
		harness_fail(__FILE__, __LINE__, "\"%s\" not found in:\n%s", \
			     __n, __h ? __h : "(null)");                    \
		return;                                                     \
	}                                                                   \
} while (0)

/* The text of the first recorded violation of @kind, or NULL. */
const char *harness_violation_text(enum mmn_violation_kind kind);

#endif
