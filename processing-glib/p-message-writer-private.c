/* p-message-writer-private.c: messages written as frames
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-message-writer-private.h"
#include "p-normal-form-private.h"
#include "p-variant-layout-private.h"

/* {{{ Any message, through GVariant */

/* Serializes @body straight into a frame: one copy of the data at most. */
GBytes *
p_message_encode (PMessageKind   kind,
                  GVariant      *body,
                  gsize          max_message_size,
                  GError       **error)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  g_autoptr(GVariant) normal = NULL;
  guint32 header[2];
  guint8 *frame;
  gsize size;

  g_assert (p_message_kind_get_body_type (kind) != NULL);
  g_assert (g_variant_is_of_type (owned, p_message_kind_get_body_type (kind)));

  /* Free for values built here or received (they are trusted); a field
   * made from untrusted bytes is checked, and fixed if need be. */
  if (g_variant_is_normal_form (owned))
    normal = g_variant_ref (owned);
  else
    {
      gsize n = g_variant_n_children (owned);
      g_autofree GVariant **fields = g_new (GVariant *, n);

      for (gsize i = 0; i < n; i++)
        {
          GVariant *field = g_variant_get_child_value (owned, i);

          if (p_variant_is_normal_form (field))
            fields[i] = field;
          else
            {
              fields[i] = g_variant_get_normal_form (field);
              g_variant_unref (field);
            }
        }

      normal = g_variant_ref_sink (g_variant_new_tuple (fields, n));
      for (gsize i = 0; i < n; i++)
        g_variant_unref (fields[i]);
    }

  size = g_variant_get_size (normal);
  if (!p_message_size_check (size, max_message_size, error))
    return NULL;

  frame = g_malloc (P_FRAME_HEADER_SIZE + p_align_up (size, 8));
  header[0] = (guint32) size;
  header[1] = (guint32) kind;
  memcpy (frame, header, sizeof header);
  g_variant_store (normal, frame + P_FRAME_HEADER_SIZE);
  memset (frame + P_FRAME_HEADER_SIZE + size, 0, p_align_up (size, 8) - size);

  return g_bytes_new_take (frame, P_FRAME_HEADER_SIZE + p_align_up (size, 8));
}

/* A CANCEL, RECALL or RECALLED frame, (t). */
PFrame *
p_message_encode_id (PMessageKind kind,
                     guint64      id)
{
  GVariant *field = g_variant_new_uint64 (id);
  GBytes *bytes = p_message_encode (kind, g_variant_new_tuple (&field, 1), G_MAXUINT32, NULL);

  g_assert (kind == P_MESSAGE_CANCEL || kind == P_MESSAGE_RECALL || kind == P_MESSAGE_RECALLED);
  return p_frame_new_from_bytes (bytes);
}

/* An ERROR frame, (tsis), of an error that can cross the channel (its
 * domain valid, its message UTF-8 and short enough). */
PFrame *
p_message_encode_error (guint64       id,
                        const GError *error,
                        gsize         max_message_size)
{
  GVariant *fields[4] = {
    g_variant_new_uint64 (id),
    g_variant_new_string (g_quark_to_string (error->domain)),
    g_variant_new_int32 (error->code),
    g_variant_new_string (error->message),
  };
  GBytes *bytes = p_message_encode (P_MESSAGE_ERROR, g_variant_new_tuple (fields, 4), max_message_size, NULL);

  g_assert (bytes != NULL);
  return p_frame_new_from_bytes (bytes);
}

/* A HELLO frame, (uxas). */
PFrame *
p_message_encode_hello (guint32             version,
                        gint64              pid,
                        const char * const *functions,
                        gsize               max_message_size)
{
  GBytes *bytes = p_message_encode (P_MESSAGE_HELLO, g_variant_new ("(ux^as)", version, pid, functions),
                                    max_message_size, NULL);

  g_assert (bytes != NULL);
  return p_frame_new_from_bytes (bytes);
}

/* A FEATURES frame, (a{sv}), of the "a{sv}" @features (a floating
 * reference is sunk). */
PFrame *
p_message_encode_features (GVariant *features)
{
  GVariant *body = g_variant_new_tuple (&features, 1);
  GBytes *bytes = p_message_encode (P_MESSAGE_FEATURES, body, G_MAXUINT32, NULL);

  return p_frame_new_from_bytes (bytes);
}

