/* p-glib-workarounds-private.h: what GLib 2.74 makes us do, and when it
 * can go
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Every workaround for a bug or a cost of GLib 2.74 (the minimum, Debian
 * 12's), where it lives, and the GLib release that makes it unnecessary:
 * when the minimum reaches that release, the workaround can go, after
 * measuring where the reason was a cost. Checked against GLib's history
 * up to 2.89.3; "—" means not fixed there.
 *
 *  what GLib does                        workaround, where                        fixed in
 *  ------------------------------------  ---------------------------------------  ---------------------
 *  g_variant_is_normal_form() checks an  own check of arrays of fixed-size        —
 *  "ay" one byte at a time               items: p-normal-form-private.c
 *  g_variant_get_child_value() on        array items found by offset, not by      — (the cache of checked
 *  untrusted data scans the offsets      GLib: container_is_normal() in             offsets is written to
 *  from the start for each child         p-normal-form-private.c                    a copy and lost)
 *  checking a TASK or RESULT envelope    own envelope parser: envelope_locate()   — (a cost of the API)
 *  and a GVariant per field cost more    in p-message-private.c
 *  than the rest of a small task
 *  the tuple normal-form check reads     P_BODY_SLACK zeros after every body      2.86.5 / 2.88.1
 *  a byte past a malformed tuple         (below); in a sealed file they are part    (glib#3915); the
 *                                        of protocol version 3                      protocol's zeros stay
 *  a container GVariantTypeInfo is       p_glib_pin_variant_types() (below)       2.84 (glib#3472),
 *  freed with the last value of its                                                 measure first: it
 *  type, under a global lock, and                                                   still frees them all
 *  built again for the next message                                                 past 32 types
 *  GSlice's global depot for what one    slices for jobs, chunks, frames and      2.76 (g_slice is
 *  thread allocates and another frees    sink links (p-job-private.c,               malloc: use g_new);
 *  (glibc's arenas cost more)            p-frame-private.c, p-sink-private.c);      measure the
 *                                        values made by the thread that frees       one-thread rule
 *                                        them (p-deferred-value-private.c)          again under glibc
 *  GWeakRef takes a process-wide lock    PSinkLink (p-sink-private.c)             2.80 (per-object
 *  and allocates at each set, get and                                               bit lock); measure
 *  clear                                                                            first
 *  a GCancellableSource disposed while   a "cancelled" handler and the pool's     2.84 (glib#2309,
 *  another thread cancels can leak       wake-up (p-job-private.c,                  glib#3448)
 *                                        p-map-iter.c)
 *  g_source_set_ready_time() writes to   p_wakeup_source_new() (below)            —
 *  the context's eventfd at each change
 *  a source that may not recurse has     channel sources with can_recurse         —
 *  its descriptors removed and added     (p-process-private.c)
 *  again around every dispatch
 *  a child watch with a pidfd reports    p_glib_finish_reaping() (below)          2.78 (glib#3071)
 *  an exit before the child can be
 *  reaped: status 0, a zombie
 */

/* Every body handed to GLib is followed by this many zeros of its own
 * allocation, in memory and in a sealed file. */
#define P_BODY_SLACK 8

void     p_glib_pin_variant_types (void);
int      p_glib_finish_reaping    (int         *pidfd,
                                   int          status);

/* A source dispatched once *@pending is set, woken by p_wakeup_source_wake()
 * from any thread: one write to the context's eventfd per batch of wakes. */
GSource *p_wakeup_source_new      (const char  *name,
                                   int         *pending);
void     p_wakeup_source_wake     (GMainContext *context,
                                   int          *pending);

G_END_DECLS
