/* p-sandbox-enforce-private.c: a worker confining itself
 *
 * In order: what it may read and write is gathered while it still can
 * look (its mappings, its status); namespaces, which need capabilities
 * and one thread; resource limits; no new privileges and no capabilities;
 * landlock; and last the seccomp filter, which forbids what came before.
 * Every mechanism the kernel allows is applied, whatever is required: the
 * pool judges the report (p-pool-sandbox-private.c).
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* unshare() */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>

#include "p-sandbox-enforce-private.h"
#include "p-sandbox-private.h"
#include "p-i18n-private.h"
#include "p-landlock-private.h"
#include "p-seccomp-private.h"

/* {{{ What every worker may read */

/* The system's libraries, programs and data, and the few files of /etc
 * that libraries read (the loader's cache, users and groups for GLib,
 * the time zone, fonts, MIME types, OpenSSL's configuration that
 * Python's hashlib loads). Paths that do not exist are left out. */
static const char * const system_read_paths[] = {
  "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
  "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
  "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
  "/etc/localtime", "/etc/timezone", "/etc/locale.alias", "/etc/locale.conf",
  "/etc/fonts", "/var/cache/fontconfig", "/etc/xdg", "/etc/mime.types",
  "/etc/gtk-3.0", "/etc/gtk-4.0", "/etc/alternatives", "/etc/ssl/openssl.cnf",
  /* Its own process, and what libraries ask of the system: processors,
   * memory, the kernel's overcommit policy (glibc's malloc). */
  "/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
  "/proc/sys/vm/overcommit_memory", "/sys/devices/system/cpu",
  "/dev/random", "/dev/urandom",
};

/* What name resolution and TLS read, with the network. */
static const char * const network_read_paths[] = {
  "/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf",
  "/etc/services", "/etc/protocols", "/etc/ssl/certs", "/etc/ca-certificates",
  "/etc/pki/tls/certs", "/etc/gnutls", "/etc/crypto-policies",
};

/* Read and written, but not ioctl()ed. */
static const char * const devices[] = {
  "/dev/null", "/dev/zero", "/dev/full",
};

/* }}} */
/* {{{ The report */

typedef struct
{
  GVariantBuilder applied;   /* as */
  GVariantBuilder refused;   /* a{ss} */
  PSandboxMechanisms done;
} Report;

static void
report_init (Report *report)
{
  g_variant_builder_init (&report->applied, G_VARIANT_TYPE_STRING_ARRAY);
  g_variant_builder_init (&report->refused, G_VARIANT_TYPE ("a{ss}"));
  report->done = 0;
}

static void
report_applied (Report             *report,
                PSandboxMechanisms  mechanism)
{
  g_assert (!(report->done & mechanism));

  report->done |= mechanism;
  g_variant_builder_add (&report->applied, "s", p_sandbox_mechanism_get_nick (mechanism));
}

static void
report_refused (Report             *report,
                PSandboxMechanisms  mechanism,
                const char         *reason)
{
  g_assert (!(report->done & mechanism));

  report->done |= mechanism;
  g_variant_builder_add (&report->refused, "{ss}", p_sandbox_mechanism_get_nick (mechanism), reason);
  g_debug ("Sandbox: %s is not in force: %s", p_sandbox_mechanism_get_nick (mechanism), reason);
}

static void
report_refused_errno (Report             *report,
                      PSandboxMechanisms  mechanism,
                      const char         *call,
                      int                 saved_errno)
{
  g_autofree char *reason = g_strdup_printf ("%s: %s", call, g_strerror (saved_errno));

  report_refused (report, mechanism, reason);
}

/* Every mechanism not yet reported, refused for @reason. */
static void
report_refuse_rest (Report     *report,
                    const char *reason)
{
  for (guint bit = 1; bit <= P_SANDBOX_ALL_MECHANISMS; bit <<= 1)
    if (!(report->done & bit))
      report_refused (report, bit, reason);
}

/* }}} */
/* {{{ The description */

typedef struct
{
  gboolean network;
  guint64 memory_limit;
  char **read_paths;
  char **write_paths;
} Description;

static void
description_clear (Description *description)
{
  g_clear_pointer (&description->read_paths, g_strfreev);
  g_clear_pointer (&description->write_paths, g_strfreev);
}

