/* p-sandbox.c: what a pool's workers may touch
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <sys/stat.h>

#include "p-sandbox.h"
#include "p-sandbox-private.h"
#include "p-enum-types.h"
#include "p-i18n-private.h"

/**
 * SECTION:p-sandbox
 * @title: PSandbox
 * @short_description: What a pool's workers may touch
 *
 * A #PSandbox confines the workers of a pool, for tasks whose input is not
 * to be trusted: images, documents or archives from the web. A task may
 * crash its worker; it must not reach the user's files or the network.
 * Give one to a pool through its #PPool:sandbox property:
 *
 * |[<!-- language="C" -->
 * g_autoptr(PSandbox) sandbox = p_sandbox_new ();
 * g_autoptr(PPool) pool = NULL;
 *
 * p_sandbox_allow_read (sandbox, input_directory);
 * p_sandbox_allow_write (sandbox, output_directory);
 * pool = g_initable_new (P_TYPE_POOL, NULL, &error,
 *                        "processes", 4,
 *                        "sandbox", sandbox,
 *                        NULL);
 * ]|
 *
 * Each worker confines itself with Linux's own mechanisms in
 * p_worker_run(), before it announces itself to the pool and so before it
 * runs any task; no helper program and no privilege is needed. By default
 * a sandboxed worker:
 *
 * - has no network, nor any other socket it could connect with: creating a
 *   socket fails with a permission error (seccomp), and so do TCP connects
 *   (landlock, from Linux 6.7) and everything but the loopback device (a
 *   network namespace of its own, where the kernel allows one);
 * - reads only the system's libraries and data (`/usr`, `/lib*`, `/bin`,
 *   `/sbin`, the few files of `/etc` that programs read, the font cache,
 *   `/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random`, `/dev/urandom`,
 *   its own `/proc/self`, the processor list in `/sys`), the files it had
 *   mapped when it confined itself (its program, its libraries, the task
 *   modules it loaded), the files its command line names, and the paths
 *   allowed with p_sandbox_allow_read() or p_sandbox_allow_write();
 *   nothing else, in the user's home or in a temporary directory, can be
 *   read (landlock);
 * - writes nowhere but the paths allowed with p_sandbox_allow_write(), nor
 *   changes a file's mode, owner, times or extended attributes anywhere
 *   (landlock and seccomp), nor leaves a core dump;
 * - cannot gain privileges nor undo its restrictions: no new privileges,
 *   no capabilities (even when run as root), no ptrace, no new namespaces,
 *   no mounts, no kernel modules, no signals to other processes (seccomp,
 *   and landlock's scopes from Linux 6.12);
 * - has a memory limit, #PSandbox:memory-limit (1 GiB unless set): an
 *   allocation beyond it fails, and a worker that dies of it fails its
 *   task with %P_POOL_ERROR_WORKER_DIED naming the limit;
 * - starts no process: threads are allowed, `fork()` and friends fail
 *   with a permission error, programs cannot be executed (seccomp and
 *   landlock).
 *
 * What is not confined: the worker's standard output and error are the
 * pool's; its CPU time is not limited (see #PPool:task-timeout); memory
 * it maps shared (`MAP_SHARED`, memfds) is not counted in its limit; it
 * can see which files exist and their sizes (landlock confines opening
 * them, not looking them up); and the pool trusts nothing a worker sends
 * (docs/protocol.md).
 *
 * What the kernel must have: Linux 5.13 with landlock enabled (in the
 * `lsm=` list of the boot command line: most distributions enable it) and
 * seccomp filters; processing-glib built with libseccomp. Newer kernels
 * add landlock's network rules (6.7) and scopes (6.12); user and network
 * namespaces are used where the kernel allows unprivileged ones. A worker
 * with several threads when it confines itself (gjs starts some) cannot be
 * confined by landlock before Linux 7.0. Valgrind (3.19) knows neither
 * landlock's system calls nor seccomp(): a worker run under it
 * (`--trace-children=yes`) cannot confine itself, while the pool alone
 * under valgrind is no trouble.
 *
 * Each worker reports which mechanisms it applied and which the kernel
 * refused, and why. A pool whose first worker lacks one of
 * #PSandbox:required-mechanisms fails to start with %P_POOL_ERROR_SANDBOX,
 * naming what is missing: a sandbox is never weaker than asked without
 * the caller saying so with p_sandbox_set_required_mechanisms(). What is
 * in force is read with p_pool_get_sandbox_mechanisms() and
 * p_pool_get_sandbox_report().
 *
 * A task that breaks a restriction gets the system's own error: opening a
 * forbidden file fails with %G_FILE_ERROR_ACCES (or
 * %G_IO_ERROR_PERMISSION_DENIED through GIO), creating a socket or a
 * process with a permission error.
 *
 * A #PSandbox is a description: a pool copies it when it is constructed,
 * so changing it afterwards changes no running pool.
 */

