/* p-scheduler-private.c: which worker runs what
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-scheduler-private.h"
#include "p-error.h"
#include "p-load-private.h"
#include "p-i18n-private.h"
#include "p-message-writer-private.h"
#include "p-sealed-private.h"

/* Messages sent to a worker ahead of the one it runs, so that it never
 * waits for the next one (those not started run elsewhere if it dies): as
 * many as it runs in IN_FLIGHT_USEC, within bounds. Short tasks fill a deep
 * queue, so that their replies leave together and the pool answers many
 * with one wake-up; long ones keep a short queue, which balances them. */
#define IN_FLIGHT_MIN 2
#define IN_FLIGHT_MAX 128
#define IN_FLIGHT_USEC 2000
/* A worker whose running task has taken this much longer than its tasks
 * lately do gives back those it has not started, if another worker idles:
 * at least STALL_MIN_USEC, STALL_FACTOR times its average. */
#define STALL_MIN_USEC IN_FLIGHT_USEC
#define STALL_FACTOR 4

/* {{{ Worker slots */

PWorkerSlot *
p_worker_slot_new (PCore *core)
{
  PWorkerSlot *slot = g_new0 (PWorkerSlot, 1);

  slot->core = core;
  g_queue_init (&slot->in_flight);
  /* Slow until shown otherwise: a short queue, which balances long tasks. */
  slot->average_run_usec = G_USEC_PER_SEC / 100;

  return slot;
}

void
p_worker_slot_free (PWorkerSlot *slot)
{
  g_assert (g_queue_is_empty (&slot->in_flight));

  p_clear_source (&slot->running_timer);
  g_clear_pointer (&slot->process, p_process_free);
  g_free (slot);
}

static gboolean
slot_is_retiring (PWorkerSlot     *slot,
                  const PSettings *settings)
{
  return settings->max_tasks_per_worker > 0 &&
         slot->n_tasks_sent >= settings->max_tasks_per_worker;
}

static guint
slot_max_in_flight (PWorkerSlot *slot)
{
  gint64 n = IN_FLIGHT_USEC / MAX (slot->average_run_usec, 1);

  return CLAMP (n, IN_FLIGHT_MIN, IN_FLIGHT_MAX);
}

static gboolean
slot_takes_tasks (PWorkerSlot     *slot,
                  const PSettings *settings)
{
  return slot->process->state == P_PROCESS_READY &&
         slot->in_flight.length < slot_max_in_flight (slot) &&
         !slot_is_retiring (slot, settings);
}

static PChunk *
slot_find_in_flight (PWorkerSlot *slot,
                     guint64      id)
{
  for (GList *l = slot->in_flight.head; l != NULL; l = l->next)
    if (((PChunk *) l->data)->id == id)
      return l->data;

  return NULL;
}

/* }}} */
/* {{{ The running task's clock */

static void slot_arm_timer (PWorkerSlot *slot);

/* A timeout in the pool thread's context, due at @deadline (monotonic
 * time), rounded up to the millisecond. */
static GSource *
add_timeout_at (PCore       *core,
                gint64       deadline,
                GSourceFunc  func,
                gpointer     data)
{
  GSource *source = g_timeout_source_new (MAX (0, (deadline - g_get_monotonic_time () + 999) / 1000));

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, core->context);

  return source;
}

/* When the head of @slot's in-flight messages must be done: its task
 * time-out (per item, for a chunk) while its job waits for it; the cancel
 * grace period once nobody does. G_MAXINT64 for never. */
static gint64
running_deadline (PWorkerSlot     *slot,
                  const PSettings *settings)
{
  PChunk *head = slot->in_flight.head ? slot->in_flight.head->data : NULL;

  if (head == NULL || slot->process->state == P_PROCESS_DEAD)
    return G_MAXINT64;

  if (head->job == NULL)
    return MAX (head->orphaned_at, slot->running_since) + settings->cancel_grace_period;

  if (settings->task_timeout > 0)
    return slot->running_since + settings->task_timeout * MAX (head->n_items, 1);

  return G_MAXINT64;
}

