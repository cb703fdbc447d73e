/* test-spinner.c: waiting for the other end, spinning a moment first
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-support.h"
#include "normal-form-oracle.h"
#include "p-error.h"
#include "p-spinner-private.h"

/* The spinner's rules, driven through its state: whether a wait was short
 * is set by hand, so that no assertion depends on how fast this runs. */
static void
test_poll_spinning (void)
{
  PSpinner spinner = { 0 };
  int fds[2];
  GPollFD poll_fd;
  guint expected_backoff = 1;
  char byte;

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM, 0, fds));
  poll_fd = (GPollFD) { fds[0], G_IO_IN, 0 };

  /* A first wait, and any wait not allowed to spin, sleeps at once. */
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 0);
  spinner.last_wait_short = TRUE;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, FALSE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 0);
  g_assert_false (spinner.last_wait_short);

  /* Each spin in vain doubles the chances to spin skipped after it. */
  while (expected_backoff <= 64)
    {
      spinner.last_wait_short = TRUE;
      g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
      g_assert_cmpuint (spinner.backoff, ==, expected_backoff);
      g_assert_false (spinner.last_wait_short);

      for (guint i = 0; i < expected_backoff; i++)
        {
          spinner.last_wait_short = TRUE;
          g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
          g_assert_cmpuint (spinner.n_skipped, ==, i + 1);
          g_assert_cmpuint (spinner.backoff, ==, expected_backoff);
        }
      expected_backoff *= 2;
    }

  /* …up to 64. */
  spinner.last_wait_short = TRUE;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 64);

  /* A spin that finds input ends the back-off. */
  g_assert_cmpint (write (fds[1], "x", 1), ==, 1);
  spinner.last_wait_short = TRUE;
  spinner.n_skipped = spinner.backoff;
  poll_fd.revents = 0;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, -1, TRUE), ==, 1);
  g_assert_true (poll_fd.revents & G_IO_IN);
  g_assert_cmpuint (spinner.backoff, ==, 0);
  g_assert_true (spinner.last_wait_short);
  g_assert_cmpint (read (fds[0], &byte, 1), ==, 1);

  /* A timeout of 0 never spins. */
  spinner.last_wait_short = TRUE;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 0, TRUE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 0);

  close (fds[0]);
  close (fds[1]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/spinner/poll", test_poll_spinning);

  return g_test_run ();
}
