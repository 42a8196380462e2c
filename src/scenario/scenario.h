/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Scenario files (*.mmn): a small, line-oriented description of a
 * situation -- processes, mappings, mirrors, agents with their operations,
 * the era, and the expected outcome -- in the spirit of a herd7 litmus
 * test.  docs/scenarios.md is the reference; an example:
 *
 *     # fork write-protects the parent while a device writes it
 *     name fork-cow
 *     era 6.12
 *     expect violation lost-write
 *
 *     process P
 *     map A in P private rw pages 1
 *     mirror M dmirror deferred on P
 *
 *     cpu T on P {
 *         store A 1
 *         fork C
 *         store A 2
 *     }
 *     device D of M {
 *         write A 0x10
 *         read A
 *     }
 *
 * The parser never aborts: every error carries file:line:column, what was
 * found and what was expected, and nothing runs on a malformed file.
 */
#ifndef MMN_SCENARIO_H
#define MMN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mmn/device.h>
#include <mmn/era.h>
#include <mmn/report.h>

/* Limits, enforced with a clear message. */
#define SCN_MAX_FILE_SIZE	(64 * 1024)
#define SCN_MAX_PROCS		8
#define SCN_MAX_MAPS		16
#define SCN_MAX_MIRRORS		4
#define SCN_MAX_FILES		4
#define SCN_MAX_AGENTS		8
#define SCN_MAX_OPS		4096	/* in the whole file, loop bodies included */
#define SCN_MAX_PAGES		1024	/* per mapping */
#define SCN_MAX_LOOP		100000
#define SCN_MAX_DEPTH		8	/* loop nesting */
#define SCN_MAX_NAME		32

enum scn_op_kind {
#define SCN_OP(e, name, who, args, doc) SCN_OP_##e,
#include "scenario/ops.def"
#undef SCN_OP
	SCN_OP__COUNT
};

const char *scn_op_name(enum scn_op_kind k);
const char *scn_op_args(enum scn_op_kind k);
const char *scn_op_doc(enum scn_op_kind k);

/* An address: [PROCESS:]MAP[[PAGE]][+OFFSET]. */
struct scn_addr {
	int proc;		/* -1: the agent's process */
	int map;
	unsigned long off;	/* bytes from the mapping's start, 8-aligned */
};

struct scn_op {
	enum scn_op_kind kind;
	int line, col;
	struct scn_addr addr;
	int file;		/* truncate, punch */
	unsigned long page;	/* punch: first page */
	uint64_t val;
	unsigned long pages;
	int prot;		/* PROT_* for mprotect */
	int proc;		/* fork: the child; exit: the target (-1: own) */
	unsigned long count;	/* loop */
	struct scn_op *body;	/* loop */
	int nbody;
};

struct scn_proc {
	char name[SCN_MAX_NAME];
	int forked_by;		/* -1: exists at start; else the fork op's line */
};

struct scn_file {
	char name[SCN_MAX_NAME];
	unsigned long pages;
	int line;
};

struct scn_map {
	char name[SCN_MAX_NAME];
	int proc;
	int file;		/* -1: anonymous; else a MAP_SHARED file mapping */
	bool thp;		/* 2 MiB aligned, MADV_HUGEPAGE */
	bool mergeable;		/* MADV_MERGEABLE */
	bool shared;
	int prot;
	unsigned long pages;
	int line;
};

struct scn_mirror {
	char name[SCN_MAX_NAME];
	bool any;		/* "mirror M * on P": every driver, every form */
	const struct mmn_driver *driver;
	char form[SCN_MAX_NAME];
	int proc;
	int line;
};

enum scn_agent_kind { SCN_AGENT_CPU, SCN_AGENT_DEVICE, SCN_AGENT_KTHREAD };

struct scn_agent {
	char name[SCN_MAX_NAME];
	enum scn_agent_kind kind;
	int proc;		/* cpu; -1 for a kthread */
	int mirror;		/* device */
	struct scn_op *ops;
	int nops;
	int line;
};

/*
 * An expectation line: "expect [era E] [SPEC] ok | violation KIND", SPEC
 * one of correct, broken, DRIVER/FORM, DRIVER/ *.  The most specific line
 * that matches an instance wins (DRIVER/FORM over DRIVER/ * over
 * correct/broken over none; an era qualifier adds one).
 */
