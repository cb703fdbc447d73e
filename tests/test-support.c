/* test-support.c: what the suites and the fuzz targets share, and the
 * code only they need: messages built with GVariant (the frames written
 * directly must equal them), generators of random values, and the
 * verdicts of the normal-form check and the frame reader against GLib's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test-support.h"
#include "normal-form-oracle.h"
#include "p-error.h"

/* {{{ Messages built with GVariant */

/* Message bodies, as GLib builds them. */

GVariant *
message_new_task (guint64     id,
                  const char *function,
                  GVariant   *args)
{
  GVariant *fields[3] = {
    g_variant_new_uint64 (id),
    g_variant_new_string (function),
    g_variant_new_variant (args),
  };

  return g_variant_new_tuple (fields, 3);
}

GVariant *
message_new_chunk (guint64     id,
                   const char *function,
                   GVariant   *items,
                   gboolean    stop_at_first_error)
{
  GVariant *fields[4] = {
    g_variant_new_uint64 (id),
    g_variant_new_string (function),
    g_variant_new_variant (items),
    g_variant_new_boolean (stop_at_first_error),
  };

  return g_variant_new_tuple (fields, 4);
}

/* The body of a CANCEL, a RECALL or a RECALLED. */
GVariant *
message_new_id (guint64 id)
{
  GVariant *field = g_variant_new_uint64 (id);

  return g_variant_new_tuple (&field, 1);
}

GVariant *
message_new_result (guint64   id,
                    GVariant *value)
{
  GVariant *fields[2] = {
    g_variant_new_uint64 (id),
    g_variant_new_variant (value),
  };

  return g_variant_new_tuple (fields, 2);
}

GVariant *
message_new_error (guint64       id,
                   const GError *error)
{
  GVariant *fields[4] = {
    g_variant_new_uint64 (id),
    g_variant_new_string (g_quark_to_string (error->domain)),
    g_variant_new_int32 (error->code),
    g_variant_new_string (error->message),
  };

  return g_variant_new_tuple (fields, 4);
}

/* A chunk's results: when they all have one type T, as an "aT";
 * otherwise as an "av" (see p-chunk-results-private.c). The failures are
 * (index in the chunk, domain, code, message). */
GVariant *
message_new_chunk_result (guint64    id,
                          GVariant **values,
                          gsize      n_values,
                          GVariant  *errors)
{
  /* Variants are boxed again: an "av" always holds boxed results. */
  const GVariantType *type = p_variant_common_type (values, n_values);
  GVariant *fields[3];
  GVariant *array;

  if (type != NULL && g_variant_type_is_basic (type) &&
      p_variant_basic_size (g_variant_type_peek_string (type)[0]) > 0)
    {
      gsize size = p_variant_basic_size (g_variant_type_peek_string (type)[0]);
      guint8 *data = g_malloc (n_values * size);
      g_autoptr(GVariantType) array_type = g_variant_type_new_array (type);

      /* Fixed-size items are their bytes, one after the other. */
      for (gsize i = 0; i < n_values; i++)
        g_variant_store (values[i], data + i * size);
      array = g_variant_new_from_data (array_type, data, n_values * size, TRUE, g_free, data);
    }
  else if (type != NULL)
    {
      array = g_variant_new_array (type, values, n_values);
    }
  else
    {
      g_autofree GVariant **boxed = g_new (GVariant *, MAX (n_values, 1));

      for (gsize i = 0; i < n_values; i++)
        boxed[i] = g_variant_new_variant (values[i]);
      array = g_variant_new_array (G_VARIANT_TYPE_VARIANT, boxed, n_values);
    }

  fields[0] = g_variant_new_uint64 (id);
  fields[1] = g_variant_new_variant (array);
  fields[2] = errors;

  return g_variant_new_tuple (fields, 3);
}

/* The whole body, as a GVariant (made for a TASK or a RESULT). */
GVariant *
message_dup_body (const PMessage *message)
{
  g_autoptr(GBytes) bytes = NULL;

  if (message->body != NULL)
    return g_variant_ref (message->body);

  if (message->sealed && message->kind == P_MESSAGE_RESULT)
    return g_variant_ref_sink (message_new_result (message->id, message->value));

  bytes = p_message_ref_bytes (message);
  return g_variant_ref_sink (g_variant_new_from_bytes (p_message_kind_get_body_type (message->kind),
                                                       bytes, TRUE));
}

