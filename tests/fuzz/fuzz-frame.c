/* fuzz-frame.c: libFuzzer target for the frame decoder and the message
 * checks both ends make.
 *
 * The first byte picks the direction (pool → worker or worker → pool) and
 * how the rest is cut into reads; the rest is the stream.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdint.h>
#include <string.h>

#include "test-support.h"
#include "p-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Kept small, so that the fuzzer explores the limit check rather than
 * allocating the default 512 MiB. */
#define MAX_MESSAGE_SIZE (1024 * 1024)

static void
check_message (PMessageKind  kind,
               GVariant     *body)
{
  switch (kind)
    {
    case P_MESSAGE_HELLO:
      {
        g_autofree const char **names = NULL;
        guint32 version;
        gint64 pid;

        g_variant_get (body, "(ux^a&s)", &version, &pid, &names);
      }
      break;

    case P_MESSAGE_CHUNK_RESULT:
      {
        g_autoptr(GVariant) values = g_variant_get_child_value (body, 1);
        g_autoptr(GVariant) errors = g_variant_get_child_value (body, 2);
        gsize n = g_variant_n_children (values) + g_variant_n_children (errors);

        for (PChunkRule rule = P_CHUNK_RULE_MAP; rule <= P_CHUNK_RULE_EITHER; rule++)
          for (guint n_items = n > 0 ? n - 1 : 0; n_items <= n + 1; n_items++)
            p_chunk_result_is_valid (values, errors, n_items, rule);

        /* What the pool does with a valid one's items. */
        for (gsize i = 0; i < g_variant_n_children (values); i++)
          {
            g_autoptr(GVariant) boxed = g_variant_get_child_value (values, i);
            g_autoptr(GVariant) value = g_variant_get_variant (boxed);

            (void) value;
          }
      }
      break;

    case P_MESSAGE_CHUNK:
      if (p_chunk_message_holds_array (body))
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (body, 2);
          g_autoptr(GVariant) items = g_variant_get_variant (boxed);

          for (gsize i = 0; i < g_variant_n_children (items); i++)
            {
              g_autoptr(GVariant) item = g_variant_get_child_value (items, i);

              (void) item;
            }
        }
      break;

    case P_MESSAGE_ERROR:
      {
        const char *domain, *message;
        gint32 code;
        g_autoptr(GError) error = NULL;

        g_variant_get (body, "(t&si&s)", NULL, &domain, &code, &message);
        /* As the pool does, but without interning every domain the fuzzer
         * makes up. */
        if (p_error_domain_is_valid (domain))
          error = g_error_new_literal (g_quark_try_string (domain) ? g_quark_try_string (domain) : P_POOL_ERROR,
                                       code, message);
      }
      break;

    default:
      break;
    }

  /* Received messages are trusted from here on: re-encoding must work. */
  g_clear_pointer (&body, g_variant_unref);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PFrameReader) reader = NULL;
  PDirection direction;
  gsize step;

  if (size < 1)
    return 0;

  direction = data[0] & 1 ? P_DIRECTION_TO_POOL : P_DIRECTION_TO_WORKER;
  step = 1 + (data[0] >> 1) * 37;
  data++;
  size--;

  reader = p_frame_reader_new (direction, MAX_MESSAGE_SIZE);

  for (gsize offset = 0; offset < size; offset += step)
    {
      g_autoptr(GError) error = NULL;
      PMessage *message;

      p_frame_reader_feed (reader, data + offset, MIN (step, size - offset));

      while (p_frame_reader_pop (reader, &message, &error))
        {
          g_autoptr(GBytes) again = NULL;
          PMessageKind kind = message->kind;
          GVariant *body = message_dup_body (message);

          /* What is read in place is what GLib finds in the body. */
          if (kind != P_MESSAGE_HELLO && kind != P_MESSAGE_FEATURES)
            {
              guint64 id;

              g_variant_get_child (body, 0, "t", &id);
              g_assert (id == message->id);
            }
          if (kind == P_MESSAGE_TASK || kind == P_MESSAGE_RESULT)
            {
              g_autoptr(GVariant) boxed = g_variant_get_child_value (body, g_variant_n_children (body) - 1);
              g_autoptr(GVariant) value = g_variant_get_variant (boxed);
              g_autoptr(GVariant) read_value = p_message_dup_value (message);

              g_assert (g_variant_equal (value, read_value));
            }
          if (kind == P_MESSAGE_TASK || kind == P_MESSAGE_CHUNK || kind == P_MESSAGE_ERROR)
            g_assert (strcmp (message->name, body_name (body)) == 0);
          p_message_free (message);

          g_assert (p_message_kind_is_valid (kind, direction));
          g_assert (g_variant_is_of_type (body, p_message_kind_get_body_type (kind)));
          g_assert (g_variant_is_normal_form (body));

          again = p_message_encode (kind, body, G_MAXUINT32 - 8, NULL);
          g_assert (again != NULL);
          g_assert (g_bytes_get_size (again) == 8 + ((g_variant_get_size (body) + 7) & ~(gsize) 7));

          check_message (kind, body);
        }

      if (error != NULL)
        {
          g_assert (error->domain == P_POOL_ERROR);
          return 0;
        }
    }

  return 0;
}
