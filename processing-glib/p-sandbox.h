/* p-sandbox.h: what a pool's workers may touch
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PROCESSING_GLIB_INSIDE) && !defined (PROCESSING_GLIB_COMPILATION)
# error "Only <processing-glib/processing-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "p-version-macros.h"

G_BEGIN_DECLS

typedef enum /*< flags >*/
{
  P_SANDBOX_MECHANISM_NONE                = 0,
  P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES   = 1 << 0,
  P_SANDBOX_MECHANISM_RESOURCE_LIMITS     = 1 << 1,
  P_SANDBOX_MECHANISM_SECCOMP             = 1 << 2,
  P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM = 1 << 3,
  P_SANDBOX_MECHANISM_LANDLOCK_NETWORK    = 1 << 4,
  P_SANDBOX_MECHANISM_LANDLOCK_SCOPES     = 1 << 5,
  P_SANDBOX_MECHANISM_USER_NAMESPACE      = 1 << 6,
  P_SANDBOX_MECHANISM_NETWORK_NAMESPACE   = 1 << 7,
} PSandboxMechanisms;

#define P_TYPE_SANDBOX (p_sandbox_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PSandbox, p_sandbox, P, SANDBOX, GObject)

P_AVAILABLE_IN_0_1
PSandbox            *p_sandbox_new                     (void);

P_AVAILABLE_IN_0_1
void                 p_sandbox_allow_read              (PSandbox           *self,
                                                        const char         *path);
P_AVAILABLE_IN_0_1
void                 p_sandbox_allow_write             (PSandbox           *self,
                                                        const char         *path);
P_AVAILABLE_IN_0_1
const char * const  *p_sandbox_get_read_paths          (PSandbox           *self);
P_AVAILABLE_IN_0_1
const char * const  *p_sandbox_get_write_paths         (PSandbox           *self);

P_AVAILABLE_IN_0_1
void                 p_sandbox_set_network             (PSandbox           *self,
                                                        gboolean            allowed);
P_AVAILABLE_IN_0_1
gboolean             p_sandbox_get_network             (PSandbox           *self);

P_AVAILABLE_IN_0_1
void                 p_sandbox_set_memory_limit        (PSandbox           *self,
                                                        guint64             bytes);
P_AVAILABLE_IN_0_1
guint64              p_sandbox_get_memory_limit        (PSandbox           *self);

P_AVAILABLE_IN_0_1
void                 p_sandbox_set_required_mechanisms (PSandbox           *self,
                                                        PSandboxMechanisms  mechanisms);
P_AVAILABLE_IN_0_1
PSandboxMechanisms   p_sandbox_get_required_mechanisms (PSandbox           *self);

G_END_DECLS
