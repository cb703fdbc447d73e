/* test-reply-area.c: the reply area
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test-support.h"
#include "normal-form-oracle.h"
#include "p-error.h"
#include "p-reply-area-private.h"

/* After a worker's death, the pool takes from its reply area the bytes
 * that continue its stream where the channel ended, and nothing else. */
static void
test_reply_area_unsent (void)
{
  g_autoptr(GError) error = NULL;
  PReplyArea *area;
  const guint8 *unsent;
  gsize length;
  int fd = -1;

  area = p_reply_area_new (4096, &fd, &error);
  g_assert_no_error (error);
  g_assert_nonnull (area);
  g_assert_cmpint (fd, >=, 0);
  close (fd);

  /* Nothing held. */
  area->stream_offset = 100;
  g_assert_null (p_reply_area_get_unsent (area, 4096, 100, &length));
  g_assert_cmpuint (length, ==, 0);

  /* 40 bytes held from offset 100: none of them, half, all read. */
  area->length = 40;
  unsent = p_reply_area_get_unsent (area, 4096, 100, &length);
  g_assert_true (unsent == area->data);
  g_assert_cmpuint (length, ==, 40);
  unsent = p_reply_area_get_unsent (area, 4096, 120, &length);
  g_assert_true (unsent == area->data + 20);
  g_assert_cmpuint (length, ==, 20);
  g_assert_null (p_reply_area_get_unsent (area, 4096, 140, &length));
  g_assert_null (p_reply_area_get_unsent (area, 4096, 500, &length));

  /* Not the end of what the pool read: a gap, or a worker's garbage. */
  g_assert_null (p_reply_area_get_unsent (area, 4096, 99, &length));
  area->length = 4097;
  g_assert_null (p_reply_area_get_unsent (area, 4096, 100, &length));
  g_assert_cmpuint (length, ==, 0);

  p_reply_area_unmap (area, 4096);
}

/* The worker maps the area its environment names, shared with the pool,
 * or none at all; the descriptor is closed either way. */
static void
test_reply_area_env (void)
{
  g_autoptr(GError) error = NULL;
  PReplyArea *pool_side;
  PReplyArea *worker_side;
  gsize capacity = 0;
  int pipe_fds[2];
  int fd = -1;

  g_assert_null (p_reply_area_map_env (NULL, &capacity));
  g_assert_null (p_reply_area_map_env ("", &capacity));
  g_assert_null (p_reply_area_map_env ("x:4096", &capacity));
  g_assert_null (p_reply_area_map_env ("-1:4096", &capacity));

  pool_side = p_reply_area_new (8192, &fd, &error);
  g_assert_no_error (error);

  /* Larger than the memory, or out of bounds: not mapped. */
  for (guint i = 0; i < 4; i++)
    {
      const char *capacities[] = { "16384", "100", "", "8192:1" };
      int copy = dup (fd);
      g_autofree char *value = g_strdup_printf ("%d:%s", copy, capacities[i]);

      g_assert_null (p_reply_area_map_env (value, &capacity));
      g_assert_false (fd_is_open (copy));
    }

  /* Not memory at all. */
  g_assert_cmpint (pipe (pipe_fds), ==, 0);
  {
    g_autofree char *value = g_strdup_printf ("%d:4096", pipe_fds[0]);

    g_assert_null (p_reply_area_map_env (value, &capacity));
    g_assert_false (fd_is_open (pipe_fds[0]));
    close (pipe_fds[1]);
  }

  /* The same memory on both sides; smaller than the file is fine. */
  {
    g_autofree char *value = g_strdup_printf ("%d:8192", fd);

    worker_side = p_reply_area_map_env (value, &capacity);
    g_assert_nonnull (worker_side);
    g_assert_cmpuint (capacity, ==, 8192);
    g_assert_false (fd_is_open (fd));

    worker_side->stream_offset = 77;
    memset (worker_side->data + 8191, 0xab, 1);
    g_assert_cmpuint (pool_side->stream_offset, ==, 77);
    g_assert_cmpuint (pool_side->data[8191], ==, 0xab);
  }

  p_reply_area_unmap (worker_side, 8192);
  p_reply_area_unmap (pool_side, 8192);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/reply-area/unsent", test_reply_area_unsent);
  g_test_add_func ("/reply-area/env", test_reply_area_env);

  return g_test_run ();
}
