// SPDX-License-Identifier: GPL-2.0
/*
 * Driver plugins (src/mirrors/plugin.c): a bad path, a missing symbol and
 * a mismatched ABI get clear messages; the example out-of-tree driver
 * (examples/mydriver, built by tests/test_plugin.sh after an install into
 * a temporary prefix) behaves as a built-in one: its correct form is silent
 * through fork/COW, DONTNEED and munmap, its broken form is caught; a
 * plugin whose device crashes or hangs is a result of the explorer
 * (executions isolated in a child process), not the end of the lab.
 * Without MMN_PLUGIN_DIR (ctest's plain test_plugin run) only the tests
 * that need no built plugin run.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>

#include <mmn/device.h>
#include <mmn/explore.h>
#include <mmn/plugin.h>

#include "check/check.h"

#ifndef EXPECT_GT
#define EXPECT_GT(a, b) __H_CMP(0, a, >, b)
#endif

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

#define VAL_A	0xaaaa0001ULL
#define VAL_B	0xbbbb0002ULL
#define VAL_C	0xcccc0003ULL
#define VAL_D	0xdddd0004ULL

/* @name in MMN_PLUGIN_DIR, or NULL (skip) */
static const char *plugin_path(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("MMN_PLUGIN_DIR");

	if (!dir) {
		printf("# SKIP: MMN_PLUGIN_DIR not set (run by test_plugin.sh)\n");
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

TEST(missing_file_is_an_error)
{
	char *err = NULL;

	EXPECT_FALSE(mmn_plugin_load("/nonexistent/mydriver.so", &err));
	ASSERT_STR_CONTAINS(err, "mmnlab: plugin /nonexistent/mydriver.so: cannot load: ");
	free(err);
	err = NULL;
	EXPECT_FALSE(mmn_plugin_load("", &err));
	ASSERT_STR_CONTAINS(err, "empty path");
	free(err);
}

TEST(register_refuses_a_taken_name)
{
	static const char *const forms[] = { "correct", NULL };
	static const struct mmn_driver fake_kvm = {
		.abi_version = MMN_DEVICE_ABI_VERSION, .name = "kvm",
		.summary = "a plugin that takes a built-in name", .forms = forms,
	};
	static const struct mmn_driver other = {
		.abi_version = MMN_DEVICE_ABI_VERSION, .name = "other",
		.summary = "a registered driver", .forms = forms,
	};
	int n = 0;

	EXPECT_EQ(mmn_driver_register(&fake_kvm), -EEXIST);
	EXPECT_TRUE(mmn_driver_is_builtin(mmn_driver_find("kvm")));
	EXPECT_EQ(mmn_driver_register(&other), 0);
	EXPECT_EQ(mmn_driver_register(&other), 0);	/* again: no-op */
	EXPECT_EQ(mmn_driver_find("other"), &other);
	EXPECT_FALSE(mmn_driver_is_builtin(&other));
	for (int i = 0; mmn_driver_nth(i); i++)
		n += mmn_driver_nth(i) == &other;
	EXPECT_EQ(n, 1);
}

TEST(resolve_builtin_or_unknown)
{
	char *err = NULL;

	EXPECT_EQ(mmn_driver_resolve("xpmem", &err), mmn_driver_find("xpmem"));
	EXPECT_TRUE(err == NULL);
	EXPECT_FALSE(mmn_driver_resolve("nosuchdriver", &err));
	ASSERT_STR_CONTAINS(err, "unknown driver 'nosuchdriver'");
	free(err);
}

TEST(missing_symbol_is_an_error)
{
	const char *p = plugin_path("nosym.so");
	char *err = NULL;

	if (!p)
		return;
	EXPECT_FALSE(mmn_plugin_load(p, &err));
	ASSERT_STR_CONTAINS(err, "no symbol 'mmn_plugin_driver'");
	free(err);
}

TEST(mismatched_abi_is_an_error)
{
	const char *p = plugin_path("badabi.so");
	char *err = NULL;

	if (!p)
		return;
	EXPECT_FALSE(mmn_driver_resolve(p, &err));
	ASSERT_STR_CONTAINS(err, "built for device ABI 999, this mmnlab has ABI 1");
	free(err);
}

/* demo.c's fork + COW through a device of @drv in @form; returns reports */
static size_t fork_cow(const struct mmn_driver *drv, const char *form,
		       uint64_t *parent, uint64_t *child)
{
	struct mm_struct *mm, *ch;
	struct mmn_device *dev;
	uint64_t v;
	long va;
	int err;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, 4 * PG, RW, PRIV);
	mmn_store(mm, va, VAL_A);
	dev = mmn_device_create(drv->ops, mm, form, &err);
	if (!dev) {
		harness_fail(__FILE__, __LINE__, "device_create: %d", err);
		return 0;
	}
	v = VAL_B;
	mmn_device_access(dev, va, true, &v);
	ch = mmn_fork(mm, &err);
	mmn_store(mm, va, VAL_C);		/* COW */
	v = VAL_D;
	mmn_device_access(dev, va, true, &v);
	mmn_load(mm, va, parent);
	mmn_load(ch, va, child);
	/* DONTNEED and munmap too */
	mmn_device_access(dev, va + PG, true, &v);
	mmn_madvise(mm, va + PG, PG, MADV_DONTNEED);
	mmn_device_access(dev, va + PG, false, &v);
	mmn_munmap(mm, va + 2 * PG, PG);
	mmn_check_audit();
	mmn_exit(ch);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	return mmn_report_count();
}

TEST(example_driver_correct_silent)
{
	const char *p = plugin_path("mydriver.so");
	const struct mmn_driver *drv;
	uint64_t parent = 0, child = 0;
	char *err = NULL;

	if (!p)
		return;
	drv = mmn_plugin_load(p, &err);
	ASSERT_TRUE(drv);
	EXPECT_EQ(strcmp(drv->name, "mydriver"), 0);
	EXPECT_EQ(fork_cow(drv, "correct", &parent, &child), 0);
	EXPECT_EQ(parent, VAL_D);
	EXPECT_EQ(child, VAL_B);
}

TEST(example_driver_broken_caught)
{
	const char *p = plugin_path("mydriver.so");
	const struct mmn_driver *drv;
	uint64_t parent = 0, child = 0;
	char *err = NULL;

	if (!p)
		return;
	drv = mmn_plugin_load(p, &err);
	ASSERT_TRUE(drv);
	harness_expect_violations();
	EXPECT_GT(fork_cow(drv, "no-erase", &parent, &child), 0);
	EXPECT_EQ(child, VAL_D);		/* the device wrote the child's page */
	EXPECT_GT(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 0);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "in mydriver (form no-erase)");
}

