/* p-map-iter-private.h: feeding a PMapIter
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-deferred-value-private.h"
#include "p-map-iter.h"
#include "p-sink-private.h"

G_BEGIN_DECLS

/* Pulls more items for a lazy map, after some were taken. */
typedef void (*PMapIterFeedFunc) (PMapIter *iter,
                                  gpointer  user_data);

PMapIter *p_map_iter_new            (GObject      *pool,
                                     gboolean      ordered,
                                     guint         n_items);
void      p_map_iter_push_chunk     (PMapIter     *self,
                                     guint         first_item,
                                     guint         n_items,
                                     GVariant     *values,
                                     GVariant     *errors);
void      p_map_iter_push_value     (PMapIter     *self,
                                     guint         item,
                                     GVariant     *value);
void      p_map_iter_push_deferred_value (PMapIter       *self,
                                          guint           item,
                                          PDeferredValue *deferred);
void      p_map_iter_push_error     (PMapIter     *self,
                                     guint         first_item,
                                     guint         n_items,
                                     const GError *error);
void      p_map_iter_fail           (PMapIter     *self,
                                     const GError *error);
PSinkLink *p_map_iter_get_link      (PMapIter     *self);

void      p_map_iter_set_feed       (PMapIter         *self,
                                     PMapIterFeedFunc  feed,
                                     gpointer          data,
                                     GDestroyNotify    destroy);
guint     p_map_iter_add_items      (PMapIter         *self,
                                     guint             n);
void      p_map_iter_end_items      (PMapIter         *self,
                                     GError           *error);
guint     p_map_iter_get_taken      (PMapIter         *self);

/* p-data.c's: the values there are, without waiting. */
guint     p_map_iter_take_values    (PMapIter           *self,
                                     guint               max,
                                     const GVariantType *type,
                                     GPtrArray          *values);

G_END_DECLS
