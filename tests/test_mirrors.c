// SPDX-License-Identifier: GPL-2.0
/*
 * The secondary MMUs (dmirror, kvm), single-task or with explicit
 * hand-offs, with the checker on:
 *
 *  1. the hmm-tests.c cases that need only anonymous memory, fork and
 *     mprotect, against dmirror through dmirror_cmd(), asserting what the
 *     kernel's selftest asserts (reference/linux-mmu-notifier.md 5.3);
 *  2. every broken driver form caught, each race built deterministically:
 *     - dmirror retry-outside-lock and no-set-seq: the racing primary
 *       operation runs synchronously from the driver's test hook, between
 *       hmm_range_fault() and taking the driver mutex;
 *     - kvm seq-in-start and no-in-progress: their window is *inside* an
 *       invalidation (after range_start, before the pte change), which a
 *       single task cannot reach from the fault path: a CPU task parks in a
 *       gate notifier called after kvm's range_start, the device faults,
 *       and the gate opens -- every step a completion hand-off, no luck;
 *     - the deferred forms: the worker is held back.
 *     The correct forms go through the same constructions and stay silent.
 *
 * The kernel's buffers are 1024 pages; 64 keep the suite fast.  The lab's
 * DMA unit is a 64-bit word, so the kernel's int i is the word i here.
 */
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

#include <mmn/device.h>
#include <mmn/linux/completion.h>
#include <mmn/linux/mmu_notifier.h>

#include "check/check.h"
#include "mirrors/dmirror.h"
#include "mirrors/kvm.h"

#ifndef EXPECT_GE
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#endif

#define PG		PAGE_SIZE
#define RW		(PROT_READ | PROT_WRITE)
#define PRIV		(MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED		(MAP_SHARED | MAP_ANONYMOUS)
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))

#define NPAGES		64		/* hmm-tests: 1024 */
#define NWORDS		(NPAGES * WORDS)

#define VAL_A		0xaaaa0001ULL
#define VAL_B		0xbbbb0002ULL
#define VAL_C		0xcccc0003ULL

/* ------------------------------------------------------------------ */
/* hmm-tests                                                            */

/* The FIXTURE(hmm): a process (mm) and its dmirror device. */
struct hmm {
	struct mm_struct *mm;
	struct mmn_device *dev;
	uint64_t *mirror;		/* the test's buffer->mirror */
};

static int hmm_setup(struct hmm *h)
{
	int err;

	mmn_check_begin();
	h->mm = mmn_mm_create();
	h->mirror = calloc(NWORDS, sizeof(uint64_t));
	if (!h->mm || !h->mirror)
		return -ENOMEM;
	h->dev = mmn_device_create(mmn_driver_dmirror.ops, h->mm, "correct", &err);
	return h->dev ? 0 : err;
}

/* Audit while the process exists, then tear down; returns the audit. */
static unsigned long hmm_teardown(struct hmm *h)
{
	unsigned long audit = mmn_check_audit();

	mmn_device_destroy(h->dev);
	mmn_exit(h->mm);
	free(h->mirror);
	mmn_check_end();
	return audit;
}

/* hmm_dmirror_cmd(): one ioctl over [addr, +npages) with the mirror */
static int hmm_cmd(struct mmn_device *dev, unsigned int nr, unsigned long addr,
		   uint64_t *ptr, unsigned long npages,
		   struct hmm_dmirror_cmd *cmd)
{
	*cmd = (struct hmm_dmirror_cmd){ .addr = addr, .ptr = ptr,
					 .npages = npages };
	return dmirror_cmd(dev, nr, cmd);
}

/* CPU: word i of [va, +n words) = base + i; returns the first error */
static int cpu_fill(struct mm_struct *mm, unsigned long va, unsigned long from,
		    unsigned long n, uint64_t base)
{
	for (unsigned long i = from; i < n; i++) {
		int ret = mmn_store(mm, va + i * 8, base + i);

		if (ret)
			return ret;
	}
	return 0;
}

/* CPU: how many words of [va, +n) differ from want(i) = base + sign * i */
static unsigned long cpu_check(struct mm_struct *mm, unsigned long va,
			       unsigned long from, unsigned long n,
			       uint64_t base, int64_t sign)
{
	unsigned long bad = 0;

	for (unsigned long i = from; i < n; i++) {
		uint64_t v;

		if (mmn_load(mm, va + i * 8, &v) || v != base + (uint64_t)(sign * (int64_t)i))
			bad++;
	}
	return bad;
}

