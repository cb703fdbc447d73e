/* make-seeds.c: writes the seed corpora of the fuzz targets:
 *
 *   make-seeds DIR     →  DIR/frame/…, DIR/normal-form/…
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "p-message-writer-private.h"
#include "p-protocol-private.h"

static void
write_seed (const char *dir,
            const char *name,
            guint8      first_byte,
            GBytes     *content)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GByteArray) seed = g_byte_array_new ();

  g_byte_array_append (seed, &first_byte, 1);
  g_byte_array_append (seed, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  g_file_set_contents (path, (const char *) seed->data, seed->len, NULL);
}

static void
frame_seed (const char   *dir,
            const char   *name,
            PMessageKind  kind,
            GVariant     *body)
{
  g_autoptr(GBytes) frame = p_message_encode (kind, body, P_DEFAULT_MAX_MESSAGE_SIZE, NULL);
  guint8 direction = p_message_kind_is_valid (kind, P_DIRECTION_TO_POOL);

  write_seed (dir, name, direction, frame);
}

static void
value_seed (const char *dir,
            const char *name,
            const char *text)
{
  g_autoptr(GVariant) value = g_variant_parse (NULL, text, NULL, NULL, NULL);
  g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (value);
  const char *type = g_variant_get_type_string (value);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GByteArray) seed = g_byte_array_new ();

  g_byte_array_append (seed, (const guint8 *) type, strlen (type) + 1);
  g_byte_array_append (seed, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_file_set_contents (path, (const char *) seed->data, seed->len, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *frames = g_build_filename (argv[1], "frame", NULL);
  g_autofree char *values = g_build_filename (argv[1], "normal-form", NULL);
  g_autofree guint8 *big = g_malloc0 (40000);

  g_mkdir_with_parents (frames, 0755);
  g_mkdir_with_parents (values, 0755);

  frame_seed (frames, "task", P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 1, "square", g_variant_new_int64 (4)));
  frame_seed (frames, "task-bytes", P_MESSAGE_TASK,
              g_variant_new ("(tsv)", (guint64) 2, "echo", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 40000, 1)));
  frame_seed (frames, "chunk", P_MESSAGE_CHUNK,
              g_variant_new ("(ts@vb)", (guint64) 3, "square", g_variant_new_variant (g_variant_new_parsed ("[@x 1, 2, 3]")), TRUE));
  frame_seed (frames, "chunk-strings", P_MESSAGE_CHUNK,
              g_variant_new ("(ts@vb)", (guint64) 4, "f", g_variant_new_variant (g_variant_new_parsed ("['a', 'bc', '']")), FALSE));
  frame_seed (frames, "cancel", P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 3));
  frame_seed (frames, "recall", P_MESSAGE_RECALL, g_variant_new ("(t)", (guint64) 3));
  frame_seed (frames, "recalled", P_MESSAGE_RECALLED, g_variant_new ("(t)", (guint64) 3));
  frame_seed (frames, "hello", P_MESSAGE_HELLO,
              g_variant_new ("(ux^as)", 1, (gint64) 1234, (const char *[]) { "echo", "square", NULL }));
  frame_seed (frames, "features", P_MESSAGE_FEATURES,
              g_variant_new_parsed ("({'descriptors': <true>, 'shared-memory': <true>, 'from-the-future': <@u 1>},)"));
  frame_seed (frames, "progress", P_MESSAGE_PROGRESS, g_variant_new ("(tds)", (guint64) 1, 0.5, "half way"));
  frame_seed (frames, "result", P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 1, g_variant_new_int64 (16)));
  frame_seed (frames, "result-bytes", P_MESSAGE_RESULT,
              g_variant_new ("(tv)", (guint64) 2, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 40000, 1)));
  frame_seed (frames, "error", P_MESSAGE_ERROR, g_variant_new ("(tsis)", (guint64) 1, "g-io-error-quark", 19, "Operation was cancelled"));
  frame_seed (frames, "chunk-result", P_MESSAGE_CHUNK_RESULT,
              g_variant_new_parsed ("(@t 3, [<@x 1>, <@x 4>], [(@u 2, 'p-pool-error-quark', 0, 'failed')])"));

  value_seed (values, "task", "(@t 1, 'square', <@x 4>)");
  value_seed (values, "chunk-result", "(@t 3, [<@x 1>, <'four'>, <[@y 1, 2, 3]>], [(@u 3, 'e', 0, 'm')])");
  value_seed (values, "dict", "{'a': <1>, 'b': <(@ay [1, 2], 'x')>}");
  value_seed (values, "maybe", "(@mi 5, @ms nothing, [@mai [1], nothing])");
  value_seed (values, "nested", "<<<[(1, 'x', [true, false])]>>>");

  return 0;
}
