/* p-seccomp-private.c: the sandbox's system call filter
 *
 * A list of what is denied, as Flatpak's filter is, rather than of what
 * is allowed: workers run any task, in C, Python or JavaScript, whose
 * system calls nobody can list. What is denied is what would reach past
 * the sandbox (sockets, new processes, other processes, namespaces,
 * mounts), what landlock leaves open (files' metadata), what hides system
 * calls from this filter (io_uring), and the kernel's own business.
 *
 * Integer arguments are compared on their low 32 bits, which is all the
 * kernel reads of them: a caller cannot slip past with high bits set.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "p-seccomp-private.h"
#include "p-i18n-private.h"

#ifdef HAVE_LIBSECCOMP

#include <seccomp.h>

typedef struct
{
  const char *name;
  int number;    /* on the architectures that number new calls alike; 0 if libseccomp knows it */
  int error;
} Denied;

/* Denied whatever their arguments. */
static const Denied denied[] = {
  /* New processes: threads only (see clone, below). */
  { "fork", 0, EPERM },
  { "vfork", 0, EPERM },
  /* Its flags are in memory, out of a filter's reach: glibc then falls
   * back to clone(). */
  { "clone3", 0, ENOSYS },
  /* io_uring makes sockets, and more, without the calls filtered here. */
  { "io_uring_setup", 0, ENOSYS },
  { "io_uring_enter", 0, ENOSYS },
  { "io_uring_register", 0, ENOSYS },
  /* Other processes' memory; the other ways to signal a thread are
   * below. */
#ifndef P_SANITIZED
  { "ptrace", 0, EPERM },
#endif
  { "process_vm_readv", 0, EPERM },
  { "process_vm_writev", 0, EPERM },
  { "pidfd_getfd", 0, EPERM },
  { "tkill", 0, EPERM },
  /* Namespaces and mounts. */
  { "unshare", 0, EPERM },
  { "setns", 0, EPERM },
  { "mount", 0, EPERM },
  { "umount", 0, EPERM },
  { "umount2", 0, EPERM },
  { "pivot_root", 0, EPERM },
  { "chroot", 0, EPERM },
  { "open_tree", 0, EPERM },
  { "open_tree_attr", 467, EPERM },
  { "move_mount", 0, EPERM },
  { "fsopen", 0, EPERM },
  { "fsconfig", 0, EPERM },
  { "fsmount", 0, EPERM },
  { "fspick", 0, EPERM },
  { "mount_setattr", 0, EPERM },
  /* Files' metadata, which landlock does not confine: anywhere, since a
   * file opened for reading is enough to change it. */
  { "chmod", 0, EPERM },
  { "fchmod", 0, EPERM },
  { "fchmodat", 0, EPERM },
  { "fchmodat2", 452, EPERM },
  { "chown", 0, EPERM },
  { "fchown", 0, EPERM },
  { "lchown", 0, EPERM },
  { "fchownat", 0, EPERM },
  { "utime", 0, EPERM },
  { "utimes", 0, EPERM },
  { "futimesat", 0, EPERM },
  { "utimensat", 0, EPERM },
  { "setxattr", 0, EPERM },
  { "lsetxattr", 0, EPERM },
  { "fsetxattr", 0, EPERM },
  { "setxattrat", 463, EPERM },
  { "removexattr", 0, EPERM },
  { "lremovexattr", 0, EPERM },
  { "fremovexattr", 0, EPERM },
  { "removexattrat", 466, EPERM },
  { "file_setattr", 469, EPERM },
  { "name_to_handle_at", 0, EPERM },
  { "open_by_handle_at", 0, EPERM },
  /* The kernel's and the system's. */
  { "init_module", 0, EPERM },
  { "finit_module", 0, EPERM },
  { "delete_module", 0, EPERM },
  { "kexec_load", 0, EPERM },
  { "kexec_file_load", 0, EPERM },
  { "reboot", 0, EPERM },
  { "bpf", 0, EPERM },
  { "perf_event_open", 0, EPERM },
  { "userfaultfd", 0, EPERM },
  { "keyctl", 0, EPERM },
  { "add_key", 0, EPERM },
  { "request_key", 0, EPERM },
  { "lsm_set_self_attr", 460, EPERM },
  { "swapon", 0, EPERM },
  { "swapoff", 0, EPERM },
  { "acct", 0, EPERM },
  { "syslog", 0, EPERM },
  { "quotactl", 0, EPERM },
  { "quotactl_fd", 443, EPERM },
  { "ioperm", 0, EPERM },
  { "iopl", 0, EPERM },
  { "modify_ldt", 0, EPERM },
  { "uselib", 0, EPERM },
  { "vhangup", 0, EPERM },
  { "settimeofday", 0, EPERM },
  { "clock_settime", 0, EPERM },
  { "clock_adjtime", 0, EPERM },
  { "adjtimex", 0, EPERM },
  { "sethostname", 0, EPERM },
  { "setdomainname", 0, EPERM },
  { "fanotify_init", 0, EPERM },
  { "nfsservctl", 0, EPERM },
  { "lookup_dcookie", 0, EPERM },
};

