/* p-launch-private.h: how a pool with a launcher starts its workers, and
 * where
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-launcher.h"
#include "p-pool-private.h"
#include "p-process-private.h"

G_BEGIN_DECLS

/* A pool's launcher at work, on the pool's thread once the pool runs
 * (p_launch_new() runs in the caller's): which worker runs where (its
 * seat: a host, for ssh), the clients' command lines, what the clients
 * say on their standard error, and, for ssh, the connections the
 * workers on a host share. */

PLaunch  *p_launch_new            (PLauncher                *launcher,
                                   guint                     processes,
                                   guint                    *n_processes,
                                   GError                  **error);
void      p_launch_free           (PLaunch                  *self);
gboolean  p_launch_connect        (PLaunch                  *self,
                                   PCore                    *core,
                                   GError                  **error);
PProcess *p_launch_spawn          (PLaunch                  *self,
                                   PCore                    *core,
                                   guint                     startup_timeout_sec,
                                   const PProcessCallbacks  *callbacks,
                                   gpointer                  user_data,
                                   GError                  **error);
GError   *p_launch_describe_death (PLaunch                  *self,
                                   PProcess                 *process);
void      p_launch_forget         (PLaunch                  *self,
                                   PProcess                 *process);
gboolean  p_launch_stop           (PLaunch                  *self);

G_END_DECLS
