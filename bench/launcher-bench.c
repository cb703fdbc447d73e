/* launcher-bench.c: a pool through ssh or srun, next to its link's floor
 *
 *   processing-launcher-bench --ssh CONFIG HOST [--direct] [--rounds N]
 *   processing-launcher-bench --srun [--rounds N]
 *
 * Measures, through the engine to HOST (this host, as a rule):
 *
 *   - the link's floor: bytes echoed by `cat` at the other end, through
 *     the same client the pool runs (with ssh, a session of a shared
 *     connection, as the pool's workers are, or with --direct a
 *     connection of its own; with srun, `srun -u cat`): the round trip of
 *     64 bytes, and 1 MiB sent and echoed as it comes; and 1 MiB echoed
 *     by `dd bs=1M iflag=fullblock`, which, as a worker, sends nothing
 *     back before it has it all;
 *   - the pool, one worker: the `apply` round trip of a small value, and
 *     an `apply` of `echo` with 1 MiB;
 *   - the start-up of 8 workers, and of 1: from p_pool_new_with_launcher()
 *     to the moment the last of them started to run (as it tells), and
 *     the constructor alone.
 *
 * Prints one JSON object per line: {"link", "impl", "workload", "value",
 * "unit"}.
 * The program is its own worker, at the same path on the other side.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <processing-glib/processing-glib.h>

#define MIB (1024 * 1024)
#define SMALL 64

static gint64 process_started_at;   /* real time, when main() began */

static char *ssh_config;
static char *ssh_host;
static gboolean use_srun;
static gboolean direct;
static int rounds = 2000;

/* {{{ The worker's functions */

static GVariant *
echo (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_ref (args);
}

/* (pid, when this process started): after a short nap, so that a map
 * reaches every worker. */
static GVariant *
started (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_usleep (20000);
  return g_variant_new ("(xx)", (gint64) getpid (), process_started_at);
}

/* }}} */

static const char *engine_name (void);

static void
report (const char *impl,
        const char *workload,
        double      value,
        const char *unit)
{
  printf ("{\"link\": \"%s\", \"impl\": \"%s\", \"workload\": \"%s\", \"value\": %.4g, \"unit\": \"%s\"}\n",
          engine_name (), impl, workload, value, unit);
  fflush (stdout);
}

static const char *
engine_name (void)
{
  return use_srun ? "srun" : direct ? "ssh-direct" : "ssh";
}

/* {{{ The link's floor */

/* The options the launcher gives ssh (p-launch-private.c). */
static void
add_ssh_options (GPtrArray *argv)
{
  const char *options[] = {
    "ssh", "-F", ssh_config, "-T", "-e", "none", "-o", "BatchMode=yes", NULL
  };

  for (guint i = 0; options[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (options[i]));
}

/* A shared connection, as the pool makes one per host. */
static GSubprocess *
start_connection (const char *control_path)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *path_option = g_strdup_printf ("ControlPath=%s", control_path);
  g_autoptr(GError) error = NULL;
  GSubprocess *master;

  add_ssh_options (argv);
  g_ptr_array_add (argv, g_strdup ("-N"));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup ("ControlMaster=yes"));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (path_option));
  g_ptr_array_add (argv, g_strdup (ssh_host));
  g_ptr_array_add (argv, NULL);

  master = g_subprocess_newv ((const char * const *) argv->pdata, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  while (!g_file_test (control_path, G_FILE_TEST_EXISTS))
    g_usleep (5000);

  return master;
}

/* @program (`cat`, or `dd` that reads a whole MiB before it writes it)
 * at the other end, its stdin and stdout one socket here, as the pool's
 * clients have them. */
