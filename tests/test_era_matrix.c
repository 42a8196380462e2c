// SPDX-License-Identifier: GPL-2.0
/*
 * The notifier call sequence of every primary-MMU operation under every
 * era, pinned in one reviewed file: tests/golden/era-matrix.txt.
 *
 * Each operation runs on a fresh process with a recording notifier (the
 * classic notifier with the legacy callbacks, so that 6.1's change_pte and
 * invalidate_range and 2.6.33's invalidate_page show), once per era, and
 * its lines are compared with the golden section "== OP ERA".  The 6.12
 * and 6.1 sections agree with the real-kernel traces where one exists
 * (kernel/traces/, `make kernel-check`); the 2.6.33 sections were read
 * against ../shared/reference/linux-2.6.33.md section 2, line by line
 * (docs/validation.md, "2.6.33").  test_eras.c and test_notifier.c pin
 * the same sequences with the reasoning next to each; this file is the
 * whole matrix, so that no operation is left unpinned in some era.
 *
 * After a deliberate change: MMN_GOLDEN_UPDATE=1 ./test_era_matrix
 * rewrites the file; review the diff like code.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/era.h>
#include <mmn/mm.h>
#include <mmn/recorder.h>
#include <mmn/linux/mmu_notifier.h>

#include "mm/internal.h"

#define PG(n)	((unsigned long)(n) * PAGE_SIZE)
#define A	0x40000000UL		/* 1 GiB: PMD aligned */
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

struct op_ctx {
	struct mm_struct *mm;
	struct mmn_recorder *rec;
	struct file *file;
	bool exited;		/* the op ran exit itself */
};

/* ---- set-ups ------------------------------------------------------------ */

static int fill(struct mm_struct *mm, unsigned long va, unsigned long pages,
		bool same)
{
	for (unsigned long i = 0; i < pages; i++) {
		int err = mmn_store(mm, va + PG(i), same ? 0x5a5a : 0x1000 + i);

		if (err)
			return err;
	}
	return 0;
}

/* Four private anonymous pages at A, each written. */
static int anon4(struct op_ctx *c)
{
	if (mmn_mmap(c->mm, A, PG(4), RW, PRIV) != (long)A)
		return -ENOMEM;
	return fill(c->mm, A, 4, false);
}

/* Two identical pages at A, MADV_MERGEABLE (KSM). */
static int anon_same2(struct op_ctx *c)
{
	if (mmn_mmap(c->mm, A, PG(2), RW, PRIV) != (long)A)
		return -ENOMEM;
	if (fill(c->mm, A, 2, true))
		return -EFAULT;
	return mmn_madvise(c->mm, A, PG(2), MADV_MERGEABLE);
}

/* A 2 MiB MADV_HUGEPAGE area at A, faulted huge by one store. */
static int thp_huge(struct op_ctx *c)
{
	if (mmn_mmap(c->mm, A, PMD_SIZE, RW, PRIV) != (long)A)
		return -ENOMEM;
	if (mmn_madvise(c->mm, A, PMD_SIZE, MADV_HUGEPAGE))
		return -EINVAL;
	return mmn_store(c->mm, A, 0x1234);
}

/* A 2 MiB area at A of 512 small pages (NOHUGEPAGE while filling), then
 * MADV_HUGEPAGE: khugepaged's and MADV_COLLAPSE's candidate. */
static int thp_small(struct op_ctx *c)
{
	if (mmn_mmap(c->mm, A, PMD_SIZE, RW, PRIV) != (long)A)
		return -ENOMEM;
	if (mmn_madvise(c->mm, A, PMD_SIZE, MADV_NOHUGEPAGE))
		return -EINVAL;
	if (fill(c->mm, A, 512, false))
		return -EFAULT;
	return mmn_madvise(c->mm, A, PMD_SIZE, MADV_HUGEPAGE);
}

/* A shared mapping of a four-page file at A, each page written. */
static int file4(struct op_ctx *c)
{
	int err;

	c->file = mmn_file_create(PG(4), &err);
	if (!c->file)
		return err;
	if (mmn_mmap_file(c->mm, A, PG(4), RW, MAP_SHARED | MAP_FIXED, c->file, 0) != (long)A)
		return -ENOMEM;
	return fill(c->mm, A, 4, false);
}

/* ---- operations (the recorder is cleared just before each) ------------ */

static int op_fork(struct op_ctx *c)
{
	int err;
	struct mm_struct *child = mmn_fork(c->mm, &err);

	if (!child)
		return err;
	mmn_exit(child);
	return 0;
}

static int op_cow(struct op_ctx *c)
{
	int err;
	struct mm_struct *child = mmn_fork(c->mm, &err);

	if (!child)
		return err;
	mmn_recorder_clear(c->rec);
	err = mmn_store(c->mm, A + PG(1), 7);
	mmn_exit(child);
	return err;
}

