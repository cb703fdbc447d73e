/* p-launcher.h: how a pool's workers are started: here, or on other hosts
 * through ssh or Slurm's srun
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PROCESSING_GLIB_INSIDE) && !defined (PROCESSING_GLIB_COMPILATION)
# error "Only <processing-glib/processing-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "p-pool.h"
#include "p-version-macros.h"

G_BEGIN_DECLS

#define P_TYPE_LAUNCHER (p_launcher_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PLauncher, p_launcher, P, LAUNCHER, GObject)

P_AVAILABLE_IN_0_1
PLauncher *p_launcher_new_ssh                (const char * const  *hosts);
P_AVAILABLE_IN_0_1
PLauncher *p_launcher_new_srun               (const char * const  *srun_args);
P_AVAILABLE_IN_0_1
void       p_launcher_set_command            (PLauncher           *self,
                                              const char * const  *argv);
P_AVAILABLE_IN_0_1
void       p_launcher_set_worker_path        (PLauncher           *self,
                                              const char          *path);
P_AVAILABLE_IN_0_1
void       p_launcher_set_reuse_connections  (PLauncher           *self,
                                              gboolean             reuse);

P_AVAILABLE_IN_0_1
PPool     *p_pool_new_with_launcher          (guint                processes,
                                              const char * const  *worker_argv,
                                              PLauncher           *launcher,
                                              GError             **error);

G_END_DECLS
