/* p-result-queue-private.h: what a PResult tells its queue
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-result-queue.h"

G_BEGIN_DECLS

/* The result is ready: it goes at the queue's tail. */
void p_result_queue_push_ready (PResultQueue *self,
                                PResult      *result);

typedef enum
{
  P_RESULT_QUEUED,          /* the result pushes itself when it becomes ready */
  P_RESULT_ALREADY_READY,   /* it is ready: push it now */
  P_RESULT_IN_A_QUEUE,      /* it was added to a queue before */
} PResultQueueing;

/* In p-result.c: makes @queue the result's, unless it is ready. */
PResultQueueing p_result_set_queue (PResult      *result,
                                    PResultQueue *queue);

G_END_DECLS
