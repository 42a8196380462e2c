// SPDX-License-Identifier: GPL-2.0
/*
 * mmnlab demo: the fork + COW case of the 2010 thread, step by step, with
 * a device mirroring the parent through each built-in driver form.
 *
 *   1. the parent writes A to a private anonymous page
 *   2. the device writes B to it (faults a writable translation in)
 *   3. fork(): the parent's ptes are write-protected (PROTECTION_PAGE)
 *   4. the parent writes C: do_wp_page copies the page (wp_page_copy, CLEAR)
 *   5. the device writes D
 *   6. the parent reads its page; the child reads its page
 *
 * A correct driver dropped its writable translation at step 3 (or 4), so
 * step 5 faults and lands in the parent's new page.  A driver that defers
 * its invalidation still writes the old page at step 5: that page now
 * belongs to the child alone, and the parent's write is lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/mmn.h>

#include "check/check.h"
#include "cli/cli.h"
#include "mirrors/dmirror.h"
#include "mirrors/kvm.h"
#include "mirrors/xpmem.h"

struct demo_result {
	uint64_t parent, child;
	size_t violations;
	char first[64];
};

static void hold_worker(struct mmn_device *dev, bool hold)
{
	if (dev->ops == mmn_driver_dmirror.ops)
		dmirror_hold_worker(dev, hold);
	else if (dev->ops == mmn_driver_kvm.ops)
		kvm_hold_worker(dev, hold);
	else if (dev->ops == mmn_driver_xpmem.ops)
		xpmem_hold_worker(dev, hold);
}

static int demo_one(const struct mmn_driver *drv, const char *form,
		    bool verbose, struct demo_result *res)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	struct mmn_mem_config mc = { .nr_frames = 1024 };
	struct mm_struct *parent, *child;
	struct mmn_device *dev;
	uint64_t v;
	long addr;
	int err;

	mmn_rt_init(&rc);
	if (mmn_mem_init(&mc))
		return -ENOMEM;
	mmn_report_reset();
	mmn_check_begin();

	parent = mmn_mm_create();
	addr = mmn_mmap(parent, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	mmn_store(parent, addr, 0xA);
	dev = mmn_device_create(drv->ops, parent, form, &err);
	if (!dev)
		return err;
	hold_worker(dev, true);
	v = 0xB;
	mmn_device_access(dev, addr, true, &v);
	child = mmn_fork(parent, &err);
	mmn_store(parent, addr, 0xC);
	v = 0xD;
	mmn_device_access(dev, addr, true, &v);
	mmn_load(parent, addr, &res->parent);
	mmn_load(child, addr, &res->child);
	mmn_check_audit();

	hold_worker(dev, false);
	mmn_exit(child);
	mmn_device_destroy(dev);
	mmn_exit(parent);
	mmn_check_end();

	res->violations = mmn_report_count();
	res->first[0] = 0;
	if (res->violations)
		snprintf(res->first, sizeof(res->first), "%s",
			 mmn_violation_name(mmn_report_get(0)->kind));
	if (verbose && res->violations)
		mmn_report_print(stdout);
	mmn_report_reset();
	mmn_mem_exit();
	mmn_rt_exit();
	return 0;
}

int mmn_cmd_demo(int argc, char **argv)
{
	bool verbose = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: mmnlab demo [-v]\n\n"
			       "Runs fork + COW with a device mirroring the parent, for every built-in\n"
			       "driver form, and prints what each step left in memory and what the\n"
			       "checker reported.  -v prints the full reports.\n");
			return 0;
		} else {
			fprintf(stderr, "mmnlab demo: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}

	printf("mmnlab %s demo: fork + COW with a mirroring device (era %s)\n\n",
	       MMN_VERSION_STRING, mmn_era_name(mmn_era));
	printf("  parent writes 0xA; device writes 0xB; fork; parent writes 0xC (COW);\n"
	       "  device writes 0xD; then each process reads its page.\n"
	       "  Expected: parent 0xd, child 0xb.\n\n");
	printf("  %-8s %-20s %-8s %-8s %s\n", "driver", "form", "parent", "child",
	       "verdict");
	for (int i = 0; mmn_builtin_drivers[i]; i++) {
		const struct mmn_driver *drv = mmn_builtin_drivers[i];

		for (int f = 0; drv->forms[f]; f++) {
			struct demo_result res;
			int ret = demo_one(drv, drv->forms[f], verbose, &res);

			if (ret) {
				fprintf(stderr, "mmnlab demo: %s/%s failed: %s\n",
					drv->name, drv->forms[f], strerror(-ret));
				return 1;
			}
			printf("  %-8s %-20s %#-8" PRIx64 " %#-8" PRIx64 " %s%s%s\n",
			       drv->name, drv->forms[f], res.parent, res.child,
			       res.violations ? "VIOLATION " : "ok",
			       res.violations ? res.first : "",
			       res.violations > 1 ? " (and more)" : "");
		}
	}
	return 0;
}
