/* p-landlock-private.h: landlock, through its system calls
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The first ABI with network rules, with scopes, and with a restriction
 * of every thread at once. */
#define P_LANDLOCK_ABI_TRUNCATE 3
#define P_LANDLOCK_ABI_NETWORK  4
#define P_LANDLOCK_ABI_SCOPES   6
#define P_LANDLOCK_ABI_TSYNC    8

typedef enum
{
  P_LANDLOCK_READ,        /* read files, list directories */
  P_LANDLOCK_READ_WRITE,  /* and write, create, rename, remove (not devices) */
  P_LANDLOCK_DEVICE,      /* read and write a device file, no ioctl */
} PLandlockAccess;

typedef struct _PLandlock PLandlock;

/* The running kernel's ABI, or 0 with @error set. */
guint      p_landlock_get_abi      (GError          **error);

/* A ruleset that handles every file system right @abi knows, TCP binds
 * and connects when @restrict_network and the ABI has them, and the
 * scopes when @scoped and the ABI has them. */
PLandlock *p_landlock_new          (guint             abi,
                                    gboolean          restrict_network,
                                    gboolean          scoped,
                                    GError          **error);
gboolean   p_landlock_handles_network (PLandlock     *self);
gboolean   p_landlock_handles_scopes  (PLandlock     *self);

/* Allows @access beneath @path (a file or a directory). A path that does
 * not exist is no error: nothing is allowed. */
gboolean   p_landlock_allow        (PLandlock        *self,
                                    const char       *path,
                                    PLandlockAccess   access,
                                    GError          **error);

/* Confines the calling thread, or every thread (@all_threads, from ABI 8). */
gboolean   p_landlock_restrict     (PLandlock        *self,
                                    gboolean          all_threads,
                                    GError          **error);
void       p_landlock_free         (PLandlock        *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PLandlock, p_landlock_free)

G_END_DECLS