/* A PROGRESS frame, (tds), of the running task @id. */
PFrame *
p_message_encode_progress (guint64     id,
                           double      fraction,
                           const char *message)
{
  GBytes *bytes = p_message_encode (P_MESSAGE_PROGRESS, g_variant_new ("(tds)", id, fraction, message),
                                    G_MAXUINT32, NULL);

  return p_frame_new_from_bytes (bytes);
}

/* }}} */

/* {{{ The frames of the hot path, written directly
 *
 * A task, a chunk, a result and a chunk's results are written here as
 * GVariant lays out their tuples (members aligned; the end of every
 * variable-size member but the last in a table at the end, last first;
 * see the specification), without building GVariant containers for them:
 * five GVariants and their type look-ups per task otherwise. Large values
 * already serialized are not copied at all: the frame is a list of
 * segments, and they are segments of their own, written with writev().
 * The tests check every frame against p_message_encode().
 */

/* Writes a frame. One that shares nothing (any frame under
 * P_FRAME_SHARE_THRESHOLD) is one allocation of its exact size, bytes and all. */
typedef struct
{
  PFrame *frame;
  GArray *segments;        /* PFrameSegment, once one is shared; their own
                            * bytes' data is an offset in @buffer until the end */
  guint8 *buffer;          /* the frame's own bytes */
  gsize length;            /* of them */
  gsize allocated;
  gsize segment_start;     /* in @buffer, of the bytes since the last shared segment */
  gsize position;          /* in the body */
} Writer;

static void
writer_init (Writer  *writer,
             guint32  body_size,
             guint32  kind)
{
  guint32 header[2] = { body_size, kind };

  if (body_size < P_FRAME_SHARE_THRESHOLD)
    {
      writer->allocated = sizeof header + p_align_up (body_size, 8);
      writer->frame = p_frame_alloc (writer->allocated);
      writer->buffer = writer->frame->own;
    }
  else
    {
      writer->allocated = 256;
      writer->frame = p_frame_alloc (0);
      writer->buffer = g_malloc (writer->allocated);
    }

  writer->segments = NULL;
  writer->length = sizeof header;
  writer->segment_start = 0;
  writer->position = 0;
  memcpy (writer->buffer, header, sizeof header);
}

static guint8 *
writer_reserve (Writer *writer,
                gsize   size)
{
  guint8 *reserved;

  if (writer->length + size > writer->allocated)
    {
      /* Only a frame with an allocation of its own grows. */
      g_assert (writer->buffer != writer->frame->inline_bytes);
      writer->allocated = MAX (writer->allocated * 2, writer->length + size);
      writer->buffer = g_realloc (writer->buffer, writer->allocated);
    }

  reserved = writer->buffer + writer->length;
  writer->length += size;
  writer->position += size;

  return reserved;
}

static void
writer_append (Writer     *writer,
               const void *data,
               gsize       size)
{
  if (size > 0)
    memcpy (writer_reserve (writer, size), data, size);
}

static void
writer_zeros (Writer *writer,
              gsize   size)
{
  if (size > 0)
    memset (writer_reserve (writer, size), 0, size);
}

static void
writer_align (Writer *writer,
              gsize   alignment)
{
  writer_zeros (writer, p_align_up (writer->position, alignment) - writer->position);
}

static void
writer_add_segment (Writer              *writer,
                    const PFrameSegment *segment)
{
  if (writer->segments == NULL)
    writer->segments = g_array_new (FALSE, FALSE, sizeof (PFrameSegment));
  g_array_append_vals (writer->segments, segment, 1);
}

/* Ends the segment of own bytes written since the last shared one. */
static void
writer_end_own_segment (Writer *writer)
{
  PFrameSegment segment = { NULL, GSIZE_TO_POINTER (writer->segment_start),
                           writer->length - writer->segment_start };

  if (segment.size == 0)
    return;

  writer_add_segment (writer, &segment);
  writer->segment_start = writer->length;
}

/* @bytes go into the frame as they are. */
static void
writer_share (Writer *writer,
              GBytes *bytes)
{
  PFrameSegment segment = { bytes, NULL, 0 };

  segment.data = g_bytes_get_data (bytes, &segment.size);

  writer_end_own_segment (writer);
  writer_add_segment (writer, &segment);
  writer->position += segment.size;
}

