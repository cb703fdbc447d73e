/* p-scheduler-private.h: which worker runs what
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-job-private.h"
#include "p-message-private.h"
#include "p-pool-private.h"
#include "p-process-private.h"

G_BEGIN_DECLS

/* One worker as the scheduler sees it: its process, and what it was sent.
 * The pool thread's own. */
struct _PWorkerSlot
{
  PCore *core;
  PProcess *process;
  GQueue in_flight;          /* PChunk *: sent, not answered; the head runs */
  guint n_tasks_sent;
  gint64 running_since;      /* when the head started */
  gint64 average_run_usec;   /* of its tasks, lately */
  GSource *running_timer;    /* for the head's time-out or cancel grace */
  gint64 idle_since;         /* when it last had nothing in flight */
  guint64 n_tasks_run;       /* tasks and chunks it answered */
};

PWorkerSlot *p_worker_slot_new            (PCore          *core);
void         p_worker_slot_free           (PWorkerSlot    *slot);

void         p_scheduler_run              (PCore          *core);
void         p_scheduler_stop             (PCore          *core);
void         p_scheduler_settings_changed (PCore          *core);
gboolean     p_scheduler_is_latency_bound (PCore          *core);
guint        p_scheduler_count_busy       (PCore          *core);
void         p_scheduler_orphan_chunk     (PCore          *core,
                                           PChunk         *chunk);
void         p_scheduler_on_reply         (PWorkerSlot    *slot,
                                           const PMessage *message);
void         p_scheduler_on_progress      (PWorkerSlot    *slot,
                                           const PMessage *message);
void         p_scheduler_worker_lost      (PWorkerSlot    *slot,
                                           GError         *death);

G_END_DECLS
