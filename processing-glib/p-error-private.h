/* p-error-private.h: the errors the library makes in more than one place
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

GError *p_error_new_cancelled        (void);
GError *p_error_new_terminated       (void);
GError *p_error_new_unknown_function (const char *function);

G_END_DECLS
