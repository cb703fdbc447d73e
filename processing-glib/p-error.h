/* p-error.h: the PPoolError domain
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PROCESSING_GLIB_INSIDE) && !defined (PROCESSING_GLIB_COMPILATION)
# error "Only <processing-glib/processing-glib.h> can be included directly."
#endif

#include <glib.h>

#include "p-version-macros.h"

G_BEGIN_DECLS

#define P_POOL_ERROR (p_pool_error_quark ())

typedef enum
{
  P_POOL_ERROR_FAILED,
  P_POOL_ERROR_UNKNOWN_FUNCTION,
  P_POOL_ERROR_WORKER_DIED,
  P_POOL_ERROR_WORKER_START,
  P_POOL_ERROR_PROTOCOL,
  P_POOL_ERROR_CLOSED,
  P_POOL_ERROR_SANDBOX,
} PPoolError;

P_AVAILABLE_IN_0_1
GQuark p_pool_error_quark (void);

G_END_DECLS
