/* test-sandbox.c: PSandbox, and pools whose workers confine themselves
 *
 * For each restriction, a task that tries to break it fails with the
 * system's error in a sandboxed pool, which goes on; the same task
 * succeeds in an unconfined pool, so that each test can fail. The test
 * program is its own worker (tests/test-functions.c).
 *
 * Sandboxed pools need a kernel with landlock and a library built with
 * libseccomp: elsewhere, the cases that need them are skipped, and say so.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-functions.h"

/* AddressSanitizer reports an allocation that the memory limit refuses as
 * an error of its own (and CI fails on any report). */
#if defined (__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined (__has_feature)
# if __has_feature (address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif

#define MIB ((guint64) 1024 * 1024)

/* What a worker reads in the pool's memory. */
static volatile guint64 pool_secret = 0x5ec2e75ec2e7;

/* {{{ Helpers */

/* The kernel's landlock ABI, as a worker finds it (the test program may
 * run under valgrind, which knows no landlock); 0 for none. */
static int
landlock_abi (void)
{
  static int abi = -1;

  if (abi < 0)
    {
      g_autoptr(PPool) pool = new_pool (1);
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) result = p_pool_apply (pool, "landlock_abi", NULL, NULL, &error);

      g_assert_no_error (error);
      abi = MAX (g_variant_get_int32 (result), 0);
    }

  return abi;
}

/* Why sandboxed pools cannot start here, or NULL. */
static const char *
why_no_sandbox (void)
{
#ifndef HAVE_LIBSECCOMP
  return "processing-glib was built without libseccomp";
#else
  if (landlock_abi () == 0)
    return "the kernel has no landlock";
  return NULL;
#endif
}

static gboolean
skip_without_sandbox (void)
{
  const char *why = why_no_sandbox ();

  if (why != NULL)
    g_test_skip (why);

  return why != NULL;
}

static PPool *
new_sandboxed_pool (PSandbox  *sandbox,
                    GError   **error)
{
  return g_initable_new (P_TYPE_POOL, NULL, error,
                         "processes", 1,
                         "sandbox", sandbox,
                         NULL);
}

/* A sandboxed pool of one worker, which must start. */
static PPool *
sandboxed_pool (PSandbox *sandbox)
{
  g_autoptr(GError) error = NULL;
  PPool *pool = new_sandboxed_pool (sandbox, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pool);

  return pool;
}

static PPool *
default_sandboxed_pool (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();

  return sandboxed_pool (sandbox);
}

static GVariant *
apply (PPool     *pool,
       const char *function,
       GVariant   *args,
       GError    **error)
{
  return p_pool_apply (pool, function, args, NULL, error);
}

/* The next task runs: "square", or what the pool's "alive-function" data
 * names (the stock worker serves "module_cube"). */
static void
assert_goes_on (PPool *pool)
{
  const char *function = g_object_get_data (G_OBJECT (pool), "alive-function");
  gint64 result = apply_int64 (pool, function != NULL ? function : "square", 3);

  g_assert_cmpint (result, ==, function != NULL ? 27 : 9);
}

/* @function fails in @confined with @domain and @code, succeeds in
 * @unconfined; @confined goes on. */
static void
assert_confined (PPool      *confined,
                 PPool      *unconfined,
                 const char *function,
                 GVariant   *args,
                 GQuark      domain,
                 int         code)
{
  g_autoptr(GVariant) owned_args = args != NULL ? g_variant_ref_sink (args) : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  result = apply (confined, function, owned_args, &error);
  g_assert_error (error, domain, code);
  g_assert_null (result);
  g_test_message ("%s, confined: %s", function, error->message);
  g_clear_error (&error);

  if (unconfined != NULL)
    {
      result = apply (unconfined, function, owned_args, &error);
      g_assert_no_error (error);
      g_assert_nonnull (result);
      g_clear_pointer (&result, g_variant_unref);
    }

  assert_goes_on (confined);
}

static char *
make_file_in_new_directory (const char *contents)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-sandbox-XXXXXX", &error);
  char *path;

  g_assert_no_error (error);
  path = g_build_filename (dir, "file", NULL);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);

  return path;
}

