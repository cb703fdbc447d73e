/* p-job-private.h: jobs and chunks, and how a reply reaches the PResult or
 * PMapIter that waits for it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-frame-private.h"
#include "p-message-private.h"
#include "p-pool-private.h"
#include "p-sink-private.h"

G_BEGIN_DECLS

typedef enum
{
  P_JOB_APPLY,
  P_JOB_MAP,
  P_JOB_IMAP,
} PJobKind;

typedef enum
{
  P_CHUNK_NEW,        /* built by the submitter, not yet seen by the pool thread */
  P_CHUNK_PENDING,    /* in core->pending */
  P_CHUNK_IN_FLIGHT,  /* in its worker slot's in_flight */
} PChunkState;

/* One submission, made by the submitter's thread; the pool thread's once
 * accepted. Jobs and chunks are slices (see p-glib-workarounds-private.h,
 * "GSlice"): the submitting thread makes them and the pool thread frees
 * them. */
struct _PJob
{
  PJobKind kind;
  char *function;         /* function_storage, unless the name is too long for it */
  char function_storage[24];
  guint64 id;
  GCancellable *cancellable;
  gulong cancelled_handler;
  gboolean in_jobs_by_id; /* only a job that can be cancelled is */

  /* Where results go: a PResult (P_JOB_APPLY, P_JOB_MAP) or a PMapIter
   * (P_JOB_IMAP). Held weakly, so that a handle its owner dropped lets the
   * pool go; held strongly too for an asynchronous call, whose GTask must
   * complete. */
  PSinkLink *sink;
  GObject *sink_for_task;

  guint n_items;
  guint n_items_done;     /* P_JOB_MAP: of the chunks that succeeded, for its progress */
  guint n_chunks;
  guint n_chunks_left;
  guint chunks_allocated;
  PChunk **chunks;        /* a slot is cleared once its chunk is done */
  PChunk *first_chunk;    /* chunks' storage while there is one */
  GVariant **chunk_values;/* P_JOB_MAP: each chunk's results ("av" or "aT") */

  GList link;             /* in core->incoming, then core->jobs */
  GList held_link;        /* in core->held while it waits for room (max-queued) */
  gboolean held;
};

/* One message to a worker: a task, or a chunk of a map's items. */
struct _PChunk
{
  PJob *job;              /* NULL once the job ended while in flight */
  guint index;
  guint first_item;
  guint n_items;
  guint64 id;
  PFrame *frame;
  gboolean is_task;       /* a single item, sent as a TASK (a lighter reply) */
  PChunkState state;
  PWorkerSlot *slot;      /* in flight to this worker */
  gint64 orphaned_at;     /* when its job ended while it was in flight */
  gboolean recalling;     /* in flight, a RECALL sent for it */
  GList link;             /* in core->pending or slot->in_flight */
};

/* In the submitter's thread. */
PJob    *p_job_new              (PCore          *core,
                                 PJobKind        kind,
                                 const char     *function,
                                 GCancellable   *cancellable);
PChunk  *p_job_add_chunk        (PJob           *job,
                                 guint64         id,
                                 guint           first_item,
                                 guint           n_items,
                                 PFrame         *frame);
void     p_job_set_sink         (PJob           *job,
                                 PSinkLink      *link,
                                 gpointer        sink,
                                 gboolean        for_task);
void     p_job_discard          (PCore          *core,
                                 PJob           *job,
                                 GError         *error);

/* On the pool thread. */
void     p_job_accept           (PCore          *core,
                                 PJob           *job);
void     p_job_fail             (PCore          *core,
                                 PJob           *job,
                                 GError         *error);
void     p_job_release_chunk    (PJob           *job,
                                 PChunk         *chunk);
void     p_job_chunk_replied    (PCore          *core,
                                 PJob           *job,
                                 PChunk         *chunk,
                                 const PMessage *message,
                                 GVariant       *values,
                                 GVariant       *errors);
void     p_job_progress         (PCore          *core,
                                 PJob           *job,
                                 double          fraction,
                                 const char     *message);
void     p_job_chunk_failed     (PCore          *core,
                                 PJob           *job,
                                 PChunk         *chunk,
                                 GError         *error);
void     p_core_cancel_job      (PCore          *core,
                                 guint64         job_id);
void     p_jobs_fail_cancelled  (PCore          *core,
                                 GArray         *job_ids);
void     p_jobs_fail_waiting    (PCore          *core,
                                 const GError   *error);
void     p_jobs_fail_unserved   (PCore          *core);
void     p_jobs_fail_all        (PCore          *core);
void     p_jobs_release_held    (PCore          *core);
void     p_chunk_free           (PChunk         *chunk);

G_END_DECLS
