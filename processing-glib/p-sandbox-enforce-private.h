/* p-sandbox-enforce-private.h: a worker confining itself
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Applies the sandbox that this process's environment describes (see
 * p-sandbox-private.h), every mechanism the kernel allows, and returns
 * the report for FEATURES: an a{sv} of what is in force, what the kernel
 * refused and why. %NULL when no sandbox was asked for. Called by the
 * worker before it announces itself, and so before any task. */
GVariant *p_sandbox_enforce (void);

G_END_DECLS
