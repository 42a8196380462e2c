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
	unsigned long map_addr[SCN_MAX_MAPS];
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
	/* every process may hold a private copy, plus page tables slack */
	return pages * (unsigned long)(s->nprocs + 1) + 256;
}

void scn_setup(struct scn_exec *x)
{
	const struct scn_scenario *s = x->s;
	struct mmn_mem_config mc = { .nr_frames = pool_size(s) };

	x->error[0] = 0;
	memset(x->mm, 0, sizeof(x->mm));
	memset(x->dev, 0, sizeof(x->dev));
	mmn_era = s->era;
	if (mmn_mem_init(&mc)) {
		snprintf(x->error, sizeof(x->error), "cannot allocate %lu frames",
			 mc.nr_frames);
		return;
	}
	x->world = true;
	spin_lock_init(&x->procs_lock);
	mmn_check_begin();
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].forked_by < 0)
			x->mm[i] = mmn_mm_create();
	for (int i = 0; i < s->nmaps; i++) {
		const struct scn_map *m = &s->maps[i];
		long addr = mmn_mmap(x->mm[m->proc], 0, m->pages * PAGE_SIZE, m->prot,
				     (m->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS);

		if (addr < 0) {
			snprintf(x->error, sizeof(x->error), "%s:%d: mmap of '%s' failed: %s",
				 s->file, m->line, m->name, strerror((int)-addr));
			return;
		}
		x->map_addr[i] = (unsigned long)addr;
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

static unsigned long op_va(struct scn_exec *x, const struct scn_op *op)
{
	return x->map_addr[op->addr.map] + op->addr.off;
}

static void run_ops(struct scn_exec *x, const struct scn_agent *ag,
		    const struct scn_op *ops, int n);

static void run_cpu_op(struct scn_exec *x, const struct scn_agent *ag,
		       const struct scn_op *op)
{
	int p = op->addr.proc >= 0 ? op->addr.proc : ag->proc;
	struct mm_struct *mm, *child;
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
	default:
		break;
	}
	mm = proc_get(x, p);
	if (!mm)
		return;			/* the process is gone: nothing happens */
	switch (op->kind) {
	case SCN_OP_STORE:
		mmn_store(mm, op_va(x, op), v);
		break;
	case SCN_OP_LOAD:
		mmn_load(mm, op_va(x, op), &v);
		break;
	case SCN_OP_FORK:
		child = mmn_fork(mm, &err);
		if (child) {
			spin_lock(&x->procs_lock);
			x->mm[op->proc] = child;
			spin_unlock(&x->procs_lock);
		}
		break;
	case SCN_OP_MUNMAP:
		mmn_munmap(mm, op_va(x, op), op->pages * PAGE_SIZE);
		break;
	case SCN_OP_MPROTECT:
		mmn_mprotect(mm, op_va(x, op), op->pages * PAGE_SIZE, op->prot);
		break;
	case SCN_OP_DONTNEED:
		mmn_madvise(mm, op_va(x, op), op->pages * PAGE_SIZE, MADV_DONTNEED);
		break;
	case SCN_OP_REMAP: {
		const struct scn_map *m = &x->s->maps[op->addr.map];

		mmn_mmap(mm, op_va(x, op), op->pages * PAGE_SIZE, m->prot,
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
			mmn_device_access(x->dev[ag->mirror], op_va(x, op),
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
		x->task[i] = mmn_task_create(ag->name,
					     ag->kind == SCN_AGENT_CPU ? MMN_TASK_CPU : MMN_TASK_DEVICE,
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
	mmn_check_end();
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
