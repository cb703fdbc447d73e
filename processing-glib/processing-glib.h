/* processing-glib.h: umbrella header
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#define PROCESSING_GLIB_INSIDE
# include "p-version-macros.h"
# include "p-error.h"
# include "p-enum-types.h"
# include "p-result.h"
# include "p-result-queue.h"
# include "p-map-iter.h"
# include "p-sandbox.h"
# include "p-pool.h"
# include "p-launcher.h"
# include "p-worker.h"
# include "p-data.h"
#undef PROCESSING_GLIB_INSIDE
