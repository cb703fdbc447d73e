/* p-job-private.c: jobs and chunks, and how a reply reaches the PResult or
 * PMapIter that waits for it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-job-private.h"
#include "p-deferred-value-private.h"
#include "p-error.h"
#include "p-error-private.h"
#include "p-i18n-private.h"
#include "p-map-iter-private.h"
#include "p-result-private.h"
#include "p-scheduler-private.h"

/* {{{ Jobs and chunks, as the submitter builds them */

void
p_chunk_free (PChunk *chunk)
{
  g_clear_pointer (&chunk->frame, p_frame_unref);
  g_slice_free (PChunk, chunk);
}

PJob *
p_job_new (PCore        *core,
           PJobKind      kind,
           const char   *function,
           GCancellable *cancellable)
{
  PJob *job = g_slice_new0 (PJob);

  job->id = p_core_next_id (core);
  job->kind = kind;
  if (strlen (function) < sizeof job->function_storage)
    job->function = strcpy (job->function_storage, function);
  else
    job->function = g_strdup (function);
  job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  job->link.data = job;
  job->held_link.data = job;

  return job;
}

/* Lets go of the caller's cancellable before the caller can see the end
 * of @job: a caller that then drops the pool waits for this thread
 * (p_pool_dispose()), which must not be left to drop the last reference to
 * an object of the caller's whose finalization may need a lock the caller
 * holds (a binding's wrapper and its interpreter lock). */
static void
job_let_go_of_cancellable (PJob *job)
{
  /* Waits for a handler running in another thread, which only takes the
   * core's mutex: this is never called with it held. */
  if (job->cancelled_handler != 0)
    g_cancellable_disconnect (job->cancellable, job->cancelled_handler);
  job->cancelled_handler = 0;
  g_clear_object (&job->cancellable);
}

static void
job_free (PCore *core,
          PJob  *job)
{
  job_let_go_of_cancellable (job);
  if (job->in_jobs_by_id)
    g_hash_table_remove (core->jobs_by_id, &job->id);

  if (job->chunk_values != NULL)
    for (guint i = 0; i < job->n_chunks; i++)
      g_clear_pointer (&job->chunk_values[i], g_variant_unref);

  g_free (job->chunk_values);
  if (job->chunks != &job->first_chunk)
    g_free (job->chunks);
  g_clear_pointer (&job->sink, p_sink_link_unref);
  g_clear_object (&job->sink_for_task);
  if (job->function != job->function_storage)
    g_free (job->function);
  g_slice_free (PJob, job);
}

PChunk *
p_job_add_chunk (PJob    *job,
                 guint64  id,
                 guint    first_item,
                 guint    n_items,
                 PFrame  *frame)
{
  PChunk *chunk = g_slice_new0 (PChunk);

  chunk->job = job;
  chunk->index = job->n_chunks;
  chunk->id = id;
  chunk->first_item = first_item;
  chunk->n_items = n_items;
  chunk->frame = frame;
  chunk->state = P_CHUNK_NEW;
  chunk->link.data = chunk;

  /* A task's one chunk needs no array of its own. */
  if (job->n_chunks == 0)
    {
      job->chunks = &job->first_chunk;
      job->chunks_allocated = 1;
    }
  else if (job->n_chunks == job->chunks_allocated)
    {
      PChunk **chunks = job->chunks == &job->first_chunk ? NULL : job->chunks;

      job->chunks_allocated *= 2;
      job->chunks = g_renew (PChunk *, chunks, job->chunks_allocated);
      if (chunks == NULL)
        job->chunks[0] = job->first_chunk;
    }
  job->chunks[job->n_chunks++] = chunk;
  job->n_chunks_left++;

  return chunk;
}

void
p_job_set_sink (PJob      *job,
                PSinkLink *link,
                gpointer   sink,
                gboolean   for_task)
{
  job->sink = p_sink_link_ref (link);
  if (for_task)
    job->sink_for_task = g_object_ref (sink);
}

/* A new reference to whoever waits for @job's results, or NULL. */
static gpointer
job_dup_sink (PJob *job)
{
  return job->sink != NULL ? p_sink_link_dup (job->sink) : NULL;
}

/* }}} */
/* {{{ Ending jobs, on the pool thread */

/* Hands @error to whoever waits for @job, if anybody still does. */
static void
job_return_error (PJob   *job,
                  GError *error)
{
  g_autoptr(GObject) sink = job_dup_sink (job);

  if (sink != NULL && job->kind != P_JOB_IMAP)
    {
      p_result_return_error (P_RESULT (sink), error);
      return;
    }

  if (sink != NULL)
    p_map_iter_fail (P_MAP_ITER (sink), error);
  g_error_free (error);
}

