/* bench.c: processing-glib's side of the benchmark, and the kernel's floor
 *
 *   processing-bench [--processes N] [--scale S] [--only W1,W2,...]
 *
 * Prints one JSON object per line: {"impl", "workload", "value", "unit",
 * "better"}. bench/compare.py runs this and bench/mp_bench.py (CPython's
 * multiprocessing.Pool on the same workloads) and prints the ratios.
 *
 * Run only when named in --only: sleeping_tasks_over_ideal (tasks that
 * wait rather than compute: how much longer than ideal they take on a
 * fresh pool of --processes workers). What a sandbox costs (PSandbox):
 * sandboxed_apply_rtt and sandboxed_start_to_first_result, the same
 * workloads as apply_rtt and start_to_first_result on a pool whose
 * workers confine themselves with p_sandbox_new()'s defaults.
 *
 * The program is its own worker: it serves "square", "echo", "nap" and
 * the chunk function "square_chunk".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <processing-glib/processing-glib.h>

#define MIB (1024 * 1024)
/* The long task that short ones are submitted behind. */
#define LONG_TASK_MSEC 200

static guint processes = 2;
static double scale = 1.0;
static char **only = NULL;

/* {{{ The worker's functions */

static GVariant *
square (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint64 x = g_variant_get_int64 (args);

  return g_variant_new_int64 (x * x);
}

