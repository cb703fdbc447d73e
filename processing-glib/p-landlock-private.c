/* p-landlock-private.c: landlock, through its system calls
 *
 * Landlock's ABI is stable and versioned: the structures and constants
 * below are the kernel's (include/uapi/linux/landlock.h), written out so
 * that a library built against older headers (Debian 12 has those of
 * Linux 6.1, ABI 2) still uses what a newer kernel has.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* O_PATH */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>

#include "p-landlock-private.h"
#include "p-i18n-private.h"

#ifndef SYS_landlock_create_ruleset
# define SYS_landlock_create_ruleset 444
# define SYS_landlock_add_rule 445
# define SYS_landlock_restrict_self 446
#endif

/* {{{ The kernel's ABI */

#define CREATE_RULESET_VERSION (1U << 0)
#define RULE_PATH_BENEATH 1
#define RESTRICT_SELF_TSYNC (1U << 3)          /* ABI 8 */

#define ACCESS_FS_EXECUTE     (1ULL << 0)
#define ACCESS_FS_WRITE_FILE  (1ULL << 1)
#define ACCESS_FS_READ_FILE   (1ULL << 2)
#define ACCESS_FS_READ_DIR    (1ULL << 3)
#define ACCESS_FS_REMOVE_DIR  (1ULL << 4)
#define ACCESS_FS_REMOVE_FILE (1ULL << 5)
#define ACCESS_FS_MAKE_CHAR   (1ULL << 6)
#define ACCESS_FS_MAKE_DIR    (1ULL << 7)
#define ACCESS_FS_MAKE_REG    (1ULL << 8)
#define ACCESS_FS_MAKE_SOCK   (1ULL << 9)
#define ACCESS_FS_MAKE_FIFO   (1ULL << 10)
#define ACCESS_FS_MAKE_BLOCK  (1ULL << 11)
#define ACCESS_FS_MAKE_SYM    (1ULL << 12)
#define ACCESS_FS_REFER       (1ULL << 13)     /* ABI 2 */
#define ACCESS_FS_TRUNCATE    (1ULL << 14)     /* ABI 3 */
#define ACCESS_FS_IOCTL_DEV   (1ULL << 15)     /* ABI 5 */

#define ACCESS_NET_BIND_TCP    (1ULL << 0)     /* ABI 4 */
#define ACCESS_NET_CONNECT_TCP (1ULL << 1)

#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL               (1ULL << 1)

/* Each ABI passes the prefix of this it knows. */
struct ruleset_attr
{
  guint64 handled_access_fs;
  guint64 handled_access_net;  /* ABI 4 */
  guint64 scoped;              /* ABI 6 */
};

struct path_beneath_attr
{
  guint64 allowed_access;
  gint32 parent_fd;
} __attribute__ ((packed));

/* Only these apply to a file that is not a directory. */
#define ACCESS_FILE (ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE | \
                     ACCESS_FS_TRUNCATE | ACCESS_FS_IOCTL_DEV)

/* }}} */

struct _PLandlock
{
  guint abi;
  int fd;
  guint64 handled_fs;
  gboolean handles_network;
  gboolean handles_scopes;
};

static gboolean
set_error_from_errno (GError     **error,
                      int          saved_errno,
                      const char  *call)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s: %s", call, g_strerror (saved_errno));
  return FALSE;
}

guint
p_landlock_get_abi (GError **error)
{
  long abi = syscall (SYS_landlock_create_ruleset, NULL, 0, CREATE_RULESET_VERSION);
  int saved_errno = errno;

  if (abi > 0)
    return abi;

  if (saved_errno == ENOSYS)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         /* Translators: why a sandbox mechanism is not in
                          * force, shown in parentheses after its name:
                          * “landlock-filesystem (%s)”. */
                         _("the kernel has no landlock (it takes Linux 5.13 or later, built with CONFIG_SECURITY_LANDLOCK)"));
  else if (saved_errno == EOPNOTSUPP)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         /* Translators: why a sandbox mechanism is not in
                          * force, shown in parentheses after its name:
                          * “landlock-filesystem (%s)”. lsm= is a parameter of
                          * the kernel, not to be translated. */
                         _("landlock is disabled (add it to the kernel’s lsm= boot parameter)"));
  else
    set_error_from_errno (error, saved_errno, "landlock_create_ruleset");

  return 0;
}