/* Gives up on a job that the pool thread never saw, with @error for
 * whoever waits for it. */
void
p_job_discard (PCore  *core,
               PJob   *job,
               GError *error)
{
  for (guint i = 0; i < job->n_chunks; i++)
    p_chunk_free (job->chunks[i]);
  job->n_chunks = 0;

  if (error != NULL)
    job_return_error (job, error);
  job_free (core, job);
}

/* A finished chunk leaves its job; the caller frees it. */
void
p_job_release_chunk (PJob   *job,
                     PChunk *chunk)
{
  g_assert (job->chunks[chunk->index] == chunk);
  g_assert (job->n_chunks_left > 0);

  job->chunks[chunk->index] = NULL;
  job->n_chunks_left--;
  chunk->job = NULL;
}

/* {{{ Room for work (max-queued) */

static void
job_unhold (PCore *core,
            PJob  *job)
{
  if (!job->held)
    return;

  g_queue_unlink (&core->held, &job->held_link);
  core->n_held_chunks -= job->n_chunks;
  job->held = FALSE;
}

static void
job_queue_chunks (PCore *core,
                  PJob  *job)
{
  for (guint i = 0; i < job->n_chunks; i++)
    {
      job->chunks[i]->state = P_CHUNK_PENDING;
      g_queue_push_tail_link (&core->pending, &job->chunks[i]->link);
    }
}

/* Whether @job's tasks fit among those waiting for a worker: always when
 * none waits, so that work larger than the limit runs too. */
static gboolean
job_fits (PCore *core,
          PJob  *job)
{
  guint max_queued = core->current.max_queued;

  return max_queued == 0 || g_queue_is_empty (&core->pending) ||
         core->pending.length + job->n_chunks <= max_queued;
}

/* Held work goes to the workers, in order, as room frees. */
void
p_jobs_release_held (PCore *core)
{
  PJob *job;

  while ((job = g_queue_peek_head (&core->held)) != NULL && job_fits (core, job))
    {
      job_unhold (core, job);
      job_queue_chunks (core, job);
    }
}

/* }}} */

/* Ends @job with @error: what is queued is dropped, what runs is told to
 * stop and its reply will be ignored. */
void
p_job_fail (PCore  *core,
            PJob   *job,
            GError *error)
{
  job_let_go_of_cancellable (job);

  for (guint i = 0; i < job->n_chunks; i++)
    {
      PChunk *chunk = job->chunks[i];

      if (chunk == NULL)
        continue;

      job->chunks[i] = NULL;
      chunk->job = NULL;

      switch (chunk->state)
        {
        case P_CHUNK_NEW:
          p_chunk_free (chunk);
          break;

        case P_CHUNK_PENDING:
          g_queue_unlink (&core->pending, &chunk->link);
          p_chunk_free (chunk);
          break;

        case P_CHUNK_IN_FLIGHT:
          /* Stays in flight as an orphan so that replies still match;
           * if it runs and does not stop, its worker is killed. */
          p_scheduler_orphan_chunk (core, chunk);
          break;

        default:
          g_assert_not_reached ();
        }
    }

  job->n_chunks_left = 0;
  g_queue_unlink (&core->jobs, &job->link);
  job_unhold (core, job);

  job_return_error (job, error);
  job_free (core, job);
}

static void
job_succeed (PCore *core,
             PJob  *job)
{
  g_queue_unlink (&core->jobs, &job->link);

  if (job->kind == P_JOB_MAP)
    {
      g_autoptr(PResult) result = job_dup_sink (job);

      if (result != NULL)
        p_result_return_chunks (result, g_steal_pointer (&job->chunk_values),
                                job->n_chunks, job->n_items);
    }

  job_free (core, job);
}

/* }}} */
/* {{{ Replies, on the pool thread */

static GError *
error_from_wire (const char *domain,
                 gint32      code,
                 const char *message)
{
  return g_error_new_literal (g_quark_from_string (domain), code, message);
}

/* A task's progress, from its worker: to its PResult. A map reports its
 * own (the share of items done), and an imap its count. */
void
p_job_progress (PCore      *core,
                PJob       *job,
                double      fraction,
                const char *message)
{
  g_autoptr(PResult) result = NULL;

  if (job->kind != P_JOB_APPLY)
    return;

  result = job_dup_sink (job);
  if (result != NULL)
    p_result_report_progress (result, fraction, message);
}

/* A released chunk's task failed as a whole: its ERROR reply, or its
 * worker died. */