static gboolean
parse_description (const char   *text,
                   Description  *description,
                   GError      **error)
{
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) read_paths = NULL;
  g_autoptr(GVariant) write_paths = NULL;
  guint32 version = 0;

  value = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, error);
  if (value == NULL)
    return FALSE;

  if (!g_variant_lookup (value, P_SANDBOX_KEY_VERSION, "u", &version) ||
      version != P_SANDBOX_DESCRIPTION_VERSION ||
      !g_variant_lookup (value, P_SANDBOX_KEY_NETWORK, "b", &description->network) ||
      !g_variant_lookup (value, P_SANDBOX_KEY_MEMORY_LIMIT, "t", &description->memory_limit) ||
      (read_paths = g_variant_lookup_value (value, P_SANDBOX_KEY_READ, G_VARIANT_TYPE_BYTESTRING_ARRAY)) == NULL ||
      (write_paths = g_variant_lookup_value (value, P_SANDBOX_KEY_WRITE, G_VARIANT_TYPE_BYTESTRING_ARRAY)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   /* Translators: why a sandbox mechanism is not in force,
                    * shown in parentheses after its name: “landlock-filesystem
                    * (%s)”. “it” is the description the pool gave the worker. */
                   _("it is not a sandbox description of version %u"), P_SANDBOX_DESCRIPTION_VERSION);
      return FALSE;
    }

  description->read_paths = g_variant_dup_bytestring_array (read_paths, NULL);
  description->write_paths = g_variant_dup_bytestring_array (write_paths, NULL);

  return TRUE;
}

/* }}} */
/* {{{ What the process is */

/* A number field of /proc/self/status ("Threads", "VmData" in kB), or 0. */
static guint64
read_status_field (const char *name)
{
  g_autofree char *status = NULL;
  g_autofree char *key = g_strconcat ("\n", name, ":", NULL);
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, key)) == NULL)
    return 0;

  return g_ascii_strtoull (line + strlen (key), NULL, 10);
}

/* The files it has mapped: its program, its libraries, the modules it
 * loaded. Not memfds (shared memory with the pool), nor deleted files. */
static void
add_mapped_files (GPtrArray *paths)
{
  g_autofree char *maps = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  char *line;
  char *next;

  if (!g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL))
    return;

  for (line = maps; line != NULL && *line != '\0'; line = next)
    {
      char *path;

      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';

      path = strchr (line, '/');
      if (path == NULL ||
          g_str_has_prefix (path, "/memfd:") ||
          g_str_has_suffix (path, " (deleted)") ||
          !g_hash_table_add (seen, path))
        continue;

      g_ptr_array_add (paths, g_strdup (path));
    }
}

#ifdef P_SANITIZED
/* Where the sanitizers write their reports ("log_path=PATH" makes
 * PATH.PID), so that a worker's report is not lost. */
static void
add_sanitizer_log_directories (GPtrArray *paths)
{
  const char * const variables[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };

  for (guint i = 0; i < G_N_ELEMENTS (variables); i++)
    {
      const char *options = g_getenv (variables[i]);
      g_auto(GStrv) fields = options != NULL ? g_strsplit_set (options, ": ,", -1) : NULL;

      for (guint j = 0; fields != NULL && fields[j] != NULL; j++)
        if (g_str_has_prefix (fields[j], "log_path=") && fields[j][9] != '\0')
          g_ptr_array_add (paths, g_path_get_dirname (fields[j] + 9));
    }
}
#endif

/* }}} */
/* {{{ The mechanisms */

/* Landlock's mechanisms, all for one @reason; its network rules only
 * where they have something to do. */
static void
refuse_landlock (Report            *report,
                 const Description *description,
                 const char        *reason)
{
  report_refused (report, P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM, reason);
  if (!description->network)
    report_refused (report, P_SANDBOX_MECHANISM_LANDLOCK_NETWORK, reason);
  report_refused (report, P_SANDBOX_MECHANISM_LANDLOCK_SCOPES, reason);
}