static gboolean
running_timer_fired (gpointer user_data)
{
  PWorkerSlot *slot = user_data;
  const PSettings *settings = &slot->core->current;
  PProcess *process = slot->process;
  PChunk *head;

  if (g_get_monotonic_time () < running_deadline (slot, settings))
    {
      slot_arm_timer (slot);
      return G_SOURCE_REMOVE;
    }

  g_clear_pointer (&slot->running_timer, g_source_unref);
  head = slot->in_flight.head->data;

  /* Its task fails with the reason (see p_scheduler_worker_lost()), and a
   * replacement is started. */
  if (head->job == NULL)
    p_process_kill (process,
                    g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 _("Worker process %d did not stop a cancelled task within %.3g s and was killed"),
                                 (int) process->pid, settings->cancel_grace_period / (double) G_USEC_PER_SEC));
  else
    p_process_kill (process,
                    g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                 _("Task “%s” ran for longer than %.3g s; worker process %d was killed"),
                                 head->job->function,
                                 settings->task_timeout * MAX (head->n_items, 1) / (double) G_USEC_PER_SEC,
                                 (int) process->pid));

  return G_SOURCE_REMOVE;
}

/* (Re)starts the clock of what @slot runs. */
static void
slot_arm_timer (PWorkerSlot *slot)
{
  gint64 deadline = running_deadline (slot, &slot->core->current);

  p_clear_source (&slot->running_timer);

  if (deadline != G_MAXINT64)
    slot->running_timer = add_timeout_at (slot->core, deadline, running_timer_fired, slot);
}

/* New time-outs apply to what runs now, too. */
void
p_scheduler_settings_changed (PCore *core)
{
  for (guint i = 0; i < core->workers->len; i++)
    slot_arm_timer (g_ptr_array_index (core->workers, i));
}

/* }}} */
/* {{{ Sending */

/* A large body goes to a worker that takes it sealed, in shared memory:
 * copied once, not twice through the socket. */
static void
slot_send_chunk (PWorkerSlot *slot,
                 PChunk      *chunk)
{
  g_autoptr(PFrame) frame = slot->process->takes_sealed ? p_frame_seal_if_large (chunk->frame)
                                                        : p_frame_ref (chunk->frame);

  p_process_send (slot->process, frame);
}

static void
dispatch_chunk (PCore       *core,
                PWorkerSlot *slot,
                PChunk      *chunk)
{
  g_queue_unlink (&core->pending, &chunk->link);
  chunk->state = P_CHUNK_IN_FLIGHT;
  chunk->slot = slot;
  g_queue_push_tail_link (&slot->in_flight, &chunk->link);
  slot->n_tasks_sent++;
  slot_send_chunk (slot, chunk);

  /* An idle worker starts it now. */
  if (slot->in_flight.length == 1)
    {
      slot->running_since = g_get_monotonic_time ();
      slot_arm_timer (slot);
    }
}

/* A chunk in flight whose job ended stays there as an orphan, so that the
 * replies still match; its worker is told to stop it, and killed if it
 * does not within the cancel grace period. */
void
p_scheduler_orphan_chunk (PCore  *core,
                          PChunk *chunk)
{
  g_autoptr(PFrame) cancel = p_message_encode_id (P_MESSAGE_CANCEL, chunk->id);

  g_assert (chunk->state == P_CHUNK_IN_FLIGHT && chunk->job == NULL);

  chunk->orphaned_at = g_get_monotonic_time ();
  p_process_send (chunk->slot->process, cancel);
  slot_arm_timer (chunk->slot);
}

/* }}} */
/* {{{ Giving back what waits behind a long task
 *
 * A worker holds up to IN_FLIGHT_MAX tasks, as many as it runs in
 * IN_FLIGHT_USEC: short ones leave their replies together. Behind a task
 * that runs far longer than its worker's recent ones, they would wait for
 * it while another worker idles; so the pool recalls those the worker has
 * not started, and sends them again. A worker answers a RECALL with
 * RECALLED only for a task it had not started: none runs twice. */

static gint64
slot_stuck_deadline (PWorkerSlot *slot)
{
  return slot->running_since + MAX (STALL_MIN_USEC, STALL_FACTOR * slot->average_run_usec);
}

/* Whether @slot holds tasks it has not started that could be recalled. */
static gboolean
slot_has_recallable (PWorkerSlot *slot)
{
  if (!slot->process->takes_recalls || slot->process->state == P_PROCESS_DEAD || slot->in_flight.length < 2)
    return FALSE;

  for (GList *l = slot->in_flight.head->next; l != NULL; l = l->next)
    {
      PChunk *chunk = l->data;

      if (chunk->job != NULL && !chunk->recalling)
        return TRUE;
    }

  return FALSE;
}

