/* p-pool-private.h: the pool's core, which the pool's rooms share
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-frame-private.h"
#include "p-load-private.h"
#include "p-pool.h"
#include "p-spinner-private.h"

G_BEGIN_DECLS

/* A PPool is a GObject in front of a PCore, which lives as long as the
 * pool's thread needs it. p-pool.c is the GObject (properties,
 * construction, the end), p-pool-work.c the calls that give it work and
 * the jobs they make, in the caller's thread. The core is run by these
 * rooms:
 *
 *   p-pool-thread-private.c   the pool's thread: its main context, its
 *                             wake-up, what callers hand it, its end
 *   p-pool-signals-private.c  worker-started and worker-exited, relayed to
 *                             the creator's main context
 *   p-job-private.c           jobs and chunks, and how a reply reaches the
 *                             PResult or PMapIter that waits for it
 *   p-scheduler-private.c     which worker runs what: dispatch, in-flight
 *                             depth, time-outs, recall
 *   p-spawner-private.c       starting workers, replacing them, and what
 *                             happens when one announces itself or exits
 *   p-launch-private.c        workers on other hosts: where each runs, and
 *                             its ssh or srun client
 *   p-pool-sandbox-private.c  what each worker's sandbox put in force
 *   p-load-private.c          how busy this machine's processors are
 *   p-stats-private.c         p_pool_get_stats(), taken on the pool's thread
 *
 * and p-process-private.c is one worker process as the pool sees it
 * (spawn, channel, death), with no scheduling state.
 *
 * Everything but what the fields below say runs on the pool's thread. */

typedef struct _PCore PCore;
typedef struct _PJob PJob;
typedef struct _PChunk PChunk;
typedef struct _PWorkerSlot PWorkerSlot;
typedef struct _PLaunch PLaunch;

/* What can be changed while the pool runs. */
typedef struct
{
  guint max_tasks_per_worker;
  gint64 task_timeout;
  gint64 cancel_grace_period;
  guint min_processes;
  gint64 idle_timeout;
  guint max_queued;
} PSettings;

struct _PCore
{
  gatomicrefcount ref_count;

  /* Set by p_core_new(), then read-only. */
  char **worker_argv;
  char **worker_env;       /* "NAME=VALUE" for every worker, beside its channel; or NULL */
  PLaunch *launch;         /* how workers start on other hosts (p-launch-private.c), or NULL: here */
  guint n_processes;       /* the most workers at once */
  guint n_processors;      /* of this machine: how many workers start together, or run at first */
  gboolean load_measurable;/* workers use this machine's processors, which /proc/stat tells about */
  gsize max_message_size;
  GMainContext *context;   /* the pool thread's */
  GSource *wakeup;
  GWeakRef pool;
  GMainContext *signal_context;
  GThread *thread;         /* set by p_core_start(), joined by whoever waits for the end */
  struct _PCoreSandbox *sandbox; /* set before p_core_start(), or NULL: p-pool-sandbox-private.c */

  /* Atomic, any thread. */
  int wake_pending;        /* the wake-up source is due */
  gsize next_id;           /* the last id given to a job or a chunk */

  /* Under @mutex, any thread. */
  GMutex mutex;
  GCond cond;              /* @finished */
  GQueue incoming;         /* PJob *, submitted, not yet accepted */
  gboolean closed;         /* shut down or terminated: no new work */
  gboolean terminate_requested;
  gboolean finished;       /* closed, every worker reaped, nothing left */
  GError *start_error;     /* set while workers keep failing to start */
  PSettings settings;
  gboolean settings_changed;
  GArray *cancelled_jobs;  /* guint64 ids of jobs whose cancellable fired */
  GArray *emissions;       /* for the signals, not emitted yet (p-pool-signals-private.c) */
  GSource *emission_source;/* in signal_context, while there are some */
  gboolean emissions_dropped; /* the pool is being disposed */

