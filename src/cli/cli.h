/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands of mmnlab, one file each. */
#ifndef MMN_CLI_H
#define MMN_CLI_H

int mmn_cmd_demo(int argc, char **argv);
int mmn_cmd_run(int argc, char **argv);
int mmn_cmd_explore(int argc, char **argv);
int mmn_cmd_replay(int argc, char **argv);

#endif