static unsigned long buf_check(const uint64_t *buf, unsigned long from,
			       unsigned long n, uint64_t base, int64_t sign)
{
	unsigned long bad = 0;

	for (unsigned long i = from; i < n; i++)
		if (buf[i] != base + (uint64_t)(sign * (int64_t)i))
			bad++;
	return bad;
}

static void buf_fill(uint64_t *buf, unsigned long n, uint64_t base, int64_t sign)
{
	for (unsigned long i = 0; i < n; i++)
		buf[i] = base + (uint64_t)(sign * (int64_t)i);
}

/* open_close: open and close the device, nothing else */
TEST(open_close)
{
	struct hmm h;

	ASSERT_EQ(hmm_setup(&h), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* anon_read: RO private anon, first two pages untouched (zero page), the
 * device reads everything in one fault round */
TEST(anon_read)
{
	struct hmm_dmirror_cmd cmd;
	struct hmm h;
	uint64_t v;
	long va;

	ASSERT_EQ(hmm_setup(&h), 0);
	va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, PRIV);
	ASSERT_GT(va, 0);
	ASSERT_EQ(cpu_fill(h.mm, va, 2 * WORDS, NWORDS, 0), 0);
	ASSERT_EQ(mmn_mprotect(h.mm, va, NPAGES * PG, PROT_READ), 0);
	/* page 1 is the zero page */
	ASSERT_EQ(mmn_load(h.mm, va + PG, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_READ, va, h.mirror, NPAGES, &cmd), 0);
	EXPECT_EQ(cmd.cpages, NPAGES);
	EXPECT_EQ(cmd.faults, 1);
	EXPECT_EQ(buf_check(h.mirror, 0, 2 * WORDS, 0, 0), 0);
	EXPECT_EQ(buf_check(h.mirror, 2 * WORDS, NWORDS, 0, 1), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* anon_read_prot: PROT_NONE READ fails -EFAULT, the mirror is untouched */
TEST(anon_read_prot)
{
	struct hmm_dmirror_cmd cmd;
	struct hmm h;
	long va;

	ASSERT_EQ(hmm_setup(&h), 0);
	va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, PRIV);
	ASSERT_GT(va, 0);
	ASSERT_EQ(cpu_fill(h.mm, va, 0, NWORDS, 0), 0);
	buf_fill(h.mirror, NWORDS, 0, -1);
	ASSERT_EQ(mmn_mprotect(h.mm, va, NPAGES * PG, PROT_NONE), 0);
	EXPECT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_READ, va, h.mirror, NPAGES, &cmd),
		  -EFAULT);
	ASSERT_EQ(mmn_mprotect(h.mm, va, NPAGES * PG, PROT_READ), 0);
	EXPECT_EQ(cpu_check(h.mm, va, 0, NWORDS, 0, 1), 0);
	EXPECT_EQ(buf_check(h.mirror, 0, NWORDS, 0, -1), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* anon_write: the device writes untouched memory in one fault round */
TEST(anon_write)
{
	struct hmm_dmirror_cmd cmd;
	struct hmm h;
	long va;

	ASSERT_EQ(hmm_setup(&h), 0);
	va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, PRIV);
	ASSERT_GT(va, 0);
	buf_fill(h.mirror, NWORDS, 0, 1);
	ASSERT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_WRITE, va, h.mirror, NPAGES, &cmd), 0);
	EXPECT_EQ(cmd.cpages, NPAGES);
	EXPECT_EQ(cmd.faults, 1);
	EXPECT_EQ(cpu_check(h.mm, va, 0, NWORDS, 0, 1), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* anon_write_prot: WRITE to PROT_READ is -EPERM and changes nothing; after
 * mprotect RW it succeeds (the zero page is replaced) */
TEST(anon_write_prot)
{
	struct hmm_dmirror_cmd cmd;
	struct hmm h;
	long va;

	ASSERT_EQ(hmm_setup(&h), 0);
	va = mmn_mmap(h.mm, 0, NPAGES * PG, PROT_READ, PRIV);
	ASSERT_GT(va, 0);
	ASSERT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_READ, va, h.mirror, 1, &cmd), 0);
	EXPECT_EQ(cmd.cpages, 1);
	EXPECT_EQ(cmd.faults, 1);
	EXPECT_EQ(h.mirror[0], 0);
	buf_fill(h.mirror, NWORDS, 0, 1);
	EXPECT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_WRITE, va, h.mirror, NPAGES, &cmd),
		  -EPERM);
	EXPECT_EQ(cpu_check(h.mm, va, 0, NWORDS, 0, 0), 0);
	ASSERT_EQ(mmn_mprotect(h.mm, va, NPAGES * PG, RW), 0);
	ASSERT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_WRITE, va, h.mirror, NPAGES, &cmd), 0);
	EXPECT_EQ(cmd.cpages, NPAGES);
	EXPECT_EQ(cmd.faults, 1);
	EXPECT_EQ(cpu_check(h.mm, va, 0, NWORDS, 0, 1), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/*
 * The child's half of anon_write_child(_shared): it sees i, opens its own
 * dmirror on its mm, device-writes -i in one fault round and sees -i.
 */
static void child_writes(struct mm_struct *child, unsigned long va)
{
	struct hmm_dmirror_cmd cmd;
	struct mmn_device *dev;
	uint64_t *buf = calloc(NWORDS, sizeof(uint64_t));
	int err;

	ASSERT_TRUE(buf);
	EXPECT_EQ(cpu_check(child, va, 0, NWORDS, 0, 1), 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, child, "correct", &err);
	ASSERT_TRUE(dev);
	buf_fill(buf, NWORDS, 0, -1);
	EXPECT_EQ(hmm_cmd(dev, HMM_DMIRROR_WRITE, va, buf, NPAGES, &cmd), 0);
	EXPECT_EQ(cmd.cpages, NPAGES);
	EXPECT_EQ(cmd.faults, 1);
	EXPECT_EQ(cpu_check(child, va, 0, NWORDS, 0, -1), 0);
	mmn_device_destroy(dev);
	free(buf);
}

/* anon_write_child (no migration, no THP): the child's device writes land
 * in its COW copies; the parent still sees i */
TEST(anon_write_child)
{
	struct mm_struct *child;
	struct hmm h;
	long va;
	int err;

	ASSERT_EQ(hmm_setup(&h), 0);
	va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, PRIV);
	ASSERT_GT(va, 0);
	ASSERT_EQ(cpu_fill(h.mm, va, 0, NWORDS, 0), 0);
	buf_fill(h.mirror, NWORDS, 0, -1);
	child = mmn_fork(h.mm, &err);
	ASSERT_TRUE(child);
	child_writes(child, va);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(child);		/* waitpid() */
	EXPECT_EQ(cpu_check(h.mm, va, 0, NWORDS, 0, 1), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* anon_write_child_shared: MAP_SHARED|MAP_ANONYMOUS, no COW: the parent
 * sees the child's device writes */
TEST(anon_write_child_shared)
{
	struct mm_struct *child;
	struct hmm h;
	long va;
	int err;

	ASSERT_EQ(hmm_setup(&h), 0);
	va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, SHARED);
	ASSERT_GT(va, 0);
	ASSERT_EQ(cpu_fill(h.mm, va, 0, NWORDS, 0), 0);
	buf_fill(h.mirror, NWORDS, 0, -1);
	child = mmn_fork(h.mm, &err);
	ASSERT_TRUE(child);
	child_writes(child, va);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(child);
	EXPECT_EQ(cpu_check(h.mm, va, 0, NWORDS, 0, -1), 0);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* anon_read_multiple: 10 rounds of fill i + c, READ in one fault round */
TEST(anon_read_multiple)
{
	struct hmm_dmirror_cmd cmd;
	struct hmm h;

	ASSERT_EQ(hmm_setup(&h), 0);
	for (uint64_t c = 0; c < 10; c++) {
		long va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, PRIV);

		ASSERT_GT(va, 0);
		ASSERT_EQ(cpu_fill(h.mm, va, 0, NWORDS, c), 0);
		ASSERT_EQ(hmm_cmd(h.dev, HMM_DMIRROR_READ, va, h.mirror, NPAGES, &cmd), 0);
		EXPECT_EQ(cmd.cpages, NPAGES);
		EXPECT_EQ(cmd.faults, 1);
		EXPECT_EQ(buf_check(h.mirror, 0, NWORDS, c, 1), 0);
		ASSERT_EQ(mmn_munmap(h.mm, va, NPAGES * PG), 0);
	}
	EXPECT_EQ(hmm_teardown(&h), 0);
}

struct unmapper {
	struct mm_struct *mm;
	unsigned long va;
	unsigned int delay_us;
};

static void *unmap_second_half(void *p)
{
	struct unmapper *u = p;

	usleep(u->delay_us);
	return (void *)(long)mmn_munmap(u->mm, u->va + NPAGES / 2 * PG,
					NPAGES / 2 * PG);
}

/*
 * anon_teardown: 10 rounds of a task munmapping the second half while the
 * device reads the whole buffer.  The READ may fail; if it succeeds it must
 * have read everything in one round, correctly (no stale success).
 */
TEST(anon_teardown)
{
	struct hmm_dmirror_cmd cmd;
	struct hmm h;
	int ok = 0;

	srand(12345);
	ASSERT_EQ(hmm_setup(&h), 0);
	for (uint64_t c = 0; c < 10; c++) {
		long va = mmn_mmap(h.mm, 0, NPAGES * PG, RW, PRIV);
		struct unmapper u = { .mm = h.mm, .delay_us = rand() % 32 };
		struct mmn_task *t;
		int ret;

		ASSERT_GT(va, 0);
		u.va = va;
		ASSERT_EQ(cpu_fill(h.mm, va, 0, NWORDS, c), 0);
		t = mmn_task_create("unmapper", MMN_TASK_CPU, h.mm,
				    unmap_second_half, &u);
		ASSERT_TRUE(t);
		ret = hmm_cmd(h.dev, HMM_DMIRROR_READ, va, h.mirror, NPAGES, &cmd);
		if (ret == 0) {
			ok++;
			EXPECT_EQ(cmd.cpages, NPAGES);
			EXPECT_EQ(cmd.faults, 1);
			EXPECT_EQ(buf_check(h.mirror, 0, NWORDS, c, 1), 0);
		}
		EXPECT_EQ((long)mmn_task_join(t), 0);
		ASSERT_EQ(mmn_munmap(h.mm, va, NPAGES * PG), 0);
	}
	printf("# %d of 10 READs won the race\n", ok);
	EXPECT_EQ(hmm_teardown(&h), 0);
}

/* ------------------------------------------------------------------ */
/* Broken forms: dmirror, the race from the driver's test hook.         */

enum race_op {
	RACE_COW,		/* (after a fork) the parent writes B: COW */
	RACE_FORK_COW,		/* fork, then the parent writes B: COW */
};

struct race {
	struct mm_struct *mm, *child;
	unsigned long va;
	enum race_op op;
	int calls;
};

/* From the fault path: run the racing primary operation, once. */
static void race_hook(void *p)
{
	struct race *r = p;
	int err;

	if (r->calls++)
		return;
	if (r->op == RACE_FORK_COW)
		r->child = mmn_fork(r->mm, &err);
	mmn_store(r->mm, r->va, VAL_B);
}

struct race_result {
	uint64_t dev_val;	/* what the device read (RACE_COW) */
	uint64_t parent, child;	/* what the CPUs read at the end */
	unsigned long audit;
	int hook_calls;
};

/*
 * RACE_COW: the parent wrote A and forked; the device reads while the
 * parent's COW write of B runs in the race window.  A correct driver
 * retries and reads B.
 * RACE_FORK_COW: the parent wrote A; the device write-faults (A's frame,
 * writable) while fork + the parent's write of B run in the race window,
 * then writes C.  A correct driver retries and writes the parent's new
 * frame: parent C, child A.
 */
static int run_race(const struct mmn_driver *drv, const char *form,
		    enum race_op op, struct race_result *res)
{
	struct race r = { .op = op };
	struct mmn_device *dev;
	uint64_t v;
	int err;

	mmn_check_begin();
	r.mm = mmn_mm_create();
	r.va = mmn_mmap(r.mm, 0, PG, RW, PRIV);
	dev = mmn_device_create(drv->ops, r.mm, form, &err);
	if (!dev)
		return err;
	mmn_store(r.mm, r.va, VAL_A);
	if (op == RACE_COW)
		r.child = mmn_fork(r.mm, &err);
	if (drv == &mmn_driver_dmirror)
		dmirror_set_test_hook(dev, race_hook, &r);
	else
		kvm_set_test_hook(dev, race_hook, &r);
	if (op == RACE_COW) {
		err = mmn_device_access(dev, r.va, false, &res->dev_val);
	} else {
		v = VAL_C;
		err = mmn_device_access(dev, r.va, true, &v);
	}
	if (drv == &mmn_driver_dmirror)
		dmirror_set_test_hook(dev, NULL, NULL);
	else
		kvm_set_test_hook(dev, NULL, NULL);
	mmn_load(r.mm, r.va, &res->parent);
	res->child = 0;
	if (r.child)
		mmn_load(r.child, r.va, &res->child);
	res->audit = mmn_check_audit();
	res->hook_calls = r.calls;
	mmn_device_destroy(dev);
	if (r.child)
		mmn_exit(r.child);
	mmn_exit(r.mm);
	mmn_check_end();
	return err;
}

/* correct dmirror: both races retry; the device reads B, writes the new frame */
TEST(dmirror_correct_survives_fault_race)
{
	struct race_result res;

	ASSERT_EQ(run_race(&mmn_driver_dmirror, "correct", RACE_COW, &res), 0);
	EXPECT_EQ(res.dev_val, VAL_B);
	EXPECT_EQ(res.hook_calls, 2);		/* it retried */
	EXPECT_EQ(res.audit, 0);
	ASSERT_EQ(run_race(&mmn_driver_dmirror, "correct", RACE_FORK_COW, &res), 0);
	EXPECT_EQ(res.parent, VAL_C);
	EXPECT_EQ(res.child, VAL_A);
	EXPECT_EQ(res.hook_calls, 2);
	EXPECT_EQ(res.audit, 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* One broken dmirror form through both races: stale-read, lost-write, and
 * the protocol rule each time. */
static void dmirror_broken(const char *form)
{
	struct race_result res;
	const char *t;

	harness_expect_violations();
	ASSERT_EQ(run_race(&mmn_driver_dmirror, form, RACE_COW, &res), 0);
	EXPECT_EQ(res.hook_calls, 1);		/* no retry */
	EXPECT_EQ(res.dev_val, VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ), form);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ),
			    "(read 0xaaaa0001, last written 0xbbbb0002)");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "(already stale when made)");
	ASSERT_STR_CONTAINS(t, "the translation was stale when made, after the device's contract point");
	mmn_report_reset();

	ASSERT_EQ(run_race(&mmn_driver_dmirror, form, RACE_FORK_COW, &res), 0);
	EXPECT_EQ(res.hook_calls, 1);
	EXPECT_EQ(res.parent, VAL_B);		/* the device's C is lost */
	EXPECT_EQ(res.child, VAL_C);		/* ... into the child's page */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LOST_WRITE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE), "(wp_page_copy)");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	EXPECT_GE(res.audit, 1);
}

