/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands of mmnlab, one file each. */
#ifndef MMN_CLI_H
#define MMN_CLI_H

int mmn_cmd_demo(int argc, char **argv);

#endif