void
p_job_chunk_failed (PCore  *core,
                    PJob   *job,
                    PChunk *chunk,
                    GError *error)
{
  g_autoptr(PMapIter) iter = NULL;

  if (job->kind != P_JOB_IMAP)
    {
      p_job_fail (core, job, error);
      return;
    }

  /* Nobody iterates any more: the rest of the work is not worth doing. */
  iter = job_dup_sink (job);
  if (iter == NULL)
    {
      p_job_fail (core, job, error);
      return;
    }

  p_map_iter_push_error (iter, chunk->first_item, chunk->n_items, error);
  g_error_free (error);

  if (job->n_chunks_left == 0)
    job_succeed (core, job);
}

/* A map's progress: the share of its items done, told while it is not
 * (success makes it 1). */
static void
job_map_progress (PJob   *job,
                  PChunk *chunk)
{
  g_autoptr(PResult) result = NULL;

  job->n_items_done += chunk->n_items;
  if (job->n_chunks_left == 0 || (result = job_dup_sink (job)) == NULL)
    return;

  p_result_report_progress (result, (double) job->n_items_done / job->n_items, NULL);
}

/* A released chunk's reply: for a task, its RESULT @message; for a
 * chunk, the array of its successes @values ("av", or "aT" when they
 * share a type) and the "a(usis)" of its failures. */