/* A frame of these segments, shared (so a test can make any frame). */
PFrame *
frame_new_from_segments (GBytes * const *segments,
                         guint           n_segments)
{
  PFrame *frame = p_frame_alloc (0);

  g_assert (n_segments > 0);

  if (n_segments > 1)
    frame->segments = g_new (PFrameSegment, n_segments);
  frame->n_segments = n_segments;

  for (guint i = 0; i < n_segments; i++)
    {
      PFrameSegment *segment = &frame->segments[i];

      segment->shared = g_bytes_ref (segments[i]);
      segment->data = g_bytes_get_data (segments[i], &segment->size);
      frame->size += segment->size;
    }

  return frame;
}

/* The normal-form check, walking every container but fixed-size tuples. */
gboolean
variant_is_normal_form_walking (GVariant *value)
{
  const PWalkOptions options = { 0, TRUE };

  return p_variant_is_normal_form_full (value, 0, &options);
}

/* }}} */
/* {{{ Frames */

GBytes *
encode (PMessageKind  kind,
        GVariant     *body)
{
  g_autoptr(GError) error = NULL;
  GBytes *frame = p_message_encode (kind, body, TEST_MAX_MESSAGE_SIZE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (frame);

  return frame;
}

GBytes *
raw_frame (guint32       size,
           guint32       kind,
           const guint8 *body,
           gsize         body_size)
{
  GByteArray *frame = g_byte_array_new ();
  guint32 header[2] = { size, kind };

  g_byte_array_append (frame, (const guint8 *) header, sizeof header);
  if (body_size > 0)
    g_byte_array_append (frame, body, body_size);

  return g_byte_array_free_to_bytes (frame);
}

/* The string after the id, as GLib reads it. */
const char *
body_name (GVariant *body)
{
  const char *name;

  g_variant_get_child (body, 1, "&s", &name);
  return name;
}

/* A frame's bytes, as a queue hands them to writev(), joined. */
GBytes *
joined (PFrame *frame)
{
  g_autoptr(PFrame) owned = frame;
  GByteArray *bytes = g_byte_array_new ();
  PFrameQueue queue;

  p_frame_queue_init (&queue);
  p_frame_queue_push (&queue, owned);
  g_assert_cmpuint (queue.size, ==, p_frame_get_size (owned));

  while (!p_frame_queue_is_empty (&queue))
    {
      GOutputVector vectors[2];
      gsize n_vectors = p_frame_queue_peek (&queue, vectors, G_N_ELEMENTS (vectors));
      gsize written = 0;

      for (gsize i = 0; i < n_vectors; i++)
        {
          g_byte_array_append (bytes, vectors[i].buffer, vectors[i].size);
          written += vectors[i].size;
        }
      p_frame_queue_advance (&queue, written);
    }

  p_frame_queue_clear (&queue);

  return g_byte_array_free_to_bytes (bytes);
}

void
assert_same_frame (PFrame *direct,
                   GBytes *reference)
{
  g_autoptr(GBytes) frame = joined (direct);

  g_assert_cmpuint (g_bytes_get_size (frame), ==, g_bytes_get_size (reference));
  g_assert_true (g_bytes_equal (frame, reference));
  g_bytes_unref (reference);
}

/* }}} */
/* {{{ Random values, and the verdicts on them */

gboolean
fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) != -1 || errno != EBADF;
}

char *
random_type (GRand *rand,
             int    depth)
{
  static const char basics[] = "bynqiuxthdsog";
  int choice = g_rand_int_range (rand, 0, depth > 3 ? 10 : 20);

  if (choice < 10)
    return g_strndup (&basics[g_rand_int_range (rand, 0, strlen (basics))], 1);
  if (choice < 12)
    return g_strdup ("v");
  if (choice < 15)
    {
      g_autofree char *element = random_type (rand, depth + 1);
      return g_strconcat ("a", element, NULL);
    }
  if (choice < 16)
    {
      g_autofree char *element = random_type (rand, depth + 1);
      return g_strconcat ("m", element, NULL);
    }
  if (choice < 19)
    {
      GString *tuple = g_string_new ("(");
      int n = g_rand_int_range (rand, 0, 5);

      for (int i = 0; i < n; i++)
        {
          g_autofree char *member = random_type (rand, depth + 1);
          g_string_append (tuple, member);
        }
      g_string_append_c (tuple, ')');
      return g_string_free (tuple, FALSE);
    }

  {
    g_autofree char *value = random_type (rand, depth + 1);
    return g_strdup_printf ("a{%c%s}", basics[g_rand_int_range (rand, 0, strlen (basics))], value);
  }
}

