/* p-sandbox-private.h: the sandbox's description, as the pool hands it to
 * its workers, and their report of what is in force
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-sandbox.h"

G_BEGIN_DECLS

/* The description, in every sandboxed worker's environment beside its
 * channel: an a{sv} in GVariant text form (docs/protocol.md, section 14).
 * Remote launchers forward it as every PROCESSING_GLIB_* variable. */
#define P_SANDBOX_ENV "PROCESSING_GLIB_SANDBOX"

#define P_SANDBOX_KEY_VERSION      "version"       /* u: 1 */
#define P_SANDBOX_KEY_READ         "read"          /* aay: paths it may read, beside the system's */
#define P_SANDBOX_KEY_WRITE        "write"         /* aay: paths it may read and write */
#define P_SANDBOX_KEY_NETWORK      "network"       /* b: it may use the network */
#define P_SANDBOX_KEY_MEMORY_LIMIT "memory-limit"  /* t: bytes; 0 for none */

#define P_SANDBOX_DESCRIPTION_VERSION 1

/* The worker's report, under the FEATURES key P_FEATURE_SANDBOX: an a{sv}. */
#define P_SANDBOX_REPORT_APPLIED      "applied"      /* as: mechanisms in force (their nicks) */
#define P_SANDBOX_REPORT_REFUSED      "refused"      /* a{ss}: mechanism → why it is not */
#define P_SANDBOX_REPORT_MEMORY_LIMIT "memory-limit" /* t: the limit in force, in bytes */
#define P_SANDBOX_REPORT_MEMORY_BASE  "memory-base"  /* t: what the worker had when it applied it */
#define P_SANDBOX_REPORT_LANDLOCK_ABI "landlock-abi" /* u: the kernel's landlock ABI, 0 for none */

/* What p_sandbox_new() asks for. */
#define P_SANDBOX_DEFAULT_MEMORY_LIMIT ((guint64) 1024 * 1024 * 1024)
#define P_SANDBOX_DEFAULT_REQUIRED (P_SANDBOX_MECHANISM_NO_NEW_PRIVILEGES | \
                                    P_SANDBOX_MECHANISM_RESOURCE_LIMITS |   \
                                    P_SANDBOX_MECHANISM_SECCOMP |           \
                                    P_SANDBOX_MECHANISM_LANDLOCK_FILESYSTEM)
#define P_SANDBOX_ALL_MECHANISMS ((PSandboxMechanisms) 0xff)

/* The description of @self for workers started by @argv: the "NAME=VALUE"
 * pairs of their environment. */
char               **p_sandbox_build_environment   (PSandbox           *self,
                                                    const char * const *argv);

/* The mechanisms that have something to do under a description that
 * does, or does not, allow the network. */
PSandboxMechanisms   p_sandbox_mechanisms_applicable (gboolean          network_allowed);

/* One mechanism's nick ("seccomp", "landlock-filesystem", ...), and back
 * (0 for a nick that is not one). */
const char          *p_sandbox_mechanism_get_nick  (PSandboxMechanisms  mechanism);
PSandboxMechanisms   p_sandbox_mechanism_from_nick (const char         *nick);

/* "seccomp, landlock-filesystem": for messages. */
char                *p_sandbox_mechanisms_to_string (PSandboxMechanisms mechanisms);

G_END_DECLS
