/* p-version-macros.h: symbol visibility and availability
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

/* The library is built with -fvisibility=hidden; only declarations
 * marked with one of these macros are exported. */
#ifndef _P_EXTERN
# define _P_EXTERN __attribute__((visibility ("default"))) extern
#endif

#define P_VERSION_0_1 (G_ENCODE_VERSION (0, 1))

#define P_AVAILABLE_IN_ALL _P_EXTERN
#define P_AVAILABLE_IN_0_1 _P_EXTERN