/**
 * PSandbox:
 *
 * What a pool's workers may touch. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_SANDBOX:
 *
 * The #GType of #PSandbox.
 *
 * Since: 0.1
 */

/**
 * PSandboxMechanisms:
 * @P_SANDBOX_MECHANISM_NONE: no mechanism.
 * @P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES: the worker cannot gain
 *   privileges (`PR_SET_NO_NEW_PRIVS`), and holds no capabilities, in any
 *   of its threads.
 * @P_SANDBOX_MECHANISM_RESOURCE_LIMITS: resource limits: the memory limit
 *   (`RLIMIT_DATA`) and no core dumps (`RLIMIT_CORE`).
 * @P_SANDBOX_MECHANISM_SECCOMP: a seccomp filter on every thread: no
 *   sockets but `socketpair()` (or only Internet ones when the network is
 *   allowed), no new processes, no ptrace, namespaces, mounts, kernel
 *   modules, io_uring, signals to other processes, nor changes to files'
 *   metadata.
 * @P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM: landlock confines what the
 *   worker may open, create, remove or execute to the allowed paths.
 * @P_SANDBOX_MECHANISM_LANDLOCK_NETWORK: landlock refuses TCP binds and
 *   connects (landlock ABI 4, Linux 6.7). Only when the network is not
 *   allowed.
 * @P_SANDBOX_MECHANISM_LANDLOCK_SCOPES: landlock refuses signals to
 *   processes outside the sandbox and connections to abstract UNIX sockets
 *   (landlock ABI 6, Linux 6.12).
 * @P_SANDBOX_MECHANISM_USER_NAMESPACE: the worker runs in a user namespace
 *   of its own, where its user is itself: it holds no capability outside.
 * @P_SANDBOX_MECHANISM_NETWORK_NAMESPACE: the worker runs in a network
 *   namespace of its own, with no device but a loopback one that is down.
 *   Only when the network is not allowed.
 *
 * The mechanisms a sandboxed worker applies to itself. See
 * p_sandbox_set_required_mechanisms() and p_pool_get_sandbox_mechanisms().
 * Each has a nick (`"no-new-privileges"`, `"resource-limits"`, `"seccomp"`,
 * `"landlock-filesystem"`, `"landlock-network"`, `"landlock-scopes"`,
 * `"user-namespace"`, `"network-namespace"`), which the reports use.
 *
 * Since: 0.1
 */

struct _PSandbox
{
  GObject parent_instance;

  GPtrArray *read_paths;   /* char *, NULL-terminated */
  GPtrArray *write_paths;  /* char *, NULL-terminated */
  gboolean network;
  guint64 memory_limit;
  PSandboxMechanisms required;
};

enum {
  PROP_0,
  PROP_NETWORK,
  PROP_MEMORY_LIMIT,
  PROP_REQUIRED_MECHANISMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PSandbox, p_sandbox, G_TYPE_OBJECT)

/* {{{ GObject */