static PLandlock *
prepare_landlock (Report            *report,
                  const Description *description,
                  guint              n_threads,
                  guint             *abi_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PLandlock) landlock = NULL;
  g_autoptr(GPtrArray) read_paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) write_paths = g_ptr_array_new_with_free_func (g_free);
  guint abi;

  abi = *abi_out = p_landlock_get_abi (&error);
  if (abi == 0)
    {
      refuse_landlock (report, description, error->message);
      return NULL;
    }

  /* Before version 8, landlock confines the calling thread only: the
   * others could run what this one may not. */
  if (n_threads > 1 && abi < P_LANDLOCK_ABI_TSYNC)
    {
      g_autofree char *reason =
        /* Translators: why a sandbox mechanism is not in force, shown in
         * parentheses after its name: “landlock-filesystem (%s)”. The first %u
         * counts threads, the others are versions of landlock. */
        g_strdup_printf (_("the worker has %u threads, and landlock before ABI %u (Linux 7.0) confines one (ABI %u here)"),
                         n_threads, P_LANDLOCK_ABI_TSYNC, abi);

      refuse_landlock (report, description, reason);
      return NULL;
    }

  landlock = p_landlock_new (abi, !description->network, TRUE, &error);
  if (landlock == NULL)
    {
      refuse_landlock (report, description, error->message);
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (system_read_paths); i++)
    g_ptr_array_add (read_paths, g_strdup (system_read_paths[i]));
  if (description->network)
    for (guint i = 0; i < G_N_ELEMENTS (network_read_paths); i++)
      g_ptr_array_add (read_paths, g_strdup (network_read_paths[i]));
  add_mapped_files (read_paths);
  for (guint i = 0; description->read_paths[i] != NULL; i++)
    g_ptr_array_add (read_paths, g_strdup (description->read_paths[i]));

  for (guint i = 0; description->write_paths[i] != NULL; i++)
    g_ptr_array_add (write_paths, g_strdup (description->write_paths[i]));
#ifdef P_SANITIZED
  add_sanitizer_log_directories (write_paths);
#endif

  /* A path it cannot open is one it could not read anyway. */
  for (guint i = 0; i < read_paths->len; i++)
    if (!p_landlock_allow (landlock, read_paths->pdata[i], P_LANDLOCK_READ, &error))
      {
        g_debug ("Sandbox: %s is left out: %s", (char *) read_paths->pdata[i], error->message);
        g_clear_error (&error);
      }
  for (guint i = 0; i < write_paths->len; i++)
    if (!p_landlock_allow (landlock, write_paths->pdata[i], P_LANDLOCK_READ_WRITE, &error))
      {
        g_debug ("Sandbox: %s is left out: %s", (char *) write_paths->pdata[i], error->message);
        g_clear_error (&error);
      }
  for (guint i = 0; i < G_N_ELEMENTS (devices); i++)
    if (!p_landlock_allow (landlock, devices[i], P_LANDLOCK_DEVICE, &error))
      {
        g_debug ("Sandbox: %s is left out: %s", devices[i], error->message);
        g_clear_error (&error);
      }

  return g_steal_pointer (&landlock);
}

/* Whether it confined itself; each of landlock's mechanisms is reported. */
static gboolean
apply_landlock (Report            *report,
                const Description *description,
                PLandlock         *landlock,
                guint              n_threads,
                guint              abi)
{
  g_autoptr(GError) error = NULL;

  if (!p_landlock_restrict (landlock, n_threads > 1, &error))
    {
      refuse_landlock (report, description, error->message);
      return FALSE;
    }

  report_applied (report, P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM);

  /* Its network rules have nothing to do when the network is allowed. */
  if (!description->network && p_landlock_handles_network (landlock))
    report_applied (report, P_SANDBOX_MECHANISM_LANDLOCK_NETWORK);
  else if (!description->network)
    {
      g_autofree char *reason =
        /* Translators: why a sandbox mechanism is not in force, shown in
         * parentheses after its name: “landlock-filesystem (%s)”. */
        g_strdup_printf (_("landlock’s network rules need ABI %u (Linux 6.7); the kernel has %u"),
                         P_LANDLOCK_ABI_NETWORK, abi);

      report_refused (report, P_SANDBOX_MECHANISM_LANDLOCK_NETWORK, reason);
    }

  if (p_landlock_handles_scopes (landlock))
    report_applied (report, P_SANDBOX_MECHANISM_LANDLOCK_SCOPES);
  else
    {
      g_autofree char *reason =
        /* Translators: why a sandbox mechanism is not in force, shown in
         * parentheses after its name: “landlock-filesystem (%s)”. */
        g_strdup_printf (_("landlock’s scopes need ABI %u (Linux 6.12); the kernel has %u"),
                         P_LANDLOCK_ABI_SCOPES, abi);

      report_refused (report, P_SANDBOX_MECHANISM_LANDLOCK_SCOPES, reason);
    }

  return TRUE;
}

static gboolean
write_file (const char  *path,
            const char  *contents,
            int         *saved_errno)
{
  gssize length = strlen (contents);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gboolean written;

  if (fd < 0)
    {
      *saved_errno = errno;
      return FALSE;
    }

  written = write (fd, contents, length) == length;
  *saved_errno = errno;
  close (fd);

  return written;
}

