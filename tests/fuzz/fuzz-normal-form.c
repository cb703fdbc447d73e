/* fuzz-normal-form.c: libFuzzer target holding p_variant_is_normal_form()
 * to GLib's answer.
 *
 * The input is a type string, a zero byte, then the serialized value.
 * Whatever the bytes, our check must say "normal" exactly when GLib does
 * and the bytes are what serializing the value gives.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test-support.h"
#include "normal-form-oracle.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const uint8_t *end = memchr (data, 0, MIN (size, 64));
  g_autoptr(GBytes) unpadded = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) ours = NULL;
  g_autoptr(GVariant) theirs = NULL;
  gboolean our_verdict, their_verdict;
  const GVariantType *type;

  if (end == NULL || !g_variant_type_string_is_valid ((const char *) data) ||
      !g_variant_type_is_definite (G_VARIANT_TYPE ((const char *) data)))
    return 0;

  type = G_VARIANT_TYPE ((const char *) data);
  unpadded = g_bytes_new (end + 1, size - (end + 1 - data));
  /* Zeros after the value, as the frame reader leaves. */
  bytes = normal_form_with_slack (unpadded);

  ours = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, FALSE));
  theirs = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, FALSE));

  our_verdict = variant_is_normal_form_walking (ours);
  their_verdict = normal_form_oracle (type, bytes);

  /* abort(), not g_error(): libFuzzer keeps the input of a SIGABRT. */
  if (our_verdict != their_verdict)
    {
      g_printerr ("type %s, %" G_GSIZE_FORMAT " bytes: ours says %d, the oracle %d\n",
                  (const char *) data, g_bytes_get_size (bytes), our_verdict, their_verdict);
      abort ();
    }

  /* The production check agrees with GLib or is stricter. */
  {
    g_autoptr(GVariant) production = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, FALSE));

    if (p_variant_is_normal_form (production))
      g_assert (g_variant_is_normal_form (theirs));
  }

  return 0;
}
