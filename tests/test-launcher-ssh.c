/* test-launcher-ssh.c: a pool whose workers start through ssh, against a
 * real sshd on 127.0.0.1
 *
 * .ci/run starts one with .ci/engines/sshd-localhost.sh and sets
 * P_TEST_SSH_CONFIG (its client configuration) and P_TEST_SSH_HOST (a
 * host name in it); without them, every case is skipped and says so.
 * The test program is its own worker, on "the remote host": this one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "launcher-cases.h"

static const char *
ssh_config (void)
{
  return g_getenv ("P_TEST_SSH_CONFIG");
}

static const char *
ssh_host (void)
{
  const char *host = g_getenv ("P_TEST_SSH_HOST");

  return host != NULL ? host : "sshd-localhost";
}

static const char *
ssh_unavailable (void)
{
  if (ssh_config () == NULL)
    return "no sshd to test with: P_TEST_SSH_CONFIG is not set (.ci/run starts one with "
           ".ci/engines/sshd-localhost.sh and sets it to its ssh_config)";

  if (!g_file_test (ssh_config (), G_FILE_TEST_IS_REGULAR))
    return "no sshd to test with: P_TEST_SSH_CONFIG names no file";

  return NULL;
}

/* ssh -F CONFIG [more options] */
static PLauncher *
new_ssh_launcher_for (const char * const *hosts,
                      const char         *option,
                      const char         *option2)
{
  PLauncher *launcher = p_launcher_new_ssh (hosts);
  const char *command[] = { "ssh", "-F", ssh_config (), option, option2, NULL };

  p_launcher_set_command (launcher, command);

  return launcher;
}

static PLauncher *
new_ssh_launcher (void)
{
  const char *hosts[] = { ssh_host (), NULL };

  return new_ssh_launcher_for (hosts, NULL, NULL);
}

static const LauncherEngine ssh_engine = {
  "ssh", "ssh", ssh_unavailable, new_ssh_launcher,
};

/* {{{ Where workers run */

static guint
count_clients_to (const char *destination)
{
  g_autoptr(GArray) clients = launcher_find_clients (&ssh_engine);
  g_autofree char *needle = g_strdup_printf (" -- %s exec ", destination);
  guint n = 0;

  for (guint i = 0; i < clients->len; i++)
    {
      g_autofree char *cmdline = launcher_cmdline (g_array_index (clients, GPid, i));

      n += cmdline != NULL && strstr (cmdline, needle) != NULL;
    }

  return n;
}

static GPid
find_client_to (const char *destination)
{
  g_autoptr(GArray) clients = launcher_find_clients (&ssh_engine);
  g_autofree char *needle = g_strdup_printf (" -- %s exec ", destination);

  for (guint i = 0; i < clients->len; i++)
    {
      g_autofree char *cmdline = launcher_cmdline (g_array_index (clients, GPid, i));

      if (cmdline != NULL && strstr (cmdline, needle) != NULL)
        return g_array_index (clients, GPid, i);
    }

  return 0;
}

static gboolean
wait_for_clients_to (const char *destination,
                     guint       count)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (count_clients_to (destination) != count)
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (20000);
    }

  return TRUE;
}

/* "N/host" spreads the workers; a replacement starts where the worker it
 * replaces ran. "host" and "root@host" are two hosts to the pool. */
static void
test_hosts (void)
{
  g_autofree char *user_host = g_strdup_printf ("root@%s", ssh_host ());
  g_autofree char *two = g_strdup_printf ("2/%s", ssh_host ());
  const char *hosts[] = { two, user_host, NULL };
  g_autoptr(PLauncher) launcher = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PPool) larger = NULL;
  g_autoptr(GError) error = NULL;
  GPid client;

  if (launcher_engine_skip (&ssh_engine))
    return;

  launcher = new_ssh_launcher_for (hosts, NULL, NULL);
  pool = p_pool_new_with_launcher (0, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (pool);
  g_assert_cmpuint (p_pool_get_processes (pool), ==, 3);
  g_assert_true (wait_for_clients_to (ssh_host (), 2));
  g_assert_true (wait_for_clients_to (user_host, 1));
  g_assert_cmpint (apply_int64 (pool, "square", 5), ==, 25);

  client = find_client_to (user_host);
  g_assert_cmpint (client, >, 0);
  g_assert_no_errno (kill (client, SIGKILL));
  g_assert_true (launcher_wait_gone (client, 5 * G_USEC_PER_SEC));
  g_assert_true (wait_for_clients_to (user_host, 1));
  g_assert_cmpint (find_client_to (user_host), !=, client);
  g_assert_true (wait_for_clients_to (ssh_host (), 2));
  g_assert_cmpint (apply_int64 (pool, "square", 6), ==, 36);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));

  /* More workers than the N say: in proportion. */
  larger = p_pool_new_with_launcher (6, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (larger);
  g_assert_true (wait_for_clients_to (ssh_host (), 4));
  g_assert_true (wait_for_clients_to (user_host, 2));
  p_pool_terminate (larger);
  g_assert_true (p_pool_join (larger, NULL));

  launcher_assert_nothing_left (&ssh_engine);
}

