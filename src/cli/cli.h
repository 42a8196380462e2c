/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands of mmnlab, one file each. */
#ifndef MMN_CLI_H
#define MMN_CLI_H

int mmn_cmd_demo(int argc, char **argv);
int mmn_cmd_run(int argc, char **argv);
int mmn_cmd_explore(int argc, char **argv);
int mmn_cmd_replay(int argc, char **argv);

struct mmn_driver;

/* --mirror-plugin (plugins.c): load and register one plugin; scan a
 * command line for every occurrence (returns how many, -1 after printing
 * an error naming the flag); the absolute path a driver was loaded from
 * (NULL for a built-in driver). */
int mmn_cli_load_plugin(const char *cmd, const char *path);
int mmn_cli_scan_plugins(const char *cmd, int argc, char **argv);
const char *mmn_cli_plugin_path(const struct mmn_driver *drv);

#endif
