// SPDX-License-Identifier: GPL-2.0
/* The built-in drivers, by name (mmnlab list, scenario files). */
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

const struct mmn_driver *mmn_driver_find(const char *name)
{
	for (int i = 0; mmn_builtin_drivers[i]; i++)
		if (!strcmp(mmn_builtin_drivers[i]->name, name))
			return mmn_builtin_drivers[i];
	return NULL;
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
