/* p-process-private.h: one worker process as the pool sees it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-frame-queue-private.h"
#include "p-frame-reader-private.h"
#include "p-reply-area-private.h"

G_BEGIN_DECLS

typedef struct _PProcess PProcess;

typedef enum
{
  P_PROCESS_STARTING,  /* spawned; has not announced itself */
  P_PROCESS_READY,     /* announced itself; takes tasks */
  P_PROCESS_CLOSING,   /* told to exit once its tasks are done */
  P_PROCESS_DEAD,      /* channel closed or process killed; being reaped */
} PProcessState;

typedef struct
{
  /* A message from the worker, already checked against its kind's type. */
  void (*message) (PProcess       *process,
                   const PMessage *message,
                   gpointer        user_data);
  /* The process was reaped and its channel closed; never called from
   * within another call on the process. The callee frees the process. */
  void (*exited)  (PProcess     *process,
                   gpointer      user_data);
  /* A batch of messages was read: a good time to send more. */
  void (*read_done) (PProcess   *process,
                     gpointer    user_data);
} PProcessCallbacks;

/* One worker process as the pool sees it: spawned, its channel, its
 * death. (What it runs is the scheduler's: PWorkerSlot.) Everything here
 * is used on the pool's thread only. */
struct _PProcess
{
  GPid pid;
  PProcessState state;
  gboolean announced;
  /* Valid in exited(): the wait status, and why the pool killed the
   * process or gave up on its channel, if it did. */
  int wait_status;
  GError *kill_reason;

  /* What the worker's HELLO (and, from version 4, FEATURES) said. */
  guint32 version;           /* 0 before its HELLO */
  gboolean takes_recalls;    /* it speaks protocol version 2 */
  gboolean takes_sealed;     /* version 3, and from 4 its channel passes descriptors */

  /* Started through a launcher's client (ssh, srun): the pid is the
   * client's, and the end of the channel is the remote worker's. */
  gboolean linked;

  /*< private >*/
  const PProcessCallbacks *callbacks;
  gpointer user_data;
  GSubprocess *subprocess;
  int pidfd;
  GSocket *socket;
  GIOStream *stream;
  GSource *input_source;
  GSource *output_source;
  GSource *timer;
  PFrameReader *reader;
  guint64 bytes_received;    /* all that was read from the channel */
  PReplyArea *reply_area;    /* where it holds replies back; or NULL */
  PFrameQueue outgoing;
  gboolean shutdown_when_flushed;
  gboolean channel_closed;
  gboolean output_failed;    /* the worker is gone: what is left is read */
  gboolean truncated;
  gboolean reaped;
  gboolean client_asked_to_exit;
};

/* Destroys and drops *@source, if any: a timer or a watch that is over. */
static inline void
p_clear_source (GSource **source)
{
  if (*source == NULL)
    return;

  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

PProcess *p_process_spawn          (const char * const      *argv,
                                    const char * const      *env,
                                    gsize                    max_message_size,
                                    guint                    startup_timeout_sec,
                                    const PProcessCallbacks *callbacks,
                                    gpointer                 user_data,
                                    GError                 **error);
PProcess *p_process_spawn_linked   (const char * const      *argv,
                                    gsize                    max_message_size,
                                    guint                    startup_timeout_sec,
                                    const PProcessCallbacks *callbacks,
                                    gpointer                 user_data,
                                    GError                 **error);
GInputStream *p_process_get_client_stderr (PProcess        *self);
void      p_process_set_ready      (PProcess                *self);
void      p_process_send           (PProcess                *self,
                                    PFrame                  *frame);
void      p_process_flush          (PProcess                *self);
void      p_process_close          (PProcess                *self);
void      p_process_kill           (PProcess                *self,
                                    GError                  *reason);
void      p_process_protocol_error (PProcess                *self,
                                    const char              *message);
char     *p_process_describe_exit  (PProcess                *self);
void      p_process_free           (PProcess                *self);

G_END_DECLS