/* Calls that take a process id and may only name this process. */
static const char * const self_only[] = {
  "kill",               /* pid */
  "tgkill",             /* thread group */
  "rt_sigqueueinfo",    /* thread group */
  "rt_tgsigqueueinfo",  /* thread group */
  "pidfd_open",         /* pid */
};

/* Calls that take a process id and may only take 0, for this process. */
static const char * const zero_only[] = {
  "prlimit64",
  "move_pages",
  "migrate_pages",
};

/* libseccomp 2.5 does not know the newest calls by name; these
 * architectures number them alike (from 424 on). */
static gboolean
arch_numbers_new_calls_alike (void)
{
  switch (seccomp_arch_native ())
    {
    case SCMP_ARCH_X86_64:
    case SCMP_ARCH_AARCH64:
    case SCMP_ARCH_RISCV64:
    case SCMP_ARCH_PPC64LE:
    case SCMP_ARCH_PPC64:
    case SCMP_ARCH_S390X:
      return TRUE;

    default:
      return FALSE;
    }
}

/* __NR_SCMP_ERROR when this architecture has no such call. (Negative
 * numbers are libseccomp's for calls multiplexed on some architectures,
 * such as socket() through socketcall() on i386: it filters those too.) */
static int
resolve (const char *name,
         int         number)
{
  int nr = seccomp_syscall_resolve_name (name);

  if (nr == __NR_SCMP_ERROR && number > 0 && arch_numbers_new_calls_alike ())
    return number;

  return nr;
}

static gboolean
check (int          rc,
       const char  *what,
       GError     **error)
{
  if (rc == 0)
    return TRUE;

  /* @what is a system call's name, or a phrase marked with N_(). */
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-rc),
               "libseccomp: %s: %s", _(what), g_strerror (-rc));
  return FALSE;
}

static gboolean
add (scmp_filter_ctx       filter,
     int                   error_number,
     const char           *name,
     unsigned int          n_comparisons,
     const struct scmp_arg_cmp *comparisons,
     GError              **error)
{
  int nr = resolve (name, 0);

  if (nr == __NR_SCMP_ERROR)
    return TRUE;

  return check (seccomp_rule_add_array (filter, SCMP_ACT_ERRNO (error_number), nr,
                                        n_comparisons, comparisons),
                name, error);
}

/* Only threads: clone() without CLONE_THREAD makes a process. s390 swaps
 * clone's first two arguments. Under AddressSanitizer, the leak checker's
 * own (CLONE_UNTRACED) is let be. */
static gboolean
add_clone_rule (scmp_filter_ctx   filter,
                GError          **error)
{
  guint flags_arg = seccomp_arch_native () == SCMP_ARCH_S390X ||
                    seccomp_arch_native () == SCMP_ARCH_S390 ? 1 : 0;
#ifdef P_SANITIZED
  scmp_datum_t mask = CLONE_THREAD | CLONE_UNTRACED;
#else
  scmp_datum_t mask = CLONE_THREAD;
#endif
  struct scmp_arg_cmp no_thread = SCMP_CMP (flags_arg, SCMP_CMP_MASKED_EQ, mask, 0);

  return add (filter, EPERM, "clone", 1, &no_thread, error);
}

/* Without the network, no socket at all but socketpair()'s: a local one
 * reaches the user's session (D-Bus, say), which would do what the
 * worker may not. With it, Internet sockets, and routing netlink ones for
 * name resolution. */
static gboolean
add_socket_rules (scmp_filter_ctx   filter,
                  gboolean          network_allowed,
                  GError          **error)
{
  struct scmp_arg_cmp comparison;

  if (!network_allowed)
    return add (filter, EPERM, "socket", 0, NULL, error);

  for (int domain = 0; domain < AF_MAX; domain++)
    {
      if (domain == AF_INET || domain == AF_INET6 || domain == AF_NETLINK)
        continue;

      comparison = SCMP_CMP32 (0, SCMP_CMP_EQ, domain);
      if (!add (filter, EPERM, "socket", 1, &comparison, error))
        return FALSE;
    }

  comparison = SCMP_CMP32 (0, SCMP_CMP_GE, AF_MAX);
  if (!add (filter, EPERM, "socket", 1, &comparison, error))
    return FALSE;

  {
    struct scmp_arg_cmp other_netlink[] = {
      SCMP_CMP32 (0, SCMP_CMP_EQ, AF_NETLINK),
      SCMP_CMP32 (2, SCMP_CMP_NE, 0 /* NETLINK_ROUTE */),
    };

    return add (filter, EPERM, "socket", G_N_ELEMENTS (other_netlink), other_netlink, error);
  }
}