/* The squares of a map chunk's "ax", at once: no GVariant per item. */
static GVariant *
square_chunk (GVariant      *items,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  gsize n;
  const gint64 *x = g_variant_get_fixed_array (items, &n, sizeof (gint64));
  gint64 *squares = g_new (gint64, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    squares[i] = x[i] * x[i];

  return g_variant_new_from_data (G_VARIANT_TYPE ("ax"), squares, n * sizeof (gint64), TRUE, g_free, squares);
}

static GVariant *
echo (GVariant      *args,
      GCancellable  *cancellable,
      gpointer       user_data,
      GError       **error)
{
  return g_variant_ref (args);
}

/* Sleeps for its int64 argument, in milliseconds, and returns it. */
static GVariant *
nap (GVariant      *args,
     GCancellable  *cancellable,
     gpointer       user_data,
     GError       **error)
{
  g_usleep (g_variant_get_int64 (args) * 1000);
  return g_variant_ref (args);
}

/* }}} */
/* {{{ Helpers */

static guint
scaled (guint count)
{
  return MAX (1, (guint) (count * scale));
}

static gboolean
wanted (const char *workload)
{
  return only == NULL || g_strv_contains ((const char * const *) only, workload);
}

static void
report (const char *impl,
        const char *workload,
        double      value,
        const char *unit,
        const char *better)
{
  g_print ("{\"impl\": \"%s\", \"workload\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"better\": \"%s\"}\n",
           impl, workload, value, unit, better);
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static PPool *
new_pool (void)
{
  g_autoptr(GError) error = NULL;
  PPool *pool = p_pool_new (processes, NULL, &error);

  if (pool == NULL)
    g_error ("%s", error->message);

  return pool;
}

static PPool *
new_sandboxed_pool (void)
{
  g_autoptr(PSandbox) sandbox = p_sandbox_new ();
  g_autoptr(GError) error = NULL;
  PPool *pool = g_initable_new (P_TYPE_POOL, NULL, &error,
                                "processes", processes,
                                "sandbox", sandbox,
                                NULL);

  if (pool == NULL)
    g_error ("%s", error->message);

  return pool;
}

static gint64
apply_square (PPool  *pool,
              gint64  x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = p_pool_apply (pool, "square", g_variant_new_int64 (x), NULL, &error);

  if (result == NULL)
    g_error ("%s", error->message);

  return g_variant_get_int64 (result);
}

static GVariant *
range (gsize n)
{
  gint64 *items = g_new (gint64, n);

  for (gsize i = 0; i < n; i++)
    items[i] = i;

  return g_variant_new_from_data (G_VARIANT_TYPE ("ax"), items, n * sizeof (gint64), TRUE, g_free, items);
}

/* }}} */
/* {{{ Workloads */

static void
bench_apply_rtt (PPool      *pool,
                 const char *workload)
{
  guint n = scaled (20000);
  gint64 start;

  for (gint64 i = 0; i < 200; i++)
    apply_square (pool, i);

  start = g_get_monotonic_time ();
  for (gint64 i = 0; i < n; i++)
    if (apply_square (pool, i) != i * i)
      g_error ("wrong result");

  report ("processing-glib", workload, seconds_since (start) * 1e6 / n, "us/call", "lower");
}

static void
bench_submit_throughput (PPool *pool)
{
  guint n = scaled (100000);
  g_autofree PResult **results = g_new (PResult *, n);
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    results[i] = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = p_result_get (results[i], -1, &error);

      if (value == NULL || g_variant_get_int64 (value) != (gint64) i * i)
        g_error ("task %u: %s", i, error ? error->message : "wrong result");
      g_object_unref (results[i]);
    }

  report ("processing-glib", "submit_throughput", n / seconds_since (start), "tasks/s", "higher");
}

static void
bench_map (PPool      *pool,
           const char *function,
           const char *workload)
{
  guint n = scaled (1000000);
  g_autoptr(GVariant) items = g_variant_ref_sink (range (n));
  g_autoptr(GVariant) squares = NULL;
  g_autoptr(GError) error = NULL;
  guint64 sum = 0;
  gint64 start;

  /* Until the results are there, as mp_bench.py times map(): checking
   * them is not part of it. */
  start = g_get_monotonic_time ();
  squares = p_pool_map (pool, function, items, 0, NULL, &error);
  if (squares == NULL)
    g_error ("%s", error->message);
  report ("processing-glib", workload, n / seconds_since (start), "items/s", "higher");

  for (gsize i = 0, n_squares = g_variant_n_children (squares); i < n_squares; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (squares, i);
      g_autoptr(GVariant) value = g_variant_get_variant (boxed);

      sum += g_variant_get_int64 (value);
    }

  if (sum != (guint64) (n - 1) * n * (2 * (guint64) n - 1) / 6)
    g_error ("wrong sum");
}

static void
bench_imap (PPool      *pool,
            gboolean    ordered,
            const char *workload)
{
  guint n = scaled (100000);
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value;
  guint count = 0;
  gint64 start;

  start = g_get_monotonic_time ();
  iter = ordered ? p_pool_imap (pool, "square", range (n), 1, NULL)
                 : p_pool_imap_unordered (pool, "square", range (n), 1, NULL);

  while ((value = p_map_iter_next (iter, -1, &error)))
    {
      if (ordered && g_variant_get_int64 (value) != (gint64) count * count)
        g_error ("wrong result");
      g_variant_unref (value);
      count++;
    }

  if (error != NULL || count != n)
    g_error ("imap: %s", error ? error->message : "missing items");

  report ("processing-glib", workload, n / seconds_since (start), "items/s", "higher");
}

static void
bench_echo_1mib (PPool *pool)
{
  guint n = scaled (500);
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GVariant) items = NULL;
  g_autoptr(GVariant) echoed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree GVariant **children = g_new (GVariant *, n);
  guint8 *data = g_malloc (MIB);
  gint64 start;

  for (gsize i = 0; i < MIB; i++)
    data[i] = g_random_int ();
  payload = g_bytes_new_take (data, MIB);

  /* The same bytes n times, shared, not copied. */
  for (guint i = 0; i < n; i++)
    children[i] = g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload, TRUE);
  items = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_BYTESTRING, children, n));

  start = g_get_monotonic_time ();
  echoed = p_pool_map (pool, "echo", items, 1, NULL, &error);
  if (echoed == NULL)
    g_error ("%s", error->message);

  /* Bytes one way, as mp_bench.py counts them; checked afterwards. */
  report ("processing-glib", "echo_1mib", n * (double) MIB / 1e6 / seconds_since (start), "MB/s", "higher");

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (echoed, i);
      g_autoptr(GVariant) bytes = g_variant_get_variant (boxed);
      gsize size;
      const guint8 *back = g_variant_get_fixed_array (bytes, &size, 1);

      if (size != MIB || memcmp (back, data, MIB) != 0)
        g_error ("echo %u differs", i);
    }
}