#define SCN_MAX_EXPECT		32
#define SCN_FORM_ANY		-1
#define SCN_FORM_CORRECT	-2
#define SCN_FORM_BROKEN		-3
/* "expect violation any": some violation, whatever its kind */
#define SCN_EXPECT_ANY		MMN_V__COUNT
/* "expect ... maybe": no assertion, the verdict is only reported (herd7's
 * "Sometimes": a bug that needs an interleaving this budget may miss) */
#define SCN_EXPECT_MAYBE	(MMN_V__COUNT + 1)

struct scn_expect {
	int era;				/* -1: any */
	const struct mmn_driver *driver;	/* NULL: any */
	int form;				/* index, or SCN_FORM_* */
	int kind;				/* -1: ok */
	int line;
};

struct scn_scenario {
	char name[64];
	char file[256];
	enum mmn_era era;	/* the instance's era (the first of eras) */
	unsigned int eras;	/* bit per enum mmn_era to run under */
	unsigned int era_opts;	/* MMN_ERA_OPT_*, for the eras that have
				 * them ("era 2.6.33+holt") */
	bool era_set;
	int expect;		/* -1: expect ok; else enum mmn_violation_kind
				 * (the unqualified expectation) */
	struct scn_expect expects[SCN_MAX_EXPECT];
	int nexpects;
	unsigned long frames;	/* frame pool; 0: sized from the mappings */
	int thp;		/* enum mmn_thp_mode, -1: the default */
	bool swapcache_keep;	/* written-out pages stay in the swap cache */
	struct scn_file files[SCN_MAX_FILES];
	int nfiles;
	struct scn_proc procs[SCN_MAX_PROCS];
	int nprocs;
	struct scn_map maps[SCN_MAX_MAPS];
	int nmaps;
	struct scn_mirror mirrors[SCN_MAX_MIRRORS];
	int nmirrors;
	struct scn_agent agents[SCN_MAX_AGENTS];
	int nagents;
	int nops_total;
	bool borrowed_ops;	/* an instance: the agents' ops belong to its parent */
};

/*
 * Parse @len bytes of @text named @file.  Returns the scenario, or NULL
 * with a message "FILE:LINE:COL: error: ..." in @err (size @errlen).
 */
struct scn_scenario *scn_parse(const char *file, const char *text, size_t len,
			       char *err, size_t errlen);
/* Read and parse a file (size limit, I/O errors reported the same way). */
struct scn_scenario *scn_load(const char *path, char *err, size_t errlen);
void scn_free(struct scn_scenario *s);
/* Print the scenario back in canonical form (tests: parse(print(x)) == x). */
void scn_print(const struct scn_scenario *s, FILE *f);

/*
 * The matrix: one instance per (era in s->eras) x (driver and form, for
 * each "mirror M *"), each a scenario with everything fixed, and its
 * expected outcome (-1 ok, else a violation kind).  At most
 * SCN_MAX_INSTANCES; returns the number, fills @out (free each with
 * scn_free()).
 */
#define SCN_MAX_INSTANCES	256
int scn_expand(const struct scn_scenario *s, struct scn_scenario **out, int max);
/* The expectation for a fixed instance. */
int scn_expected(const struct scn_scenario *s);
/* "dmirror/deferred" etc. for the table; "-" without mirrors. */
void scn_instance_label(const struct scn_scenario *s, char *buf, size_t n);

/* ---- running ---------------------------------------------------------- */

/*
 * One execution of a scenario.  scn_setup() builds the world (frame pool,
 * checker, processes, mappings, mirrors) as the main agent; scn_run()
 * starts one task per agent and joins them; scn_teardown() audits, exits
 * every process, destroys the mirrors and frees the world.  Violations go
 * to the report (<mmn/report.h>).
 */
struct scn_exec;
struct scn_exec *scn_exec_new(const struct scn_scenario *s);
void scn_exec_free(struct scn_exec *x);
void scn_setup(struct scn_exec *x);
void scn_run(struct scn_exec *x);
void scn_teardown(struct scn_exec *x);
/* After an execution was cut short: switch the checker off and forget the
 * world without touching it (its agents were abandoned mid-flight). */
void scn_abandon(struct scn_exec *x);
/* Did setup fail (e.g. a driver refused to bind)?  The message, or NULL. */
const char *scn_exec_error(const struct scn_exec *x);
/* An instance under mmn_explore(): the argument is its struct scn_exec. */
struct mmn_explore_ops;
extern const struct mmn_explore_ops scn_explore_ops;

#endif
