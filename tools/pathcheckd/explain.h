/* SPDX-License-Identifier: MIT */
/* pathcheckd -t: the devices and why (explain.c). */
#ifndef PATHCHECKD_EXPLAIN_H
#define PATHCHECKD_EXPLAIN_H

#include <stdio.h>

#include "config.h"

/* Writes the device lines and the "# " explanations: 0 or -errno. */
int config_explain(const struct config *cfg, FILE *out);

#endif