static void
remove_file_and_directory (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

static gboolean
strv_contains (GVariant   *report,
               const char *key,
               const char *nick)
{
  g_autofree const char **nicks = NULL;
  g_autoptr(GVariant) value = g_variant_lookup_value (report, key, G_VARIANT_TYPE_STRING_ARRAY);

  g_assert_nonnull (value);
  nicks = g_variant_get_strv (value, NULL);

  return g_strv_contains (nicks, nick);
}

/* }}} */
/* {{{ The description */

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_description (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PSandbox) built = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *relative = g_build_filename (cwd, "relative", NULL);
  PSandboxMechanisms required;
  guint64 memory_limit;
  gboolean network;
  guint notified = 0;

  /* The defaults. */
  g_assert_false (p_sandbox_get_network (sandbox));
  g_assert_cmpuint (p_sandbox_get_memory_limit (sandbox), ==, 1024 * MIB);
  g_assert_cmpuint (p_sandbox_get_required_mechanisms (sandbox), ==,
                    P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES | P_SANDBOX_MECHANISM_RESOURCE_LIMITS |
                    P_SANDBOX_MECHANISM_SECCOMP | P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM);
  g_assert_cmpuint (g_strv_length ((char **) p_sandbox_get_read_paths (sandbox)), ==, 0);
  g_assert_cmpuint (g_strv_length ((char **) p_sandbox_get_write_paths (sandbox)), ==, 0);

  /* Setters notify once, and only on a change. */
  g_signal_connect (sandbox, "notify", G_CALLBACK (on_notify), &notified);
  p_sandbox_set_network (sandbox, TRUE);
  p_sandbox_set_network (sandbox, TRUE);
  p_sandbox_set_memory_limit (sandbox, 0);
  p_sandbox_set_required_mechanisms (sandbox, P_SANDBOX_MECHANISM_SECCOMP);
  g_assert_cmpuint (notified, ==, 3);
  g_object_get (sandbox,
                "network", &network,
                "memory-limit", &memory_limit,
                "required-mechanisms", &required,
                NULL);
  g_assert_true (network);
  g_assert_cmpuint (memory_limit, ==, 0);
  g_assert_cmpuint (required, ==, P_SANDBOX_MECHANISM_SECCOMP);

  /* Paths are made absolute, once each. */
  p_sandbox_allow_read (sandbox, "relative");
  p_sandbox_allow_read (sandbox, relative);
  p_sandbox_allow_read (sandbox, "/usr/share/../share");
  p_sandbox_allow_write (sandbox, "/tmp");
  g_assert_cmpuint (g_strv_length ((char **) p_sandbox_get_read_paths (sandbox)), ==, 2);
  g_assert_cmpstr (p_sandbox_get_read_paths (sandbox)[0], ==, relative);
  g_assert_cmpstr (p_sandbox_get_read_paths (sandbox)[1], ==, "/usr/share");
  g_assert_cmpstr (p_sandbox_get_write_paths (sandbox)[0], ==, "/tmp");

  /* As bindings build it. */
  built = g_object_new (P_TYPE_SANDBOX, "network", TRUE, "memory-limit", (guint64) 5 * MIB, NULL);
  g_assert_true (p_sandbox_get_network (built));
  g_assert_cmpuint (p_sandbox_get_memory_limit (built), ==, 5 * MIB);
}

static void
test_unconfined (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PSandbox) sandbox = NULL;

  g_assert_cmpuint (p_pool_get_sandbox_mechanisms (pool), ==, P_SANDBOX_MECHANISM_NONE);
  g_assert_null (p_pool_get_sandbox_report (pool));
  g_object_get (pool, "sandbox", &sandbox, NULL);
  g_assert_null (sandbox);
}

/* }}} */
/* {{{ What is in force */

