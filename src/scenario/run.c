// SPDX-License-Identifier: GPL-2.0
/*
 * Running a scenario: one execution.
 *
 *   scn_setup()     frame pool, era, checker; processes, mappings, mirrors
 *   scn_run()       one task per agent, each running its operations; join
 *   scn_teardown()  end-of-run audit, every process exits (children first),
 *                   mirrors destroyed, the world freed
 *
 * The same code runs under the threads back end (real concurrency) and
 * under the controlled one (one agent at a time, a strategy choosing at
 * every schedule point): nothing here knows which.
 *
 * Processes come and go while agents run (fork, exit), so the process
 * table is read under procs_lock, a modelled spinlock, and an agent pins an
 * mm with mmget() for the length of one operation: an exit that races with
 * it drops the table's reference, and the last mmput() tears the address
 * space down, in whichever task that is -- as in Linux.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mmn/device.h>
#include <mmn/explore.h>
#include <mmn/mm.h>
#include <mmn/rt.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>

#include "check/check.h"
#include "scenario/scenario.h"

struct scn_exec {
	const struct scn_scenario *s;
	spinlock_t procs_lock;
	struct mm_struct *mm[SCN_MAX_PROCS];	/* NULL: not alive */
	/* where each mapping is, per process (mremap moves it; a fork child
	 * starts with its parent's), under procs_lock */
	unsigned long map_addr[SCN_MAX_PROCS][SCN_MAX_MAPS];
	struct file *file[SCN_MAX_FILES];
	struct mmn_device *dev[SCN_MAX_MIRRORS];
	struct mmn_task *task[SCN_MAX_AGENTS];
	struct scn_agent_ctx {
		struct scn_exec *x;
		const struct scn_agent *ag;
	} actx[SCN_MAX_AGENTS];
	bool world;				/* setup ran */
	char error[640];
};

struct scn_exec *scn_exec_new(const struct scn_scenario *s)
{
	struct scn_exec *x = calloc(1, sizeof(*x));

	if (x)
		x->s = s;
	return x;
}

void scn_exec_free(struct scn_exec *x)
{
	free(x);
}

const char *scn_exec_error(const struct scn_exec *x)
{
	return x->error[0] ? x->error : NULL;
}

/* Pin process @p's mm for one operation; NULL if it is not alive. */
static struct mm_struct *proc_get(struct scn_exec *x, int p)
{
	struct mm_struct *mm;

	spin_lock(&x->procs_lock);
	mm = x->mm[p];
	if (mm)
		mmget(mm);
	spin_unlock(&x->procs_lock);
	return mm;
}

static unsigned long pool_size(const struct scn_scenario *s)
{
	unsigned long pages = 0;

	if (s->frames)
		return s->frames;
	for (int i = 0; i < s->nmaps; i++)
		pages += s->maps[i].pages;
	for (int i = 0; i < s->nfiles; i++)
		pages += s->files[i].pages;
	/* every process may hold a private copy, a collapse needs a whole
	 * huge page beside the small ones, plus slack */
	return pages * (unsigned long)(s->nprocs + 2) + 1024;
}

/*
 * mmap one declared mapping: anonymous or file; a 'thp' mapping is placed
 * on a 2 MiB boundary (map more, unmap the edges) and marked
 * MADV_HUGEPAGE; a 'mergeable' one MADV_MERGEABLE.
 */
static long map_one(struct scn_exec *x, const struct scn_map *m)
{
	struct mm_struct *mm = x->mm[m->proc];
	unsigned long len = m->pages * PAGE_SIZE;
	int flags = (m->shared ? MAP_SHARED : MAP_PRIVATE);
	long addr;

	if (m->file >= 0)
		return mmn_mmap_file(mm, 0, len, m->prot, MAP_SHARED, x->file[m->file], 0);
	if (!m->thp) {
		addr = mmn_mmap(mm, 0, len, m->prot, flags | MAP_ANONYMOUS);
	} else {
		unsigned long a, aligned;

		addr = mmn_mmap(mm, 0, len + PMD_SIZE, m->prot, flags | MAP_ANONYMOUS);
		if (addr < 0)
			return addr;
		a = (unsigned long)addr;
		aligned = (a + PMD_SIZE - 1) & PMD_MASK;
		if (aligned > a)
			mmn_munmap(mm, a, aligned - a);
		if (aligned + len < a + len + PMD_SIZE)
			mmn_munmap(mm, aligned + len, a + len + PMD_SIZE - aligned - len);
		addr = (long)aligned;
		mmn_madvise(mm, aligned, len, MADV_HUGEPAGE);
	}
	if (addr >= 0 && m->mergeable)
		mmn_madvise(mm, (unsigned long)addr, len, MADV_MERGEABLE);
	return addr;
}

