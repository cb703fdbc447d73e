/* p-launcher-private.h: what a pool takes from its PLauncher
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-launcher.h"

G_BEGIN_DECLS

typedef enum
{
  P_LAUNCHER_SSH,
  P_LAUNCHER_SRUN,
} PLauncherKind;

/* A copy of a launcher's settings, taken when a pool is made: changing
 * the launcher afterwards changes nothing for that pool. */
typedef struct
{
  PLauncherKind kind;
  char **hosts;              /* ssh: as given, "host", "user@host" or "N/host" */
  char **srun_args;          /* srun: extra options, never NULL */
  char **command;            /* the client and its options */
  char *worker_path;         /* the worker program on the remote side, or NULL */
  gboolean reuse_connections;
} PLauncherConfig;

PLauncherConfig *p_launcher_dup_config  (PLauncher       *self);
void             p_launcher_config_free (PLauncherConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PLauncherConfig, p_launcher_config_free)

G_END_DECLS