static GSubprocess *
start_echo (const char *control_path,
            const char *program,
            int        *fd)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;
  GSubprocess *cat;
  int fds[2];

  if (use_srun)
    {
      const char *srun[] = { "srun", "-u", "-n1", "-N1", "--job-name=processing-glib-floor", NULL };
      g_auto(GStrv) words = g_strsplit (program, " ", -1);

      for (guint i = 0; srun[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (srun[i]));
      for (guint i = 0; words[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (words[i]));
    }
  else
    {
      add_ssh_options (argv);
      if (control_path != NULL)
        {
          g_ptr_array_add (argv, g_strdup ("-o"));
          g_ptr_array_add (argv, g_strdup ("ControlMaster=no"));
          g_ptr_array_add (argv, g_strdup ("-o"));
          g_ptr_array_add (argv, g_strdup_printf ("ControlPath=%s", control_path));
        }
      g_ptr_array_add (argv, g_strdup (ssh_host));
      g_ptr_array_add (argv, g_strdup_printf ("exec %s", program));
    }
  g_ptr_array_add (argv, NULL);

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  g_subprocess_launcher_take_stdin_fd (launcher, dup (fds[1]));
  g_subprocess_launcher_take_stdout_fd (launcher, fds[1]);
  cat = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  *fd = fds[0];
  return cat;
}

static void
write_all (int           fd,
           const guint8 *data,
           gsize         size)
{
  while (size > 0)
    {
      gssize n = write (fd, data, size);

      g_assert (n > 0);
      data += n;
      size -= n;
    }
}

static void
read_all (int     fd,
          guint8 *data,
          gsize   size)
{
  while (size > 0)
    {
      gssize n = read (fd, data, size);

      g_assert (n > 0);
      data += n;
      size -= n;
    }
}

/* @size bytes there and back, written and read at once (the far end's
 * buffers are smaller than a MiB). */
static void
echo_through (int           fd,
              const guint8 *out,
              guint8       *in,
              gsize         size)
{
  gsize written = 0, read_back = 0;

  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  while (read_back < size)
    {
      struct pollfd poll_fd = { fd, POLLIN | (written < size ? POLLOUT : 0), 0 };
      gssize n;

      poll (&poll_fd, 1, -1);
      if ((poll_fd.revents & POLLOUT) && written < size &&
          (n = write (fd, out + written, MIN (size - written, 65536))) > 0)
        written += n;
      if ((poll_fd.revents & POLLIN) && (n = read (fd, in + read_back, size - read_back)) > 0)
        read_back += n;
    }
  g_unix_set_fd_nonblocking (fd, FALSE, NULL);
}

/* @size bytes there, then back: what a worker does, which answers once
 * it has a task's whole value. */
static void
send_then_receive (int           fd,
                   const guint8 *out,
                   guint8       *in,
                   gsize         size)
{
  write_all (fd, out, size);
  read_all (fd, in, size);
}

/* The floor's clients, and the pool's, side by side. */
typedef struct
{
  char *dir;
  char *control_path;
  GSubprocess *master;
  GSubprocess *cat;
  GSubprocess *dd;
  int cat_fd;
  int dd_fd;
} Floor;

static void
floor_start (Floor *floor)
{
  floor->dir = g_dir_make_tmp ("launcher-bench-XXXXXX", NULL);
  floor->control_path = g_build_filename (floor->dir, "cm", NULL);
  if (!use_srun && !direct)
    floor->master = start_connection (floor->control_path);
  floor->cat = start_echo (floor->master != NULL ? floor->control_path : NULL, "cat", &floor->cat_fd);
  floor->dd = start_echo (floor->master != NULL ? floor->control_path : NULL,
                          "dd bs=1048576 iflag=fullblock status=none", &floor->dd_fd);
}

static void
floor_stop (Floor *floor)
{
  close (floor->cat_fd);
  close (floor->dd_fd);
  g_subprocess_wait (floor->cat, NULL, NULL);
  g_subprocess_wait (floor->dd, NULL, NULL);
  g_clear_object (&floor->cat);
  g_clear_object (&floor->dd);
  if (floor->master != NULL)
    {
      g_subprocess_force_exit (floor->master);
      g_subprocess_wait (floor->master, NULL, NULL);
      g_clear_object (&floor->master);
    }
  g_unlink (floor->control_path);
  g_rmdir (floor->dir);
  g_free (floor->control_path);
  g_free (floor->dir);
}

/* }}} */
/* {{{ The pool */

static PLauncher *
new_launcher (void)
{
  PLauncher *launcher;

  if (use_srun)
    return p_launcher_new_srun (NULL);

  {
    const char *hosts[] = { ssh_host, NULL };
    const char *command[] = { "ssh", "-F", ssh_config, NULL };

    launcher = p_launcher_new_ssh (hosts);
    p_launcher_set_command (launcher, command);
    p_launcher_set_reuse_connections (launcher, !direct);
  }

  return launcher;
}

static PPool *
new_pool (guint processes)
{
  g_autoptr(PLauncher) launcher = new_launcher ();
  g_autoptr(GError) error = NULL;
  PPool *pool = p_pool_new_with_launcher (processes, NULL, launcher, &error);

  g_assert_no_error (error);
  return pool;
}

static void
close_pool (PPool *pool)
{
  p_pool_shutdown (pool);
  p_pool_join (pool, NULL);
  g_object_unref (pool);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *values,
        guint   n)
{
  qsort (values, n, sizeof (double), compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

#define BLOCKS 9
#define ECHOES_PER_BLOCK 3

/* The floor and the pool in turns, block after block, so that what the
 * shared machine does meanwhile weighs on both: the medians of the
 * blocks are reported. */
static void
measure_link_and_pool (void)
{
  Floor floor = { 0, };
  PPool *pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) megabyte = NULL;
  g_autofree guint8 *out = g_malloc (MIB);
  g_autofree guint8 *in = g_malloc (MIB);
  guint8 small[SMALL] = { 0, };
  double rt_floor[BLOCKS], rt_pool[BLOCKS], echo_floor[BLOCKS], echo_whole[BLOCKS], echo_pool[BLOCKS];
  int per_block = MAX (rounds / BLOCKS, 1);

  floor_start (&floor);
  for (gsize i = 0; i < MIB; i++)
    out[i] = i % 251;
  megabyte = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, out, MIB, 1));

  /* Warm: every path once. */
  for (int i = 0; i < 100; i++)
    {
      write_all (floor.cat_fd, small, SMALL);
      read_all (floor.cat_fd, small, SMALL);
      g_variant_unref (p_pool_apply (pool, "echo", g_variant_new_int64 (i), NULL, &error));
    }
  echo_through (floor.cat_fd, out, in, MIB);
  send_then_receive (floor.dd_fd, out, in, MIB);
  g_variant_unref (p_pool_apply (pool, "echo", g_variant_ref (megabyte), NULL, &error));
  g_assert_no_error (error);

  for (int block = 0; block < BLOCKS; block++)
    {
      gint64 start = g_get_monotonic_time ();

      for (int i = 0; i < per_block; i++)
        {
          write_all (floor.cat_fd, small, SMALL);
          read_all (floor.cat_fd, small, SMALL);
        }
      rt_floor[block] = (g_get_monotonic_time () - start) / (double) per_block;

      start = g_get_monotonic_time ();
      for (int i = 0; i < per_block; i++)
        g_variant_unref (p_pool_apply (pool, "echo", g_variant_new_int64 (i), NULL, &error));
      rt_pool[block] = (g_get_monotonic_time () - start) / (double) per_block;

      start = g_get_monotonic_time ();
      for (int i = 0; i < ECHOES_PER_BLOCK; i++)
        echo_through (floor.cat_fd, out, in, MIB);
      echo_floor[block] = ECHOES_PER_BLOCK * (double) MIB / (g_get_monotonic_time () - start);

      start = g_get_monotonic_time ();
      for (int i = 0; i < ECHOES_PER_BLOCK; i++)
        send_then_receive (floor.dd_fd, out, in, MIB);
      echo_whole[block] = ECHOES_PER_BLOCK * (double) MIB / (g_get_monotonic_time () - start);
      g_assert (memcmp (in, out, MIB) == 0);

      start = g_get_monotonic_time ();
      for (int i = 0; i < ECHOES_PER_BLOCK; i++)
        {
          g_autoptr(GVariant) back = p_pool_apply (pool, "echo", g_variant_ref (megabyte), NULL, &error);

          g_assert (g_variant_get_size (back) == MIB);
        }
      echo_pool[block] = ECHOES_PER_BLOCK * (double) MIB / (g_get_monotonic_time () - start);
      g_assert_no_error (error);
    }

  /* Bytes per µs are MB/s. */
  report ("floor", "round trip, 64 bytes", median (rt_floor, BLOCKS), "us");
  report ("processing-glib", "apply round trip", median (rt_pool, BLOCKS), "us");
  report ("floor", "1 MiB echo", median (echo_floor, BLOCKS), "MB/s");
  report ("floor", "1 MiB echo, store and forward", median (echo_whole, BLOCKS), "MB/s");
  report ("processing-glib", "1 MiB echo", median (echo_pool, BLOCKS), "MB/s");

  floor_stop (&floor);
  close_pool (pool);
}