GVariant *
random_value (GRand              *rand,
              const GVariantType *type,
              int                 depth)
{
  const char *type_string = g_variant_type_peek_string (type);

  switch (type_string[0])
    {
    case 'b': return g_variant_new_boolean (g_rand_boolean (rand));
    case 'y': return g_variant_new_byte (g_rand_int (rand));
    case 'n': return g_variant_new_int16 (g_rand_int (rand));
    case 'q': return g_variant_new_uint16 (g_rand_int (rand));
    case 'i': return g_variant_new_int32 (g_rand_int (rand));
    case 'u': return g_variant_new_uint32 (g_rand_int (rand));
    case 'x': return g_variant_new_int64 ((gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)));
    case 't': return g_variant_new_uint64 (g_rand_int (rand));
    case 'h': return g_variant_new_handle (g_rand_int (rand));
    case 'd': return g_variant_new_double (g_rand_double (rand));
    case 's':
      {
        g_autofree char *text = g_strnfill (g_rand_int_range (rand, 0, depth ? 12 : 300), 'a' + g_rand_int_range (rand, 0, 26));
        return g_variant_new_string (text);
      }
    case 'o': return g_variant_new_object_path (g_rand_boolean (rand) ? "/" : "/org/example/x");
    case 'g': return g_variant_new_signature (g_rand_boolean (rand) ? "" : "a{sv}");
    case 'v':
      {
        g_autofree char *inner = depth > 4 ? g_strdup ("i") : random_type (rand, depth + 1);
        return g_variant_new_variant (random_value (rand, G_VARIANT_TYPE (inner), depth + 1));
      }
    case 'm':
      return g_variant_new_maybe (g_variant_type_element (type),
                                  g_rand_boolean (rand) ? random_value (rand, g_variant_type_element (type), depth + 1) : NULL);
    case 'a':
      {
        const GVariantType *element = g_variant_type_element (type);
        /* Now and then a long one, so that offsets take 2 or 4 bytes. */
        int n = g_rand_int_range (rand, 0, 100) < 5 ? g_rand_int_range (rand, 100, 3000) : g_rand_int_range (rand, 0, 5);
        g_autofree GVariant **items = NULL;

        /* Long arrays of small things only, or it never ends. */
        if (depth > 2 || !g_variant_type_is_basic (element))
          n = MIN (n, 4);
        items = g_new (GVariant *, MAX (n, 1));
        for (int i = 0; i < n; i++)
          items[i] = random_value (rand, element, depth + 1);
        return g_variant_new_array (element, items, n);
      }
    case '(': case '{':
      {
        GPtrArray *members = g_ptr_array_new ();
        GVariant *value;

        for (const GVariantType *member = g_variant_type_first (type); member; member = g_variant_type_next (member))
          g_ptr_array_add (members, random_value (rand, member, depth + 1));

        value = type_string[0] == '('
          ? g_variant_new_tuple ((GVariant **) members->pdata, members->len)
          : g_variant_new_dict_entry (members->pdata[0], members->pdata[1]);
        g_ptr_array_unref (members);
        return value;
      }
    default:
      g_assert_not_reached ();
    }
}

/* A copy of @bytes with one random change: a bit flipped, cut short,
 * zeros added, a byte near the end replaced, or (when @type_char_at is
 * not negative) the type character there replaced by another. */
GBytes *
damaged_copy (GRand  *rand,
              GBytes *bytes,
              gssize  type_char_at)
{
  static const char types[] = "bynqiuxthdsogv";
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autoptr(GByteArray) damaged = g_byte_array_new ();
  int how = g_rand_int_range (rand, 0, type_char_at >= 0 ? 5 : 4);

  if (size > 0)
    g_byte_array_append (damaged, data, size);
  if (how == 0 && size > 0)
    damaged->data[g_rand_int_range (rand, 0, size)] ^= 1 << g_rand_int_range (rand, 0, 8);
  else if (how == 1 && size > 0)
    g_byte_array_set_size (damaged, g_rand_int_range (rand, 0, size));
  else if (how == 2)
    g_byte_array_append (damaged, (const guint8 *) "\0\0\0\0\0\0\0\0", g_rand_int_range (rand, 1, 9));
  else if (how == 3 && size > 0)
    damaged->data[size - 1 - g_rand_int_range (rand, 0, MIN (size, 8))] = g_rand_int (rand);
  else if (how == 4)
    damaged->data[type_char_at] = types[g_rand_int_range (rand, 0, strlen (types))];

  return g_bytes_new (damaged->data, damaged->len);
}