void scn_setup(struct scn_exec *x)
{
	const struct scn_scenario *s = x->s;
	struct mmn_mem_config mc = { .nr_frames = pool_size(s) };

	x->error[0] = 0;
	memset(x->mm, 0, sizeof(x->mm));
	memset(x->dev, 0, sizeof(x->dev));
	memset(x->file, 0, sizeof(x->file));
	mmn_era = s->era;
	mmn_era_opts = (s->era_opts | mmn_era_opts_force) &
		       mmn_era_opts_valid(s->era);
	if (mmn_mem_init(&mc)) {
		snprintf(x->error, sizeof(x->error), "cannot allocate %lu frames",
			 mc.nr_frames);
		return;
	}
	x->world = true;
	spin_lock_init(&x->procs_lock);
	if (s->thp >= 0)
		mmn_thp_set_enabled(s->thp);
	mmn_swap_keep_cache(s->swapcache_keep);
	mmn_check_begin();
	for (int i = 0; i < s->nfiles; i++) {
		int err;

		x->file[i] = mmn_file_create(s->files[i].pages * PAGE_SIZE, &err);
		if (!x->file[i]) {
			snprintf(x->error, sizeof(x->error), "%s:%d: file '%s': %s", s->file,
				 s->files[i].line, s->files[i].name, strerror(-err));
			return;
		}
	}
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].forked_by < 0)
			x->mm[i] = mmn_mm_create();
	for (int i = 0; i < s->nmaps; i++) {
		const struct scn_map *m = &s->maps[i];
		long addr = map_one(x, m);

		if (addr < 0) {
			snprintf(x->error, sizeof(x->error), "%s:%d: mmap of '%s' failed: %s",
				 s->file, m->line, m->name, strerror((int)-addr));
			return;
		}
		x->map_addr[m->proc][i] = (unsigned long)addr;
	}
	for (int i = 0; i < s->nmirrors; i++) {
		const struct scn_mirror *m = &s->mirrors[i];
		int err;

		x->dev[i] = mmn_device_create(m->driver->ops, x->mm[m->proc], m->form, &err);
		if (!x->dev[i]) {
			snprintf(x->error, sizeof(x->error), "%s:%d: mirror '%s' (%s/%s) failed to bind: %s",
				 s->file, m->line, m->name, m->driver->name, m->form,
				 strerror(-err));
			return;
		}
	}
}

/* The address of @op in process @p (whose mapping may have moved). */
static unsigned long op_va_in(struct scn_exec *x, int p, const struct scn_op *op)
{
	unsigned long a;

	spin_lock(&x->procs_lock);
	a = x->map_addr[p][op->addr.map];
	spin_unlock(&x->procs_lock);
	return a + op->addr.off;
}

static void run_ops(struct scn_exec *x, const struct scn_agent *ag,
		    const struct scn_op *ops, int n);