/* retry-outside-lock: the invalidation runs after the check, before the lock */
TEST(dmirror_retry_outside_lock_caught)
{
	dmirror_broken("retry-outside-lock");
}

/* no-set-seq: the invalidation erased nothing and moved no sequence */
TEST(dmirror_no_set_seq_caught)
{
	dmirror_broken("no-set-seq");
}

/* near miss for kvm: every kvm form survives a race after GUP (the seq
 * moved); their bugs need the fault inside the invalidation, below */
TEST(kvm_all_forms_survive_race_after_gup)
{
	static const char *const forms[] = { "correct", "seq-in-start", "no-in-progress" };
	struct race_result res;

	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(run_race(&mmn_driver_kvm, forms[i], RACE_COW, &res), 0);
		EXPECT_EQ(res.dev_val, VAL_B);
		EXPECT_EQ(res.hook_calls, 2);
		ASSERT_EQ(run_race(&mmn_driver_kvm, forms[i], RACE_FORK_COW, &res), 0);
		EXPECT_EQ(res.parent, VAL_C);
		EXPECT_EQ(res.child, VAL_A);
	}
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* Broken forms: kvm, the fault inside the invalidation.                */

/*
 * A classic notifier registered before kvm's, so that (newest first) its
 * range_start runs after kvm's: when armed it tells the test the
 * invalidation has started and parks the primary there, between kvm's
 * range_start and the pte change, until the test opens it.
 */
