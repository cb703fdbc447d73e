/* p-pool-sandbox-private.h: the pool's side of its workers' sandbox
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-pool-private.h"
#include "p-process-private.h"
#include "p-sandbox.h"

G_BEGIN_DECLS

typedef struct _PCoreSandbox PCoreSandbox;

/* A copy of what @sandbox requires, made when the pool is constructed. */
PCoreSandbox       *p_core_sandbox_new           (PSandbox            *sandbox);
void                p_core_sandbox_free          (PCoreSandbox        *self);

/* On the pool's thread. Whether @process confined itself as required,
 * from its FEATURES (NULL: it speaks a version without them); if not, it
 * is killed with the reason, and fails to start. */
gboolean            p_core_sandbox_accept        (PCore               *core,
                                                  PProcess            *process,
                                                  GVariant            *features);
/* On the pool's thread: whether the pool's construction still waits for
 * a worker's verdict, which needs a worker however few are wanted. */
gboolean            p_core_sandbox_awaits_verdict (PCore              *core);
/* A worker failed to start: before the first verdict, the pool's start fails. */
void                p_core_sandbox_start_failed  (PCore               *core,
                                                  const GError        *cause);
/* What a sandboxed worker's death may owe to its sandbox, to follow the
 * description of its exit; NULL when nothing. */
char               *p_core_sandbox_describe_death (PCore              *core,
                                                   PProcess           *process);

/* From any thread but the pool's: waits for the first worker's verdict. */
gboolean            p_core_sandbox_wait          (PCore               *core,
                                                  GError             **error);
PSandboxMechanisms  p_core_sandbox_get_mechanisms (PCore              *core);
GVariant           *p_core_sandbox_dup_report    (PCore               *core);

G_END_DECLS
