/* p-stats-private.c: what the pool is doing, for p_pool_get_stats()
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-pool-private.h"
#include "p-job-private.h"
#include "p-scheduler-private.h"

typedef struct
{
  PCore *core;
  GVariant *stats;
} StatsCall;

static const char *
state_name (PProcessState state)
{
  switch (state)
    {
    case P_PROCESS_STARTING: return "starting";
    case P_PROCESS_READY:    return "ready";
    case P_PROCESS_CLOSING:  return "exiting";
    case P_PROCESS_DEAD:     return "dead";
    default:                 g_assert_not_reached ();
    }
}

/* On the pool's thread, or once it finished. */
static gboolean
collect_stats (gpointer user_data)
{
  StatsCall *call = user_data;
  PCore *core = call->core;
  g_auto(GVariantBuilder) stats = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_auto(GVariantBuilder) workers = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  gint64 now = g_get_monotonic_time ();
  guint n_busy = 0, n_idle = 0, n_starting = 0;
  guint n_incoming = 0;

  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);
      PProcess *process = slot->process;
      gboolean busy = !g_queue_is_empty (&slot->in_flight);
      g_auto(GVariantBuilder) worker = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

      n_busy += busy;
      n_idle += !busy && process->state == P_PROCESS_READY;
      n_starting += process->state == P_PROCESS_STARTING;

      g_variant_builder_add (&worker, "{sv}", "pid", g_variant_new_uint32 (process->pid));
      g_variant_builder_add (&worker, "{sv}", "state", g_variant_new_string (state_name (process->state)));
      g_variant_builder_add (&worker, "{sv}", "tasks-run", g_variant_new_uint64 (slot->n_tasks_run));
      g_variant_builder_add (&worker, "{sv}", "in-flight", g_variant_new_uint32 (slot->in_flight.length));
      g_variant_builder_add (&worker, "{sv}", "task-age",
                             g_variant_new_int64 (busy ? now - slot->running_since : -1));
      g_variant_builder_add_value (&workers, g_variant_builder_end (&worker));
    }

  g_mutex_lock (&core->mutex);
  for (GList *l = core->incoming.head; l != NULL; l = l->next)
    n_incoming += ((PJob *) l->data)->n_chunks;
  g_mutex_unlock (&core->mutex);

  g_variant_builder_add (&stats, "{sv}", "workers", g_variant_new_uint32 (core->workers->len));
  g_variant_builder_add (&stats, "{sv}", "busy", g_variant_new_uint32 (n_busy));
  g_variant_builder_add (&stats, "{sv}", "idle", g_variant_new_uint32 (n_idle));
  g_variant_builder_add (&stats, "{sv}", "starting", g_variant_new_uint32 (n_starting));
  g_variant_builder_add (&stats, "{sv}", "queued",
                         g_variant_new_uint32 (core->pending.length + core->n_held_chunks + n_incoming));
  g_variant_builder_add (&stats, "{sv}", "completed", g_variant_new_uint64 (core->n_completed));
  g_variant_builder_add (&stats, "{sv}", "failed", g_variant_new_uint64 (core->n_failed));
  g_variant_builder_add (&stats, "{sv}", "per-worker", g_variant_builder_end (&workers));

  call->stats = g_variant_ref_sink (g_variant_builder_end (&stats));

  return G_SOURCE_REMOVE;
}

/* From any thread: an a{sv}, taken on the pool's thread so that it is
 * consistent. */
GVariant *
p_core_dup_stats (PCore *core)
{
  StatsCall call = { core, NULL };

  p_core_run_sync (core, collect_stats, &call);

  return call.stats;
}