static int op_mprotect_ro(struct op_ctx *c)
{
	return mmn_mprotect(c->mm, A, PG(2), PROT_READ);
}

static int op_mprotect_rw(struct op_ctx *c)
{
	int err = mmn_mprotect(c->mm, A, PG(2), PROT_READ);

	mmn_recorder_clear(c->rec);
	return err ? err : mmn_mprotect(c->mm, A, PG(2), RW);
}

static int op_munmap(struct op_ctx *c)
{
	return mmn_munmap(c->mm, A + PG(1), PG(2));
}

static int op_dontneed(struct op_ctx *c)
{
	return mmn_madvise(c->mm, A + PG(1), PG(2), MADV_DONTNEED);
}

static int op_madv_free(struct op_ctx *c)
{
	return mmn_madvise(c->mm, A + PG(1), PG(2), MADV_FREE);
}

static int op_mremap(struct op_ctx *c)
{
	long r = mmn_mremap(c->mm, A, PG(2), PG(2), MREMAP_MAYMOVE | MREMAP_FIXED,
			    A + PG(64));

	return r == (long)(A + PG(64)) ? 0 : (int)r;
}

static int op_pageout(struct op_ctx *c)
{
	return mmn_pageout(c->mm, A + PG(1), PG(1));
}

static int op_swapin(struct op_ctx *c)
{
	uint64_t v;
	int err = mmn_pageout(c->mm, A + PG(1), PG(1));

	mmn_recorder_clear(c->rec);
	return err ? err : mmn_load(c->mm, A + PG(1), &v);
}

static int op_migrate(struct op_ctx *c)
{
	long n = mmn_migrate_pages(c->mm, A + PG(1), PG(1));

	return n == 1 ? 0 : -EIO;
}

static int op_ksm(struct op_ctx *c)
{
	unsigned long shared = 0, sharing = 0;

	for (int pass = 0; pass < 10 && !(shared == 1 && sharing == 1); pass++) {
		mmn_ksm_scan();
		mmn_ksm_counts(&shared, &sharing);
	}
	return shared == 1 && sharing == 1 ? 0 : -EIO;
}

static int op_aging(struct op_ctx *c)
{
	return mmn_page_referenced(c->mm, A + PG(1)) < 0 ? -EIO : 0;
}

/* the primary's accessed bit cleared first: khugepaged asks the
 * secondaries only when its own bit says nothing */
static int op_test_young(struct op_ctx *c)
{
	if (mmn_page_referenced(c->mm, A + PG(1)) < 0)
		return -EIO;
	mmn_recorder_clear(c->rec);
	return mmn_page_test_young(c->mm, A + PG(1)) < 0 ? -EIO : 0;
}

static int op_soft_dirty(struct op_ctx *c)
{
	return mmn_clear_soft_dirty(c->mm);
}

static int op_oom_reap(struct op_ctx *c)
{
	int err;

	mmgrab(c->mm);
	err = mmn_oom_reap(c->mm);
	mmdrop(c->mm);
	return err;
}

static int op_exit(struct op_ctx *c)
{
	mmn_exit(c->mm);
	c->exited = true;
	return 0;
}

static int op_thp_split(struct op_ctx *c)
{
	return mmn_split_huge_pmd(c->mm, A);
}

static int op_thp_cow(struct op_ctx *c)
{
	int err;
	struct mm_struct *child = mmn_fork(c->mm, &err);

	if (!child)
		return err;
	mmn_recorder_clear(c->rec);
	err = mmn_store(c->mm, A + PG(3), 7);
	mmn_exit(child);
	return err;
}

static int op_thp_partial_munmap(struct op_ctx *c)
{
	return mmn_munmap(c->mm, A + PG(1), PG(1));
}

static int op_khugepaged(struct op_ctx *c)
{
	return mmn_khugepaged_scan(c->mm) == 1 ? 0 : -EIO;
}

static int op_madv_collapse(struct op_ctx *c)
{
	return mmn_madvise(c->mm, A, PMD_SIZE, MADV_COLLAPSE);
}

static int op_truncate(struct op_ctx *c)
{
	return mmn_file_truncate(c->file, PG(1));
}

static int op_punch_hole(struct op_ctx *c)
{
	return mmn_file_punch_hole(c->file, PG(1), PG(2));
}

