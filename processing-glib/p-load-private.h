/* p-load-private.h: how busy the machine's processors are
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The processors' time since boot, idle and in all, in clock ticks. */
typedef struct
{
  guint64 idle;
  guint64 total;
} PLoadSample;

gboolean p_load_sample     (PLoadSample       *sample);
double   p_load_idle_share (const PLoadSample *before,
                            const PLoadSample *after);

G_END_DECLS
