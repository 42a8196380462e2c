// SPDX-License-Identifier: GPL-2.0
/*
 * The drivers, by name (mmnlab list, scenario files, --driver): the
 * built-in ones, then the plugins registered with mmn_driver_register()
 * (mmnlab --mirror-plugin), which from then on are found, listed and
 * expanded by `mirror M *` exactly like the built-in ones.
 */
#include <errno.h>
#include <string.h>

#include <mmn/device.h>

#include "mirrors/dmirror.h"
#include "mirrors/gru.h"
#include "mirrors/kvm.h"
#include "mirrors/sva.h"
#include "mirrors/xpmem.h"

const struct mmn_driver *const mmn_builtin_drivers[] = {
	&mmn_driver_dmirror,
	&mmn_driver_kvm,
	&mmn_driver_gru,
	&mmn_driver_sva,
	&mmn_driver_xpmem,
	NULL,
};

#define NR_BUILTIN	(sizeof(mmn_builtin_drivers) / sizeof(mmn_builtin_drivers[0]) - 1)

/* Registered once, at start-up, before any run: no locking. */
static const struct mmn_driver *registered_drivers[MMN_MAX_PLUGIN_DRIVERS];
static int nr_registered;

const struct mmn_driver *mmn_driver_nth(int i)
{
	if (i < 0)
		return NULL;
	if ((size_t)i < NR_BUILTIN)
		return mmn_builtin_drivers[i];
	i -= (int)NR_BUILTIN;
	return i < nr_registered ? registered_drivers[i] : NULL;
}

bool mmn_driver_is_builtin(const struct mmn_driver *drv)
{
	for (size_t i = 0; i < NR_BUILTIN; i++)
		if (mmn_builtin_drivers[i] == drv)
			return true;
	return false;
}

const struct mmn_driver *mmn_driver_find(const char *name)
{
	const struct mmn_driver *drv;

	for (int i = 0; (drv = mmn_driver_nth(i)); i++)
		if (!strcmp(drv->name, name))
			return drv;
	return NULL;
}

int mmn_driver_register(const struct mmn_driver *drv)
{
	const struct mmn_driver *old = mmn_driver_find(drv->name);

	if (old == drv)
		return 0;
	if (old)
		return -EEXIST;
	if (nr_registered == MMN_MAX_PLUGIN_DRIVERS)
		return -ENOSPC;
	registered_drivers[nr_registered++] = drv;
	return 0;
}

int mmn_driver_form(const struct mmn_driver *drv, const char *form)
{
	if (!form)
		return 0;
	for (int i = 0; drv->forms[i]; i++)
		if (!strcmp(drv->forms[i], form))
			return i;
	return -1;
}