/* A value's serialization: shared when it is large and serialized already
 * (g_variant_get_data_as_bytes() is then a reference), copied otherwise. */
static void
writer_value (Writer   *writer,
              GVariant *value)
{
  gsize size = g_variant_get_size (value);

  if (size >= P_FRAME_SHARE_THRESHOLD)
    writer_share (writer, g_variant_get_data_as_bytes (value));
  else if (size > 0)
    {
      /* Copied from its serialization: after a shared segment, the buffer
       * is not aligned as the body is, and g_variant_store() wants it so
       * (but a number is one memcpy(), or zeros for one GLib found short). */
      if (g_variant_type_is_basic (g_variant_get_type (value)))
        g_variant_store (value, writer_reserve (writer, size));
      else
        memcpy (writer_reserve (writer, size), g_variant_get_data (value), size);
    }
}

static PFrame *
writer_finish (Writer *writer)
{
  PFrame *frame = g_steal_pointer (&writer->frame);

  /* The frame ends 8-aligned. */
  writer_zeros (writer, p_align_up (writer->position, 8) - writer->position);

  if (writer->segments == NULL)
    {
      /* In one piece. */
      frame->one_segment.shared = NULL;
      frame->one_segment.data = writer->buffer;
      frame->one_segment.size = writer->length;
      frame->n_segments = 1;
      frame->size = writer->length;
      frame->own = writer->buffer;
      return frame;
    }

  writer_end_own_segment (writer);
  frame->own = writer->buffer;
  frame->n_segments = writer->segments->len;
  frame->segments = (PFrameSegment *) g_array_free (g_steal_pointer (&writer->segments), FALSE);

  for (guint i = 0; i < frame->n_segments; i++)
    {
      PFrameSegment *segment = &frame->segments[i];

      if (segment->shared == NULL)
        segment->data = frame->own + GPOINTER_TO_SIZE (segment->data);
      frame->size += segment->size;
    }

  return frame;
}

/* An array of items, given one by one, or as a serialized array of
 * fixed-size items (sliced, not walked). */
typedef struct
{
  const GVariantType *element;
  GVariant **items;        /* n_items of them, or NULL: */
  GVariant *fixed;         /* a serialized "aT" of fixed-size T */
  gsize first;             /* in it */
  gsize n_items;
  gsize alignment;
  gsize fixed_size;
  gsize size;              /* of the serialized array */
  gsize offset_size;
} Items;

static void
items_layout (Items *items)
{
  gsize end = 0;

  p_variant_type_layout (items->element, &items->alignment, &items->fixed_size);

  if (items->fixed_size > 0)
    {
      items->size = items->n_items * items->fixed_size;
      items->offset_size = 0;
      return;
    }

  for (gsize i = 0; i < items->n_items; i++)
    end = p_align_up (end, items->alignment) + g_variant_get_size (items->items[i]);

  items->size = p_variant_container_size (end, items->n_items);
  items->offset_size = p_variant_offset_size (items->size);
}

static void
writer_items (Writer      *writer,
              const Items *items)
{
  gsize start = writer->position;

  if (items->fixed != NULL)
    {
      g_autoptr(GBytes) all = g_variant_get_data_as_bytes (items->fixed);
      g_autoptr(GBytes) slice = g_bytes_new_from_bytes (all, items->first * items->fixed_size, items->size);

      if (items->size >= P_FRAME_SHARE_THRESHOLD)
        writer_share (writer, g_steal_pointer (&slice));
      else
        writer_append (writer, g_bytes_get_data (slice, NULL), items->size);
      return;
    }

  for (gsize i = 0; i < items->n_items; i++)
    {
      writer_align (writer, items->alignment);
      writer_value (writer, items->items[i]);
    }

  /* Fixed-size items need no offsets; the others' ends, relative to the
   * array's start, in order. */
  if (items->fixed_size == 0)
    {
      gsize end = 0;

      for (gsize i = 0; i < items->n_items; i++)
        {
          end = p_align_up (end, items->alignment) + g_variant_get_size (items->items[i]);
          p_variant_write_offset (writer_reserve (writer, items->offset_size), end, items->offset_size);
        }
    }

  g_assert (writer->position - start == items->size);
}

/* A number's bytes: what a task or result of one is written from, with
 * no GVariant to walk or make. */
typedef struct
{
  char type_string[2];
  gsize size;
  guint8 bytes[8];
} Number;