static void
job_chunk_succeeded (PCore          *core,
                     PJob           *job,
                     PChunk         *chunk,
                     const PMessage *message,
                     GVariant       *values,
                     GVariant       *errors)
{
  switch (job->kind)
    {
    case P_JOB_APPLY:
      {
        g_autoptr(PResult) result = job_dup_sink (job);
        PDeferredValue *deferred;

        /* Made by whoever reads it, if it can wait. */
        if (result != NULL && (deferred = p_message_defer_value (message)) != NULL)
          p_result_return_deferred_value (result, deferred);
        else if (result != NULL)
          p_result_return_value (result, p_message_dup_value (message));
        job_succeed (core, job);
      }
      break;

    case P_JOB_MAP:
      /* A single item's RESULT: its variant, as the "av" of its chunk. */
      if (chunk->is_task)
        {
          g_autoptr(GVariant) boxed = p_message_dup_boxed_value (message);

          job->chunk_values[chunk->index] = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, &boxed, 1));
          job_map_progress (job, chunk);
          if (job->n_chunks_left == 0)
            job_succeed (core, job);
          break;
        }

      if (g_variant_n_children (errors) > 0)
        {
          const char *domain, *text;
          gint32 code;

          /* A map fails with its first error, and stops the rest. */
          g_variant_get_child (errors, 0, "(u&si&s)", NULL, &domain, &code, &text);
          p_job_fail (core, job, error_from_wire (domain, code, text));
          return;
        }

      job->chunk_values[chunk->index] = g_variant_ref (values);
      job_map_progress (job, chunk);
      if (job->n_chunks_left == 0)
        job_succeed (core, job);
      break;

    case P_JOB_IMAP:
      {
        g_autoptr(PMapIter) iter = job_dup_sink (job);
        PDeferredValue *deferred;

        /* Nobody iterates any more: the rest is not worth doing. */
        if (iter == NULL)
          {
            p_job_fail (core, job, p_error_new_cancelled ());
            return;
          }

        if (chunk->is_task && (deferred = p_message_defer_value (message)) != NULL)
          p_map_iter_push_deferred_value (iter, chunk->first_item, deferred);
        else if (chunk->is_task)
          p_map_iter_push_value (iter, chunk->first_item, p_message_dup_value (message));
        else
          p_map_iter_push_chunk (iter, chunk->first_item, chunk->n_items, values, errors);
        if (job->n_chunks_left == 0)
          job_succeed (core, job);
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

/* The reply to a released chunk, checked against it already: a RESULT
 * for a task, a CHUNK_RESULT (whose @values and @errors were read) for a
 * chunk, or an ERROR. */
void
p_job_chunk_replied (PCore          *core,
                     PJob           *job,
                     PChunk         *chunk,
                     const PMessage *message,
                     GVariant       *values,
                     GVariant       *errors)
{
  if (job->n_chunks_left == 0)
    job_let_go_of_cancellable (job);

  switch (message->kind)
    {
    case P_MESSAGE_RESULT:
      job_chunk_succeeded (core, job, chunk, message, NULL, NULL);
      break;

    case P_MESSAGE_CHUNK_RESULT:
      job_chunk_succeeded (core, job, chunk, NULL, values, errors);
      break;

    case P_MESSAGE_ERROR:
      {
        const char *domain, *text;
        gint32 code;

        g_variant_get (message->body, "(t&si&s)", NULL, &domain, &code, &text);
        p_job_chunk_failed (core, job, chunk, error_from_wire (domain, code, text));
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

/* }}} */
/* {{{ Accepting work, on the pool thread */

typedef struct
{
  PCore *core;
  guint64 job_id;
} CancelData;

/* In the thread that cancels: the pool thread does the rest. (Not a
 * GCancellableSource: see p-glib-workarounds-private.h.) */
static void
on_job_cancelled (GCancellable *cancellable,
                  gpointer      user_data)
{
  CancelData *data = user_data;

  p_core_cancel_job (data->core, data->job_id);
}

/* From any thread: the pool thread fails job @job_id, if it is not done. */
void
p_core_cancel_job (PCore   *core,
                   guint64  job_id)
{
  g_mutex_lock (&core->mutex);
  g_array_append_val (core->cancelled_jobs, job_id);
  g_mutex_unlock (&core->mutex);

  p_core_wake (core);
}

/* Whether the workers serve @function, as far as known yet: tasks mostly
 * come in runs of one function, which is compared, not hashed, again. */
static gboolean
core_serves_function (PCore      *core,
                      const char *function)
{
  const char *key;

  if (core->functions == NULL)
    return TRUE;

  if (core->last_function_served != NULL && strcmp (core->last_function_served, function) == 0)
    return TRUE;

  if (!g_hash_table_lookup_extended (core->functions, function, (gpointer *) &key, NULL))
    return FALSE;

  core->last_function_served = key;
  return TRUE;
}

void
p_job_accept (PCore *core,
              PJob  *job)
{
  g_queue_push_tail_link (&core->jobs, &job->link);

  if (core->terminated)
    {
      p_job_fail (core, job, p_error_new_terminated ());
      return;
    }

  if (g_cancellable_is_cancelled (job->cancellable))
    {
      p_job_fail (core, job, p_error_new_cancelled ());
      return;
    }

  if (!core_serves_function (core, job->function))
    {
      p_job_fail (core, job, p_error_new_unknown_function (job->function));
      return;
    }

  if (job->n_chunks == 0)
    {
      job_succeed (core, job);
      return;
    }

  /* Only a cancel looks a job up. */
  if (job->cancellable != NULL)
    {
      CancelData *data = g_new (CancelData, 1);

      job->in_jobs_by_id = TRUE;
      g_hash_table_insert (core->jobs_by_id, &job->id, job);

      data->core = core;
      data->job_id = job->id;
      job->cancelled_handler = g_cancellable_connect (job->cancellable, G_CALLBACK (on_job_cancelled),
                                                      data, g_free);
    }

  /* Behind what waits for room already, or when it does not fit. */
  if (!g_queue_is_empty (&core->held) || !job_fits (core, job))
    {
      job->held = TRUE;
      g_queue_push_tail_link (&core->held, &job->held_link);
      core->n_held_chunks += job->n_chunks;
      return;
    }

  job_queue_chunks (core, job);
}

/* }}} */
/* {{{ What fails jobs */

/* Fails every job that is waiting for a worker. */
void
p_jobs_fail_waiting (PCore        *core,
                     const GError *error)
{
  GList *l = core->jobs.head;

  while (l != NULL)
    {
      PJob *job = l->data;
      gboolean waiting = FALSE;

      l = l->next;
      waiting = job->held;
      for (guint i = 0; i < job->n_chunks && !waiting; i++)
        waiting = job->chunks[i] != NULL && job->chunks[i]->state == P_CHUNK_PENDING;

      if (waiting)
        p_job_fail (core, job, g_error_copy (error));
    }
}

/* Jobs for a function the workers turned out not to serve. */
void
p_jobs_fail_unserved (PCore *core)
{
  GList *next;

  for (GList *l = core->jobs.head; l != NULL; l = next)
    {
      PJob *job = l->data;

      next = l->next;
      if (!core_serves_function (core, job->function))
        p_job_fail (core, job, p_error_new_unknown_function (job->function));
    }
}

/* Jobs whose cancellable fired (their ids: a job may have ended since). */
void
p_jobs_fail_cancelled (PCore  *core,
                       GArray *job_ids)
{
  for (guint i = 0; i < job_ids->len; i++)
    {
      guint64 job_id = g_array_index (job_ids, guint64, i);
      PJob *job = g_hash_table_lookup (core->jobs_by_id, &job_id);

      /* One without a cancellable (p_result_cancel()) is not indexed:
       * cancelling is rare enough to look for it. */
      for (GList *l = core->jobs.head; job == NULL && l != NULL; l = l->next)
        if (((PJob *) l->data)->id == job_id)
          job = l->data;

      if (job != NULL)
        p_job_fail (core, job, p_error_new_cancelled ());
    }
}

/* Every job, as the pool terminates. */
void
p_jobs_fail_all (PCore *core)
{
  GList *l;

  while ((l = core->jobs.head) != NULL)
    p_job_fail (core, l->data, p_error_new_terminated ());
}

/* }}} */