static void
test_report (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PSandbox) pool_sandbox = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GVariant) refused = NULL;
  g_autoptr(GVariant) confinement = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = NULL;
  PSandboxMechanisms in_force;
  guint64 memory_limit = 0;
  guint64 cap_eff = 1;
  gboolean no_new_privs = FALSE;
  guint32 seccomp = 0;
  guint32 abi = 0;

  if (skip_without_sandbox ())
    return;

  p_sandbox_set_memory_limit (sandbox, 300 * MIB);
  pool = sandboxed_pool (sandbox);
  g_object_get (pool, "sandbox", &pool_sandbox, NULL);
  g_assert_true (pool_sandbox == sandbox);

  in_force = p_pool_get_sandbox_mechanisms (pool);
  g_assert_cmpuint (in_force & p_sandbox_get_required_mechanisms (sandbox), ==,
                    p_sandbox_get_required_mechanisms (sandbox));

  report = p_pool_get_sandbox_report (pool);
  g_assert_nonnull (report);
  printed = g_variant_print (report, FALSE);
  g_test_message ("report: %s", printed);
  g_assert_true (strv_contains (report, "applied", "seccomp"));
  g_assert_true (strv_contains (report, "applied", "landlock-filesystem"));
  g_assert_true (strv_contains (report, "applied", "no-new-privileges"));
  g_assert_true (strv_contains (report, "applied", "resource-limits"));
  g_assert_true (g_variant_lookup (report, "memory-limit", "t", &memory_limit));
  g_assert_cmpuint (memory_limit, ==, 300 * MIB);
  g_assert_true (g_variant_lookup (report, "landlock-abi", "u", &abi));
  g_assert_cmpuint (abi, >=, 1);

  /* Every mechanism is either applied or refused with a reason. */
  refused = g_variant_lookup_value (report, "refused", G_VARIANT_TYPE ("a{ss}"));
  g_assert_nonnull (refused);
  for (guint bit = 1; bit <= P_SANDBOX_MECHANISM_NETWORK_NAMESPACE; bit <<= 1)
    {
      g_autoptr(GFlagsClass) klass = g_type_class_ref (P_TYPE_SANDBOX_MECHANISMS);
      const char *nick = g_flags_get_first_value (klass, bit)->value_nick;
      const char *reason = NULL;

      g_assert_true (!!(in_force & bit) != g_variant_lookup (refused, nick, "&s", &reason));
      if (reason != NULL)
        g_test_message ("%s is not in force: %s", nick, reason);
    }

  /* As the worker sees itself. */
  confinement = apply (pool, "confinement", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (confinement, "no-new-privs", "b", &no_new_privs));
  g_assert_true (g_variant_lookup (confinement, "seccomp", "u", &seccomp));
  g_assert_true (g_variant_lookup (confinement, "cap-eff", "t", &cap_eff));
  g_assert_true (no_new_privs);
  g_assert_cmpuint (seccomp, ==, 2);
  g_assert_cmpuint (cap_eff, ==, 0);
}

/* }}} */
/* {{{ The network */

typedef struct
{
  GSocket *tcp;     /* listening */
  guint16 tcp_port;
  guint16 udp_port;
} Listener;

