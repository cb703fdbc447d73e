/* p-worker-link-private.h: the worker's end of its channel: the local
 * socket a pool spawned it with, or the standard input and output a
 * launcher (ssh, srun) gave it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <sys/uio.h>

#include "p-frame-reader-private.h"

G_BEGIN_DECLS

typedef struct
{
  int in_fd;               /* what the pool sends; -1 before p_worker_link_open() */
  int out_fd;              /* where replies go: the same descriptor for a socket */
  GSocket *socket;         /* the local channel (docs/protocol.md, section 1), or NULL */
  gboolean remote;         /* stdin and stdout of a launcher (section 15) */
  gboolean opened;         /* once: it stays so when closed */
} PWorkerLink;

gboolean        p_worker_link_is_requested (void);
gboolean        p_worker_link_open         (PWorkerLink          *self,
                                            gsize                *max_message_size,
                                            GError              **error);
gboolean        p_worker_link_is_open      (PWorkerLink          *self);
gssize          p_worker_link_receive      (PWorkerLink          *self,
                                            PFrameReader         *reader,
                                            gsize                *space,
                                            GError              **error);
GPollableReturn p_worker_link_send         (PWorkerLink          *self,
                                            GOutputVector        *vectors,
                                            gsize                 n_vectors,
                                            GSocketControlMessage *fd_message,
                                            gsize                *written,
                                            GError              **error);
void            p_worker_link_close        (PWorkerLink          *self);
void            p_worker_link_clear        (PWorkerLink          *self);

gssize          p_writev_without_sigpipe   (int                   fd,
                                            const struct iovec   *vectors,
                                            int                   n_vectors);

G_END_DECLS