/* Operations that act on a process: cpu and kthread agents. */
static void run_cpu_op(struct scn_exec *x, const struct scn_agent *ag,
		       const struct scn_op *op)
{
	int p = op->addr.proc >= 0 ? op->addr.proc : ag->proc;
	struct mm_struct *mm, *child;
	unsigned long va, len = op->pages * PAGE_SIZE;
	uint64_t v = op->val;
	int err;

	switch (op->kind) {
	case SCN_OP_FORK:
		p = ag->proc;
		break;
	case SCN_OP_EXIT:
		p = op->proc >= 0 ? op->proc : ag->proc;
		spin_lock(&x->procs_lock);
		mm = x->mm[p];
		x->mm[p] = NULL;
		spin_unlock(&x->procs_lock);
		if (mm)
			mmn_exit(mm);
		return;
	case SCN_OP_KHUGEPAGED:
	case SCN_OP_OOM_REAP:
		p = op->proc >= 0 ? op->proc : ag->proc;
		break;
	/* operations without a process */
	case SCN_OP_RECLAIM:
		mmn_reclaim(op->pages);
		return;
	case SCN_OP_KSM_SCAN:
		mmn_ksm_scan();
		return;
	case SCN_OP_TRUNCATE:
		mmn_file_truncate(x->file[op->file], op->pages * PAGE_SIZE);
		return;
	case SCN_OP_PUNCH:
		mmn_file_punch_hole(x->file[op->file], op->page * PAGE_SIZE, len);
		return;
	default:
		break;
	}
	if (p < 0)
		return;
	mm = proc_get(x, p);
	if (!mm)
		return;			/* the process is gone: nothing happens */
	va = op_va_in(x, p, op);
	switch (op->kind) {
	case SCN_OP_STORE:
		mmn_store(mm, va, v);
		break;
	case SCN_OP_LOAD:
		mmn_load(mm, va, &v);
		break;
	case SCN_OP_FORK:
		child = mmn_fork(mm, &err);
		if (child) {
			spin_lock(&x->procs_lock);
			x->mm[op->proc] = child;
			memcpy(x->map_addr[op->proc], x->map_addr[p],
			       sizeof(x->map_addr[p]));
			spin_unlock(&x->procs_lock);
		}
		break;
	case SCN_OP_MUNMAP:
		mmn_munmap(mm, va, len);
		break;
	case SCN_OP_MPROTECT:
		mmn_mprotect(mm, va, len, op->prot);
		break;
	case SCN_OP_DONTNEED:
		mmn_madvise(mm, va, len, MADV_DONTNEED);
		break;
	case SCN_OP_FREE:
		mmn_madvise(mm, va, len, MADV_FREE);
		break;
	case SCN_OP_MERGEABLE:
		mmn_madvise(mm, va, len, MADV_MERGEABLE);
		break;
	case SCN_OP_UNMERGEABLE:
		mmn_madvise(mm, va, len, MADV_UNMERGEABLE);
		break;
	case SCN_OP_HUGEPAGE:
		mmn_madvise(mm, va, len, MADV_HUGEPAGE);
		break;
	case SCN_OP_COLLAPSE:
		mmn_madvise(mm, va & PMD_MASK, PMD_SIZE, MADV_COLLAPSE);
		break;
	case SCN_OP_SPLIT:
		mmn_split_huge_pmd(mm, va);
		break;
	case SCN_OP_PAGEOUT:
		mmn_pageout(mm, va, len);
		break;
	case SCN_OP_MIGRATE:
		mmn_migrate_pages(mm, va, len);
		break;
	case SCN_OP_AGE:
		mmn_page_referenced(mm, va);
		break;
	case SCN_OP_KHUGEPAGED:
		mmn_khugepaged_scan(mm);
		break;
	case SCN_OP_OOM_REAP:
		mmn_oom_reap(mm);
		break;
	case SCN_OP_CLEAR_SOFT_DIRTY:
		mmn_clear_soft_dirty(mm);
		break;
	case SCN_OP_MREMAP: {
		const struct scn_map *m = &x->s->maps[op->addr.map];
		unsigned long old = va - op->addr.off, size = m->pages * PAGE_SIZE;
		long n = mmn_mremap(mm, old, size, size + PAGE_SIZE, MREMAP_MAYMOVE, 0);

		if (n >= 0) {
			spin_lock(&x->procs_lock);
			x->map_addr[p][op->addr.map] = (unsigned long)n;
			spin_unlock(&x->procs_lock);
		}
		break;
	}
	case SCN_OP_REMAP: {
		const struct scn_map *m = &x->s->maps[op->addr.map];

		if (m->file >= 0)
			mmn_mmap_file(mm, va, len, m->prot, MAP_SHARED | MAP_FIXED,
				      x->file[m->file], (va - (va - op->addr.off)) >> PAGE_SHIFT);
		else
			mmn_mmap(mm, va, len, m->prot,
				 (m->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
				 MAP_FIXED);
		break;
	}
	default:
		break;
	}
	mmput(mm);
}

static void run_ops(struct scn_exec *x, const struct scn_agent *ag,
		    const struct scn_op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		const struct scn_op *op = &ops[i];
		uint64_t v = op->val;

		switch (op->kind) {
		case SCN_OP_LOOP:
			for (unsigned long k = 0; k < op->count; k++)
				run_ops(x, ag, op->body, op->nbody);
			break;
		case SCN_OP_YIELD:
			cond_resched();
			break;
		case SCN_OP_READ:
		case SCN_OP_WRITE:
			/* a device mirrors its process's address space */
			mmn_device_access(x->dev[ag->mirror],
					  op_va_in(x, x->s->mirrors[ag->mirror].proc, op),
					  op->kind == SCN_OP_WRITE, &v);
			break;
		default:
			run_cpu_op(x, ag, op);
			break;
		}
	}
}