static const struct era_op {
	const char *name;
	int (*setup)(struct op_ctx *c);
	int (*run)(struct op_ctx *c);
	bool young;		/* record the young callbacks */
} era_ops[] = {
	{ "fork", anon4, op_fork, false },
	{ "cow", anon4, op_cow, false },
	{ "mprotect-ro", anon4, op_mprotect_ro, false },
	{ "mprotect-rw", anon4, op_mprotect_rw, false },
	{ "munmap", anon4, op_munmap, false },
	{ "dontneed", anon4, op_dontneed, false },
	{ "madv-free", anon4, op_madv_free, false },
	{ "mremap", anon4, op_mremap, false },
	{ "pageout", anon4, op_pageout, false },
	{ "swapin", anon4, op_swapin, false },
	{ "migrate", anon4, op_migrate, false },
	{ "ksm-merge", anon_same2, op_ksm, false },
	{ "aging", anon4, op_aging, true },
	{ "test-young", anon4, op_test_young, true },
	{ "soft-dirty", anon4, op_soft_dirty, false },
	{ "oom-reap", anon4, op_oom_reap, false },
	{ "exit", anon4, op_exit, false },
	{ "thp-split", thp_huge, op_thp_split, false },
	{ "thp-cow", thp_huge, op_thp_cow, false },
	{ "thp-partial-munmap", thp_huge, op_thp_partial_munmap, false },
	{ "khugepaged", thp_small, op_khugepaged, false },
	{ "madv-collapse", thp_small, op_madv_collapse, false },
	{ "truncate", file4, op_truncate, false },
	{ "punch-hole", file4, op_punch_hole, false },
};

/* Run @op under @era; append "== NAME ERA\n" and its lines to @out. */
static void run_one(const struct era_op *op, enum mmn_era era, FILE *out)
{
	struct op_ctx c = { 0 };
	unsigned int flags = MMN_REC_LEGACY | (op->young ? 0 : MMN_REC_NO_YOUNG);
	int err = 0;

	mmn_era = era;
	fprintf(out, "== %s %s\n", op->name, mmn_era_name(era));
	c.mm = mmn_mm_create();
	if (!c.mm) {
		fprintf(out, "# no mm\n");
		return;
	}
	err = op->setup(&c);
	if (!err) {
		c.rec = mmn_recorder_create(c.mm, flags, &err);
		if (c.rec)
			mmn_recorder_set_base(c.rec, A);
	}
	if (!err) {
		err = op->run(&c);
		fputs(mmn_recorder_text(c.rec), out);
	}
	if (err == -ENOSYS)
		fprintf(out, "# not in this era\n");
	else if (err)
		fprintf(out, "# error %d\n", err);
	if (!c.exited)
		mmn_exit(c.mm);
	if (c.rec)
		mmn_recorder_destroy(c.rec);
	if (c.file)
		mmn_file_close(c.file);
	mmn_era = MMN_ERA_6_12;
}

static char *matrix_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(era_ops) / sizeof(era_ops[0]); i++)
		for (int e = 0; e < MMN_ERA__COUNT; e++)
			run_one(&era_ops[i], e, f);
	fclose(f);
	return buf;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The section of @text that starts at "== NAME ERA\n", up to the next. */
static const char *section_end(const char *s)
{
	const char *p = strstr(s + 1, "\n== ");

	return p ? p + 1 : s + strlen(s);
}

#define GOLDEN	MMN_SOURCE_DIR "/tests/golden/era-matrix.txt"

TEST(every_operation_every_era_pinned)
{
	char *got = matrix_text(), *want;
	int differ = 0;

	ASSERT_TRUE(got != NULL);
	if (getenv("MMN_GOLDEN_UPDATE")) {
		FILE *f = fopen(GOLDEN, "w");

		ASSERT_TRUE(f != NULL);
		fputs(got, f);
		fclose(f);
		printf("# wrote %s\n", GOLDEN);
	}
	want = read_file(GOLDEN);
	ASSERT_TRUE(want != NULL);
	/* no operation may fail in any era */
	EXPECT_TRUE(strstr(got, "# error") == NULL);
	/* section by section, so that a failure names the operation and era */
	for (const char *g = got, *w = want; *g || *w;) {
		const char *ge = *g ? section_end(g) : g, *we = *w ? section_end(w) : w;

		if (ge - g != we - w || memcmp(g, w, (size_t)(ge - g))) {
			harness_fail(__FILE__, __LINE__,
				     "differs from %s\n--- expected\n%.*s--- got\n%.*s",
				     GOLDEN, (int)(we - w), w, (int)(ge - g), g);
			if (++differ == 5)
				break;
		}
		g = ge;
		w = we;
	}
	free(got);
	free(want);
}

/* The matrix is deterministic: two runs, the same text. */
TEST(matrix_is_deterministic)
{
	char *a = matrix_text(), *b = matrix_text();

	ASSERT_TRUE(a && b);
	EXPECT_EQ(strcmp(a, b), 0);
	free(a);
	free(b);
}