/* The pool and the user's other processes are out of reach: signals go
 * to this process only, limits and pages are its own, and priorities too
 * (whose other forms renice every process of the user). */
static gboolean
add_other_process_rules (scmp_filter_ctx   filter,
                         GError          **error)
{
  scmp_datum_t self = getpid ();

  for (guint i = 0; i < G_N_ELEMENTS (self_only); i++)
    {
      struct scmp_arg_cmp below = SCMP_CMP32 (0, SCMP_CMP_LT, self);
      struct scmp_arg_cmp above = SCMP_CMP32 (0, SCMP_CMP_GT, self);

      if (!add (filter, EPERM, self_only[i], 1, &below, error) ||
          !add (filter, EPERM, self_only[i], 1, &above, error))
        return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (zero_only); i++)
    {
      struct scmp_arg_cmp other = SCMP_CMP32 (0, SCMP_CMP_NE, 0);

      if (!add (filter, EPERM, zero_only[i], 1, &other, error))
        return FALSE;
    }

  {
    struct scmp_arg_cmp not_process = SCMP_CMP32 (0, SCMP_CMP_NE, PRIO_PROCESS);
    struct scmp_arg_cmp not_io_process = SCMP_CMP32 (0, SCMP_CMP_NE, 1 /* IOPRIO_WHO_PROCESS */);

    return add (filter, EPERM, "setpriority", 1, &not_process, error) &&
           add (filter, EPERM, "ioprio_set", 1, &not_io_process, error);
  }
}

/* Typing into the terminal the worker shares with the pool would have the
 * shell run it once the pool exits. */
static gboolean
add_terminal_rules (scmp_filter_ctx   filter,
                    GError          **error)
{
  const unsigned long requests[] = { TIOCSTI, TIOCLINUX };

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      struct scmp_arg_cmp request = SCMP_CMP (1, SCMP_CMP_MASKED_EQ, 0xffffffffu, requests[i]);

      if (!add (filter, EPERM, "ioctl", 1, &request, error))
        return FALSE;
    }

  return TRUE;
}

gboolean
p_seccomp_apply (const PSeccompOptions  *options,
                 GError                **error)
{
  scmp_filter_ctx filter = seccomp_init (SCMP_ACT_ALLOW);
  gboolean ok = TRUE;

  if (filter == NULL)
    {
      /* Translators: why the seccomp mechanism is not in force;
       * seccomp_init is the name of a function. */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("libseccomp: seccomp_init failed"));
      return FALSE;
    }

  /* Another architecture's calls (int 0x80, x32) would dodge the filter:
   * they kill the process (the thread, before Linux 4.14). */
  if (seccomp_attr_set (filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
    /* Translators: what libseccomp failed to set up, in
     * “libseccomp: bad architecture: <why>”: the action for the calls
     * of another architecture. */
    ok = check (seccomp_attr_set (filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL), N_("bad architecture"), error);
  /* Translators: what libseccomp failed to set up, in
   * “libseccomp: every thread: <why>”: a filter for every thread. */
  ok = ok && check (seccomp_attr_set (filter, SCMP_FLTATR_CTL_TSYNC, 1), N_("every thread"), error);
  /* A tree rather than a list, where this libseccomp can. */
  seccomp_attr_set (filter, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (guint i = 0; ok && i < G_N_ELEMENTS (denied); i++)
    {
      int nr = resolve (denied[i].name, denied[i].number);

      if (nr != __NR_SCMP_ERROR)
        ok = check (seccomp_rule_add (filter, SCMP_ACT_ERRNO (denied[i].error), nr, 0), denied[i].name, error);
    }

  ok = ok &&
       add_clone_rule (filter, error) &&
       add_socket_rules (filter, options->network_allowed, error) &&
       add_other_process_rules (filter, error) &&
       add_terminal_rules (filter, error);

  if (ok && options->deny_truncate)
    ok = add (filter, EPERM, "truncate", 0, NULL, error);

  if (ok)
    ok = check (seccomp_load (filter), "seccomp_load", error);

  seccomp_release (filter);
  return ok;
}

#else /* !HAVE_LIBSECCOMP */

gboolean
p_seccomp_apply (const PSeccompOptions  *options,
                 GError                **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       _("processing-glib was built without libseccomp"));
  return FALSE;
}

#endif
