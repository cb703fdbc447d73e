/* normal-form-oracle.h: what normal form is, by GLib's own serializer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

GBytes   *normal_form_with_slack (GBytes             *bytes);
gboolean  normal_form_oracle     (const GVariantType *type,
                                  GBytes             *bytes);

G_END_DECLS