/* Short tasks submitted right behind a long one: how long until they are
 * all back, which does not need to wait for the long one. */
static void
bench_behind_long_task (PPool *pool)
{
  guint n = scaled (2000);
  g_autofree PResult **results = g_new (PResult *, n);
  g_autoptr(PResult) long_task = NULL;
  g_autoptr(GVariant) slept = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  /* Workers busy with short tasks lately, as before any long one. */
  for (guint i = 0; i < n; i++)
    results[i] = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) value = p_result_get (results[i], -1, &error);

      if (value == NULL)
        g_error ("%s", error->message);
      g_object_unref (results[i]);
    }

  start = g_get_monotonic_time ();
  long_task = p_pool_submit (pool, "nap", g_variant_new_int64 (LONG_TASK_MSEC), NULL);
  for (guint i = 0; i < n; i++)
    results[i] = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) value = p_result_get (results[i], -1, &error);

      if (value == NULL || g_variant_get_int64 (value) != (gint64) i * i)
        g_error ("task %u: %s", i, error ? error->message : "wrong result");
      g_object_unref (results[i]);
    }

  report ("processing-glib", "behind_long_task", seconds_since (start) * 1e3, "ms", "lower");

  slept = p_result_get (long_task, -1, &error);
  if (slept == NULL)
    g_error ("%s", error->message);
}

static void
bench_start_and_shutdown (gboolean sandboxed)
{
  double best_start = G_MAXDOUBLE, best_shutdown = G_MAXDOUBLE;

  for (int round = 0; round < 5; round++)
    {
      g_autoptr(PPool) pool = NULL;
      g_autoptr(GError) error = NULL;
      gint64 start = g_get_monotonic_time ();

      pool = sandboxed ? new_sandboxed_pool () : new_pool ();
      apply_square (pool, 3);
      best_start = MIN (best_start, seconds_since (start) * 1e3);

      start = g_get_monotonic_time ();
      p_pool_shutdown (pool);
      if (!p_pool_join (pool, &error))
        g_error ("%s", error->message);
      best_shutdown = MIN (best_shutdown, seconds_since (start) * 1e3);
    }

  if (sandboxed)
    report ("processing-glib", "sandboxed_start_to_first_result", best_start, "ms", "lower");
  else if (wanted ("start_to_first_result"))
    report ("processing-glib", "start_to_first_result", best_start, "ms", "lower");
  if (!sandboxed && wanted ("shutdown_join"))
    report ("processing-glib", "shutdown_join", best_shutdown, "ms", "lower");
}

/* Named in --only: not part of every run. */
static gboolean
named (const char *workload)
{
  return only != NULL && g_strv_contains ((const char * const *) only, workload);
}

/* Tasks that wait rather than compute (a nap each, four per worker), on a
 * fresh pool: the processors idle while tasks wait, so the pool must keep
 * more workers busy than there are processors. Done at once, it takes four
 * naps; the figure is how much longer it took. */
#define SLEEPING_TASK_MSEC 50

static void
bench_sleeping_tasks (void)
{
  g_autoptr(PPool) pool = new_pool ();
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  guint n_tasks = 4 * processes;
  gint64 start = g_get_monotonic_time ();
  double ideal_ms = 4 * SLEEPING_TASK_MSEC;

  for (guint i = 0; i < n_tasks; i++)
    g_ptr_array_add (results, p_pool_submit (pool, "nap", g_variant_new_int64 (SLEEPING_TASK_MSEC), NULL));
  for (guint i = 0; i < n_tasks; i++)
    {
      g_autoptr(GVariant) value = p_result_get (results->pdata[i], -1, &error);

      if (value == NULL)
        g_error ("%s", error->message);
    }

  report ("processing-glib", "sleeping_tasks_over_ideal",
          (g_get_monotonic_time () - start) / 1000.0 / ideal_ms, "x", "lower");
}

