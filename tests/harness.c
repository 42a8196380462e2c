// SPDX-License-Identifier: GPL-2.0
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

static struct harness_test *tests, **tests_tail = &tests;
bool harness_failed;
static bool expect_violations, skip_leak_check;

void harness_register(struct harness_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# Assert FAILED at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	harness_failed = true;
}

void harness_expect_violations(void)
{
	expect_violations = true;
}

void harness_skip_leak_check(void)
{
	skip_leak_check = true;
}

const char *harness_violation_text(enum mmn_violation_kind kind)
{
	for (size_t i = 0; i < mmn_report_count(); i++) {
		const struct mmn_violation *v = mmn_report_get(i);

		if (v->kind == kind)
			return v->text;
	}
	return NULL;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

static void check_baseline(const struct mmn_mem_stats *base)
{
	struct mmn_mem_stats now;

	mmn_mem_stats(&now);
#define BASE(f) do { if (now.f != base->f) harness_fail(__FILE__, __LINE__, \
	"leak check: " #f " is %lu, was %lu at test start", now.f, base->f); } while (0)
	BASE(free_frames);
	BASE(anon_pages);
	BASE(file_pages);
	BASE(nr_mms);
	BASE(nr_vmas);
	BASE(nr_anon_vmas);
	BASE(nr_mappings);
	BASE(swap_used);
	BASE(swap_cache_pages);
#undef BASE
}

int main(int argc, char **argv)
{
	int n = 0, passed = 0, failed = 0;
	struct harness_test *t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = tests; t; t = t->next)
		if (selected(t->name, argc, argv))
			n++;
	printf("KTAP version 1\n1..%d\n", n);
	n = 0;
	for (t = tests; t; t = t->next) {
		struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
		struct mmn_mem_config mc = { .nr_frames = t->nr_frames };
		struct mmn_mem_stats base;

		if (!selected(t->name, argc, argv))
			continue;
		n++;
		harness_failed = false;
		expect_violations = false;
		skip_leak_check = false;
		mmn_rt_init(&rc);
		mmn_era = MMN_ERA_6_12;
		mmn_era_opts = 0;
		if (mmn_mem_init(&mc)) {
			printf("not ok %d %s # ERROR mmn_mem_init\n", n, t->name);
			failed++;
			mmn_rt_exit();
			continue;
		}
		mmn_report_reset();
		mmn_mem_stats(&base);
		t->fn();
		if (!harness_failed && !skip_leak_check)
			check_baseline(&base);
		if (!expect_violations && mmn_report_count()) {
			harness_fail(t->file, t->line,
				     "%zu unexpected violation(s):", mmn_report_count());
			mmn_report_print(stdout);
		}
		mmn_report_reset();
		mmn_mem_exit();
		mmn_rt_exit();
		if (harness_failed) {
			printf("not ok %d %s\n", n, t->name);
			failed++;
		} else {
			printf("ok %d %s\n", n, t->name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