struct gate {
	struct mmu_notifier mn;
	struct completion started, go;
	bool armed;			/* one-shot */
	enum mmu_notifier_event event;
	/* the CPU task and its operation */
	struct mmn_task *task;
	struct mm_struct *mm, *child;
	unsigned long va;
	bool dontneed;			/* else: the parent's COW write of B */
	bool opened;
	int hook_calls;
};

static int gate_start(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *range)
{
	struct gate *g = container_of(mn, struct gate, mn);

	if (!g->armed || range->event != g->event)
		return 0;
	g->armed = false;
	complete(&g->started);
	wait_for_completion(&g->go);
	return 0;
}

static const struct mmu_notifier_ops gate_ops = {
	.invalidate_range_start = gate_start,
};

static void *gate_cpu(void *p)
{
	struct gate *g = p;

	if (g->dontneed)
		return (void *)(long)mmn_madvise(g->mm, g->va, PG, MADV_DONTNEED);
	return (void *)(long)mmn_store(g->mm, g->va, VAL_B);
}

/* Let the parked primary finish and wait for it. */
static void gate_open(struct gate *g)
{
	if (g->opened)
		return;
	g->opened = true;
	complete(&g->go);
	mmn_task_join(g->task);
}

/* kvm's test hook: only a fault that retried opens the gate (a correct
 * kvm would otherwise spin on in_progress while the primary is parked) */