/* What a message's variant holds: a value, an array of items, a
 * number's bytes, or the bytes of an "ay". */
typedef struct
{
  GVariant *value;
  const Items *items;
  const Number *number;
  GBytes *bytes;
  const char *type;
} Payload;

static gsize
payload_size (const Payload *payload)
{
  if (payload->value != NULL)
    return g_variant_get_size (payload->value);
  if (payload->items != NULL)
    return payload->items->size;
  if (payload->bytes != NULL)
    return g_bytes_get_size (payload->bytes);
  return payload->number->size;
}

static void
writer_payload (Writer        *writer,
                const Payload *payload)
{
  if (payload->value != NULL)
    writer_value (writer, payload->value);
  else if (payload->items != NULL)
    writer_items (writer, payload->items);
  else if (payload->bytes != NULL && g_bytes_get_size (payload->bytes) >= P_FRAME_SHARE_THRESHOLD)
    writer_share (writer, g_bytes_ref (payload->bytes));
  else if (payload->bytes != NULL)
    writer_append (writer, g_bytes_get_data (payload->bytes, NULL), g_bytes_get_size (payload->bytes));
  else
    writer_append (writer, payload->number->bytes, payload->number->size);

  writer_zeros (writer, 1);
  writer_append (writer, payload->type, strlen (payload->type));
}

/* A (t[s]v[b]) frame: a task, a chunk, or a result. */
static PFrame *
encode_envelope (PMessageKind    kind,
                 guint64         id,
                 const char     *name,
                 const Payload  *payload,
                 int             flag,
                 gsize           max_message_size,
                 GError        **error)
{
  gsize name_size = name != NULL ? strlen (name) + 1 : 0;
  gsize name_end = 8 + name_size;
  gsize payload_start = p_align_up (name_end, 8);
  gsize payload_end = payload_start + payload_size (payload) + 1 + strlen (payload->type);
  gsize body_end = payload_end + (flag >= 0 ? 1 : 0);
  gsize n_offsets = (name != NULL ? 1 : 0) + (flag >= 0 ? 1 : 0);
  gsize size = p_variant_container_size (body_end, n_offsets);
  gsize offset_size = p_variant_offset_size (size);
  Writer writer;

  if (!p_message_size_check (size, max_message_size, error))
    return NULL;

  writer_init (&writer, size, kind);
  writer_append (&writer, &id, sizeof id);
  if (name != NULL)
    writer_append (&writer, name, name_size);
  writer_align (&writer, 8);
  writer_payload (&writer, payload);
  if (flag >= 0)
    {
      guint8 byte = flag;

      writer_append (&writer, &byte, 1);
      p_variant_write_offset (writer_reserve (&writer, offset_size), payload_end, offset_size);
    }
  if (name != NULL)
    p_variant_write_offset (writer_reserve (&writer, offset_size), name_end, offset_size);

  g_assert (writer.position == size);
  return writer_finish (&writer);
}

/* Numbers are any bytes of their size; a boolean is not one (it may be 2). */
static gboolean
number_init (Number *number,
             char    type_char)
{
  gsize size = type_char != 'b' ? p_variant_basic_size (type_char) : 0;

  if (size == 0)
    return FALSE;

  number->type_string[0] = type_char;
  number->type_string[1] = '\0';
  number->size = size;
  return TRUE;
}

/* @value is sunk if it is floating, else borrowed, as GVariant
 * constructors take their children. */
static PFrame *
encode_value_envelope (PMessageKind   kind,
                       guint64        id,
                       const char    *name,
                       GVariant      *value,
                       int            flag,
                       gsize          max_message_size,
                       GError       **error)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  g_autoptr(GVariant) normal = NULL;
  Payload payload = { .type = g_variant_get_type_string (owned) };
  Number number;

  /* A number: its bytes, as GLib reads them (zero, if they are too few). */
  if (payload.type[1] == '\0' && number_init (&number, payload.type[0]))
    {
      g_variant_store (owned, number.bytes);
      payload.number = &number;
      return encode_envelope (kind, id, name, &payload, flag, max_message_size, error);
    }

  /* The value sits two levels down: in the body's variant. */
  if (!p_variant_check_depth (owned, 2, error))
    return NULL;

  normal = p_variant_dup_normal_form (owned);
  payload.value = normal;
  return encode_envelope (kind, id, name, &payload, flag, max_message_size, error);
}

