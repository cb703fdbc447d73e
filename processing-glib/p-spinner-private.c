/* p-spinner-private.c: waiting for the other end, spinning a moment first
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-spinner-private.h"

#define SPIN_USEC        50   /* the longest spin */
#define SPIN_WORTH_USEC  250  /* a wait this short without a spin is worth one */
#define SPIN_BACKOFF_MAX 64   /* waits without a spin after spins in vain, at most */

/* g_poll(), but it first polls without sleeping for up to %SPIN_USEC when
 * @may_spin is set and @spinner has seen recent waits end that soon.
 *
 * Waking a thread that sleeps costs tens of microseconds, an order of
 * magnitude more than a poll that finds the answer there (docs/performance.md
 * has the figures: floor_rtt and floor_rtt_polling), and a caller that
 * waits for each result before it sends the next task pays that on every
 * task. So the
 * side that has just been answered quickly polls for a moment before it
 * sleeps, as an adaptive mutex spins before it blocks. Each turn yields
 * the processor: the thread that will answer may be waiting for it.
 *
 * A wait that ends while spinning, or one short enough without spinning,
 * allows the next spin. A spin that runs out skips the next 1, 2, 4, …
 * chances to spin, up to %SPIN_BACKOFF_MAX: a worker fed now and then
 * never spins, and one whose tasks come too late to be caught (more busy
 * threads than processors, say) soon spins rarely. */
gint
p_poll_spinning (PSpinner *spinner,
                 GPollFD  *fds,
                 guint     n_fds,
                 gint      timeout_msec,
                 gboolean  may_spin)
{
  gint64 start = g_get_monotonic_time ();
  gboolean spin = may_spin && spinner->last_wait_short && timeout_msec != 0;
  gint n_ready;

  if (spin && spinner->n_skipped < spinner->backoff)
    {
      spinner->n_skipped++;
      spin = FALSE;
    }

  if (spin)
    {
      do
        {
          n_ready = g_poll (fds, n_fds, 0);
          if (n_ready != 0)
            {
              spinner->backoff = 0;
              spinner->last_wait_short = TRUE;
              return n_ready;
            }
          g_thread_yield ();
        }
      while (g_get_monotonic_time () - start < SPIN_USEC);

      spinner->backoff = CLAMP (spinner->backoff * 2, 1, SPIN_BACKOFF_MAX);
      spinner->n_skipped = 0;
    }

  n_ready = g_poll (fds, n_fds, timeout_msec);
  spinner->last_wait_short = !spin && g_get_monotonic_time () - start < SPIN_WORTH_USEC;

  return n_ready;
}