static void gate_hook(void *p)
{
	struct gate *g = p;

	if (g->hook_calls++ == 1)
		gate_open(g);
}

struct gate_result {
	uint64_t first, second;		/* device reads inside / after */
	int hook_calls;
	unsigned long seq_delta;
	long in_progress;
};

static int run_gate(const char *form, bool dontneed, struct gate_result *res)
{
	struct gate g = { .dontneed = dontneed };
	unsigned long seq0, seq1;
	struct mmn_device *dev;
	int err;

	mmn_check_begin();
	init_completion(&g.started);
	init_completion(&g.go);
	g.mn.ops = &gate_ops;
	g.mm = mmn_mm_create();
	g.va = mmn_mmap(g.mm, 0, PG, RW, PRIV);
	mmn_store(g.mm, g.va, VAL_A);
	err = mmu_notifier_register(&g.mn, g.mm);
	if (err)
		return err;
	dev = mmn_device_create(mmn_driver_kvm.ops, g.mm, form, &err);
	if (!dev)
		return err;
	if (!dontneed)
		g.child = mmn_fork(g.mm, &err);
	g.event = MMU_NOTIFY_CLEAR;	/* DONTNEED and COW alike */
	kvm_invalidate_state(dev, &seq0, &res->in_progress);

	/* 1. the primary starts and parks after kvm's range_start */
	g.armed = true;
	g.task = mmn_task_create("cpu", MMN_TASK_CPU, g.mm, gate_cpu, &g);
	wait_for_completion(&g.started);
	kvm_invalidate_state(dev, &seq1, &res->in_progress);
	res->seq_delta = seq1 - seq0;

	/* 2. the device faults inside the invalidation */
	kvm_set_test_hook(dev, gate_hook, &g);
	err = mmn_device_access(dev, g.va, false, &res->first);
	kvm_set_test_hook(dev, NULL, NULL);
	res->hook_calls = g.hook_calls;

	/* 3. the primary finishes; the device reads again */
	gate_open(&g);
	if (!err)
		err = mmn_device_access(dev, g.va, false, &res->second);

	mmn_check_audit();
	mmn_device_destroy(dev);
	mmu_notifier_unregister(&g.mn, g.mm);
	if (g.child)
		mmn_exit(g.child);
	mmn_exit(g.mm);
	destroy_completion(&g.started);
	destroy_completion(&g.go);
	mmn_check_end();
	return err;
}