/* A user namespace where its user and group are its own (so that nothing
 * it sees of them changes), which lets it have a network namespace
 * without privileges; or a network namespace alone, for root. */
static void
apply_namespaces (Report            *report,
                  const Description *description,
                  guint              n_threads)
{
  int flags = CLONE_NEWUSER | (description->network ? 0 : CLONE_NEWNET);
  gboolean network_namespace = FALSE;
  /* Before: in the namespace, they are unmapped until mapped. */
  guint uid = geteuid ();
  guint gid = getegid ();

  if (n_threads > 1)
    {
      g_autofree char *reason =
        /* Translators: why a sandbox mechanism is not in force, shown in
         * parentheses after its name: “landlock-filesystem (%s)”. */
        g_strdup_printf (_("the worker has %u threads, and only a process of one may enter a user namespace"), n_threads);

      report_refused (report, P_SANDBOX_MECHANISM_USER_NAMESPACE, reason);
    }
  else if (unshare (flags) != 0)
    report_refused_errno (report, P_SANDBOX_MECHANISM_USER_NAMESPACE, "unshare", errno);
  else
    {
      g_autofree char *uid_map = g_strdup_printf ("%u %u 1\n", uid, uid);
      g_autofree char *gid_map = g_strdup_printf ("%u %u 1\n", gid, gid);
      int saved_errno = 0;

      network_namespace = (flags & CLONE_NEWNET) != 0;

      /* Writing the group map takes giving up setgroups(). */
      if (!write_file ("/proc/self/setgroups", "deny", &saved_errno) ||
          !write_file ("/proc/self/uid_map", uid_map, &saved_errno) ||
          !write_file ("/proc/self/gid_map", gid_map, &saved_errno))
        report_refused_errno (report, P_SANDBOX_MECHANISM_USER_NAMESPACE, "/proc/self/uid_map", saved_errno);
      else
        report_applied (report, P_SANDBOX_MECHANISM_USER_NAMESPACE);
    }

  if (description->network)
    return;

  if (!network_namespace && unshare (CLONE_NEWNET) != 0)
    report_refused_errno (report, P_SANDBOX_MECHANISM_NETWORK_NAMESPACE, "unshare", errno);
  else
    report_applied (report, P_SANDBOX_MECHANISM_NETWORK_NAMESPACE);
}

/* The memory limit counts from what the worker has now: an interpreter
 * has taken much already, and AddressSanitizer terabytes of shadow. No
 * core dump: it would be written outside the sandbox, with a task's data. */
static void
apply_resource_limits (Report            *report,
                       const Description *description,
                       guint64           *memory_base,
                       guint64           *memory_limit)
{
  struct rlimit no_core = { 0, 0 };

  *memory_base = read_status_field ("VmData") * 1024;
  *memory_limit = 0;

  if (setrlimit (RLIMIT_CORE, &no_core) != 0)
    {
      report_refused_errno (report, P_SANDBOX_MECHANISM_RESOURCE_LIMITS, "setrlimit", errno);
      return;
    }

  if (description->memory_limit > 0)
    {
      rlim_t limit = *memory_base > RLIM_INFINITY - 1 - description->memory_limit
                     ? RLIM_INFINITY - 1
                     : *memory_base + description->memory_limit;
      struct rlimit data;

      /* A lower limit already in force stays: raising it takes a privilege. */
      if (getrlimit (RLIMIT_DATA, &data) != 0)
        {
          report_refused_errno (report, P_SANDBOX_MECHANISM_RESOURCE_LIMITS, "getrlimit", errno);
          return;
        }
      data.rlim_cur = data.rlim_max = MIN (limit, data.rlim_max);

      if (setrlimit (RLIMIT_DATA, &data) != 0)
        {
          report_refused_errno (report, P_SANDBOX_MECHANISM_RESOURCE_LIMITS, "setrlimit", errno);
          return;
        }
      *memory_limit = data.rlim_max - MIN (data.rlim_max, *memory_base);
    }

  report_applied (report, P_SANDBOX_MECHANISM_RESOURCE_LIMITS);
}

static gboolean
has_capabilities (void)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

  if (syscall (SYS_capget, &header, data) != 0)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (data); i++)
    if (data[i].effective != 0 || data[i].permitted != 0 || data[i].inheritable != 0)
      return TRUE;

  return FALSE;
}

/* Every capability, from every set: root's too, and those a user
 * namespace gave. The bounding set first, which takes CAP_SETPCAP. */