/* }}} */
/* {{{ Shared connections */

static GArray *
find_connections (void)
{
  g_autoptr(GArray) children = test_list_children ();
  GArray *connections = g_array_new (FALSE, FALSE, sizeof (GPid));

  for (guint i = 0; i < children->len; i++)
    {
      GPid pid = g_array_index (children, GPid, i);
      g_autofree char *cmdline = launcher_cmdline (pid);

      if (cmdline != NULL && strstr (cmdline, "ControlMaster=yes") != NULL)
        g_array_append_val (connections, pid);
    }

  return connections;
}

/* The directory of a shared connection's socket, from its command line. */
static char *
connection_directory (GPid pid)
{
  g_autofree char *cmdline = launcher_cmdline (pid);
  const char *path = cmdline != NULL ? strstr (cmdline, "ControlPath=") : NULL;
  g_autofree char *socket = NULL;

  g_assert_nonnull (path);
  socket = g_strndup (path + strlen ("ControlPath="), strcspn (path + strlen ("ControlPath="), " "));

  return g_path_get_dirname (socket);
}

/* 10 workers on a host share 2 connections (8 sessions at most each);
 * a connection that ends takes its workers' links, and they are
 * replaced; at the end nothing is left, not the sockets' directory. */
static void
test_shared_connections (void)
{
  g_autofree char *ten = g_strdup_printf ("10/%s", ssh_host ());
  const char *hosts[] = { ten, NULL };
  g_autoptr(PLauncher) launcher = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) connections = NULL;
  g_autoptr(GVariant) squares = NULL;
  g_autofree char *directory = NULL;

  if (launcher_engine_skip (&ssh_engine))
    return;

  launcher = new_ssh_launcher_for (hosts, NULL, NULL);
  pool = p_pool_new_with_launcher (0, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (pool);
  g_assert_cmpuint (p_pool_get_processes (pool), ==, 10);
  g_assert_true (launcher_wait_for_count (launcher_find_workers, &ssh_engine, 10, 10 * G_USEC_PER_SEC));
  connections = find_connections ();
  g_assert_cmpuint (connections->len, ==, 2);
  directory = connection_directory (g_array_index (connections, GPid, 0));
  g_assert_true (g_file_test (directory, G_FILE_TEST_IS_DIR));

  squares = p_pool_map (pool, "square", test_range_int64 (200), 1, NULL, &error);
  g_assert_no_error (error);
  assert_squares (squares, 200);

  /* A connection killed: its workers' links end with it, their tasks
   * fail as their deaths are seen, and they are replaced. */
  g_assert_no_errno (kill (g_array_index (connections, GPid, 0), SIGKILL));
  g_assert_true (launcher_wait_gone (g_array_index (connections, GPid, 0), 5 * G_USEC_PER_SEC));
  {
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

    for (;;)
      {
        g_clear_pointer (&squares, g_variant_unref);
        squares = p_pool_map (pool, "square", test_range_int64 (200), 1, NULL, &error);
        if (error == NULL)
          break;
        g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
        g_clear_error (&error);
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (50000);
      }
  }
  assert_squares (squares, 200);
  g_assert_true (launcher_wait_for_count (launcher_find_workers, &ssh_engine, 10, 20 * G_USEC_PER_SEC));

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_cmpuint (test_count_children (), ==, 0);
  g_assert_false (g_file_test (directory, G_FILE_TEST_EXISTS));
  launcher_assert_nothing_left (&ssh_engine);
}

/* }}} */
/* {{{ Hosts that cannot be had */

static void
assert_start_error (const GError *error,
                    const char   *words)
{
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_test_message ("%s", error->message);
  if (strstr (error->message, words) == NULL)
    g_error ("“%s” does not say “%s”", error->message, words);
}

/* From the constructor, which connects first; or, without shared
 * connections, from the tasks. Within seconds either way. */