/* A TASK frame, (tsv). */
PFrame *
p_message_encode_task (guint64      id,
                       const char  *function,
                       GVariant    *args,
                       gsize        max_message_size,
                       GError     **error)
{
  return encode_value_envelope (P_MESSAGE_TASK, id, function, args, -1, max_message_size, error);
}

/* A TASK frame whose argument is @bytes, as an "ay": no GVariant made,
 * and large bytes shared, not copied. */
PFrame *
p_message_encode_task_bytes (guint64      id,
                             const char  *function,
                             GBytes      *bytes,
                             gsize        max_message_size,
                             GError     **error)
{
  Payload payload = { .bytes = bytes, .type = "ay" };

  return encode_envelope (P_MESSAGE_TASK, id, function, &payload, -1, max_message_size, error);
}

/* A TASK frame of the item at @index (< its number of children) of
 * @items: a number is copied from the array, with no GVariant made for it. */
PFrame *
p_message_encode_task_item (guint64      id,
                            const char  *function,
                            GVariant    *items,
                            gsize        index,
                            gsize        max_message_size,
                            GError     **error)
{
  const char *type_string = g_variant_get_type_string (items);
  g_autoptr(GVariant) item = NULL;
  Number number;

  g_assert (type_string[0] == 'a');

  if (type_string[2] == '\0' && number_init (&number, type_string[1]))
    {
      const guint8 *data = g_variant_get_data (items);
      Payload payload = { .number = &number, .type = number.type_string };

      memcpy (number.bytes, data + index * number.size, number.size);
      return encode_envelope (P_MESSAGE_TASK, id, function, &payload, -1, max_message_size, error);
    }

  item = g_variant_get_child_value (items, index);
  return encode_value_envelope (P_MESSAGE_TASK, id, function, item, -1, max_message_size, error);
}

/* A CHUNK frame holding items [first, first + n) of the array @items,
 * without making that slice a GVariant: a fixed-size array is sliced, the
 * items of another are written one by one (large ones shared). */
PFrame *
p_message_encode_chunk_items (guint64      id,
                              const char  *function,
                              GVariant    *all_items,
                              gsize        first,
                              gsize        n,
                              gboolean     stop_at_first_error,
                              gsize        max_message_size,
                              GError     **error)
{
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  Items items = { g_variant_type_element (g_variant_get_type (all_items)), NULL, NULL, first, n };
  Payload payload = { .items = &items, .type = g_variant_get_type_string (all_items) };
  gsize alignment, fixed_size;

  p_variant_type_layout (items.element, &alignment, &fixed_size);

  /* The array sits two levels down, in the body's variant; its items
   * three. (A fixed-size type holds no variant: its depth is its type's.) */
  if (fixed_size > 0 && !p_variant_check_depth (all_items, 2, error))
    return NULL;

  if (fixed_size > 0 && p_variant_is_normal_form (all_items))
    items.fixed = all_items;
  else
    {
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) item = g_variant_get_child_value (all_items, first + i);

          if (!p_variant_check_depth (item, 3, error))
            return NULL;
          g_ptr_array_add (owned, p_variant_dup_normal_form (item));
        }
      items.items = (GVariant **) owned->pdata;
    }

  items_layout (&items);
  return encode_envelope (P_MESSAGE_CHUNK, id, function, &payload, stop_at_first_error ? 1 : 0,
                          max_message_size, error);
}

/* A RESULT frame, (tv). */
PFrame *
p_message_encode_result (guint64    id,
                         GVariant  *value,
                         gsize      max_message_size,
                         GError   **error)
{
  return encode_value_envelope (P_MESSAGE_RESULT, id, NULL, value, -1, max_message_size, error);
}

/* A chunk's results, gathered as they are computed.
 *
 * Results of one fixed-size type, the common case (numbers, tuples of
 * numbers), are packed into an "aT" at once and their GVariants dropped:
 * the worker then frees each result in the iteration that made it, from
 * the allocator's warm caches, rather than a chunk's worth at the end, and
 * the frame is written with one copy. Anything else is kept as given.
 */