static gboolean
drop_capabilities (int *saved_errno)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

  for (int cap = 0; prctl (PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EPERM)
      {
        *saved_errno = errno;
        return FALSE;
      }

  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

  if (syscall (SYS_capset, &header, data) != 0)
    {
      *saved_errno = errno;
      return FALSE;
    }

  return TRUE;
}

/* Reported once seccomp is known: with several threads, the filter is
 * what gives the others no_new_privs too (SECCOMP_FILTER_FLAG_TSYNC). */
static gboolean
apply_no_new_privileges (guint        n_threads,
                         char       **refusal)
{
  int saved_errno = 0;

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    {
      *refusal = g_strdup_printf ("prctl: %s", g_strerror (errno));
      return FALSE;
    }

  if (!has_capabilities ())
    return TRUE;

  if (n_threads > 1)
    {
      /* Translators: why a sandbox mechanism is not in force, shown in
       * parentheses after its name: “landlock-filesystem (%s)”. */
      *refusal = g_strdup_printf (_("the worker has %u threads and capabilities, which are dropped one thread at a time"),
                                  n_threads);
      return FALSE;
    }

  if (!drop_capabilities (&saved_errno))
    {
      *refusal = g_strdup_printf ("capset: %s", g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/* }}} */

GVariant *
p_sandbox_enforce (void)
{
  const char *text = g_getenv (P_SANDBOX_ENV);
  g_auto(GVariantDict) result = G_VARIANT_DICT_INIT (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PLandlock) landlock = NULL;
  g_autofree char *privileges_refusal = NULL;
  Description description = { 0 };
  PSeccompOptions seccomp_options = { 0 };
  gboolean privileges_applied;
  gboolean landlock_applied = FALSE;
  guint64 memory_base = 0;
  guint64 memory_limit = 0;
  guint n_threads;
  guint abi = 0;
  Report report;

  if (text == NULL)
    return NULL;

  report_init (&report);

  if (!parse_description (text, &description, &error))
    {
      /* Translators: why a sandbox mechanism is not in force, shown in
       * parentheses after its name: “landlock-filesystem (%s)”. “its” is the
       * sandbox’s; %s is an environment variable, then why. */
      g_autofree char *reason = g_strdup_printf (_("its description (%s) cannot be read: %s"),
                                                 P_SANDBOX_ENV, error->message);

      report_refuse_rest (&report, reason);
      goto out;
    }

  n_threads = MAX (read_status_field ("Threads"), 1);

  /* Paths are opened while they can be. */
  landlock = prepare_landlock (&report, &description, n_threads, &abi);

  apply_namespaces (&report, &description, n_threads);
  apply_resource_limits (&report, &description, &memory_base, &memory_limit);
  privileges_applied = apply_no_new_privileges (n_threads, &privileges_refusal);

  if (landlock != NULL)
    landlock_applied = apply_landlock (&report, &description, landlock, n_threads, abi);

  /* Last: it forbids much of the above. */
  seccomp_options.network_allowed = description.network;
  seccomp_options.deny_truncate = !landlock_applied || abi < P_LANDLOCK_ABI_TRUNCATE;
  if (p_seccomp_apply (&seccomp_options, &error))
    report_applied (&report, P_SANDBOX_MECHANISM_SECCOMP);
  else
    {
      report_refused (&report, P_SANDBOX_MECHANISM_SECCOMP, error->message);
      if (privileges_applied && n_threads > 1)
        {
          privileges_applied = FALSE;
          /* Translators: why a sandbox mechanism is not in force, shown in
           * parentheses after its name: “landlock-filesystem (%s)”.
           * no_new_privs is the name of a flag of Linux. */
          privileges_refusal = g_strdup_printf (_("the worker has %u threads, and only seccomp’s filter gives them all no_new_privs"),
                                                n_threads);
        }
    }

  if (privileges_applied)
    report_applied (&report, P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES);
  else
    report_refused (&report, P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES, privileges_refusal);

out:
  g_variant_dict_insert_value (&result, P_SANDBOX_REPORT_APPLIED, g_variant_builder_end (&report.applied));
  g_variant_dict_insert_value (&result, P_SANDBOX_REPORT_REFUSED, g_variant_builder_end (&report.refused));
  g_variant_dict_insert (&result, P_SANDBOX_REPORT_MEMORY_LIMIT, "t", memory_limit);
  g_variant_dict_insert (&result, P_SANDBOX_REPORT_MEMORY_BASE, "t", memory_base);
  g_variant_dict_insert (&result, P_SANDBOX_REPORT_LANDLOCK_ABI, "u", abi);
  description_clear (&description);

  return g_variant_ref_sink (g_variant_dict_end (&result));
}