static void
p_sandbox_finalize (GObject *object)
{
  PSandbox *self = P_SANDBOX (object);

  g_ptr_array_unref (self->read_paths);
  g_ptr_array_unref (self->write_paths);

  G_OBJECT_CLASS (p_sandbox_parent_class)->finalize (object);
}

static void
p_sandbox_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PSandbox *self = P_SANDBOX (object);

  switch (prop_id)
    {
    case PROP_NETWORK:
      g_value_set_boolean (value, self->network);
      break;

    case PROP_MEMORY_LIMIT:
      g_value_set_uint64 (value, self->memory_limit);
      break;

    case PROP_REQUIRED_MECHANISMS:
      g_value_set_flags (value, self->required);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
p_sandbox_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PSandbox *self = P_SANDBOX (object);

  switch (prop_id)
    {
    case PROP_NETWORK:
      p_sandbox_set_network (self, g_value_get_boolean (value));
      break;

    case PROP_MEMORY_LIMIT:
      p_sandbox_set_memory_limit (self, g_value_get_uint64 (value));
      break;

    case PROP_REQUIRED_MECHANISMS:
      p_sandbox_set_required_mechanisms (self, g_value_get_flags (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
p_sandbox_class_init (PSandboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = p_sandbox_finalize;
  object_class->get_property = p_sandbox_get_property;
  object_class->set_property = p_sandbox_set_property;

  /**
   * PSandbox:network:
   *
   * Whether the workers may use the network: create Internet sockets
   * (`AF_INET`, `AF_INET6`, and routing netlink ones for name
   * resolution), and read what name resolution and TLS need in `/etc`.
   * Local sockets stay forbidden either way: through them, a worker could
   * ask the user's session (D-Bus, for one) to do what it may not.
   *
   * Since: 0.1
   */
  properties[PROP_NETWORK] =
    g_param_spec_boolean ("network", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  /**
   * PSandbox:memory-limit:
   *
   * How much memory, in bytes, a worker may take beyond what it had when it
   * confined itself; 0 for no limit. The default is 1 GiB.
   *
   * The limit is on the worker's private writable memory (`RLIMIT_DATA`:
   * its heap, its threads' stacks, its anonymous mappings), counted from
   * what it had when it confined itself: interpreters and sanitizers take
   * much before any task runs. An allocation beyond it fails: `malloc()`
   * returns %NULL, g_try_malloc() too, and g_malloc() aborts the worker,
   * which fails its task with %P_POOL_ERROR_WORKER_DIED naming the limit.
   *
   * Since: 0.1
   */
  properties[PROP_MEMORY_LIMIT] =
    g_param_spec_uint64 ("memory-limit", NULL, NULL,
                         0, G_MAXUINT64, P_SANDBOX_DEFAULT_MEMORY_LIMIT,
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * PSandbox:required-mechanisms:
   *
   * The mechanisms without which a pool does not start: those that make
   * the default restrictions hold (%P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES,
   * %P_SANDBOX_MECHANISM_RESOURCE_LIMITS, %P_SANDBOX_MECHANISM_SECCOMP and
   * %P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM) unless set. The others add
   * layers where the kernel has them. See p_sandbox_set_required_mechanisms().
   *
   * Since: 0.1
   */
  properties[PROP_REQUIRED_MECHANISMS] =
    g_param_spec_flags ("required-mechanisms", NULL, NULL,
                        P_TYPE_SANDBOX_MECHANISMS, P_SANDBOX_DEFAULT_REQUIRED,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  p_i18n_init ();
}

static void
p_sandbox_init (PSandbox *self)
{
  /* Reserved, so that pdata is an empty list, not NULL, until a path comes. */
  self->read_paths = g_ptr_array_new_null_terminated (1, g_free, TRUE);
  self->write_paths = g_ptr_array_new_null_terminated (1, g_free, TRUE);
  self->memory_limit = P_SANDBOX_DEFAULT_MEMORY_LIMIT;
  self->required = P_SANDBOX_DEFAULT_REQUIRED;
}

/* }}} */
/* {{{ Public API */

/**
 * p_sandbox_new:
 *
 * Creates the default sandbox: no network, no writes, reads of the
 * system's files and the worker's own program only, a memory limit of
 * 1 GiB, no new process, and no way out (see the section's description).
 *
 * Returns: (transfer full): a new #PSandbox
 *
 * Since: 0.1
 */
PSandbox *
p_sandbox_new (void)
{
  return g_object_new (P_TYPE_SANDBOX, NULL);
}

/* Absolute, so that it means the same in a worker started elsewhere. */
static void
add_path (GPtrArray  *paths,
          const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  char *absolute = g_file_get_path (file);

  for (guint i = 0; i < paths->len; i++)
    if (strcmp (paths->pdata[i], absolute) == 0)
      {
        g_free (absolute);
        return;
      }

  g_ptr_array_add (paths, absolute);
}

/**
 * p_sandbox_allow_read:
 * @self: a #PSandbox
 * @path: (type filename): a file or a directory; relative to the current
 *   directory if not absolute
 *
 * Lets the workers read @path: the file, or everything under the
 * directory. A path that does not exist when a worker starts is left out.
 *
 * A worker may already read the system's files, what it had mapped when it
 * confined itself, and the files its command line names; allow here what
 * it reads after that: a task's input, the directory of a Python worker's
 * modules that it imports late, data files outside `/usr`.
 *
 * Since: 0.1
 */
void
p_sandbox_allow_read (PSandbox   *self,
                      const char *path)
{
  g_return_if_fail (P_IS_SANDBOX (self));
  g_return_if_fail (path != NULL && path[0] != '\0');

  add_path (self->read_paths, path);
}

/**
 * p_sandbox_allow_write:
 * @self: a #PSandbox
 * @path: (type filename): a file or a directory; relative to the current
 *   directory if not absolute
 *
 * Lets the workers read and write @path: write the file, or create,
 * write, rename and remove anything under the directory (but not execute
 * it). A path that does not exist when a worker starts is left out: create
 * it first.
 *
 * Since: 0.1
 */
void
p_sandbox_allow_write (PSandbox   *self,
                       const char *path)
{
  g_return_if_fail (P_IS_SANDBOX (self));
  g_return_if_fail (path != NULL && path[0] != '\0');

  add_path (self->write_paths, path);
}

/**
 * p_sandbox_get_read_paths:
 * @self: a #PSandbox
 *
 * Returns the paths allowed with p_sandbox_allow_read(), made absolute.
 *
 * Returns: (transfer none) (array zero-terminated=1) (element-type filename):
 *   the paths, in the order they were allowed
 *
 * Since: 0.1
 */
const char * const *
p_sandbox_get_read_paths (PSandbox *self)
{
  g_return_val_if_fail (P_IS_SANDBOX (self), NULL);

  return (const char * const *) self->read_paths->pdata;
}

/**
 * p_sandbox_get_write_paths:
 * @self: a #PSandbox
 *
 * Returns the paths allowed with p_sandbox_allow_write(), made absolute.
 *
 * Returns: (transfer none) (array zero-terminated=1) (element-type filename):
 *   the paths, in the order they were allowed
 *
 * Since: 0.1
 */
const char * const *
p_sandbox_get_write_paths (PSandbox *self)
{
  g_return_val_if_fail (P_IS_SANDBOX (self), NULL);

  return (const char * const *) self->write_paths->pdata;
}

/**
 * p_sandbox_set_network:
 * @self: a #PSandbox
 * @allowed: whether the workers may use the network
 *
 * Sets #PSandbox:network.
 *
 * Since: 0.1
 */
void
p_sandbox_set_network (PSandbox *self,
                       gboolean  allowed)
{
  g_return_if_fail (P_IS_SANDBOX (self));

  allowed = !!allowed;
  if (self->network == allowed)
    return;

  self->network = allowed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
}

/**
 * p_sandbox_get_network:
 * @self: a #PSandbox
 *
 * Returns #PSandbox:network.
 *
 * Returns: whether the workers may use the network
 *
 * Since: 0.1
 */
gboolean
p_sandbox_get_network (PSandbox *self)
{
  g_return_val_if_fail (P_IS_SANDBOX (self), FALSE);

  return self->network;
}

/**
 * p_sandbox_set_memory_limit:
 * @self: a #PSandbox
 * @bytes: the limit, in bytes; 0 for none
 *
 * Sets #PSandbox:memory-limit.
 *
 * Since: 0.1
 */
void
p_sandbox_set_memory_limit (PSandbox *self,
                            guint64   bytes)
{
  g_return_if_fail (P_IS_SANDBOX (self));

  if (self->memory_limit == bytes)
    return;

  self->memory_limit = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEMORY_LIMIT]);
}

/**
 * p_sandbox_get_memory_limit:
 * @self: a #PSandbox
 *
 * Returns #PSandbox:memory-limit.
 *
 * Returns: the limit, in bytes; 0 for none
 *
 * Since: 0.1
 */
guint64
p_sandbox_get_memory_limit (PSandbox *self)
{
  g_return_val_if_fail (P_IS_SANDBOX (self), 0);

  return self->memory_limit;
}

/**
 * p_sandbox_set_required_mechanisms:
 * @self: a #PSandbox
 * @mechanisms: the mechanisms without which a pool must not start
 *
 * Says which mechanisms a worker must have applied for the pool to use
 * it. A pool whose first worker lacks one fails to start with
 * %P_POOL_ERROR_SANDBOX, naming it; a later worker that lacks one fails to
 * start (and is replaced, as any worker that fails to start).
 *
 * Accepting a weaker sandbox is explicit: remove from the default what
 * may be missing. Workers apply every mechanism their kernel has either
 * way; this only says which may be missing. Adding
 * %P_SANDBOX_MECHANISM_USER_NAMESPACE, say, insists on a kernel that
 * allows it. %P_SANDBOX_MECHANISM_NONE takes whatever the kernel gives:
 * read p_pool_get_sandbox_mechanisms() then.
 *
 * When the network is allowed, %P_SANDBOX_MECHANISM_LANDLOCK_NETWORK and
 * %P_SANDBOX_MECHANISM_NETWORK_NAMESPACE have nothing to do and are never
 * required.
 *
 * Since: 0.1
 */
void
p_sandbox_set_required_mechanisms (PSandbox           *self,
                                   PSandboxMechanisms  mechanisms)
{
  g_return_if_fail (P_IS_SANDBOX (self));
  g_return_if_fail ((mechanisms & ~P_SANDBOX_ALL_MECHANISMS) == 0);

  if (self->required == mechanisms)
    return;

  self->required = mechanisms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REQUIRED_MECHANISMS]);
}

/**
 * p_sandbox_get_required_mechanisms:
 * @self: a #PSandbox
 *
 * Returns #PSandbox:required-mechanisms.
 *
 * Returns: the mechanisms without which a pool does not start
 *
 * Since: 0.1
 */
PSandboxMechanisms
p_sandbox_get_required_mechanisms (PSandbox *self)
{
  g_return_val_if_fail (P_IS_SANDBOX (self), P_SANDBOX_MECHANISM_NONE);

  return self->required;
}

/* }}} */
/* {{{ The description, for the workers */

static void
add_unique (GPtrArray  *paths,
            const char *path)
{
  for (guint i = 0; i < paths->len; i++)
    if (strcmp (paths->pdata[i], path) == 0)
      return;

  g_ptr_array_add (paths, g_strdup (path));
}

/* What the worker needs that the pool knows of: its program when PATH
 * finds it (the worker finds its own program mapped, but not the script
 * an interpreter runs), and the regular files its arguments name (that
 * script, task modules). Never a directory: an argument such as the
 * user's home would open it all. */
static void
add_argv_paths (GPtrArray          *paths,
                const char * const *argv)
{
  for (guint i = 0; argv != NULL && argv[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      struct stat st;

      if (i == 0 && strchr (argv[0], '/') == NULL)
        path = g_find_program_in_path (argv[0]);
      else if (argv[i][0] != '\0')
        {
          g_autoptr(GFile) file = g_file_new_for_path (argv[i]);

          path = g_file_get_path (file);
        }

      if (path != NULL && stat (path, &st) == 0 && S_ISREG (st.st_mode))
        add_unique (paths, path);
    }
}

char **
p_sandbox_build_environment (PSandbox           *self,
                             const char * const *argv)
{
  g_auto(GVariantDict) description = G_VARIANT_DICT_INIT (NULL);
  g_autoptr(GPtrArray) read_paths = g_ptr_array_new_null_terminated (1, g_free, TRUE);
  g_autoptr(GVariant) value = NULL;
  g_autofree char *text = NULL;
  char **env;

  for (guint i = 0; i < self->read_paths->len; i++)
    add_unique (read_paths, self->read_paths->pdata[i]);
  add_argv_paths (read_paths, argv);

  g_variant_dict_insert (&description, P_SANDBOX_KEY_VERSION, "u", P_SANDBOX_DESCRIPTION_VERSION);
  g_variant_dict_insert_value (&description, P_SANDBOX_KEY_READ,
                               g_variant_new_bytestring_array ((const char * const *) read_paths->pdata, -1));
  g_variant_dict_insert_value (&description, P_SANDBOX_KEY_WRITE,
                               g_variant_new_bytestring_array ((const char * const *) self->write_paths->pdata, -1));
  g_variant_dict_insert (&description, P_SANDBOX_KEY_NETWORK, "b", self->network);
  g_variant_dict_insert (&description, P_SANDBOX_KEY_MEMORY_LIMIT, "t", self->memory_limit);

  value = g_variant_ref_sink (g_variant_dict_end (&description));
  text = g_variant_print (value, TRUE);

  env = g_new0 (char *, 2);
  env[0] = g_strconcat (P_SANDBOX_ENV "=", text, NULL);

  return env;
}

PSandboxMechanisms
p_sandbox_mechanisms_applicable (gboolean network_allowed)
{
  if (network_allowed)
    return P_SANDBOX_ALL_MECHANISMS & ~(P_SANDBOX_MECHANISM_LANDLOCK_NETWORK |
                                        P_SANDBOX_MECHANISM_NETWORK_NAMESPACE);

  return P_SANDBOX_ALL_MECHANISMS;
}

const char *
p_sandbox_mechanism_get_nick (PSandboxMechanisms mechanism)
{
  g_autoptr(GFlagsClass) klass = g_type_class_ref (P_TYPE_SANDBOX_MECHANISMS);
  GFlagsValue *value = g_flags_get_first_value (klass, mechanism);

  g_assert (value != NULL && value->value == mechanism);

  /* Static strings of the registered type. */
  return value->value_nick;
}

PSandboxMechanisms
p_sandbox_mechanism_from_nick (const char *nick)
{
  g_autoptr(GFlagsClass) klass = g_type_class_ref (P_TYPE_SANDBOX_MECHANISMS);
  GFlagsValue *value = g_flags_get_value_by_nick (klass, nick);

  return value != NULL ? value->value : P_SANDBOX_MECHANISM_NONE;
}

char *
p_sandbox_mechanisms_to_string (PSandboxMechanisms mechanisms)
{
  g_autoptr(GString) string = g_string_new (NULL);

  for (guint bit = 1; bit <= P_SANDBOX_ALL_MECHANISMS; bit <<= 1)
    if (mechanisms & bit)
      {
        if (string->len > 0)
          g_string_append (string, ", ");
        g_string_append (string, p_sandbox_mechanism_get_nick (bit));
      }

  return g_string_free (g_steal_pointer (&string), FALSE);
}

/* }}} */