void
assert_same_verdict (const GVariantType *type,
                     GBytes             *bytes,
                     gboolean            expect_normal)
{
  g_autoptr(GBytes) padded = normal_form_with_slack (bytes);
  g_autoptr(GVariant) ours = g_variant_ref_sink (g_variant_new_from_bytes (type, padded, FALSE));
  gboolean our_verdict, their_verdict;

  if (g_getenv ("P_TEST_DUMP_CASES"))
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (bytes, &size);
      g_printerr ("CASE %s", g_variant_type_peek_string (type));
      for (gsize i = 0; i < size; i++)
        g_printerr (" %02x", data[i]);
      g_printerr ("\n");
    }

  our_verdict = variant_is_normal_form_walking (ours);
  their_verdict = normal_form_oracle (type, bytes);

  if (our_verdict != their_verdict)
    {
      g_autofree char *hex = g_strdup ("");
      gsize size;
      const guint8 *data = g_bytes_get_data (bytes, &size);

      for (gsize i = 0; i < MIN (size, 64); i++)
        {
          char *more = g_strdup_printf ("%s%02x", hex, data[i]);
          g_free (hex);
          hex = more;
        }
      g_error ("type %s, %" G_GSIZE_FORMAT " bytes (%s...): ours says %d, GLib says %d",
               g_variant_type_peek_string (type), size, hex, our_verdict, their_verdict);
    }

  if (expect_normal)
    g_assert_true (our_verdict);
}

/* A TASK or RESULT body as the frame reader sees it: accepted when GLib's
 * serializer would have written those bytes, refused when GLib does not
 * call them normal (in between, GLib 2.74's few quirks, either), and when
 * accepted, with the value that GLib finds in it. */
void
assert_envelope_verdict (PMessageKind  kind,
                         GBytes       *body_bytes,
                         gboolean      expect_normal)
{
  const GVariantType *type = p_message_kind_get_body_type (kind);
  gsize size;
  const guint8 *data = g_bytes_get_data (body_bytes, &size);
  g_autofree guint8 *padded = g_malloc0 (size + 8);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GBytes) with_slack = normal_form_with_slack (body_bytes);
  g_autoptr(GVariant) as_glib_sees_it = g_variant_ref_sink (g_variant_new_from_bytes (type, with_slack, FALSE));
  g_autoptr(PFrameReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PMessage) message = NULL;
  gboolean canonical = normal_form_oracle (type, body_bytes);
  gboolean glib_normal = g_variant_is_normal_form (as_glib_sees_it);
  gboolean accepted;

  if (size > 0)
    memcpy (padded, data, size);
  frame = raw_frame (size, kind, padded, (size + 7) & ~(gsize) 7);
  reader = p_frame_reader_new (kind == P_MESSAGE_TASK ? P_DIRECTION_TO_WORKER : P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE);
  p_frame_reader_feed (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  accepted = p_frame_reader_pop (reader, &message, &error);

  if ((accepted && !glib_normal) || (!accepted && canonical))
    {
      g_autofree char *hex = g_strdup ("");

      for (gsize i = 0; i < MIN (size, 64); i++)
        {
          char *more = g_strdup_printf ("%s%02x", hex, data[i]);
          g_free (hex);
          hex = more;
        }
      g_error ("%s of %" G_GSIZE_FORMAT " bytes (%s...): the reader says %d, GLib %d, GLib's serializer %d (%s)",
               g_variant_type_peek_string (type), size, hex, accepted, glib_normal, canonical,
               error ? error->message : "no error");
    }

  if (expect_normal)
    g_assert_true (canonical);

  if (accepted)
    {
      g_autoptr(GVariant) body = message_dup_body (message);
      g_autoptr(GVariant) boxed = g_variant_get_child_value (body, g_variant_n_children (body) - 1);
      g_autoptr(GVariant) glib_value = g_variant_get_variant (boxed);
      g_autoptr(GVariant) value = NULL;
      guint64 id;

      g_assert_no_error (error);
      g_assert_cmpuint (message->kind, ==, kind);
      g_variant_get_child (body, 0, "t", &id);
      g_assert_cmpuint (message->id, ==, id);
      if (kind == P_MESSAGE_TASK)
        g_assert_cmpstr (message->name, ==, body_name (body));
      value = p_message_dup_value (message);
      g_assert_cmpstr (g_variant_get_type_string (value), ==, g_variant_get_type_string (glib_value));
      g_assert_true (g_variant_equal (value, glib_value));

      /* Boxed, it is the body's own bytes: nothing is copied. */
      {
        g_autoptr(GVariant) our_boxed = p_message_dup_boxed_value (message);
        g_autoptr(GBytes) message_bytes = p_message_ref_bytes (message);
        gsize message_size;
        const guint8 *message_data = g_bytes_get_data (message_bytes, &message_size);
        const guint8 *boxed_data = g_variant_get_data (our_boxed);

        g_assert_true (g_variant_equal (our_boxed, boxed));
        g_assert_true (boxed_data >= message_data && boxed_data + g_variant_get_size (our_boxed) <= message_data + message_size);
      }
    }
  else
    g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
}

/* }}} */