static void
listener_init (Listener *listener)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  listener->tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (listener->tcp, any_port, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (listener->tcp, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (listener->tcp, &error);
  g_assert_no_error (error);
  listener->tcp_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  /* Datagrams need no one listening to be sent. */
  listener->udp_port = listener->tcp_port;
}

static void
listener_clear (Listener *listener)
{
  g_clear_object (&listener->tcp);
}

static void
test_network (void)
{
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  Listener listener;

  if (skip_without_sandbox ())
    return;

  confined = default_sandboxed_pool ();
  unconfined = new_pool (1);
  listener_init (&listener);

  assert_confined (confined, unconfined, "tcp_connect", g_variant_new ("(sq)", "127.0.0.1", listener.tcp_port),
                   G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  assert_confined (confined, unconfined, "udp_send", g_variant_new ("(sq)", "127.0.0.1", listener.udp_port),
                   G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  /* Nor a local socket, which could reach the user's session. */
  assert_confined (confined, unconfined, "unix_socket", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

  listener_clear (&listener);
}

static void
test_network_allowed (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GVariant) connected = NULL;
  g_autoptr(GVariant) sent = NULL;
  g_autoptr(GError) error = NULL;
  Listener listener;

  if (skip_without_sandbox ())
    return;

  /* Even when the network's mechanisms are asked for: they have nothing to do. */
  p_sandbox_set_network (sandbox, TRUE);
  p_sandbox_set_required_mechanisms (sandbox, p_sandbox_get_required_mechanisms (sandbox) |
                                              P_SANDBOX_MECHANISM_LANDLOCK_NETWORK |
                                              P_SANDBOX_MECHANISM_NETWORK_NAMESPACE);
  pool = sandboxed_pool (sandbox);
  listener_init (&listener);

  connected = apply (pool, "tcp_connect", g_variant_new ("(sq)", "127.0.0.1", listener.tcp_port), &error);
  g_assert_no_error (error);
  sent = apply (pool, "udp_send", g_variant_new ("(sq)", "127.0.0.1", listener.udp_port), &error);
  g_assert_no_error (error);

  assert_confined (pool, NULL, "unix_socket", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

  g_assert_cmpuint (p_pool_get_sandbox_mechanisms (pool) &
                    (P_SANDBOX_MECHANISM_LANDLOCK_NETWORK | P_SANDBOX_MECHANISM_NETWORK_NAMESPACE), ==, 0);
  report = p_pool_get_sandbox_report (pool);
  g_assert_false (strv_contains (report, "applied", "network-namespace"));

  listener_clear (&listener);
}

/* }}} */
/* {{{ Files */

static void
test_read (void)
{
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autoptr(GVariant) size = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  if (skip_without_sandbox ())
    return;

  confined = default_sandboxed_pool ();
  unconfined = new_pool (1);
  secret = make_file_in_new_directory ("secret");

  /* A temporary directory's file, and the user's home. */
  assert_confined (confined, unconfined, "read_file", g_variant_new_string (secret),
                   G_FILE_ERROR, G_FILE_ERROR_ACCES);
  if (g_file_test (g_get_home_dir (), G_FILE_TEST_IS_DIR))
    assert_confined (confined, unconfined, "list_dir", g_variant_new_string (g_get_home_dir ()),
                     G_FILE_ERROR, G_FILE_ERROR_ACCES);

  /* The system's files and its own program, it may. */
  size = apply (confined, "read_file", g_variant_new_string ("/etc/passwd"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&size, g_variant_unref);
  size = apply (confined, "read_file", g_variant_new_string (exe), &error);
  g_assert_no_error (error);
  g_clear_pointer (&size, g_variant_unref);
  size = apply (confined, "list_dir", g_variant_new_string ("/usr/share"), &error);
  g_assert_no_error (error);

  remove_file_and_directory (secret);
}

static void
test_read_allowed (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) size = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *allowed = make_file_in_new_directory ("allowed");
  g_autofree char *allowed_dir = g_path_get_dirname (allowed);
  g_autofree char *beside = g_build_filename (allowed_dir, "new", NULL);
  g_autofree char *other = make_file_in_new_directory ("other");
  g_autofree char *later = make_file_in_new_directory ("later");

  if (skip_without_sandbox ())
    goto out;

  p_sandbox_allow_read (sandbox, allowed_dir);
  pool = sandboxed_pool (sandbox);
  /* The pool took a copy. */
  p_sandbox_allow_read (sandbox, later);

  size = apply (pool, "read_file", g_variant_new_string (allowed), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint64 (size), ==, strlen ("allowed"));

  assert_confined (pool, NULL, "read_file", g_variant_new_string (other), G_FILE_ERROR, G_FILE_ERROR_ACCES);
  assert_confined (pool, NULL, "read_file", g_variant_new_string (later), G_FILE_ERROR, G_FILE_ERROR_ACCES);
  /* Read is not write. */
  assert_confined (pool, NULL, "write_file", g_variant_new_string (allowed), G_FILE_ERROR, G_FILE_ERROR_ACCES);
  assert_confined (pool, NULL, "write_file", g_variant_new_string (beside), G_FILE_ERROR, G_FILE_ERROR_ACCES);

out:
  remove_file_and_directory (allowed);
  remove_file_and_directory (other);
  remove_file_and_directory (later);
}

static void
test_write (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autoptr(GVariant) written = NULL;
  g_autoptr(GVariant) size = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *output = make_file_in_new_directory ("old");
  g_autofree char *output_dir = g_path_get_dirname (output);
  g_autofree char *created = g_build_filename (output_dir, "created", NULL);
  g_autofree char *elsewhere = make_file_in_new_directory ("elsewhere");
  g_autofree char *contents = NULL;

  if (skip_without_sandbox ())
    goto out;

  p_sandbox_allow_write (sandbox, output_dir);
  confined = sandboxed_pool (sandbox);
  unconfined = new_pool (1);

  /* Anything under the allowed directory: replaced, created, read back. */
  written = apply (confined, "write_file", g_variant_new_string (output), &error);
  g_assert_no_error (error);
  g_clear_pointer (&written, g_variant_unref);
  written = apply (confined, "write_file", g_variant_new_string (created), &error);
  g_assert_no_error (error);
  size = apply (confined, "read_file", g_variant_new_string (created), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint64 (size), ==, strlen ("written"));
  g_file_get_contents (created, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "written");

  /* Nothing else. */
  assert_confined (confined, unconfined, "write_file", g_variant_new_string (elsewhere),
                   G_FILE_ERROR, G_FILE_ERROR_ACCES);

out:
  g_unlink (created);
  remove_file_and_directory (output);
  remove_file_and_directory (elsewhere);
}

/* Landlock does not confine metadata; the filter does, everywhere. */
static void
test_metadata (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autofree char *inside = make_file_in_new_directory ("inside");
  g_autofree char *inside_dir = g_path_get_dirname (inside);
  g_autofree char *outside = make_file_in_new_directory ("outside");

  if (skip_without_sandbox ())
    goto out;

  p_sandbox_allow_write (sandbox, inside_dir);
  confined = sandboxed_pool (sandbox);
  unconfined = new_pool (1);

  assert_confined (confined, unconfined, "chmod", g_variant_new_string (outside),
                   G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  assert_confined (confined, unconfined, "chmod", g_variant_new_string (inside),
                   G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

out:
  remove_file_and_directory (inside);
  remove_file_and_directory (outside);
}

/* }}} */
/* {{{ Processes, privileges, memory */

static void
test_processes (void)
{
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autoptr(GVariant) joined = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_without_sandbox ())
    return;

  confined = default_sandboxed_pool ();
  unconfined = new_pool (1);

  assert_confined (confined, unconfined, "fork", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

  /* Threads, it may start. */
  joined = apply (confined, "thread", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (joined), ==, 42);
}

/* Yama's ptrace_scope 1 or more keeps a process from reading its parent's
 * memory, sandboxed or not. */
static gboolean
may_read_parent_memory (void)
{
  g_autofree char *scope = NULL;

  if (!g_file_get_contents ("/proc/sys/kernel/yama/ptrace_scope", &scope, NULL, NULL))
    return TRUE;

  return g_ascii_strtoll (scope, NULL, 10) == 0 || geteuid () == 0;
}

static void
test_privileges (void)
{
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autoptr(GVariant) confinement = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  gboolean no_new_privs = TRUE;
  GVariant *address;

  if (skip_without_sandbox ())
    return;

  address = g_variant_new_uint64 (GPOINTER_TO_SIZE (&pool_secret));
  confined = default_sandboxed_pool ();
  unconfined = new_pool (1);

  /* The pool's memory, and signals to it. */
  assert_confined (confined, may_read_parent_memory () ? unconfined : NULL,
                   "read_pool_memory", address, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  assert_confined (confined, unconfined, "signal_pool", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  /* Nor undo its limits. */
  assert_confined (confined, unconfined, "raise_limits", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

  if (may_read_parent_memory ())
    {
      value = apply (unconfined, "read_pool_memory", g_variant_new_uint64 (GPOINTER_TO_SIZE (&pool_secret)), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_get_uint64 (value), ==, pool_secret);
    }

  /* An unconfined worker is not in the sandbox's state. */
  confinement = apply (unconfined, "confinement", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (confinement, "no-new-privs", "b", &no_new_privs));
  g_assert_false (no_new_privs);
}

static void
test_memory (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autoptr(GVariant) allocated = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_without_sandbox ())
    return;
#ifdef UNDER_ASAN
  g_test_skip ("AddressSanitizer reports an allocation the memory limit refuses as an error of its own");
  return;
#endif

  p_sandbox_set_memory_limit (sandbox, 64 * MIB);
  confined = sandboxed_pool (sandbox);
  unconfined = new_pool (1);

  /* Within the limit. */
  allocated = apply (confined, "allocate", g_variant_new_uint64 (16 * MIB), &error);
  g_assert_no_error (error);
  g_clear_pointer (&allocated, g_variant_unref);

  /* Beyond it: an allocation that fails, or a worker that dies of it. */
  assert_confined (confined, unconfined, "allocate", g_variant_new_uint64 (256 * MIB),
                   G_IO_ERROR, G_IO_ERROR_NO_SPACE);

  allocated = apply (confined, "allocate_or_die", g_variant_new_uint64 (256 * MIB), &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "67108864 bytes"));
  g_clear_error (&error);

  /* A replacement takes the next task, in the same sandbox. */
  g_assert_cmpint (apply_int64 (confined, "square", 12), ==, 144);
  assert_confined (confined, unconfined, "allocate", g_variant_new_uint64 (256 * MIB),
                   G_IO_ERROR, G_IO_ERROR_NO_SPACE);
}

/* }}} */
/* {{{ The seed's behaviour, confined */

static void
test_seed (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PResult) result = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) squares = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  gint64 expected = 0;

  if (skip_without_sandbox ())
    return;

  pool = g_initable_new (P_TYPE_POOL, NULL, &error, "processes", 2, "sandbox", sandbox, NULL);
  g_assert_no_error (error);

  g_assert_cmpint (apply_int64 (pool, "square", 7), ==, 49);

  result = p_pool_submit (pool, "square", g_variant_new_int64 (5), NULL);
  value = p_result_get (result, -1, &error);
  g_assert_no_error (error);
  g_assert_true (p_result_ready (result));
  g_assert_true (p_result_successful (result));
  g_assert_cmpint (g_variant_get_int64 (value), ==, 25);
  g_clear_pointer (&value, g_variant_unref);

  squares = p_pool_map (pool, "square", test_range_int64 (100), 0, NULL, &error);
  g_assert_no_error (error);
  assert_squares (squares, 100);

  iter = p_pool_imap (pool, "square", test_range_int64 (20), 3, NULL);
  while ((value = p_map_iter_next (iter, -1, &error)) != NULL)
    {
      g_assert_cmpint (g_variant_get_int64 (value), ==, expected * expected);
      expected++;
      g_clear_pointer (&value, g_variant_unref);
    }
  g_assert_no_error (error);
  g_assert_cmpint (expected, ==, 20);

  /* A task's own error keeps its domain. */
  value = apply (pool, "square_or_fail", g_variant_new_int64 (-3), &error);
  g_assert_error (error, TEST_ERROR, 3);
  g_clear_error (&error);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);
}

/* The stock worker, confined after it loaded its task module. */
static void
test_module (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) confined = NULL;
  g_autoptr(PPool) unconfined = NULL;
  g_autoptr(GVariant) cube = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = make_file_in_new_directory ("secret");
  const char *argv[] = {
    g_getenv ("PROCESSING_GLIB_WORKER"), "--module", g_getenv ("TEST_MODULE_PATH"), NULL
  };

  if (skip_without_sandbox ())
    goto out;

  g_assert_nonnull (argv[0]);
  g_assert_nonnull (argv[2]);

  confined = g_initable_new (P_TYPE_POOL, NULL, &error,
                             "processes", 1, "worker-argv", argv, "sandbox", sandbox, NULL);
  g_assert_no_error (error);
  unconfined = p_pool_new (1, argv, &error);
  g_assert_no_error (error);

  g_object_set_data (G_OBJECT (confined), "alive-function", (gpointer) "module_cube");
  cube = apply (confined, "module_cube", g_variant_new_int64 (3), &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (cube), ==, 27);

  assert_confined (confined, unconfined, "module_read_file", g_variant_new_string (secret),
                   G_FILE_ERROR, G_FILE_ERROR_ACCES);

out:
  remove_file_and_directory (secret);
}

/* }}} */
/* {{{ When the kernel refuses a mechanism */

/* A worker with a second thread when it confines itself cannot have
 * landlock before Linux 7.0 (nor, as root, drop every thread's
 * capabilities): a default sandbox then does not start, naming why,
 * and a weaker one accepted explicitly does. */
static void
test_refused (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PPool) weaker = NULL;
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GVariant) refused = NULL;
  g_autoptr(GVariant) size = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = make_file_in_new_directory ("secret");
  const char *reason = NULL;
  guint32 abi = 0;
  guint before = test_count_children ();

  if (skip_without_sandbox ())
    goto out;
  if (landlock_abi () >= 8)
    {
      g_test_skip ("landlock confines every thread on this kernel");
      goto out;
    }

  g_setenv ("TEST_WORKER_EXTRA_THREAD", "1", TRUE);

  pool = new_sandboxed_pool (sandbox, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_SANDBOX);
  g_assert_null (pool);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "landlock-filesystem"));
  g_assert_nonnull (strstr (error->message, "threads"));
  g_clear_error (&error);
  /* Its worker is gone. */
  g_assert_cmpuint (test_count_children (), ==, before);

  /* Accepted: without landlock, and without capabilities dropped from
   * every thread (which only root has). */
  p_sandbox_set_required_mechanisms (sandbox, p_sandbox_get_required_mechanisms (sandbox) &
                                              ~(P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM |
                                                P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES));
  weaker = new_sandboxed_pool (sandbox, &error);
  g_unsetenv ("TEST_WORKER_EXTRA_THREAD");
  g_assert_no_error (error);

  g_assert_false (p_pool_get_sandbox_mechanisms (weaker) & P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM);
  g_assert_true (p_pool_get_sandbox_mechanisms (weaker) & P_SANDBOX_MECHANISM_SECCOMP);
  report = p_pool_get_sandbox_report (weaker);
  refused = g_variant_lookup_value (report, "refused", G_VARIANT_TYPE ("a{ss}"));
  g_assert_true (g_variant_lookup (refused, "landlock-filesystem", "&s", &reason));
  g_assert_nonnull (strstr (reason, "threads"));
  g_assert_true (g_variant_lookup (report, "landlock-abi", "u", &abi));
  g_assert_cmpuint (abi, >=, 1);

  /* Weaker indeed: files are open; the network, processes are not. */
  size = apply (weaker, "read_file", g_variant_new_string (secret), &error);
  g_assert_no_error (error);
  assert_confined (weaker, NULL, "unix_socket", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  assert_confined (weaker, NULL, "fork", NULL, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

out:
  g_unsetenv ("TEST_WORKER_EXTRA_THREAD");
  remove_file_and_directory (secret);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sandbox/description", test_description);
  g_test_add_func ("/sandbox/unconfined", test_unconfined);
  g_test_add_func ("/sandbox/report", test_report);
  g_test_add_func ("/sandbox/network", test_network);
  g_test_add_func ("/sandbox/network-allowed", test_network_allowed);
  g_test_add_func ("/sandbox/read", test_read);
  g_test_add_func ("/sandbox/read-allowed", test_read_allowed);
  g_test_add_func ("/sandbox/write", test_write);
  g_test_add_func ("/sandbox/metadata", test_metadata);
  g_test_add_func ("/sandbox/processes", test_processes);
  g_test_add_func ("/sandbox/privileges", test_privileges);
  g_test_add_func ("/sandbox/memory", test_memory);
  g_test_add_func ("/sandbox/seed", test_seed);
  g_test_add_func ("/sandbox/module", test_module);
  g_test_add_func ("/sandbox/refused", test_refused);

  return g_test_run ();
}
