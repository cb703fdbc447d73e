/* p-spinner-private.h: waiting for the other end, spinning a moment first
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether a thread that waits for the other end polls before it sleeps. */
typedef struct
{
  gboolean last_wait_short;
  guint backoff;          /* chances to spin to skip after a spin in vain */
  guint n_skipped;
} PSpinner;

gint p_poll_spinning (PSpinner *spinner,
                      GPollFD  *fds,
                      guint     n_fds,
                      gint      timeout_msec,
                      gboolean  may_spin);

G_END_DECLS
