/* p-normal-form-private.h: whether a GVariant is in normal form, and deep
 * enough to travel
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How the check goes about it: containers at least @min_walk_size bytes
 * large that may hold arrays of fixed-size items are walked here, and all
 * of them when @walk_every_container; the rest is left to GLib. */
/* Below this size GLib's own check is used as it is; it marks what it
 * checked trusted, which a larger value checked here is made again. */
#define P_NORMAL_FORM_GLIB_SIZE 4096

typedef struct
{
  gsize min_walk_size;
  gboolean walk_every_container;
} PWalkOptions;

gboolean p_variant_is_normal_form      (GVariant           *value);
gboolean p_variant_is_normal_form_full (GVariant           *value,
                                        guint               depth,
                                        const PWalkOptions *options);
GVariant *p_variant_dup_normal_form    (GVariant           *value);
gboolean p_variant_check_depth         (GVariant           *value,
                                        gsize               depth,
                                        GError            **error);

G_END_DECLS
