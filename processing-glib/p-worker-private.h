/* p-worker-private.h: what the worker's rooms share
 *
 * p-worker.c is the GObject, reading the channel, the reader thread and
 * running tasks; p-worker-output-private.c what the worker sends: replies
 * that leave together or at once, errors a channel can carry, progress.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-worker.h"
#include "p-frame-private.h"
#include "p-frame-queue-private.h"
#include "p-frame-reader-private.h"
#include "p-reply-area-private.h"
#include "p-spinner-private.h"
#include "p-worker-link-private.h"

G_BEGIN_DECLS

/* While tasks come one at a time, the reader reads the channel only for a
 * task that has run this long, and looks that often: a CANCEL or RECALL
 * reaches a running task within twice as long. Each look costs (a timer
 * armed, a thread woken), which the apply round trip shows: see
 * docs/performance.md for the figures that chose this period. */
#define READER_WATCH_AFTER_USEC 5000
/* A task's progress goes to the pool at most this often; a report that
 * comes sooner waits, and a later one replaces it. */
#define PROGRESS_INTERVAL_USEC 50000
/* After this long with no task, the reader sleeps until the next starts. */
#define READER_LINGER_USEC 50000
/* While other tasks wait to run, replies are held in the reply area (see
 * docs/protocol.md, section 12) to leave together: until this many are
 * held, the area is full, or the first has waited this long (the next
 * task may be a long one; the reader thread then sends them). */
#define MAX_HELD_REPLIES 64
#define REPLY_DELAY_USEC 200
/* A remote worker whose link ends while it works (docs/protocol.md,
 * section 15) gives its running task this long to see its cancellable,
 * then ends its process group, itself included. */
#define LINK_LOST_GRACE_USEC (100 * 1000)

typedef struct
{
  PTaskFunc func;
  PChunkFunc chunk_func;   /* instead of @func: a chunk's items at once */
  gpointer user_data;
  GDestroyNotify destroy;
} Function;

struct _PWorker
{
  GObject parent_instance;

  GHashTable *functions;   /* name → Function */

  /* While running. The channel is read by the reader thread, which queues
   * the tasks for the thread that runs them and passes a CANCEL to the
   * running task at once, and by the task thread while it is idle. While
   * tasks come one at a time, the reader reads only for a task that has
   * run for over READER_WATCH_AFTER_USEC (see reader_main()). */
  gsize max_message_size;
  PWorkerLink link;        /* the channel: a socket, or a launcher's stdin and stdout */
  int reader_wakeup_fd;    /* eventfd: pulls the reader out of poll() */
  int task_wakeup_fd;      /* eventfd: pulls the task thread out of poll() */
  GThread *reader_thread;

  GMutex mutex;            /* for what follows */
  PFrameReader *reader;
  GQueue queue;            /* PMessage *, tasks and chunks received and not started, in order */
  GHashTable *cancelled_queued; /* ids of queued messages cancelled before they started */
  guint64 running_id;
  guint64 starting_id;     /* taken from the queue, not started yet */
  GCancellable *running_cancellable; /* @task_cancellable while a task runs */
  gboolean task_running;
  gint64 task_started_at;
  gint64 task_ended_at;
  gboolean reader_resting;  /* asleep until a task starts */
  gboolean task_thread_polling; /* idle, reading the channel too, not yet woken */
  PSpinner idle_spinner;
  gboolean tasks_come_singly; /* the last wait brought one task at most */
  gboolean stopping;
  gboolean input_ended;    /* the pool closed its end: finish and exit */
  GError *input_error;     /* the channel broke, or carried garbage */
  GError *output_error;    /* sending failed: the pool is gone */
  guint unanswered;        /* tasks and chunks received, their replies not yet sent */
  int link_lost;           /* atomic: a remote link ended while the worker worked */
  gint64 link_lost_at;

  gboolean pool_takes_sealed; /* large results may go in shared memory */
  GVariant *sandbox_report;   /* what of the pool's sandbox is in force, or NULL */

  /* Under @mutex: the running task's progress (p_worker_report_progress()). */
  gint64 progress_sent_at;  /* when the running task's last report left */
  PFrame *progress_waiting; /* a report that came sooner than PROGRESS_INTERVAL_USEC */

  /* The task thread's: the cancellable tasks get, held by a toggle
   * reference (see task_cancellable_take()). */
  GCancellable *task_cancellable;
  int task_cancellable_shared; /* atomic: someone else holds it too */

  GMutex write_mutex;      /* for what follows: one frame at a time on the channel */
  PFrameQueue output;      /* the frame being sent */
  guint64 bytes_sent;      /* on the channel so far */
  PReplyArea *reply_area;  /* shared with the pool; NULL: every reply leaves at once */
  gsize reply_area_capacity;
  guint n_held;            /* replies held in the area */
  gint64 held_since;       /* when the first of them was made */
};

/* p-worker.c */
void      p_worker_wake_reader                   (PWorker      *self);

/* p-worker-output-private.c: replies, with @may_hold to let them wait in
 * the reply area while other tasks wait to run. */
void      p_worker_send_reply                    (PWorker      *self,
                                                  PFrame       *frame,
                                                  gboolean      may_hold);
void      p_worker_send_reply_locked             (PWorker      *self,
                                                  PFrame       *frame);
void      p_worker_send_held                     (PWorker      *self);
gint64    p_worker_send_late_held_locked         (PWorker      *self);
GError   *p_worker_sendable_error                (PWorker      *self,
                                                  const GError *error);
PFrame   *p_worker_encode_error                  (PWorker      *self,
                                                  guint64       id,
                                                  const GError *error);
PFrame   *p_worker_check_reply                   (PWorker      *self,
                                                  guint64       id,
                                                  PFrame       *frame,
                                                  GError       *error);

/* p-worker-output-private.c: the worker p_worker_report_progress() reports
 * for, while it serves. */
void      p_worker_begin_serving                 (PWorker      *self);
void      p_worker_end_serving                   (PWorker      *self);
gint64    p_worker_send_waiting_progress_locked  (PWorker      *self);

G_END_DECLS