/* correct kvm: the fault inside the invalidation retries until it ended */
TEST(kvm_correct_fault_inside_invalidation)
{
	struct gate_result res;

	ASSERT_EQ(run_gate("correct", false, &res), 0);
	EXPECT_EQ(res.in_progress, 1);
	EXPECT_EQ(res.seq_delta, 0);
	EXPECT_EQ(res.hook_calls, 3);	/* parked, opened, then the new frame */
	EXPECT_EQ(res.first, VAL_B);
	EXPECT_EQ(res.second, VAL_B);
	ASSERT_EQ(run_gate("correct", true, &res), 0);
	EXPECT_EQ(res.first, 0);	/* DONTNEED: a fresh zero page */
	EXPECT_EQ(res.second, 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* One broken kvm form: the fault installs the old frame inside the window */
static void kvm_broken(const char *form, bool seq_in_start)
{
	struct gate_result res;
	const char *t;

	harness_expect_violations();
	ASSERT_EQ(run_gate(form, false, &res), 0);
	EXPECT_EQ(res.seq_delta, seq_in_start ? 1 : 0);
	EXPECT_EQ(res.hook_calls, 1);		/* installed at once */
	EXPECT_EQ(res.first, VAL_A);		/* legal: not yet changed */
	EXPECT_EQ(res.second, VAL_A);		/* stale */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ), form);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "the translation was made inside an invalidation window and points at a frame the primary no longer maps");
	mmn_report_reset();

	/* DONTNEED: the installed frame is freed under it */
	ASSERT_EQ(run_gate(form, true, &res), 0);
	EXPECT_EQ(res.first, VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_USE_AFTER_FREE), form);
}