static void
slot_recall_queued (PWorkerSlot *slot)
{
  guint n_recalled = 0;

  /* Never the head: the worker runs it, or is about to. */
  for (GList *l = slot->in_flight.head->next; l != NULL; l = l->next)
    {
      PChunk *chunk = l->data;
      g_autoptr(PFrame) frame = NULL;

      if (chunk->job == NULL || chunk->recalling)
        continue;

      chunk->recalling = TRUE;
      frame = p_message_encode_id (P_MESSAGE_RECALL, chunk->id);
      p_process_send (slot->process, frame);
      n_recalled++;
    }

  g_debug ("Recalling %u tasks queued in worker process %d behind one running for %.1f ms",
           n_recalled, (int) slot->process->pid, (g_get_monotonic_time () - slot->running_since) / 1000.0);
}

static gboolean
recall_timer_fired (gpointer user_data)
{
  PCore *core = user_data;

  g_clear_pointer (&core->recall_timer, g_source_unref);
  core->recall_deadline = 0;
  p_scheduler_run (core);

  return G_SOURCE_REMOVE;
}

static void
set_recall_timer (PCore  *core,
                  gint64  deadline)
{
  if (deadline == core->recall_deadline)
    return;

  p_clear_source (&core->recall_timer);

  core->recall_deadline = deadline;
  if (deadline != 0)
    core->recall_timer = add_timeout_at (core, deadline, recall_timer_fired, core);
}

/* With nothing left to send: while a worker idles, a worker stuck on a
 * long task gives back what it holds, now or when it counts as stuck. */
static void
rebalance (PCore           *core,
           const PSettings *settings)
{
  gint64 now = 0, next = 0;
  gboolean one_idles = FALSE;

  for (guint i = 0; i < core->workers->len && !one_idles; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);

      one_idles = g_queue_is_empty (&slot->in_flight) && slot_takes_tasks (slot, settings);
    }

  for (guint i = 0; i < core->workers->len && one_idles; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);
      gint64 deadline;

      if (!slot_has_recallable (slot))
        continue;

      if (now == 0)
        now = g_get_monotonic_time ();

      deadline = slot_stuck_deadline (slot);
      if (now >= deadline)
        slot_recall_queued (slot);
      else if (next == 0 || deadline < next)
        next = deadline;
    }

  set_recall_timer (core, next);
}

/* Pending again, before what was submitted after it. */
static void
requeue_chunk (PCore  *core,
               PChunk *chunk)
{
  GList *l = core->pending.head;

  while (l != NULL && ((PChunk *) l->data)->id < chunk->id)
    l = l->next;

  chunk->state = P_CHUNK_PENDING;
  if (l == NULL)
    g_queue_push_tail_link (&core->pending, &chunk->link);
  else
    g_queue_insert_before_link (&core->pending, l, &chunk->link);
}

static void
on_recalled (PWorkerSlot *slot,
             PChunk      *chunk)
{
  gboolean was_head = slot->in_flight.head == &chunk->link;

  if (!chunk->recalling)
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. */
      p_process_protocol_error (slot->process, _("it gave back a task that was not recalled"));
      return;
    }

  g_queue_unlink (&slot->in_flight, &chunk->link);
  chunk->recalling = FALSE;
  chunk->slot = NULL;
  /* It counts toward nobody's share. */
  slot->n_tasks_sent--;

  if (g_queue_is_empty (&slot->in_flight))
    slot->idle_since = g_get_monotonic_time ();

  /* The one after a finished task was given back: the next one starts. */
  if (was_head)
    {
      slot->running_since = g_get_monotonic_time ();
      slot_arm_timer (slot);
    }

  if (chunk->job == NULL)
    {
      chunk->state = P_CHUNK_NEW;
      p_chunk_free (chunk);
      return;
    }

  requeue_chunk (slot->core, chunk);
}

/* No recall is due any more: the pool terminates. */
void
p_scheduler_stop (PCore *core)
{
  set_recall_timer (core, 0);
}

