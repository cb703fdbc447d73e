/* launcher-cases.h: what the launcher suites share: a pool's behaviour and
 * its faults, through a real engine (ssh, srun) on this host
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "test-functions.h"

G_BEGIN_DECLS

typedef struct
{
  const char *name;        /* in the test paths: /launcher/NAME/... */
  const char *client;      /* the client program's name, as /proc shows it */
  /* NULL when the engine is up, else why not (static). */
  const char *(*unavailable) (void);
  PLauncher  *(*new_launcher) (void);
} LauncherEngine;

/* Registers the cases every engine runs; each is skipped, saying why,
 * when the engine is not up. */
void       launcher_cases_add            (const LauncherEngine *engine);

/* For an engine's own cases. */
gboolean   launcher_engine_skip          (const LauncherEngine *engine);
const char * const *launcher_worker_argv (void);
void       launcher_keep_every_worker    (PPool                *pool);
PPool     *launcher_pool_new             (const LauncherEngine *engine,
                                          guint                 processes,
                                          const char           *first_property,
                                          ...);
GArray    *launcher_find_workers         (const LauncherEngine *engine);
GArray    *launcher_find_clients         (const LauncherEngine *engine);
gboolean   launcher_wait_for_count       (GArray              *(*find) (const LauncherEngine *),
                                          const LauncherEngine *engine,
                                          guint                 count,
                                          gint64                timeout_usec);
gboolean   launcher_wait_gone            (GPid                  pid,
                                          gint64                timeout_usec);
char      *launcher_cmdline              (GPid                  pid);
void       launcher_assert_nothing_left  (const LauncherEngine *engine);

G_END_DECLS
