/* p-pool-signals-private.c: worker-started and worker-exited, relayed to
 * the creator's main context
 *
 * The pool's thread never holds the pool itself: were it to drop the last
 * reference, the pool would be disposed there, and the caller's own last
 * unref would return before the workers are reaped. So it queues what
 * happened, and the creator's context looks at the pool and its handlers.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-pool-private.h"

/* At most this many wait, in case the creator's context never runs. */
#define MAX_EMISSIONS 1024

typedef struct
{
  PWorkerSignal signal;
  guint pid;
  int wait_status;
} Emission;

static gboolean
emit_in_context (gpointer user_data)
{
  PCore *core = user_data;
  g_autoptr(GArray) emissions = NULL;
  g_autoptr(PPool) pool = NULL;

  g_mutex_lock (&core->mutex);
  g_clear_pointer (&core->emission_source, g_source_unref);
  emissions = g_steal_pointer (&core->emissions);
  g_mutex_unlock (&core->mutex);

  /* Its last reference, if a handler drops it, is dropped in this thread. */
  pool = g_weak_ref_get (&core->pool);
  for (guint i = 0; pool != NULL && emissions != NULL && i < emissions->len; i++)
    {
      const Emission *emission = &g_array_index (emissions, Emission, i);

      p_pool_emit_worker_signal (pool, emission->signal, emission->pid, emission->wait_status);
    }

  return G_SOURCE_REMOVE;
}

/* On the pool thread. */
void
p_core_emit (PCore         *core,
             PWorkerSignal  signal,
             GPid           pid,
             int            wait_status)
{
  Emission emission = { signal, (guint) pid, wait_status };

  g_mutex_lock (&core->mutex);
  if (core->emissions_dropped)
    {
      g_mutex_unlock (&core->mutex);
      return;
    }

  if (core->emissions == NULL)
    core->emissions = g_array_new (FALSE, FALSE, sizeof (Emission));
  if (core->emissions->len < MAX_EMISSIONS)
    g_array_append_val (core->emissions, emission);

  if (core->emission_source == NULL)
    {
      core->emission_source = g_idle_source_new ();
      g_source_set_priority (core->emission_source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (core->emission_source, "[processing-glib] worker signals");
      g_source_set_callback (core->emission_source, emit_in_context, p_core_ref (core),
                             (GDestroyNotify) p_core_unref);
      g_source_attach (core->emission_source, core->signal_context);
    }
  g_mutex_unlock (&core->mutex);
}

/* Once the pool is being disposed: the source holds the core, which holds
 * its context; this breaks that cycle when the context never runs. */
void
p_core_drop_emissions (PCore *core)
{
  GSource *source;

  g_mutex_lock (&core->mutex);
  core->emissions_dropped = TRUE;
  source = g_steal_pointer (&core->emission_source);
  g_clear_pointer (&core->emissions, g_array_unref);
  g_mutex_unlock (&core->mutex);

  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}
