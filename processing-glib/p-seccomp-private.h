/* p-seccomp-private.h: the sandbox's system call filter
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Built with AddressSanitizer: its leak checker stops the world with a
 * ptrace()ing thread of its own (clone() without CLONE_THREAD), and its
 * reports go to files (log_path); the sandbox lets both be. Sanitized
 * builds are for tests, never shipped. */
#if defined (__SANITIZE_ADDRESS__)
# define P_SANITIZED 1
#elif defined (__has_feature)
# if __has_feature (address_sanitizer)
#  define P_SANITIZED 1
# endif
#endif

typedef struct
{
  gboolean network_allowed;  /* Internet sockets are allowed */
  gboolean deny_truncate;    /* landlock does not confine truncate(2) */
} PSeccompOptions;

/* Loads the filter on every thread of the process. Fails with
 * G_IO_ERROR_NOT_SUPPORTED when the library was built without libseccomp. */
gboolean p_seccomp_apply (const PSeccompOptions  *options,
                          GError                **error);

G_END_DECLS