/* }}} */
/* {{{ How many workers: busy, and idle
 *
 * A worker per processor keeps the processors busy when tasks use them;
 * more would only share them, and wake for every few tasks (with 128
 * workers on 2 processors, the pool spends its time switching between
 * them). So while tasks wait, the scheduler keeps at most active_cap
 * workers busy, the number of processors at first, and measures: while
 * the processors idle although tasks wait (workers that wait on something
 * else, a disk, a network, a sleep), it doubles that number (or, when
 * they mostly idle, takes as many as the waiting tasks need); while they
 * are busy and more workers than processors run, it halves it. Workers
 * that do not use this machine's processors (on other hosts) are not
 * capped. */

#define LOAD_PERIOD_MSEC 25
/* The processors' idle share above which more workers would help, and
 * under which fewer would do as much. */
#define IDLE_TO_GROW   0.25
#define IDLE_TO_SHRINK 0.05
/* ...and above which the pool grows at once to what the waiting tasks need. */
#define IDLE_TO_JUMP   0.5

static gboolean
load_timer_fired (gpointer user_data)
{
  PCore *core = user_data;
  PLoadSample sample;
  double idle_share;
  guint busy;

  if (g_queue_is_empty (&core->pending) || !p_load_sample (&sample))
    {
      g_clear_pointer (&core->load_timer, g_source_unref);
      return G_SOURCE_REMOVE;
    }

  idle_share = p_load_idle_share (&core->load_sample, &sample);
  if (idle_share < 0)
    return G_SOURCE_CONTINUE;
  core->load_sample = sample;

  busy = p_scheduler_count_busy (core);
  if (idle_share > IDLE_TO_GROW && busy >= core->active_cap && core->active_cap < core->n_processes)
    {
      guint grow = core->active_cap * 2;

      /* Mostly idle: as many as the waiting tasks need at once. */
      if (idle_share > IDLE_TO_JUMP)
        grow = MAX (grow, busy + core->pending.length);
      core->active_cap = MIN (grow, core->n_processes);
    }
  else if (idle_share < IDLE_TO_SHRINK && core->active_cap > core->n_processors)
    core->active_cap = MAX (core->active_cap / 2, core->n_processors);

  p_scheduler_run (core);

  return G_SOURCE_CONTINUE;
}

/* While tasks wait, the processors are looked at now and then. */
static void
watch_load (PCore *core)
{
  if (core->load_timer != NULL || g_queue_is_empty (&core->pending))
    return;

  if (!core->load_measurable || !p_load_sample (&core->load_sample))
    {
      core->active_cap = core->n_processes;
      return;
    }

  core->load_timer = g_timeout_source_new (LOAD_PERIOD_MSEC);
  g_source_set_callback (core->load_timer, load_timer_fired, core, NULL);
  g_source_attach (core->load_timer, core->context);
}

/* Workers with something in flight. */
guint
p_scheduler_count_busy (PCore *core)
{
  guint busy = 0;

  for (guint i = 0; i < core->workers->len; i++)
    busy += !g_queue_is_empty (&((PWorkerSlot *) g_ptr_array_index (core->workers, i))->in_flight);

  return busy;
}

static gboolean
idle_timer_fired (gpointer user_data)
{
  PCore *core = user_data;

  g_clear_pointer (&core->idle_timer, g_source_unref);
  core->idle_deadline = 0;
  p_scheduler_run (core);

  return G_SOURCE_REMOVE;
}

/* Workers above #PPool:min-processes that idled #PPool:idle-timeout are
 * told to exit; the timer is set for the next one. */
static void
retire_idle (PCore           *core,
             const PSettings *settings)
{
  gint64 now = g_get_monotonic_time ();
  gint64 next = 0;
  guint live = 0;

  if (settings->idle_timeout > 0)
    for (guint i = 0; i < core->workers->len; i++)
      {
        PProcess *process = ((PWorkerSlot *) g_ptr_array_index (core->workers, i))->process;

        live += process->state == P_PROCESS_STARTING || process->state == P_PROCESS_READY;
      }

  for (guint i = 0; i < core->workers->len && live > settings->min_processes; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);
      gint64 deadline = slot->idle_since + settings->idle_timeout;

      if (slot->process->state != P_PROCESS_READY || !g_queue_is_empty (&slot->in_flight))
        continue;

      if (now >= deadline)
        {
          p_process_close (slot->process);
          live--;
        }
      else if (next == 0 || deadline < next)
        next = deadline;
    }

  if (next == core->idle_deadline)
    return;

  p_clear_source (&core->idle_timer);
  core->idle_deadline = next;
  if (next != 0)
    core->idle_timer = add_timeout_at (core, next, idle_timer_fired, core);
}

