// SPDX-License-Identifier: GPL-2.0
/*
 * Run setup (mmn_rt_init/exit), back-end dispatch, schedule points.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmn/report.h>

#include "sched.h"

const struct mmn_sched_ops *__mmn_sched = &__mmn_sched_threads;

static struct mmn_rt_config rt_cfg;

static const char *const park_verbs[] = {
#define X(n, s) [MMN_PARK_##n] = s,
	MMN_PARK_KINDS(X)
#undef X
};

const char *__mmn_park_verb(enum mmn_park_kind kind)
{
	return (unsigned)kind < MMN_PARK__COUNT ? park_verbs[kind] : "?";
}

void mmn_rt_init(const struct mmn_rt_config *cfg)
{
	const struct mmn_sched_ops *ops = &__mmn_sched_threads;

	rt_cfg = cfg ? *cfg : (struct mmn_rt_config){ .backend = MMN_BACKEND_THREADS };
	if (rt_cfg.backend == MMN_BACKEND_CONTROLLED) {
		if (!&__mmn_sched_controlled) {
			fprintf(stderr, "mmnlab: the controlled back end is not built in\n");
			exit(2);
		}
		ops = &__mmn_sched_controlled;
	}
	/* leftovers of a run never exited are freed by their own back end */
	__mmn_task_run_begin();
	__mmn_sched = ops;
	mmn_report_reset();
	ops->init(&rt_cfg);
}

void mmn_rt_exit(void)
{
	__mmn_task_run_end();
	__mmn_sched->exit();
}

const struct mmn_rt_config *mmn_rt_config(void)
{
	return &rt_cfg;
}

void mmn_sched_point(enum mmn_sched_point kind, const void *obj)
{
	__mmn_sched->sched_point(kind, obj);
}
