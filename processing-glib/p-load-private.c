/* p-load-private.c: how busy the machine's processors are
 *
 * The scheduler keeps busy as few workers as keep up: more only while the
 * processors idle although tasks wait (workers that wait on something else
 * than a processor). Linux says how long the processors idled in the first
 * line of /proc/stat.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "p-load-private.h"

/* Fewer ticks than this between two samples say nothing. */
#define MIN_TICKS 4

/* FALSE when /proc/stat cannot be read (no procfs, say). */
gboolean
p_load_sample (PLoadSample *sample)
{
  char buffer[256];
  guint64 fields[8] = { 0, };
  const char *p;
  gssize n;
  int fd;

  fd = open ("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  do
    n = read (fd, buffer, sizeof buffer - 1);
  while (n < 0 && errno == EINTR);
  close (fd);

  if (n <= 4)
    return FALSE;
  buffer[n] = '\0';

  /* "cpu  user nice system idle iowait irq softirq steal guest guest_nice":
   * guests' time is in user's already. */
  if (!g_str_has_prefix (buffer, "cpu "))
    return FALSE;
  p = buffer + 4;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      char *end;

      fields[i] = g_ascii_strtoull (p, &end, 10);
      if (end == p)
        return FALSE;
      p = end;
    }

  sample->idle = fields[3] + fields[4];
  sample->total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    sample->total += fields[i];

  return TRUE;
}

/* The share of the processors' time that was idle between two samples,
 * or -1 when too little time passed to tell. */
double
p_load_idle_share (const PLoadSample *before,
                   const PLoadSample *after)
{
  guint64 total = after->total - before->total;

  if (after->total < before->total || total < MIN_TICKS || after->idle < before->idle)
    return -1;

  return (double) (after->idle - before->idle) / total;
}