/* }}} */
/* {{{ Scheduling */

/* The worker the next task goes to, or NULL: the least busy that takes
 * one, so that every idle worker gets a task before any gets two, but no
 * more than active_cap workers busy at once. */
static PWorkerSlot *
choose_worker (PCore           *core,
               const PSettings *settings,
               guint            busy)
{
  PWorkerSlot *least_busy = NULL;
  gint64 now = 0;

  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);

      if (!slot_takes_tasks (slot, settings))
        continue;

      if (g_queue_is_empty (&slot->in_flight) && busy >= core->active_cap)
        continue;

      /* Behind a task that runs far longer than usual, one at most. */
      if (slot->in_flight.length >= IN_FLIGHT_MIN)
        {
          if (now == 0)
            now = g_get_monotonic_time ();
          if (now >= slot_stuck_deadline (slot))
            continue;
        }

      if (least_busy == NULL || slot->in_flight.length < least_busy->in_flight.length)
        least_busy = slot;
    }

  return least_busy;
}

/* After anything happened: sends what waits to the workers that take it,
 * retires workers, and starts those that are wanted. */
void
p_scheduler_run (PCore *core)
{
  const PSettings *settings = &core->current;
  guint busy = p_scheduler_count_busy (core);
  gboolean closed;

  p_jobs_release_held (core);

  while (!g_queue_is_empty (&core->pending))
    {
      PWorkerSlot *slot = choose_worker (core, settings, busy);

      if (slot == NULL)
        break;

      busy += g_queue_is_empty (&slot->in_flight);
      dispatch_chunk (core, slot, g_queue_peek_head (&core->pending));
      p_jobs_release_held (core);
    }

  if (g_queue_is_empty (&core->pending))
    rebalance (core, settings);
  else
    {
      set_recall_timer (core, 0);
      watch_load (core);
    }

  closed = core->closed_seen;

  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);

      if (g_queue_is_empty (&slot->in_flight) &&
          /* After a shutdown, idle workers are told to exit... */
          ((closed && g_queue_is_empty (&core->pending)) ||
           /* ...and a worker that ran its share retires. */
           slot_is_retiring (slot, settings)))
        p_process_close (slot->process);

      p_process_flush (slot->process);
    }

  retire_idle (core, settings);
  p_spawner_maybe_respawn (core);
  p_core_check_finished (core);
}

/* Whether the pool has nothing to do but wait, as when callers wait for
 * each result before they submit the next task: nothing queued, and no
 * worker holds more than one task. */
gboolean
p_scheduler_is_latency_bound (PCore *core)
{
  if (!g_queue_is_empty (&core->pending))
    return FALSE;

  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);

      if (slot->in_flight.length > 1)
        return FALSE;
    }

  return TRUE;
}

/* }}} */
/* {{{ Replies and deaths */

/* A reply (RESULT, CHUNK_RESULT, ERROR or RECALLED) from @slot's worker:
 * checked against what it was sent, then handed to its job. */