static guint64
handled_fs_for_abi (guint abi)
{
  guint64 access = ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE |
                   ACCESS_FS_READ_DIR | ACCESS_FS_REMOVE_DIR | ACCESS_FS_REMOVE_FILE |
                   ACCESS_FS_MAKE_CHAR | ACCESS_FS_MAKE_DIR | ACCESS_FS_MAKE_REG |
                   ACCESS_FS_MAKE_SOCK | ACCESS_FS_MAKE_FIFO | ACCESS_FS_MAKE_BLOCK |
                   ACCESS_FS_MAKE_SYM;

  if (abi >= 2)
    access |= ACCESS_FS_REFER;
  if (abi >= P_LANDLOCK_ABI_TRUNCATE)
    access |= ACCESS_FS_TRUNCATE;
  if (abi >= 5)
    access |= ACCESS_FS_IOCTL_DEV;

  return access;
}

PLandlock *
p_landlock_new (guint      abi,
                gboolean   restrict_network,
                gboolean   scoped,
                GError   **error)
{
  struct ruleset_attr attr = { 0 };
  gsize size = sizeof attr.handled_access_fs;
  PLandlock *self;
  int fd;

  g_assert (abi > 0);

  attr.handled_access_fs = handled_fs_for_abi (abi);
  if (abi >= P_LANDLOCK_ABI_NETWORK)
    {
      size = G_STRUCT_OFFSET (struct ruleset_attr, scoped);
      /* No rule allows any port. */
      if (restrict_network)
        attr.handled_access_net = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP;
    }
  if (abi >= P_LANDLOCK_ABI_SCOPES)
    {
      size = sizeof attr;
      if (scoped)
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
    }

  fd = syscall (SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0)
    {
      set_error_from_errno (error, errno, "landlock_create_ruleset");
      return NULL;
    }

  self = g_new0 (PLandlock, 1);
  self->abi = abi;
  self->fd = fd;
  self->handled_fs = attr.handled_access_fs;
  self->handles_network = attr.handled_access_net != 0;
  self->handles_scopes = attr.scoped != 0;

  return self;
}

gboolean
p_landlock_handles_network (PLandlock *self)
{
  return self->handles_network;
}

gboolean
p_landlock_handles_scopes (PLandlock *self)
{
  return self->handles_scopes;
}

static guint64
access_rights (PLandlock       *self,
               PLandlockAccess  access)
{
  switch (access)
    {
    case P_LANDLOCK_READ:
      return ACCESS_FS_READ_FILE | ACCESS_FS_READ_DIR;

    case P_LANDLOCK_READ_WRITE:
      /* Neither executing nor devices. */
      return self->handled_fs & ~(ACCESS_FS_EXECUTE | ACCESS_FS_MAKE_CHAR |
                                  ACCESS_FS_MAKE_BLOCK | ACCESS_FS_IOCTL_DEV);

    case P_LANDLOCK_DEVICE:
      /* O_TRUNC, as a shell's "> /dev/null" has, does nothing to a device. */
      return ACCESS_FS_READ_FILE | ACCESS_FS_WRITE_FILE | ACCESS_FS_TRUNCATE;

    default:
      g_assert_not_reached ();
    }
}

gboolean
p_landlock_allow (PLandlock        *self,
                  const char       *path,
                  PLandlockAccess   access,
                  GError          **error)
{
  struct path_beneath_attr attr = { 0 };
  struct stat st;
  int saved_errno;
  int fd;

  /* Follows symbolic links: the rule is on what the path names. */
  fd = open (path, O_PATH | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return TRUE;
  if (fd < 0)
    return set_error_from_errno (error, errno, path);

  if (fstat (fd, &st) != 0)
    {
      saved_errno = errno;
      close (fd);
      return set_error_from_errno (error, saved_errno, path);
    }

  attr.allowed_access = access_rights (self, access) & self->handled_fs;
  if (!S_ISDIR (st.st_mode))
    attr.allowed_access &= ACCESS_FILE;
  attr.parent_fd = fd;

  if (syscall (SYS_landlock_add_rule, self->fd, RULE_PATH_BENEATH, &attr, 0) != 0)
    {
      saved_errno = errno;
      close (fd);
      return set_error_from_errno (error, saved_errno, path);
    }

  close (fd);
  return TRUE;
}

gboolean
p_landlock_restrict (PLandlock  *self,
                     gboolean    all_threads,
                     GError    **error)
{
  guint flags = 0;

  if (all_threads)
    {
      g_assert (self->abi >= P_LANDLOCK_ABI_TSYNC);
      flags |= RESTRICT_SELF_TSYNC;
    }

  if (syscall (SYS_landlock_restrict_self, self->fd, flags) != 0)
    return set_error_from_errno (error, errno, "landlock_restrict_self");

  return TRUE;
}

void
p_landlock_free (PLandlock *self)
{
  if (self == NULL)
    return;

  close (self->fd);
  g_free (self);
}