/* seq-in-start: the seq snapshot taken after start never moves again */
TEST(kvm_seq_in_start_caught)
{
	kvm_broken("seq-in-start", true);
}

/* no-in-progress: the fault ignores the running invalidation */
TEST(kvm_no_in_progress_caught)
{
	kvm_broken("no-in-progress", false);
}

/* ------------------------------------------------------------------ */
/* Broken forms: deferred, the worker held back.                        */

static void hold(struct mmn_device *dev, bool on)
{
	if (dev->ops == mmn_driver_dmirror.ops)
		dmirror_hold_worker(dev, on);
	else
		kvm_hold_worker(dev, on);
}

enum deferred_case { DEF_COW_WRITE, DEF_COW_READ, DEF_MUNMAP };

/* The device holds a translation of va; the primary changes it with the
 * worker held; the device uses its translation again. */
static void deferred_run(const struct mmn_driver *drv, enum deferred_case c)
{
	struct mm_struct *mm, *child = NULL;
	struct mmn_device *dev;
	uint64_t v;
	long va;
	int err;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, PG, RW, PRIV);
	ASSERT_GT(va, 0);
	ASSERT_EQ(mmn_store(mm, va, VAL_A), 0);
	dev = mmn_device_create(drv->ops, mm, "deferred", &err);
	ASSERT_TRUE(dev);
	hold(dev, true);
	v = VAL_A;
	ASSERT_EQ(mmn_device_access(dev, va, c == DEF_COW_WRITE, &v), 0);
	switch (c) {
	case DEF_COW_WRITE:
		child = mmn_fork(mm, &err);
		ASSERT_EQ(mmn_store(mm, va, VAL_B), 0);
		v = VAL_C;
		ASSERT_EQ(mmn_device_access(dev, va, true, &v), 0);
		break;
	case DEF_COW_READ:
		child = mmn_fork(mm, &err);
		ASSERT_EQ(mmn_store(mm, va, VAL_B), 0);
		ASSERT_EQ(mmn_device_access(dev, va, false, &v), 0);
		EXPECT_EQ(v, VAL_A);
		break;
	case DEF_MUNMAP:
		ASSERT_EQ(mmn_munmap(mm, va, PG), 0);
		ASSERT_EQ(mmn_device_access(dev, va, false, &v), 0);
		break;
	}
	mmn_check_audit();
	hold(dev, false);
	mmn_device_destroy(dev);
	if (child)
		mmn_exit(child);
	mmn_exit(mm);
	mmn_check_end();
}

static void deferred_caught(const struct mmn_driver *drv)
{
	const char *t;

	harness_expect_violations();
	deferred_run(drv, DEF_COW_WRITE);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LOST_WRITE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE), "(form deferred)");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE), "(wp_page_copy)");
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "the event removes the mapping");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_AUDIT), 1);
	mmn_report_reset();

	deferred_run(drv, DEF_COW_READ);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ), "(form deferred)");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	mmn_report_reset();

	deferred_run(drv, DEF_MUNMAP);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_USE_AFTER_FREE), "(form deferred)");
}

/* dmirror deferred: lost-write (fork + COW), stale-read, use-after-free */
TEST(dmirror_deferred_caught)
{
	deferred_caught(&mmn_driver_dmirror);
}

/* kvm deferred: lost-write (fork + COW), stale-read, use-after-free */
TEST(kvm_deferred_caught)
{
	deferred_caught(&mmn_driver_kvm);
}