  /* The pool thread's own. */
  PSettings current;       /* @settings, copied at each wake-up: no lock per task */
  gboolean closed_seen;    /* @closed, as of the last wake-up */
  GQueue jobs;             /* PJob *, accepted and unfinished */
  GHashTable *jobs_by_id;  /* &job->id → PJob *, accepted jobs with a cancellable */
  GQueue pending;          /* PChunk *, not sent yet */
  GPtrArray *workers;      /* PWorkerSlot *, one per process, starting to dying */
  GHashTable *functions;   /* names the workers announced, NULL before */
  const char *last_function_served;  /* a key of @functions */
  guint start_failures;
  GSource *respawn_timer;
  GSource *recall_timer;   /* for when a worker's queue counts as stuck */
  gint64 recall_deadline;
  guint active_cap;        /* the most workers kept busy at once (p-scheduler-private.c) */
  GSource *load_timer;     /* while tasks wait: how busy the processors are */
  PLoadSample load_sample; /* at the load timer's last look */
  GSource *idle_timer;     /* for the next idle worker to exit */
  gint64 idle_deadline;
  GQueue held;             /* PJob *, accepted, waiting for room among the pending (max-queued) */
  guint n_held_chunks;
  guint64 n_completed;     /* tasks and chunks answered with their results */
  guint64 n_failed;        /* tasks and chunks that failed (ERROR, death) */
  gboolean terminated;
  gboolean thread_should_exit;
  gboolean wake_batch_open;/* replies being read: waiters woken after */
  PSpinner spinner;        /* for the thread's poll */
};

/* p-pool-thread-private.c */
PCore    *p_core_new               (PPool              *pool,
                                    guint               n_processes,
                                    const char * const *worker_argv,
                                    const char * const *worker_env,
                                    gsize               max_message_size,
                                    const PSettings    *settings);
gboolean  p_core_start             (PCore              *core,
                                    GError            **error);
PCore    *p_core_ref               (PCore              *core);
void      p_core_unref             (PCore              *core);
gboolean  p_core_is_current_thread (PCore              *core);
void      p_core_wake              (PCore              *core);
guint64   p_core_next_id           (PCore              *core);
void      p_core_submit            (PCore              *core,
                                    PJob               *job);
void      p_core_close             (PCore              *core,
                                    gboolean            terminate);
void      p_core_wait_finished     (PCore              *core);
void      p_core_run_sync          (PCore              *core,
                                    GSourceFunc         func,
                                    gpointer            data);
void      p_core_terminate_now     (PCore              *core);
void      p_core_check_finished    (PCore              *core);

/* p-pool-signals-private.c */
typedef enum
{
  P_WORKER_SIGNAL_STARTED,
  P_WORKER_SIGNAL_EXITED,
} PWorkerSignal;

void      p_core_emit              (PCore              *core,
                                    PWorkerSignal       signal,
                                    GPid                pid,
                                    int                 wait_status);
void      p_core_drop_emissions    (PCore              *core);

/* p-pool.c: emits them, in the creator's context. */
void      p_pool_emit_worker_signal (PPool             *self,
                                     PWorkerSignal      signal,
                                     guint              pid,
                                     int                wait_status);

/* p-pool.c: the core of a pool, for its other rooms. */
PCore    *p_pool_get_core           (PPool             *self);

/* p-pool-work.c, for p-data.c: submits a task whose frame @encode writes,
 * with the id and the size limit it must be written with. */
typedef PFrame *(*PTaskEncodeFunc) (guint64      id,
                                    const char  *function,
                                    gsize        max_message_size,
                                    gpointer     user_data,
                                    GError     **error);

PResult  *p_pool_submit_encoded     (PPool             *self,
                                     const char        *function,
                                     PTaskEncodeFunc    encode,
                                     gpointer           user_data,
                                     GCancellable      *cancellable);

/* p-stats-private.c */
GVariant *p_core_dup_stats         (PCore              *core);

/* p-spawner-private.c */
gboolean  p_spawner_spawn_one      (PCore              *core,
                                    GError            **error);
void      p_spawner_maybe_respawn  (PCore              *core);
void      p_spawner_worker_served  (PWorkerSlot        *slot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PCore, p_core_unref)

G_END_DECLS