static void *agent_body(void *arg)
{
	struct scn_agent_ctx *c = arg;

	run_ops(c->x, c->ag, c->ag->ops, c->ag->nops);
	return NULL;
}

void scn_run(struct scn_exec *x)
{
	const struct scn_scenario *s = x->s;

	if (x->error[0])
		return;
	for (int i = 0; i < s->nagents; i++) {
		const struct scn_agent *ag = &s->agents[i];

		x->actx[i].x = x;
		x->actx[i].ag = ag;
		static const enum mmn_task_kind kinds[] = {
			[SCN_AGENT_CPU] = MMN_TASK_CPU,
			[SCN_AGENT_DEVICE] = MMN_TASK_DEVICE,
			[SCN_AGENT_KTHREAD] = MMN_TASK_KTHREAD,
		};

		x->task[i] = mmn_task_create(ag->name, kinds[ag->kind],
					     ag->kind == SCN_AGENT_CPU ? x->mm[ag->proc] : NULL,
					     agent_body, &x->actx[i]);
	}
	for (int i = 0; i < s->nagents; i++)
		if (x->task[i])
			mmn_task_join(x->task[i]);
}

void scn_teardown(struct scn_exec *x)
{
	const struct scn_scenario *s = x->s;

	if (!x->world)
		return;
	if (!x->error[0])
		mmn_check_audit();
	/* children were forked later: they exit first */
	for (int i = s->nprocs - 1; i >= 0; i--) {
		struct mm_struct *mm = x->mm[i];

		x->mm[i] = NULL;
		if (mm)
			mmn_exit(mm);
	}
	for (int i = 0; i < s->nmirrors; i++)
		mmn_device_destroy(x->dev[i]);
	for (int i = 0; i < s->nfiles; i++)
		if (x->file[i])
			mmn_file_close(x->file[i]);
	mmn_check_end();
	mmn_thp_set_enabled(MMN_THP_MADVISE);
	mmn_swap_keep_cache(false);
	spin_lock_destroy(&x->procs_lock);
	mmn_mem_exit();
	x->world = false;
}

void scn_abandon(struct scn_exec *x)
{
	if (!x->world)
		return;
	mmn_check_end();
	x->world = false;
}

/*
 * The explorer's view of an instance (mmnlab run/explore/replay, the
 * benchmarks).  One execution is setup + run + teardown in a single phase
 * of the explorer: the drivers' own tasks (deferred-invalidation workers)
 * live from bind in setup to unbind in teardown, and the explorer abandons
 * the tasks a phase leaves unjoined.  An execution cut short (deadlock,
 * livelock) only gets the checker switched off: its world is abandoned
 * with its agents (the explorer runs executions in a child process).
 */
static void scn_explore_run(void *arg)
{
	scn_setup(arg);
	scn_run(arg);
	scn_teardown(arg);
}

static void scn_explore_teardown(void *arg)
{
	if (mmn_explore_aborted())
		scn_abandon(arg);
}

const struct mmn_explore_ops scn_explore_ops = {
	.run = scn_explore_run,
	.teardown = scn_explore_teardown,
};
