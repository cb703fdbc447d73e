/* p-error.c: the PPoolError domain
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-error.h"

/**
 * SECTION:p-error
 * @title: Errors
 * @short_description: The P_POOL_ERROR domain
 *
 * Errors raised by the pool itself are in the %P_POOL_ERROR domain. A
 * task's own error comes back with its own domain, code and message.
 * Besides these, operations fail with %G_IO_ERROR_CANCELLED (cancelled,
 * or the pool was terminated), %G_IO_ERROR_TIMED_OUT (a wait ran out),
 * %G_IO_ERROR_INVALID_ARGUMENT (bad input, such as map items that are not
 * an array) and %G_IO_ERROR_MESSAGE_TOO_LARGE (a task's arguments or
 * result over the message size limit).
 */

/**
 * P_POOL_ERROR:
 *
 * Error domain for errors raised by the pool itself. Errors in this domain
 * are from the #PPoolError enumeration. A task's own #GError keeps its
 * domain, code and message; see #GError for how to handle errors.
 *
 * Since: 0.1
 */

/**
 * PPoolError:
 * @P_POOL_ERROR_FAILED: the task failed without saying why: its function
 *   returned %NULL without setting an error (a binding's uncaught exception
 *   ends up here with its message and traceback), or the pool was used
 *   wrongly, for example joined while still running.
 * @P_POOL_ERROR_UNKNOWN_FUNCTION: no worker serves a function of that name.
 * @P_POOL_ERROR_WORKER_DIED: the worker running the task died, by a signal or
 *   by exiting; the message says which. Only the task it was running fails;
 *   a replacement worker is started.
 * @P_POOL_ERROR_WORKER_START: workers could not be started: the command could
 *   not be run, or it kept exiting before it was ready. The message names the
 *   command and the cause. After five such failures in a row, tasks waiting
 *   for a worker and new tasks fail at once with this error, rather than
 *   wait for a worker that may never come; the pool keeps trying, with a
 *   growing delay of at most two seconds, and takes tasks again once a worker
 *   is ready.
 * @P_POOL_ERROR_PROTOCOL: a worker broke the protocol (see docs/protocol.md),
 *   for example by writing something else than messages to its channel. The
 *   worker is replaced.
 * @P_POOL_ERROR_CLOSED: the pool was shut down or terminated and accepts no
 *   new work.
 *
 * Error codes in the %P_POOL_ERROR domain.
 *
 * Since: 0.1
 */

/**
 * p_pool_error_quark:
 *
 * Returns the quark of the %P_POOL_ERROR domain.
 *
 * Returns: the error domain
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (p-pool-error-quark, p_pool_error)
