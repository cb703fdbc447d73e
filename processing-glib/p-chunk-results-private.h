/* p-chunk-results-private.h: a map chunk's results, gathered by the
 * worker and joined by the pool
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PChunkResults PChunkResults;

PChunkResults      *p_chunk_results_new          (void);
void                p_chunk_results_free         (PChunkResults  *self);
gboolean            p_chunk_results_add          (PChunkResults  *self,
                                                  GVariant       *value,
                                                  GError        **error);
gsize               p_chunk_results_get_count    (PChunkResults  *self);
GVariant           *p_chunk_results_dup_packed   (PChunkResults  *self);
GVariant          **p_chunk_results_peek_values  (PChunkResults  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PChunkResults, p_chunk_results_free)

const GVariantType *p_variant_common_type        (GVariant      **values,
                                                  gsize           n_values);
GVariant           *p_chunk_values_get           (GVariant       *values,
                                                  gsize           index);
GVariant           *p_variant_join_boxed         (GVariant      **arrays,
                                                  guint           n_arrays);

G_END_DECLS