/* ---- crash and hang isolation (the explorer's child processes) ---- */

struct crashing {
	const struct mmn_driver *drv;
	const char *form;
};

static void crash_setup(void *arg)
{
	struct mmn_mem_config mc = { .nr_frames = 256 };

	mmn_mem_init(&mc);
}

static void crash_teardown(void *arg)
{
	if (!mmn_explore_aborted())
		mmn_mem_exit();
}

static void crash_run(void *arg)
{
	struct crashing *c = arg;
	struct mm_struct *mm = mmn_mm_create();
	struct mmn_device *dev;
	uint64_t v = 0;
	long va;
	int err;

	va = mmn_mmap(mm, 0, PG, RW, PRIV);
	dev = mmn_device_create(c->drv->ops, mm, c->form, &err);
	if (dev) {
		mmn_device_access(dev, va, false, &v);	/* crashes or hangs */
		mmn_device_destroy(dev);
	}
	mmn_exit(mm);
}

static const struct mmn_explore_ops crash_ops = {
	crash_setup, crash_run, crash_teardown
};

TEST(crashing_and_hanging_plugin_isolated)
{
	const char *p = plugin_path("crash.so");
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_RANDOM, .seed = 1, .runs = 3,
		.isolate = true, .hang_timeout = 1,
	};
	struct mmn_explore_result r;
	struct crashing c;
	char *err = NULL;

	if (!p)
		return;
	c.drv = mmn_plugin_load(p, &err);
	ASSERT_TRUE(c.drv);
	c.form = "segv";
	ASSERT_EQ(mmn_explore(&cfg, &crash_ops, &c, &r), 0);
	ASSERT_TRUE(r.found);
	EXPECT_EQ(r.status, MMN_EXEC_CRASHED);
	/* ASan catches the SIGSEGV itself and exits non-zero, or aborts
	 * (SIGABRT) with abort_on_error=1 */
	if (!getenv("MMN_TEST_SANITIZE") || !getenv("MMN_TEST_SANITIZE")[0])
		EXPECT_EQ(r.signal, SIGSEGV);
	else
		EXPECT_TRUE(r.signal == SIGSEGV || r.signal == SIGABRT ||
			    r.exit_code != 0);
	ASSERT_STR_CONTAINS(r.report, "crashed");
	mmn_explore_result_free(&r);

	c.form = "hang";
	ASSERT_EQ(mmn_explore(&cfg, &crash_ops, &c, &r), 0);
	ASSERT_TRUE(r.found);
	EXPECT_EQ(r.status, MMN_EXEC_HUNG);
	ASSERT_STR_CONTAINS(r.report, "hung");
	mmn_explore_result_free(&r);
	/* and the lab is still here */
	EXPECT_EQ(mmn_report_count(), 0);
}