static void
bench_sandbox (void)
{
  if (named ("sandboxed_start_to_first_result"))
    bench_start_and_shutdown (TRUE);

  if (named ("sandboxed_apply_rtt"))
    {
      g_autoptr(PPool) pool = new_sandboxed_pool ();
      g_autoptr(GError) error = NULL;

      bench_apply_rtt (pool, "sandboxed_apply_rtt");
      p_pool_shutdown (pool);
      if (!p_pool_join (pool, &error))
        g_error ("%s", error->message);
    }
}

/* }}} */
/* {{{ The floor: a forked child echoing over a socketpair */

static void
write_all (int         fd,
           const void *data,
           gsize       size)
{
  const guint8 *bytes = data;

  while (size > 0)
    {
      gssize n = write (fd, bytes, size);

      if (n <= 0)
        g_error ("write: %s", g_strerror (errno));
      bytes += n;
      size -= n;
    }
}

static void
read_all (int    fd,
          void  *data,
          gsize  size)
{
  guint8 *bytes = data;

  while (size > 0)
    {
      gssize n = read (fd, bytes, size);

      if (n <= 0)
        g_error ("read: %s", n == 0 ? "end of stream" : g_strerror (errno));
      bytes += n;
      size -= n;
    }
}

/* Reads @size bytes without ever sleeping in the kernel. */
static gboolean
read_all_polling (int    fd,
                  void  *data,
                  gsize  size)
{
  guint8 *bytes = data;

  while (size > 0)
    {
      gssize n = recv (fd, bytes, size, MSG_DONTWAIT);

      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return FALSE;
      if (n > 0)
        {
          bytes += n;
          size -= n;
        }
    }

  return TRUE;
}

/* The child echoes messages of @size bytes until the end of its input;
 * with @polling, it never sleeps between them. */
static GPid
start_echo_child (int      *fd,
                  gsize     size,
                  gboolean  polling)
{
  int fds[2];
  GPid pid;

  if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));

  pid = fork ();
  if (pid == 0)
    {
      guint8 *buffer = malloc (size);

      close (fds[0]);
      for (;;)
        {
          gsize got = 0;

          if (polling)
            {
              if (!read_all_polling (fds[1], buffer, size))
                _exit (0);
              got = size;
            }

          while (got < size)
            {
              gssize n = read (fds[1], buffer + got, size - got);

              if (n <= 0)
                _exit (0);
              got += n;
            }
          write_all (fds[1], buffer, size);
        }
    }

  close (fds[1]);
  *fd = fds[0];

  return pid;
}

static void
stop_echo_child (int  fd,
                 GPid pid)
{
  close (fd);
  waitpid (pid, NULL, 0);
}

static void
floor_round_trip (int       fd,
                  guint64  *message,
                  gboolean  polling)
{
  write_all (fd, message, sizeof *message);
  if (!polling)
    read_all (fd, message, sizeof *message);
  else if (!read_all_polling (fd, message, sizeof *message))
    g_error ("the floor's child is gone");
}

static void
bench_floor (void)
{
  /* Both ends sleep between messages, as in a pool that blocks; or both
   * poll, as a pool's threads and workers do while callers wait for each
   * result in turn: what waking a sleeping thread costs is the difference. */
  for (int polling = 0; polling <= 1; polling++)
    {
      const char *workload = polling ? "floor_rtt_polling" : "floor_rtt";
      guint n = scaled (20000);
      guint64 message = 0;
      gint64 start;
      int fd;
      GPid pid;

      if (!wanted (workload))
        continue;

      pid = start_echo_child (&fd, sizeof message, polling);
      for (int i = 0; i < 200; i++)
        floor_round_trip (fd, &message, polling);
      start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        floor_round_trip (fd, &message, polling);
      report ("floor", workload, seconds_since (start) * 1e6 / n, "us/call", "lower");
      stop_echo_child (fd, pid);
    }

  if (wanted ("floor_echo_1mib"))
    {
      guint n = scaled (500);
      g_autofree guint8 *data = g_malloc (MIB);
      g_autofree guint8 *back = g_malloc (MIB);
      gint64 start;
      int fd;
      GPid pid = start_echo_child (&fd, MIB, FALSE);

      for (gsize i = 0; i < MIB; i++)
        data[i] = g_random_int ();

      start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        {
          write_all (fd, data, MIB);
          read_all (fd, back, MIB);
        }
      report ("floor", "floor_echo_1mib", n * (double) MIB / 1e6 / seconds_since (start), "MB/s", "higher");
      stop_echo_child (fd, pid);

      if (memcmp (data, back, MIB) != 0)
        g_error ("the floor's echo differs");
    }
}

