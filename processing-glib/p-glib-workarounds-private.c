/* p-glib-workarounds-private.c: what GLib 2.74 makes us do (see the table
 * in p-glib-workarounds-private.h)
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p-glib-workarounds-private.h"

/* GLib 2.74 frees a container type's description with the last value of
 * that type, under a global lock, and builds it again for the next one:
 * for every message, since each is freed before the next arrives. A value
 * of each type the channel uses, kept for ever, keeps them. */
void
p_glib_pin_variant_types (void)
{
  static const char * const types[] = {
    "(tsv)", "(tsvb)", "(t)", "(uxas)", "(tv)", "(tsis)", "(tva(usis))", "a(usis)", "(usis)", "av",
  };
  /* (Where they are kept is read, so that no compiler drops it and leak
   * checkers see them.) */
  static GPtrArray *pinned = NULL;

  if (g_once_init_enter (&pinned))
    {
      GPtrArray *values = g_ptr_array_new ();

      for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
        g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE (types[i]), NULL, 0,
                                                                              FALSE, NULL, NULL)));
      g_once_init_leave (&pinned, values);
    }
}

/* GLib 2.74 reports a child's exit as soon as its pidfd is readable,
 * which can come a moment before the child can be reaped; its waitid()
 * then reaps nothing, the child stays a zombie and its status reads 0.
 * Our own pidfd of it (taken and closed here) finishes the job: it names
 * that process and no other, and waitid() on it fails at once if GLib did
 * reap it. Returns the wait status, @status if GLib's was right. */
int
p_glib_finish_reaping (int *pidfd,
                       int  status)
{
  siginfo_t info = { 0, };

  if (*pidfd < 0)
    return status;

  while (waitid (P_PIDFD, *pidfd, &info, WEXITED) < 0 && errno == EINTR)
    ;

  close (*pidfd);
  *pidfd = -1;

  if (info.si_pid == 0)
    return status;

  switch (info.si_code)
    {
    case CLD_EXITED:
      return W_EXITCODE (info.si_status, 0);
    case CLD_KILLED:
      return W_EXITCODE (0, info.si_status);
    case CLD_DUMPED:
      return W_EXITCODE (0, info.si_status | WCOREFLAG);
    default:
      return status;
    }
}

/* {{{ The wake-up source
 *
 * Not g_source_set_ready_time(): it writes to the context's eventfd each
 * time, the owner thread's re-arming included. */

typedef struct
{
  GSource source;
  int *pending;
} WakeupSource;

static gboolean
wakeup_source_prepare (GSource *source,
                       gint    *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (((WakeupSource *) source)->pending);
}

static gboolean
wakeup_source_check (GSource *source)
{
  return g_atomic_int_get (((WakeupSource *) source)->pending);
}

static gboolean
wakeup_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  /* Cleared before the callback looks, so that a wake-up meanwhile is not
   * lost. */
  g_atomic_int_set (((WakeupSource *) source)->pending, FALSE);

  return callback (user_data);
}

static GSourceFuncs wakeup_source_funcs = {
  wakeup_source_prepare, wakeup_source_check, wakeup_source_dispatch, NULL, NULL, NULL,
};

GSource *
p_wakeup_source_new (const char *name,
                     int        *pending)
{
  GSource *source = g_source_new (&wakeup_source_funcs, sizeof (WakeupSource));

  ((WakeupSource *) source)->pending = pending;
  g_source_set_static_name (source, name);

  return source;
}

/* From any thread. Only the first caller after the source's callback
 * looked writes to the context's eventfd. */
void
p_wakeup_source_wake (GMainContext *context,
                      int          *pending)
{
  if (!g_atomic_int_exchange (pending, TRUE))
    g_main_context_wakeup (context);
}

/* }}} */