/* (tva(usis)): the id, @payload (the results), @errors (the failures). */
static PFrame *
encode_chunk_result (guint64         id,
                     const Payload  *payload,
                     GVariant       *errors,
                     gsize           max_message_size,
                     GError        **error)
{
  gsize payload_end = 8 + payload_size (payload) + 1 + strlen (payload->type);
  gsize errors_start = p_align_up (payload_end, 4);
  gsize body_end = errors_start + g_variant_get_size (errors);
  gsize size = p_variant_container_size (body_end, 1);
  gsize offset_size = p_variant_offset_size (size);
  Writer writer;

  if (!p_message_size_check (size, max_message_size, error))
    return NULL;

  writer_init (&writer, size, P_MESSAGE_CHUNK_RESULT);
  writer_append (&writer, &id, sizeof id);
  writer_payload (&writer, payload);
  writer_align (&writer, 4);
  writer_value (&writer, errors);
  p_variant_write_offset (writer_reserve (&writer, offset_size), payload_end, offset_size);

  g_assert (writer.position == size);
  return writer_finish (&writer);
}

/* A CHUNK_RESULT frame, (tva(usis)): the results, as an "aT" when they
 * share a type T (large ones shared), as an "av" otherwise; and the
 * failures. As p_message_encode (P_MESSAGE_CHUNK_RESULT,
 * the tests' p_test_message_new_chunk_result (...)) of the same results. */
PFrame *
p_message_encode_chunk_result (guint64         id,
                               PChunkResults  *results,
                               GVariant       *errors,
                               gsize           max_message_size,
                               GError        **error)
{
  g_autoptr(GVariant) owned_errors = g_variant_ref_sink (errors);
  g_autoptr(GVariant) packed = p_chunk_results_dup_packed (results);
  gsize n_values = p_chunk_results_get_count (results);
  GVariant **values = NULL;
  const GVariantType *type = NULL;
  g_autofree char *array_type = NULL;
  g_autoptr(GVariant) boxed = NULL;
  g_autoptr(GPtrArray) normals = g_ptr_array_new_full (n_values, (GDestroyNotify) g_variant_unref);
  Items items = { NULL, NULL, NULL, 0, n_values };
  Payload payload = { .items = &items };

  if (packed != NULL)
    {
      type = g_variant_type_element (g_variant_get_type (packed));
      array_type = g_strdup (g_variant_get_type_string (packed));
    }
  else
    {
      values = p_chunk_results_peek_values (results);
      type = p_variant_common_type (values, n_values);
      if (type != NULL)
        array_type = g_strconcat ("a", g_variant_get_type_string (values[0]), NULL);
    }

  if (type == NULL)
    {
      /* Mixed types: an "av", built by GLib. */
      g_autofree GVariant **children = g_new (GVariant *, MAX (n_values, 1));

      for (gsize i = 0; i < n_values; i++)
        children[i] = g_variant_new_variant (values[i]);
      boxed = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, children, n_values));
      payload.value = boxed;
      payload.type = (char *) "av";
    }
  else
    {
      items.element = type;
      payload.type = array_type;
      /* The frame may share the packed bytes: it keeps them alive. */
      if (packed != NULL)
        items.fixed = packed;
      else
        {
          for (gsize i = 0; i < n_values; i++)
            g_ptr_array_add (normals, p_variant_dup_normal_form (values[i]));
          items.items = (GVariant **) normals->pdata;
        }
      items_layout (&items);
    }

  return encode_chunk_result (id, &payload, owned_errors, max_message_size, error);
}

/* A CHUNK_RESULT frame of @values, an array of any type whose k-th element
 * is the k-th item's result (boxed, in an "av"), as a chunk function
 * returns them; and the failures. */
PFrame *
p_message_encode_chunk_result_array (guint64    id,
                                     GVariant  *values,
                                     GVariant  *errors,
                                     gsize      max_message_size,
                                     GError   **error)
{
  g_autoptr(GVariant) owned_errors = g_variant_ref_sink (errors);
  g_autoptr(GVariant) normal = NULL;
  Payload payload = { .type = g_variant_get_type_string (values) };

  g_assert (g_variant_is_of_type (values, G_VARIANT_TYPE_ARRAY));

  /* The array sits two levels down: in the body's variant. */
  if (!p_variant_check_depth (values, 2, error))
    return NULL;

  normal = p_variant_dup_normal_form (values);
  payload.value = normal;

  return encode_chunk_result (id, &payload, owned_errors, max_message_size, error);
}

/* }}} */
