// SPDX-License-Identifier: GPL-2.0
/* A shared object that is no plugin: no mmn_plugin_driver symbol. */
int not_a_driver(void);
int not_a_driver(void)
{
	return 42;
}