static void
check_unreachable (const char *host,
                   const char *option,
                   const char *option2,
                   const char *words)
{
  const char *hosts[] = { host, NULL };
  g_autoptr(PLauncher) launcher = new_ssh_launcher_for (hosts, option, option2);
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 started = g_get_monotonic_time ();

  pool = p_pool_new_with_launcher (2, launcher_worker_argv (), launcher, &error);
  g_assert_null (pool);
  assert_start_error (error, words);
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);
  g_clear_error (&error);
  g_assert_cmpuint (test_count_children (), ==, 0);

  p_launcher_set_reuse_connections (launcher, FALSE);
  started = g_get_monotonic_time ();
  pool = p_pool_new_with_launcher (2, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (pool);
  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
  assert_start_error (error, words);
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);
  g_clear_error (&error);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

static void
test_unknown_host (void)
{
  if (launcher_engine_skip (&ssh_engine))
    return;

  check_unreachable ("no-such-host.invalid", NULL, NULL, "Could not resolve hostname");
}

static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_refused (void)
{
  g_autofree char *port = NULL;

  if (launcher_engine_skip (&ssh_engine))
    return;

  port = g_strdup_printf ("Port=%u", closed_port ());
  check_unreachable (ssh_host (), "-o", port, "Connection refused");
  check_unreachable (ssh_host (), "-o", "PubkeyAuthentication=no", "Permission denied");
}

/* A host that takes the connection and never answers. */
static void
test_silent_host (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *port = NULL;
  const char *hosts[] = { ssh_host (), NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PLauncher) launcher = NULL;
  g_autoptr(PPool) pool = NULL;
  gint64 started;

  if (launcher_engine_skip (&ssh_engine))
    return;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  any = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  g_assert_true (g_socket_listen (socket, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  port = g_strdup_printf ("Port=%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  {
    const char *command[] = { "ssh", "-F", ssh_config (), "-o", port, "-o", "ConnectTimeout=1", NULL };

    launcher = p_launcher_new_ssh (hosts);
    p_launcher_set_command (launcher, command);
  }

  started = g_get_monotonic_time ();
  pool = p_pool_new_with_launcher (1, launcher_worker_argv (), launcher, &error);
  g_assert_null (pool);
  assert_start_error (error, "timed out");
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);
  g_assert_cmpuint (test_count_children (), ==, 0);
}

/* }}} */
/* {{{ The worker program elsewhere */

static void
test_worker_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *link = NULL;
  g_autoptr(PLauncher) launcher = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PPool) missing = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) exe = NULL;

  if (launcher_engine_skip (&ssh_engine))
    return;

  dir = g_dir_make_tmp ("launcher-path-XXXXXX", &error);
  g_assert_no_error (error);
  link = g_build_filename (dir, "worker-here", NULL);
  g_assert_no_errno (symlink (launcher_worker_argv ()[0], link));

  /* The pool's command names a path that does not exist here; the
   * remote side's path is the link. */
  launcher = new_ssh_launcher ();
  p_launcher_set_worker_path (launcher, link);
  {
    const char *argv[] = { "/nowhere/at/all", launcher_worker_argv ()[1], NULL };

    pool = p_pool_new_with_launcher (1, argv, launcher, &error);
    g_assert_no_error (error);

    launcher_keep_every_worker (pool);
  }
  exe = p_pool_apply (pool, "exe", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (exe, NULL), ==, launcher_worker_argv ()[0]);
  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));

  /* A program that is not there: the remote side says so. */
  p_launcher_set_worker_path (launcher, "/nowhere/at/all");
  missing = p_pool_new_with_launcher (1, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (missing);
  value = p_pool_apply (missing, "square", g_variant_new_int64 (2), NULL, &error);
  assert_start_error (error, "No such file or directory");
  p_pool_terminate (missing);
  g_assert_true (p_pool_join (missing, NULL));

  g_unlink (link);
  g_rmdir (dir);
  launcher_assert_nothing_left (&ssh_engine);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  launcher_cases_add (&ssh_engine);
  g_test_add_func ("/launcher/ssh/hosts", test_hosts);
  g_test_add_func ("/launcher/ssh/shared-connections", test_shared_connections);
  g_test_add_func ("/launcher/ssh/unknown-host", test_unknown_host);
  g_test_add_func ("/launcher/ssh/refused", test_refused);
  g_test_add_func ("/launcher/ssh/silent-host", test_silent_host);
  g_test_add_func ("/launcher/ssh/worker-path", test_worker_path);

  return g_test_run ();
}