/* Until each of @n workers has answered, the latest time one of them
 * started, in real time. */
static gint64
last_start (PPool *pool,
            guint  n)
{
  g_autoptr(GHashTable) starts = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  gint64 last = 0;

  while (g_hash_table_size (starts) < n)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) all = NULL;
      GVariantBuilder builder;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("ax"));
      for (guint i = 0; i < 4 * n; i++)
        g_variant_builder_add (&builder, "x", (gint64) i);
      all = p_pool_map (pool, "started", g_variant_builder_end (&builder), 1, NULL, &error);
      g_assert_no_error (error);

      for (gsize i = 0; i < g_variant_n_children (all); i++)
        {
          gint64 pid, at;

          {
            g_autoptr(GVariant) boxed = g_variant_get_child_value (all, i);
            g_autoptr(GVariant) value = g_variant_get_variant (boxed);

            g_variant_get (value, "(xx)", &pid, &at);
          }
          if (!g_hash_table_contains (starts, &pid))
            g_hash_table_insert (starts, g_memdup2 (&pid, sizeof pid), g_memdup2 (&at, sizeof at));
        }
    }

  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, starts);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      last = MAX (last, *(gint64 *) value);
  }

  return last;
}

static void
measure_start (guint n)
{
  g_autofree char *constructor = g_strdup_printf ("start of %u, constructor", n);
  g_autofree char *all = g_strdup_printf ("start of %u, until the last runs", n);
  gint64 start = g_get_real_time ();
  PPool *pool = new_pool (n);

  report ("processing-glib", constructor, (g_get_real_time () - start) / 1000.0, "ms");
  report ("processing-glib", all, (last_start (pool, n) - start) / 1000.0, "ms");
  close_pool (pool);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  GOptionEntry entries[] = {
    { "ssh", 0, 0, G_OPTION_ARG_FILENAME, &ssh_config, "Through ssh, with this client configuration", "CONFIG" },
    { "srun", 0, 0, G_OPTION_ARG_NONE, &use_srun, "Through srun (SLURM_CONF in the environment)", NULL },
    { "direct", 0, 0, G_OPTION_ARG_NONE, &direct, "ssh: each worker a connection of its own", NULL },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Round trips measured", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;

  process_started_at = g_get_real_time ();

  if (p_worker_is_requested ())
    {
      g_autoptr(PWorker) worker = p_worker_new ();

      p_worker_add_function (worker, "echo", echo, NULL, NULL);
      p_worker_add_function (worker, "started", started, NULL, NULL);
      if (!p_worker_run (worker, &error))
        {
          g_printerr ("launcher-bench worker: %s\n", error->message);
          return 1;
        }
      return 0;
    }

  context = g_option_context_new ("[HOST] — a pool through ssh or srun, next to its link's floor");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      (ssh_config == NULL) == !use_srun || (ssh_config != NULL && argc != 2))
    {
      g_printerr ("Usage: %s --ssh CONFIG HOST | --srun [--direct] [--rounds N]\n", g_get_prgname ());
      return 2;
    }
  if (ssh_config != NULL)
    ssh_host = argv[1];

  g_printerr ("# %s\n", engine_name ());
  measure_link_and_pool ();
  measure_start (1);
  measure_start (8);

  return 0;
}