/* {{{ The floor of a map item: what a worker must do per item, in-process
 *
 * A PTaskFunc takes one GVariant and returns one: a map's worker makes the
 * item from its chunk, calls the function, stores the result and frees
 * both. Done here in one thread with no pool at all, it is the most a
 * worker can do per second with GLib's GVariant (2 workers: twice that). */

static void
bench_map_item_floor (void)
{
  guint n = scaled (1000000);
  g_autoptr(GVariant) items = g_variant_ref_sink (range (n));
  g_autoptr(GByteArray) results = g_byte_array_sized_new (n * sizeof (gint64));
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (items, i);
      g_autoptr(GVariant) result = g_variant_ref_sink (square (item, NULL, NULL, NULL));

      g_byte_array_set_size (results, results->len + sizeof (gint64));
      g_variant_store (result, results->data + results->len - sizeof (gint64));
    }
  report ("floor", "floor_map_item", n / seconds_since (start), "items/s", "higher");
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autofree char *only_list = NULL;
  int processes_option = 2;
  const GOptionEntry entries[] = {
    { "processes", 0, 0, G_OPTION_ARG_INT, &processes_option, "Worker processes (2)", "N" },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &scale, "Multiply every count by S (1.0)", "S" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only_list, "Run only these workloads", "W1,W2" },
    { NULL }
  };

  if (p_worker_is_requested ())
    {
      g_autoptr(PWorker) worker = p_worker_new ();

      p_worker_add_function (worker, "square", square, NULL, NULL);
      p_worker_add_function (worker, "echo", echo, NULL, NULL);
      p_worker_add_function (worker, "nap", nap, NULL, NULL);
      p_worker_add_chunk_function (worker, "square_chunk", square_chunk, NULL, NULL);
      return p_worker_run (worker, &error) ? 0 : 1;
    }

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "processing-glib's side of the benchmark; see bench/compare.py.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  processes = MAX (processes_option, 1);
  if (only_list != NULL)
    only = g_strsplit (only_list, ",", -1);

  /* First, on fresh pools. */
  if (wanted ("start_to_first_result") || wanted ("shutdown_join"))
    bench_start_and_shutdown (FALSE);

  pool = new_pool ();
  apply_square (pool, 1);

  if (wanted ("apply_rtt"))
    bench_apply_rtt (pool, "apply_rtt");
  if (wanted ("submit_throughput"))
    bench_submit_throughput (pool);
  if (wanted ("map_default"))
    bench_map (pool, "square", "map_default");
  if (wanted ("map_chunk_function"))
    bench_map (pool, "square_chunk", "map_chunk_function");
  if (wanted ("imap_chunk1"))
    bench_imap (pool, TRUE, "imap_chunk1");
  if (wanted ("imap_unordered_chunk1"))
    bench_imap (pool, FALSE, "imap_unordered_chunk1");
  if (wanted ("echo_1mib"))
    bench_echo_1mib (pool);
  /* Last: the long task makes its worker keep a short queue for a while. */
  if (wanted ("behind_long_task"))
    bench_behind_long_task (pool);

  /* Workers that exit by themselves (profilers see them out). */
  p_pool_shutdown (pool);
  if (!p_pool_join (pool, &error))
    g_error ("%s", error->message);

  bench_sandbox ();
  if (named ("sleeping_tasks_over_ideal"))
    bench_sleeping_tasks ();

  bench_floor ();
  if (wanted ("floor_map_item"))
    bench_map_item_floor ();

  g_strfreev (only);
  return 0;
}
