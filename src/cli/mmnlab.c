// SPDX-License-Identifier: GPL-2.0
/*
 * mmnlab: the command-line front end.
 *
 *   mmnlab demo              fork + COW with a mirror device, correct and
 *                            broken, and what the checker says
 *   mmnlab list              drivers and their forms, eras, violation kinds
 *   mmnlab version
 *
 * Exit codes: 0 ok, 1 a violation (or an unexpected verdict), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/explore.h>
#include <mmn/mmn.h>

#include "cli/cli.h"
#include "scenario/scenario.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mmnlab <command> [options]\n"
		"\n"
		"commands:\n"
		"  run         run scenario files (or directories of them) under the\n"
		"              controlled scheduler, one verdict per instance\n"
		"  explore     search the schedules of one scenario; on a violation write\n"
		"              a replayable trace and print the execution\n"
		"  replay      re-run a trace file exactly\n"
		"  demo        the fork/COW demonstration: a mirror device in its correct\n"
		"              and broken forms, step by step\n"
		"  list        list drivers and forms, eras and violation kinds\n"
		"  version     print the version\n"
		"  help        this text\n"
		"\n"
		"Run 'mmnlab <command> --help' for a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mmnlab %s\n", MMN_VERSION_STRING);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: mmnlab list [--mirror-plugin FILE.so]...\n\nLists the drivers (built-in, then the plugins given) with their forms, the eras, the scenario\noperations, the exploration strategies and the violation kinds.\n");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mirror-plugin")) {
			if (mmn_cli_load_plugin("list", i + 1 < argc ? argv[i + 1] : NULL))
				return 2;
			i++;
			continue;
		}
		fprintf(stderr, "mmnlab list: unexpected argument '%s'\n", argv[i]);
		return 2;
	}
	printf("drivers:\n");
	for (int i = 0; mmn_driver_nth(i); i++) {
		const struct mmn_driver *d = mmn_driver_nth(i);

		printf("  %-10s %s\n", d->name, d->summary);
		for (int f = 0; d->forms[f]; f++)
			printf("    %-20s %s\n", d->forms[f],
			       d->form_docs ? d->form_docs[f] : "");
	}
	printf("eras:\n");
	for (int e = 0; e < MMN_ERA__COUNT; e++)
		printf("  %s%s\n", mmn_era_name(e), e == MMN_ERA_6_12 ? " (default)" : "");
	printf("era options:\n  2.6.33+holt  Robin Holt's 2010 proposal (--holt-atomic)\n");
	printf("scenario operations:\n");
	for (int k = 0; k < SCN_OP__COUNT; k++)
		printf("  %-18s %-24s %s\n", scn_op_name(k), scn_op_args(k), scn_op_doc(k));
	printf("strategies:\n");
	for (int s = 0; s < MMN_STRATEGY__COUNT; s++)
		if (s != MMN_STRATEGY_REPLAY)
			printf("  %s%s\n", mmn_explore_strategy_name(s),
			       s == MMN_STRATEGY_PCT ? " (default)" : "");
	printf("violation kinds:\n");
	for (int k = 0; k < MMN_V__COUNT; k++)
		printf("  %-24s %s\n", mmn_violation_name(k), mmn_violation_rule(k));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "demo", mmn_cmd_demo },
	{ "demo", mmn_cmd_demo },
	{ "run", mmn_cmd_run },
	{ "explore", mmn_cmd_explore },
	{ "replay", mmn_cmd_replay },
	{ "list", cmd_list },
	{ "version", cmd_version },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mmnlab: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