void
p_scheduler_on_reply (PWorkerSlot    *slot,
                      const PMessage *message)
{
  PCore *core = slot->core;
  PMessageKind kind = message->kind;
  g_autoptr(GVariant) values = NULL;
  g_autoptr(GVariant) errors = NULL;
  gboolean is_chunk;
  PChunk *chunk;
  PJob *job;

  chunk = slot_find_in_flight (slot, message->id);
  if (chunk == NULL)
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process, %llu the number of a task. */
      g_autofree char *reason = g_strdup_printf (_("it replied to task %llu, which it does not run"),
                                                 (unsigned long long) message->id);
      p_process_protocol_error (slot->process, reason);
      return;
    }

  if (kind == P_MESSAGE_RECALLED)
    {
      on_recalled (slot, chunk);
      return;
    }

  /* Orphans do not know what they were; a live chunk must get the
   * reply that matches its message. */
  is_chunk = chunk->job != NULL && !chunk->is_task;
  if (chunk->job != NULL &&
      ((kind == P_MESSAGE_RESULT && is_chunk) ||
       (kind == P_MESSAGE_CHUNK_RESULT && !is_chunk)))
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. */
      p_process_protocol_error (slot->process, _("it sent a reply of the wrong kind"));
      return;
    }

  if (kind == P_MESSAGE_ERROR && !p_error_domain_is_valid (message->name))
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. */
      p_process_protocol_error (slot->process, _("it sent an error with an invalid domain"));
      return;
    }

  if (kind == P_MESSAGE_CHUNK_RESULT)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (message->body, 1);

      values = g_variant_get_variant (boxed);
      errors = g_variant_get_child_value (message->body, 2);

      if (!p_chunk_result_is_valid (values, errors, chunk->n_items,
                                    chunk->job == NULL ? P_CHUNK_RULE_EITHER :
                                    chunk->job->kind == P_JOB_MAP ? P_CHUNK_RULE_MAP : P_CHUNK_RULE_IMAP))
        {
          /* Translators: the end of “Worker process %d broke the protocol: %s”;
           * “it” is the worker process. */
          p_process_protocol_error (slot->process, _("it sent a chunk result that does not match its chunk"));
          return;
        }
    }

  /* The next one starts now; how long this one ran tells how deep the
   * worker's queue should be. */
  if (slot->in_flight.head == &chunk->link)
    {
      gint64 now = g_get_monotonic_time ();

      slot->average_run_usec += ((now - slot->running_since) - slot->average_run_usec) / 8;
      slot->running_since = now;
    }
  g_queue_unlink (&slot->in_flight, &chunk->link);
  chunk->state = P_CHUNK_NEW;
  chunk->slot = NULL;
  slot_arm_timer (slot);
  if (slot->n_tasks_run++ == 0)
    p_spawner_worker_served (slot);
  if (g_queue_is_empty (&slot->in_flight))
    slot->idle_since = g_get_monotonic_time ();

  job = chunk->job;
  if (job != NULL)
    {
      if (kind == P_MESSAGE_ERROR)
        core->n_failed++;
      else
        core->n_completed++;
      p_job_release_chunk (job, chunk);
      p_job_chunk_replied (core, job, chunk, message, values, errors);
    }

  p_chunk_free (chunk);
}

/* A PROGRESS: of the task @slot's worker runs, to its job. One for a task
 * answered already (it may cross the reply) is let be. */
void
p_scheduler_on_progress (PWorkerSlot    *slot,
                         const PMessage *message)
{
  const char *text;
  double fraction;
  PChunk *chunk;

  g_variant_get (message->body, "(td&s)", NULL, &fraction, &text);
  if (!(fraction >= 0.0 && fraction <= 1.0))
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. */
      p_process_protocol_error (slot->process, _("it reported a progress out of 0 to 1"));
      return;
    }

  chunk = slot_find_in_flight (slot, message->id);
  if (chunk != NULL && chunk->job != NULL)
    p_job_progress (slot->core, chunk->job, fraction, text);
}

/* @slot's worker is gone: the task it was running fails with @death
 * (taken); those it had not started run elsewhere. */
void
p_scheduler_worker_lost (PWorkerSlot *slot,
                         GError      *death)
{
  PCore *core = slot->core;
  PChunk *running;
  GList *link;

  p_clear_source (&slot->running_timer);

  /* The links are the chunks' own: pop them, never free them. */
  link = g_queue_pop_head_link (&slot->in_flight);
  running = link ? link->data : NULL;
  while ((link = g_queue_pop_tail_link (&slot->in_flight)))
    {
      PChunk *chunk = link->data;

      chunk->slot = NULL;
      chunk->recalling = FALSE;
      if (chunk->job == NULL)
        {
          p_chunk_free (chunk);
          continue;
        }
      chunk->state = P_CHUNK_PENDING;
      g_queue_push_head_link (&core->pending, &chunk->link);
    }

  if (running != NULL && running->job != NULL)
    {
      PJob *job = running->job;

      running->slot = NULL;
      running->state = P_CHUNK_NEW;
      core->n_failed++;
      p_job_release_chunk (job, running);
      p_job_chunk_failed (core, job, running, g_steal_pointer (&death));
    }
  g_clear_pointer (&running, p_chunk_free);
  g_clear_error (&death);
}

/* }}} */
