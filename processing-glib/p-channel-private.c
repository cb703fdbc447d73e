/* p-channel-private.c: framing of GVariant messages on a stream
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* memfd_create() */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gio/gunixfdmessage.h>

#include "p-channel-private.h"
#include "p-i18n-private.h"
#include "p-error.h"

/* GLib 2.74 reads a few bytes past a malformed tuple while it checks its
 * normal form: every body handed to it is followed by this many zeros of
 * its own allocation. */
#define BODY_SLACK 8

/* Bodies up to this size are parsed in place in the shared read buffer;
 * larger ones are read straight into an allocation of their own, which
 * then becomes the message's GBytes without a copy. */
#define DIRECT_BODY_THRESHOLD ((gsize) 32 * 1024)
#define READ_BUFFER_SIZE      ((gsize) 64 * 1024)
#define MIN_READ_SPACE        ((gsize) 4 * 1024)
/* A large body's allocation grows as its bytes arrive, so that a length
 * prefix alone cannot make us allocate the whole limit. */
#define INITIAL_BODY_ALLOCATION ((gsize) 16 * 1024 * 1024)

static inline gsize
pad8 (gsize size)
{
  return (size + 7) & ~(gsize) 7;
}

/* {{{ Normal form
 *
 * GLib 2.74 checks an array of fixed-size items one item at a time, with a
 * function call per byte of an "ay": the payloads this protocol carries are
 * mostly such arrays. This check walks the containers that may hold them,
 * checks their framing itself (the layout is fixed by the GVariant
 * specification) and leaves everything else to g_variant_is_normal_form().
 * tests/fuzz/fuzz-normal-form.c holds it to GLib's answer.
 */

/* Below this size GLib's own check is used as it is (where it gives the
 * same answer: see glib_check_is_exact()). */
#define SMALL_VALUE_SIZE 4096
/* GLib's G_VARIANT_MAX_RECURSION_DEPTH (private in gvariant-serialiser.h):
 * nothing nested this deep is in normal form. */
#define MAX_VARIANT_DEPTH 128

typedef struct
{
  gsize min_walk_size;
  gboolean walk_every_container;
} WalkOptions;

static gsize
basic_fixed_size (char type_char)
{
  switch (type_char)
    {
    case 'b': case 'y':
      return 1;
    case 'n': case 'q':
      return 2;
    case 'i': case 'u': case 'h':
      return 4;
    case 'x': case 't': case 'd':
      return 8;
    default:
      return 0;
    }
}

static inline gsize
align_up (gsize offset,
          gsize alignment)
{
  return (offset + alignment - 1) & ~(alignment - 1);
}

/* Alignment and fixed size (0: variable) of a type, as the specification
 * defines them. */
static void
type_layout (const GVariantType *type,
             gsize              *alignment,
             gsize              *fixed_size)
{
  const char *type_string = g_variant_type_peek_string (type);

  switch (type_string[0])
    {
    case 's': case 'o': case 'g':
      *alignment = 1;
      *fixed_size = 0;
      return;

    case 'v':
      *alignment = 8;
      *fixed_size = 0;
      return;

    case 'a': case 'm':
      type_layout (g_variant_type_element (type), alignment, fixed_size);
      *fixed_size = 0;
      return;

    case '(': case '{':
      {
        gsize offset = 0;
        gboolean fixed = TRUE;

        *alignment = 1;
        for (const GVariantType *member = g_variant_type_first (type);
             member != NULL;
             member = g_variant_type_next (member))
          {
            gsize member_alignment, member_size;

            type_layout (member, &member_alignment, &member_size);
            *alignment = MAX (*alignment, member_alignment);
            fixed = fixed && member_size > 0;
            offset = align_up (offset, member_alignment) + member_size;
          }

        *fixed_size = fixed ? MAX (align_up (offset, *alignment), 1) : 0;
      }
      return;

    default:
      *alignment = *fixed_size = basic_fixed_size (type_string[0]);
      return;
    }
}

/* How deep a value of this type nests: 1 for a basic type or a variant,
 * one more per container around its deepest member. That is how many
 * levels GLib checks against its limit. With @as_glib_type_depth, it counts
 * as GLib does a variant's child's type (g_variant_type_string_get_depth_()),
 * where the unit tuple is 0 deep and a dictionary entry's key is left out. */
static gsize
type_depth (const GVariantType *type,
            gboolean            as_glib_type_depth)
{
  const char *type_string = g_variant_type_peek_string (type);
  gsize deepest = 0;
  gboolean no_member = TRUE;

  switch (type_string[0])
    {
    case 'a': case 'm':
      return 1 + type_depth (g_variant_type_element (type), as_glib_type_depth);

    case '(': case '{':
      for (const GVariantType *member = g_variant_type_first (type);
           member != NULL;
           member = g_variant_type_next (member))
        if (!as_glib_type_depth || type_string[0] == '(' || member != g_variant_type_first (type))
          {
            /* Not in MAX(), which would recurse twice: 2^depth calls. */
            gsize member_depth = type_depth (member, as_glib_type_depth);

            deepest = MAX (deepest, member_depth);
            no_member = FALSE;
          }
      return as_glib_type_depth && no_member ? 0 : 1 + deepest;

    default:
      return 1;
    }
}

/* Whether GLib gives a variant at @depth its child of @child_depth, or a
 * unit tuple in its place (g_variant_get_child_value()). */
static gboolean
glib_gives_variant_child (gsize depth,
                          gsize child_depth)
{
  return depth + child_depth < MAX_VARIANT_DEPTH;
}

static gsize
offset_size_for (gsize container_size)
{
  if (container_size > G_MAXUINT32)
    return 8;
  if (container_size > G_MAXUINT16)
    return 4;
  if (container_size > G_MAXUINT8)
    return 2;
  return container_size > 0 ? 1 : 0;
}

/* The size of a container whose items take @body_size bytes and which
 * needs @n_offsets framing offsets: offsets are as small as they can be. */
static gsize
container_size_for (gsize body_size,
                    gsize n_offsets)
{
  if (body_size + n_offsets <= G_MAXUINT8)
    return body_size + n_offsets;
  if (body_size + 2 * n_offsets <= G_MAXUINT16)
    return body_size + 2 * n_offsets;
  if (body_size + 4 * n_offsets <= G_MAXUINT32)
    return body_size + 4 * n_offsets;
  return body_size + 8 * n_offsets;
}

static gsize
read_offset (const guint8 *data,
             gsize         offset_size)
{
  guint64 value = 0;

  /* Little-endian, whatever the host is. */
  for (gsize i = 0; i < offset_size; i++)
    value |= (guint64) data[i] << (8 * i);

  return value;
}

static void
write_offset (guint8 *data,
              gsize   value,
              gsize   offset_size)
{
  /* Little-endian, whatever the host is. */
  for (gsize i = 0; i < offset_size; i++)
    data[i] = (value >> (8 * i)) & 0xff;
}

static gboolean
is_zero (const guint8 *data,
         gsize         size)
{
  for (gsize i = 0; i < size; i++)
    if (data[i] != 0)
      return FALSE;

  return TRUE;
}

/* GLib checks a value from the depth it has in its message; a value made
 * here from part of a message has depth 0 for GLib. Leaving it to GLib is
 * exact when that cannot matter: its type holds no variant (whose
 * children's depth depends on the data) and it cannot reach the limit. */
static gboolean
glib_check_is_exact (GVariant *value,
                     guint     depth)
{
  return strchr (g_variant_get_type_string (value), 'v') == NULL &&
         depth + type_depth (g_variant_get_type (value), FALSE) <= MAX_VARIANT_DEPTH;
}

static gboolean variant_is_normal (GVariant *value, guint depth, const WalkOptions *options);

/* Checks that @child sits at @offset in its container's bytes, after zero
 * padding from @previous_end, and is itself normal; returns its end. */
static gboolean
check_member (const guint8      *data,
              gsize              size,
              gsize              previous_end,
              gsize              offset,
              GVariant          *child,
              guint              depth,
              const WalkOptions *options,
              gsize             *end)
{
  gsize child_size = g_variant_get_size (child);

  if (offset < previous_end || offset > size || child_size > size - offset ||
      (offset > previous_end && !is_zero (data + previous_end, offset - previous_end)))
    return FALSE;

  /* A child GLib could not find in the container's bytes (bad framing)
   * comes from elsewhere. */
  if (child_size > 0 && (const guint8 *) g_variant_get_data (child) != data + offset)
    return FALSE;

  *end = offset + child_size;
  return variant_is_normal (child, depth + 1, options);
}

static gboolean
container_is_normal (GVariant          *value,
                     guint              depth,
                     const WalkOptions *options)
{
  const GVariantType *type = g_variant_get_type (value);
  const char *type_string = g_variant_get_type_string (value);
  const guint8 *data = g_variant_get_data (value);
  gsize size = g_variant_get_size (value);
  gsize n_children = g_variant_n_children (value);
  g_autofree gsize *ends = NULL;
  gsize n_offsets = 0;
  gsize end = 0;
  gboolean normal = TRUE;

  switch (type_string[0])
    {
    case 'v':
      {
        g_autoptr(GVariant) child = g_variant_get_child_value (value, 0);
        const char *child_type = g_variant_get_type_string (child);
        gsize type_length = strlen (child_type);

        /* The child's bytes, a zero byte, the child's type; and no deeper
         * than GLib allows (GLib, not knowing how deep this value sits in
         * the message, may have given the child anyway). */
        return glib_gives_variant_child (depth, type_depth (g_variant_get_type (child), TRUE)) &&
               check_member (data, size, 0, 0, child, depth, options, &end) &&
               size == end + 1 + type_length &&
               data[end] == '\0' &&
               memcmp (data + end + 1, child_type, type_length) == 0;
      }

    case 'm':
      {
        g_autoptr(GVariant) child = NULL;
        gsize alignment, fixed_size;

        if (n_children == 0)
          return size == 0;

        child = g_variant_get_child_value (value, 0);
        type_layout (g_variant_type_element (type), &alignment, &fixed_size);

        /* A variable-size child is followed by a zero byte. */
        return check_member (data, size, 0, 0, child, depth, options, &end) &&
               (fixed_size > 0 ? size == end : (size == end + 1 && data[end] == '\0'));
      }

    case 'a':
      {
        const GVariantType *element = g_variant_type_element (type);
        g_autoptr(GBytes) bytes = NULL;
        gsize alignment, fixed_size, offset_size, items_end, n_items;

        /* Fixed-size items (tuples of basic items) hold no bulk; too deep,
         * only an empty array is normal. */
        type_layout (element, &alignment, &fixed_size);
        if (fixed_size > 0)
          return glib_check_is_exact (value, depth) ? g_variant_is_normal_form (value) : size == 0;

        if (size == 0)
          return TRUE;

        /* Items each aligned, then the end offset of every item: the last
         * offset says where the table begins. Read here rather than with
         * g_variant_get_child_value(), which in GLib 2.74 checks the table
         * up to each item again on untrusted data: quadratic. */
        offset_size = offset_size_for (size);
        items_end = read_offset (data + size - offset_size, offset_size);
        if (items_end > size || (size - items_end) % offset_size != 0)
          return FALSE;

        n_items = (size - items_end) / offset_size;
        if (n_items == 0 || size != container_size_for (items_end, n_items))
          return FALSE;

        bytes = g_variant_get_data_as_bytes (value);
        for (gsize i = 0; i < n_items; i++)
          {
            gsize start = align_up (end, alignment);
            gsize item_end = read_offset (data + items_end + i * offset_size, offset_size);
            g_autoptr(GBytes) item_bytes = NULL;
            g_autoptr(GVariant) item = NULL;

            if (start > item_end || item_end > items_end ||
                (start > end && !is_zero (data + end, start - end)))
              return FALSE;

            item_bytes = g_bytes_new_from_bytes (bytes, start, item_end - start);
            item = g_variant_ref_sink (g_variant_new_from_bytes (element, item_bytes, FALSE));
            if (!variant_is_normal (item, depth + 1, options))
              return FALSE;

            end = item_end;
          }

        return TRUE;
      }

    case '(': case '{':
      {
        gsize i = 0;
        gsize alignment, fixed_size;

        /* Every member of a fixed-size tuple is there: too deep is
         * never normal. */
        type_layout (type, &alignment, &fixed_size);
        if (fixed_size > 0)
          return glib_check_is_exact (value, depth) && g_variant_is_normal_form (value);

        /* Members each aligned; the end offset of every variable-size
         * member but the last, in reverse order. */
        ends = g_new (gsize, n_children + 1);
        for (const GVariantType *member = g_variant_type_first (type);
             member != NULL && normal;
             member = g_variant_type_next (member), i++)
          {
            g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
            gsize member_alignment, member_size;

            type_layout (member, &member_alignment, &member_size);
            normal = check_member (data, size, end, align_up (end, member_alignment), child, depth, options, &end);
            if (member_size == 0 && g_variant_type_next (member) != NULL)
              ends[n_offsets++] = end;
          }

        /* Stored last first. */
        for (gsize j = 0; j < n_offsets / 2; j++)
          {
            gsize swap = ends[j];

            ends[j] = ends[n_offsets - 1 - j];
            ends[n_offsets - 1 - j] = swap;
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }

  if (!normal || size != container_size_for (end, n_offsets))
    return FALSE;

  {
    gsize offset_size = offset_size_for (size);

    for (gsize i = 0; i < n_offsets; i++)
      if (read_offset (data + end + i * offset_size, offset_size) != ends[i])
        return FALSE;
  }

  return TRUE;
}

/* Whether a value of this type may hold an array of fixed-size basic
 * items, directly or in a variant. */
static gboolean
may_hold_bulk (const char *type_string)
{
  for (const char *p = type_string; *p != '\0'; p++)
    if (*p == 'v' || (*p == 'a' && basic_fixed_size (p[1]) > 0))
      return TRUE;

  return FALSE;
}

static gboolean
variant_is_normal (GVariant          *value,
                   guint              depth,
                   const WalkOptions *options)
{
  const char *type_string = g_variant_get_type_string (value);
  gsize size = g_variant_get_size (value);

  /* As GLib: nothing is normal this deep. */
  if (depth >= MAX_VARIANT_DEPTH)
    return FALSE;

  /* An array of fixed-size basic items is normal when it holds a whole
   * number of them (and booleans are 0 or 1). */
  if (type_string[0] == 'a' && basic_fixed_size (type_string[1]) > 0)
    {
      const guint8 *data;

      if (size % basic_fixed_size (type_string[1]) != 0)
        return FALSE;
      if (type_string[1] != 'b')
        return TRUE;

      data = g_variant_get_data (value);
      for (gsize i = 0; i < size; i++)
        if (data[i] > 1)
          return FALSE;

      return TRUE;
    }

  /* At the top, GLib counts depth as we do. */
  if (!g_variant_is_container (value) ||
      ((depth == 0 || glib_check_is_exact (value, depth)) &&
       (size < options->min_walk_size ||
        !(options->walk_every_container || may_hold_bulk (type_string)))))
    return g_variant_is_normal_form (value);

  return container_is_normal (value, depth, options);
}

/* {{{ Envelopes
 *
 * A TASK "(tsv)" and a RESULT "(tv)" are most of the traffic. Their
 * framing is checked here field by field, as the specification lays it
 * out, and their value is found in place: GLib's check of the envelope
 * and a GVariant for each field on the way to the value cost more than
 * the rest of a small task. The test /channel/envelope-differential holds
 * this to GLib's verdict on the whole body.
 */

typedef struct
{
  gsize value_start;
  gsize value_size;
  const GVariantType *value_type;   /* in the body's bytes: not nul-terminated */
  gsize variant_end;                /* the value, a zero byte, its type: the "v" */
} EnvelopeValue;

/* g_variant_serialiser_is_string(): nul-terminated UTF-8, no other nul. */
static gboolean
string_is_normal (const guint8 *data,
                  gsize         size)
{
  return size > 0 && data[size - 1] == '\0' &&
         g_utf8_validate_len ((const char *) data, size - 1, NULL);
}

/* A basic value's bytes, of the right size already. */
static gboolean
basic_is_normal (char          type_char,
                 const guint8 *data,
                 gsize         size)
{
  switch (type_char)
    {
    case 'b':
      return data[0] < 2;
    case 's':
      return string_is_normal (data, size);
    case 'o':
      return string_is_normal (data, size) && g_variant_is_object_path ((const char *) data);
    case 'g':
      return string_is_normal (data, size) && g_variant_is_signature ((const char *) data);
    default:
      return TRUE;
    }
}

/* Finds the value in a TASK or RESULT body; FALSE when the envelope
 * around it is not in normal form (the value itself is not checked). */
static gboolean
envelope_locate (PMessageKind   kind,
                 const guint8  *data,
                 gsize          size,
                 EnvelopeValue *located)
{
  gsize variant_start, variant_end, separator, alignment, fixed_size;
  const char *type_string, *type_end;

  g_assert (kind == P_MESSAGE_TASK || kind == P_MESSAGE_RESULT);

  if (kind == P_MESSAGE_RESULT)
    {
      /* (tv): the id, then the variant up to the end; no offsets. */
      if (size < 8)
        return FALSE;
      variant_start = 8;
      variant_end = size;
    }
  else
    {
      /* (tsv): the id, the name, zeros up to 8-alignment, the variant,
       * then the name's end: the one framing offset, as small as the
       * size allows. */
      gsize offset_size = offset_size_for (size);
      gsize name_end;

      if (size < 8 + offset_size)
        return FALSE;
      variant_end = size - offset_size;
      name_end = read_offset (data + variant_end, offset_size);
      if (name_end < 8 || name_end > variant_end ||
          size != container_size_for (variant_end, 1) ||
          !string_is_normal (data + 8, name_end - 8))
        return FALSE;

      variant_start = align_up (name_end, 8);
      if (variant_start > variant_end || !is_zero (data + name_end, variant_start - name_end))
        return FALSE;
    }

  /* The variant: its value, a zero byte, then its type up to the end
   * (type strings hold no zero byte: the last one is the separator). */
  for (separator = variant_end; separator > variant_start && data[separator - 1] != '\0'; separator--)
    ;
  if (separator == variant_start)
    return FALSE;
  separator--;

  type_string = (const char *) data + separator + 1;
  located->value_start = variant_start;
  located->value_size = separator - variant_start;
  located->value_type = (const GVariantType *) type_string;
  located->variant_end = variant_end;

  /* The usual case, a number or a string, in short. */
  if (separator + 2 == variant_end && strchr ("bynqiuxthdsog", type_string[0]) != NULL)
    {
      fixed_size = basic_fixed_size (type_string[0]);
      return fixed_size == 0 || fixed_size == located->value_size;
    }

  if (!g_variant_type_string_scan (type_string, (const char *) data + variant_end, &type_end) ||
      type_end != (const char *) data + variant_end ||
      !g_variant_type_is_definite ((const GVariantType *) type_string))
    return FALSE;

  /* As GLib: a fixed-size value has its size, and the variant, at depth 1,
   * holds nothing that would nest too deep. */
  type_layout (located->value_type, &alignment, &fixed_size);
  return (fixed_size == 0 || fixed_size == located->value_size) &&
         glib_gives_variant_child (1, type_depth (located->value_type, TRUE));
}

/* }}} */
/* {{{ Messages */

/* A message's storage outlives p_message_free() while a value made from
 * its inline body holds it. (A g_atomic_rc_box() would do too, at about
 * 160 more instructions per message: callgrind, submit_throughput.) */
static PMessage *
message_storage_ref (PMessage *message)
{
  g_atomic_ref_count_inc (&message->ref_count);
  return message;
}

static void
message_storage_unref (PMessage *message)
{
  if (g_atomic_ref_count_dec (&message->ref_count))
    g_free (message);
}

/* A message of @kind; its body, when it is not given here, is the @bytes
 * the caller sets. */
static PMessage *
message_new (PMessageKind  kind,
             const guint8 *inline_body,
             gsize         inline_size)
{
  gsize storage_size = inline_body != NULL ? inline_size + BODY_SLACK : 0;
  PMessage *message = g_malloc (sizeof (PMessage) + storage_size);

  memset (message, 0, sizeof *message);
  message->kind = kind;
  message->link.data = message;
  g_atomic_ref_count_init (&message->ref_count);

  if (inline_body != NULL)
    {
      message->inline_size = inline_size;
      memcpy (message->inline_body, inline_body, inline_size);
      memset ((guint8 *) message->inline_body + inline_size, 0, BODY_SLACK);
    }

  return message;
}

static const guint8 *
message_body_data (const PMessage *message,
                   gsize          *size)
{
  if (message->bytes != NULL)
    return g_bytes_get_data (message->bytes, size);

  *size = message->inline_size;
  return (const guint8 *) message->inline_body;
}

/* @size bytes at @offset of the body, shared. */
static GBytes *
message_body_range (const PMessage *message,
                    gsize           offset,
                    gsize           size)
{
  if (message->bytes != NULL)
    return g_bytes_new_from_bytes (message->bytes, offset, size);

  g_assert (offset + size <= message->inline_size);
  return g_bytes_new_with_free_func ((const guint8 *) message->inline_body + offset, size,
                                     (GDestroyNotify) message_storage_unref,
                                     message_storage_ref ((PMessage *) message));
}

/* The whole body, shared. */
GBytes *
p_message_ref_bytes (const PMessage *message)
{
  if (message->bytes != NULL)
    return g_bytes_ref (message->bytes);

  return message_body_range (message, 0, message->inline_size);
}

static GVariant *
envelope_value_new (const PMessage      *message,
                    const EnvelopeValue *located,
                    gboolean             trusted)
{
  g_autoptr(GBytes) bytes = message_body_range (message, located->value_start, located->value_size);

  return g_variant_ref_sink (g_variant_new_from_bytes (located->value_type, bytes, trusted));
}

/* Reads the value of a TASK or RESULT body: FALSE when the body is not
 * in normal form. A basic value in an inline body is deferred, any other
 * is made, sharing the body's bytes. */
static gboolean
envelope_read_value (PMessage *message)
{
  const WalkOptions options = { SMALL_VALUE_SIZE, FALSE };
  gsize size;
  const guint8 *data = message_body_data (message, &size);
  g_autoptr(GVariant) value = NULL;
  EnvelopeValue located;
  char type_char;

  if (!envelope_locate (message->kind, data, size, &located))
    return FALSE;

  type_char = g_variant_type_peek_string (located.value_type)[0];
  if (strchr ("vam({", type_char) == NULL)
    {
      if (!basic_is_normal (type_char, data + located.value_start, located.value_size))
        return FALSE;

      if (message->bytes == NULL)
        {
          message->deferred_type = located.value_type;
          message->deferred_start = located.value_start;
          message->deferred_size = located.value_size;
        }
      else
        message->value = envelope_value_new (message, &located, TRUE);
      return TRUE;
    }

  /* The value sits at depth 2: body, variant, value. GLib's own check
   * marks a small one trusted; after ours, it is made again, trusted. */
  value = envelope_value_new (message, &located, FALSE);
  if (!variant_is_normal (value, 2, &options))
    return FALSE;
  if (located.value_size > SMALL_VALUE_SIZE)
    {
      g_clear_pointer (&value, g_variant_unref);
      value = envelope_value_new (message, &located, TRUE);
    }

  message->value = g_steal_pointer (&value);
  return TRUE;
}

/* A deferred value made from the storage that holds it, which it takes. */
static GVariant *
deferred_value_new (PMessage *storage)
{
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func ((const guint8 *) storage->inline_body + storage->deferred_start,
                                                        storage->deferred_size,
                                                        (GDestroyNotify) message_storage_unref,
                                                        storage);

  return g_variant_ref_sink (g_variant_new_from_bytes (storage->deferred_type, bytes, TRUE));
}

/* A TASK's arguments or a RESULT's value, made now if it was deferred
 * (each call makes another). */
GVariant *
p_message_dup_value (const PMessage *message)
{
  g_assert (message->kind == P_MESSAGE_TASK || message->kind == P_MESSAGE_RESULT);

  if (message->value != NULL)
    return g_variant_ref (message->value);

  g_assert (message->deferred_type != NULL);
  return deferred_value_new (message_storage_ref ((PMessage *) message));
}

/* The message's deferred value, kept without the rest of the message
 * (its storage, which holds it: no allocation); NULL when its value was
 * made already (p_message_dup_value() gives it). */
PDeferredValue *
p_message_defer_value (const PMessage *message)
{
  if (message->deferred_type == NULL)
    return NULL;

  return (PDeferredValue *) message_storage_ref ((PMessage *) message);
}

/* Makes the value, and frees @deferred. */
GVariant *
p_deferred_value_take (PDeferredValue *deferred)
{
  return deferred_value_new ((PMessage *) deferred);
}

void
p_deferred_value_free (PDeferredValue *deferred)
{
  message_storage_unref ((PMessage *) deferred);
}

/* A TASK's or RESULT's value in its variant, as it is in the body: a
 * serialized "v" that shares the body's bytes (g_variant_new_variant()
 * would be serialized again, copying a large value, when it is read). */
GVariant *
p_message_dup_boxed_value (const PMessage *message)
{
  gsize size;
  const guint8 *data = message_body_data (message, &size);
  g_autoptr(GBytes) bytes = NULL;
  EnvelopeValue located;
  gboolean found;

  g_assert (message->kind == P_MESSAGE_TASK || message->kind == P_MESSAGE_RESULT);

  /* Its value alone is in shared memory: boxed without a copy. */
  if (message->sealed && message->kind == P_MESSAGE_RESULT)
    return g_variant_ref_sink (g_variant_new_variant (message->value));

  found = envelope_locate (message->kind, data, size, &located);
  g_assert (found);

  bytes = message_body_range (message, located.value_start, located.variant_end - located.value_start);
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, bytes, TRUE));
}

/* The whole body, as a GVariant (made for a TASK or a RESULT). */
GVariant *
p_message_dup_body (const PMessage *message)
{
  g_autoptr(GBytes) bytes = NULL;

  if (message->body != NULL)
    return g_variant_ref (message->body);

  if (message->sealed && message->kind == P_MESSAGE_RESULT)
    return g_variant_ref_sink (p_message_new_result (message->id, message->value));

  bytes = p_message_ref_bytes (message);
  return g_variant_ref_sink (g_variant_new_from_bytes (p_message_kind_get_body_type (message->kind),
                                                       bytes, TRUE));
}

void
p_message_free (PMessage *message)
{
  if (message == NULL)
    return;

  g_clear_pointer (&message->value, g_variant_unref);
  g_clear_pointer (&message->body, g_variant_unref);
  g_clear_pointer (&message->bytes, g_bytes_unref);
  message_storage_unref (message);
}

/* }}} */

/* g_variant_is_normal_form(), without its cost in GLib 2.74 for arrays of
 * fixed-size items. */
gboolean
p_variant_is_normal_form (GVariant *value)
{
  const WalkOptions options = { SMALL_VALUE_SIZE, FALSE };

  return variant_is_normal (value, 0, &options);
}

/* The same, walking every container but fixed-size tuples: for tests. */
gboolean
p_variant_is_normal_form_walking (GVariant *value)
{
  const WalkOptions options = { 0, TRUE };

  return variant_is_normal (value, 0, &options);
}

/* Whether @value reaches more than @levels levels down, itself included:
 * by its type, or where it holds variants, by what they hold. It never
 * looks further down than @levels. */
static gboolean
value_deeper_than (GVariant *value,
                   gsize     levels)
{
  gsize n_children;

  if (levels == 0)
    return TRUE;
  if (strchr (g_variant_get_type_string (value), 'v') == NULL)
    return type_depth (g_variant_get_type (value), FALSE) > levels;

  n_children = g_variant_n_children (value);
  for (gsize i = 0; i < n_children; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (value_deeper_than (child, levels - 1))
        return TRUE;
    }

  return FALSE;
}

/* Fails if @value, placed at @depth in a message, would nest deeper than
 * GLib reads (G_VARIANT_MAX_RECURSION_DEPTH): the receiver would refuse
 * the whole message as not in normal form. Cheap unless @value holds
 * variants. */
gboolean
p_variant_check_depth (GVariant  *value,
                       gsize      depth,
                       GError   **error)
{
  const char *type_string = g_variant_get_type_string (value);

  g_assert (depth < MAX_VARIANT_DEPTH);

  /* The usual case, a number or a string, at once. */
  if (G_LIKELY ((type_string[1] == '\0' && type_string[0] != 'v') ||
                !value_deeper_than (value, MAX_VARIANT_DEPTH - depth)))
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _("A value of type “%s” nests deeper than a message can carry (GVariant reads %d levels)"),
               type_string, MAX_VARIANT_DEPTH);
  return FALSE;
}

/* }}} */

const GVariantType *
p_message_kind_get_body_type (PMessageKind kind)
{
  /* Literals known valid: G_VARIANT_TYPE() would check them every time. */
  switch (kind)
    {
    case P_MESSAGE_TASK:         return (const GVariantType *) "(tsv)";
    case P_MESSAGE_CHUNK:        return (const GVariantType *) "(tsvb)";
    case P_MESSAGE_CANCEL:
    case P_MESSAGE_RECALL:
    case P_MESSAGE_RECALLED:     return (const GVariantType *) "(t)";
    case P_MESSAGE_HELLO:        return (const GVariantType *) "(uxas)";
    case P_MESSAGE_RESULT:       return (const GVariantType *) "(tv)";
    case P_MESSAGE_ERROR:        return (const GVariantType *) "(tsis)";
    case P_MESSAGE_CHUNK_RESULT: return (const GVariantType *) "(tva(usis))";
    case P_MESSAGE_SEALED:       return (const GVariantType *) "(ut)";
    case P_MESSAGE_SEALED_RESULT: return (const GVariantType *) "(tstt)";
    default:                     return NULL;
    }
}

gboolean
p_message_kind_is_valid (PMessageKind kind,
                         PDirection   direction)
{
  switch (kind)
    {
    case P_MESSAGE_TASK:
    case P_MESSAGE_CHUNK:
    case P_MESSAGE_CANCEL:
    case P_MESSAGE_RECALL:
      return direction == P_DIRECTION_TO_WORKER;

    case P_MESSAGE_SEALED:
      return TRUE;

    case P_MESSAGE_HELLO:
    case P_MESSAGE_RESULT:
    case P_MESSAGE_ERROR:
    case P_MESSAGE_CHUNK_RESULT:
    case P_MESSAGE_RECALLED:
    case P_MESSAGE_SEALED_RESULT:
      return direction == P_DIRECTION_TO_POOL;

    default:
      return FALSE;
    }
}

/* {{{ Message bodies, without format strings (parsing one costs more than
 * building the message) */

GVariant *
p_message_new_task (guint64     id,
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
p_message_new_chunk (guint64     id,
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
p_message_new_id (guint64 id)
{
  GVariant *field = g_variant_new_uint64 (id);

  return g_variant_new_tuple (&field, 1);
}

GVariant *
p_message_new_result (guint64   id,
                      GVariant *value)
{
  GVariant *fields[2] = {
    g_variant_new_uint64 (id),
    g_variant_new_variant (value),
  };

  return g_variant_new_tuple (fields, 2);
}

GVariant *
p_message_new_error (guint64       id,
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

/* A chunk's results: when they all have one type T, as an "aT", so that
 * the pool checks and reads them without a variant around each (an "ax"
 * of a million squares is checked in constant time); otherwise as an
 * "av". The failures are (index in the chunk, domain, code, message). */
GVariant *
p_message_new_chunk_result (guint64    id,
                            GVariant **values,
                            gsize      n_values,
                            GVariant  *errors)
{
  const GVariantType *type = n_values > 0 ? g_variant_get_type (values[0]) : NULL;
  GVariant *fields[3];
  GVariant *array;

  for (gsize i = 1; i < n_values && type != NULL; i++)
    if (!g_variant_type_equal (g_variant_get_type (values[i]), type))
      type = NULL;

  /* Variants are boxed again: an "av" always holds boxed results. */
  if (type != NULL && g_variant_type_equal (type, G_VARIANT_TYPE_VARIANT))
    type = NULL;

  if (type != NULL && g_variant_type_is_basic (type) &&
      basic_fixed_size (g_variant_type_peek_string (type)[0]) > 0)
    {
      gsize size = basic_fixed_size (g_variant_type_peek_string (type)[0]);
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

/* The @index-th value of a chunk's results ("av" or "aT"). */
GVariant *
p_chunk_values_get (GVariant *values,
                    gsize     index)
{
  GVariant *child = g_variant_get_child_value (values, index);
  GVariant *value;

  if (!g_variant_is_of_type (values, G_VARIANT_TYPE ("av")))
    return child;

  value = g_variant_get_variant (child);
  g_variant_unref (child);

  return value;
}

/* }}} */

/* Serializes @body straight into a frame: one copy of the data at most. */
GBytes *
p_message_encode (PMessageKind  kind,
                  GVariant     *body,
                  gsize         max_message_size,
                  GError      **error)
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
  if (size > max_message_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   _("Message of %" G_GSIZE_FORMAT " bytes is over the limit of %" G_GSIZE_FORMAT " bytes"),
                   size, max_message_size);
      return NULL;
    }

  frame = g_malloc (P_FRAME_HEADER_SIZE + pad8 (size));
  header[0] = (guint32) size;
  header[1] = (guint32) kind;
  memcpy (frame, header, sizeof header);
  g_variant_store (normal, frame + P_FRAME_HEADER_SIZE);
  memset (frame + P_FRAME_HEADER_SIZE + size, 0, pad8 (size) - size);

  return g_bytes_new_take (frame, P_FRAME_HEADER_SIZE + pad8 (size));
}

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

/* Values at least this large are shared, not copied, into a frame. */
#define SHARE_THRESHOLD (16 * 1024)

typedef struct
{
  GBytes *shared;          /* or NULL: in the frame's own bytes */
  const guint8 *data;
  gsize size;
} FrameSegment;

struct _PFrame
{
  gatomicrefcount ref_count;
  guint n_segments;
  gsize allocation_size;
  gsize size;
  FrameSegment *segments;  /* &one_segment, or an allocation of their own */
  guint8 *own;             /* the bytes written, not shared: inline_bytes or allocated */
  int fd;                  /* sent along its first byte (a sealed message's); -1 for none */
  FrameSegment one_segment;
  guint8 inline_bytes[];   /* a frame in one piece: its bytes, in the same allocation */
};

/* A frame with @inline_size bytes of its own after it, no segment yet. A
 * slice, as it is mostly made in one thread and freed in another (see Job
 * in p-pool.c). */
static PFrame *
frame_alloc (gsize inline_size)
{
  PFrame *frame = g_slice_alloc (sizeof (PFrame) + inline_size);

  g_atomic_ref_count_init (&frame->ref_count);
  frame->allocation_size = sizeof (PFrame) + inline_size;
  frame->n_segments = 0;
  frame->size = 0;
  frame->segments = &frame->one_segment;
  frame->own = inline_size > 0 ? frame->inline_bytes : NULL;
  frame->fd = -1;

  return frame;
}

/* A frame of these segments, shared (so a test can make any frame). */
PFrame *
p_frame_new (GBytes * const *segments,
             guint           n_segments)
{
  PFrame *frame = frame_alloc (0);

  g_assert (n_segments > 0);

  if (n_segments > 1)
    frame->segments = g_new (FrameSegment, n_segments);
  frame->n_segments = n_segments;

  for (guint i = 0; i < n_segments; i++)
    {
      FrameSegment *segment = &frame->segments[i];

      segment->shared = g_bytes_ref (segments[i]);
      segment->data = g_bytes_get_data (segments[i], &segment->size);
      frame->size += segment->size;
    }

  return frame;
}

/* A frame in one piece, taking @bytes. */
PFrame *
p_frame_new_from_bytes (GBytes *bytes)
{
  g_autoptr(GBytes) owned = bytes;

  return p_frame_new (&owned, 1);
}

PFrame *
p_frame_ref (PFrame *frame)
{
  g_atomic_ref_count_inc (&frame->ref_count);
  return frame;
}

/* NULL is let be: the queue's written frames are NULLs it then drops. */
void
p_frame_unref (PFrame *frame)
{
  if (frame == NULL || !g_atomic_ref_count_dec (&frame->ref_count))
    return;

  for (guint i = 0; i < frame->n_segments; i++)
    g_clear_pointer (&frame->segments[i].shared, g_bytes_unref);
  if (frame->segments != &frame->one_segment)
    g_free (frame->segments);
  if (frame->own != frame->inline_bytes)
    g_free (frame->own);
  if (frame->fd >= 0)
    close (frame->fd);
  g_slice_free1 (frame->allocation_size, frame);
}

gsize
p_frame_get_size (PFrame *frame)
{
  return frame->size;
}

/* The descriptor that goes with the frame; the frame keeps it. */
int
p_frame_get_fd (PFrame *frame)
{
  return frame->fd;
}

/* Writes a frame. One that shares nothing (any frame under
 * SHARE_THRESHOLD) is one allocation of its exact size, bytes and all. */
typedef struct
{
  PFrame *frame;
  GArray *segments;        /* FrameSegment, once one is shared; their own
                            * bytes' data is an offset in @buffer until the end */
  guint8 *buffer;          /* the frame's own bytes */
  gsize length;            /* of them */
  gsize allocated;
  gsize segment_start;     /* in @buffer, of the bytes since the last shared segment */
  gsize position;          /* in the body */
} Writer;

static void
writer_init (Writer *writer,
             guint32 body_size,
             guint32 kind)
{
  guint32 header[2] = { body_size, kind };

  if (body_size < SHARE_THRESHOLD)
    {
      writer->allocated = sizeof header + pad8 (body_size);
      writer->frame = frame_alloc (writer->allocated);
      writer->buffer = writer->frame->own;
    }
  else
    {
      writer->allocated = 256;
      writer->frame = frame_alloc (0);
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
  writer_zeros (writer, align_up (writer->position, alignment) - writer->position);
}

static void
writer_add_segment (Writer             *writer,
                    const FrameSegment *segment)
{
  if (writer->segments == NULL)
    writer->segments = g_array_new (FALSE, FALSE, sizeof (FrameSegment));
  g_array_append_vals (writer->segments, segment, 1);
}

/* Ends the segment of own bytes written since the last shared one. */
static void
writer_end_own_segment (Writer *writer)
{
  FrameSegment segment = { NULL, GSIZE_TO_POINTER (writer->segment_start),
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
  FrameSegment segment = { bytes, NULL, 0 };

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

  if (size >= SHARE_THRESHOLD)
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
  writer_zeros (writer, pad8 (writer->position) - writer->position);

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
  frame->segments = (FrameSegment *) g_array_free (g_steal_pointer (&writer->segments), FALSE);

  for (guint i = 0; i < frame->n_segments; i++)
    {
      FrameSegment *segment = &frame->segments[i];

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

  type_layout (items->element, &items->alignment, &items->fixed_size);

  if (items->fixed_size > 0)
    {
      items->size = items->n_items * items->fixed_size;
      items->offset_size = 0;
      return;
    }

  for (gsize i = 0; i < items->n_items; i++)
    end = align_up (end, items->alignment) + g_variant_get_size (items->items[i]);

  items->size = container_size_for (end, items->n_items);
  items->offset_size = offset_size_for (items->size);
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

      if (items->size >= SHARE_THRESHOLD)
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
          end = align_up (end, items->alignment) + g_variant_get_size (items->items[i]);
          write_offset (writer_reserve (writer, items->offset_size), end, items->offset_size);
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

/* What a message's variant holds: a value, an array of items, or a
 * number's bytes. */
typedef struct
{
  GVariant *value;
  const Items *items;
  const Number *number;
  const char *type;
} Payload;

static gsize
payload_size (const Payload *payload)
{
  if (payload->value != NULL)
    return g_variant_get_size (payload->value);
  if (payload->items != NULL)
    return payload->items->size;
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
  else
    writer_append (writer, payload->number->bytes, payload->number->size);

  writer_zeros (writer, 1);
  writer_append (writer, payload->type, strlen (payload->type));
}

static gboolean
check_size (gsize    size,
            gsize    max_message_size,
            GError **error)
{
  if (size <= max_message_size)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
               _("Message of %" G_GSIZE_FORMAT " bytes is over the limit of %" G_GSIZE_FORMAT " bytes"),
               size, max_message_size);
  return FALSE;
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
  gsize payload_start = align_up (name_end, 8);
  gsize payload_end = payload_start + payload_size (payload) + 1 + strlen (payload->type);
  gsize body_end = payload_end + (flag >= 0 ? 1 : 0);
  gsize n_offsets = (name != NULL ? 1 : 0) + (flag >= 0 ? 1 : 0);
  gsize size = container_size_for (body_end, n_offsets);
  gsize offset_size = offset_size_for (size);
  Writer writer;

  if (!check_size (size, max_message_size, error))
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
      write_offset (writer_reserve (&writer, offset_size), payload_end, offset_size);
    }
  if (name != NULL)
    write_offset (writer_reserve (&writer, offset_size), name_end, offset_size);

  g_assert (writer.position == size);
  return writer_finish (&writer);
}

/* The normal form of @value, a new reference: free for trusted values,
 * those built here or received. */
static GVariant *
normal_form (GVariant *value)
{
  const char *type_string = g_variant_get_type_string (value);

  /* Any number is (GLib reads a short one as zero, and so does
   * writer_value()): only a boolean can be 2. */
  if (type_string[1] == '\0' && type_string[0] != 'b' && basic_fixed_size (type_string[0]) > 0)
    return g_variant_ref (value);

  return p_variant_is_normal_form (value) ? g_variant_ref (value) : g_variant_get_normal_form (value);
}

/* Numbers are any bytes of their size; a boolean is not one (it may be 2). */
static gboolean
number_init (Number *number,
             char    type_char)
{
  gsize size = type_char != 'b' ? basic_fixed_size (type_char) : 0;

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

  normal = normal_form (owned);
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

/* A CHUNK frame, (tsvb), holding @items as they are. */
PFrame *
p_message_encode_chunk (guint64      id,
                        const char  *function,
                        GVariant    *items,
                        gboolean     stop_at_first_error,
                        gsize        max_message_size,
                        GError     **error)
{
  return encode_value_envelope (P_MESSAGE_CHUNK, id, function, items, stop_at_first_error ? 1 : 0,
                                max_message_size, error);
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

  type_layout (items.element, &alignment, &fixed_size);

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
          g_ptr_array_add (owned, normal_form (item));
        }
      items.items = (GVariant **) owned->pdata;
    }

  items_layout (&items);
  return encode_envelope (P_MESSAGE_CHUNK, id, function, &payload, stop_at_first_error ? 1 : 0,
                          max_message_size, error);
}

/* A RESULT frame, (tv). */
PFrame *
p_message_encode_result (guint64      id,
                         GVariant    *value,
                         gsize        max_message_size,
                         GError     **error)
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

struct _PChunkResults
{
  gsize n_values;
  GVariantType *packed_type;   /* the fixed-size type of every result so far, */
  gsize packed_size;           /* its size, */
  gboolean packed_any_bytes;   /* whether any bytes of that size are normal, */
  GByteArray *packed;          /* their serializations end to end; */
  GPtrArray *values;           /* or the results as given */
};

PChunkResults *
p_chunk_results_new (void)
{
  PChunkResults *self = g_new0 (PChunkResults, 1);

  self->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  return self;
}

void
p_chunk_results_free (PChunkResults *self)
{
  g_clear_pointer (&self->packed_type, g_variant_type_free);
  g_clear_pointer (&self->packed, g_byte_array_unref);
  g_ptr_array_unref (self->values);
  g_free (self);
}

gsize
p_chunk_results_get_count (PChunkResults *self)
{
  return self->n_values;
}

/* The packed results become GVariants again: a result of another type came. */
static void
chunk_results_unpack (PChunkResults *self)
{
  g_autoptr(GBytes) all = g_byte_array_free_to_bytes (g_steal_pointer (&self->packed));
  g_autoptr(GVariantType) type = g_steal_pointer (&self->packed_type);
  gsize alignment, size;

  self->packed_any_bytes = FALSE;

  type_layout (type, &alignment, &size);

  for (gsize i = 0; i < self->n_values; i++)
    {
      g_autoptr(GBytes) slice = g_bytes_new_from_bytes (all, i * size, size);

      g_ptr_array_add (self->values, g_variant_ref_sink (g_variant_new_from_bytes (type, slice, TRUE)));
    }
}

/* Adds @value, taking its reference, floating or not. */
gboolean
p_chunk_results_add (PChunkResults  *self,
                     GVariant       *value,
                     GError        **error)
{
  g_autoptr(GVariant) owned = g_variant_take_ref (value);
  const GVariantType *type = g_variant_get_type (owned);

  /* A number like the ones before: its bytes, at once (one lock of the
   * value rather than one per accessor, no type comparison). */
  if (self->packed_any_bytes && g_variant_type_peek_string (type)[0] == g_variant_type_peek_string (self->packed_type)[0])
    {
      gsize end = self->packed->len;

      g_byte_array_set_size (self->packed, end + self->packed_size);
      g_variant_store (owned, self->packed->data + end);
      self->n_values++;
      return TRUE;
    }

  /* Results go in an array in the body's variant, each in a variant of
   * its own if their types differ: four levels down at most. */
  if (!p_variant_check_depth (owned, 4, error))
    return FALSE;

  if (self->n_values == 0)
    {
      gsize alignment, fixed_size;

      type_layout (type, &alignment, &fixed_size);
      if (fixed_size > 0)
        {
          self->packed_type = g_variant_type_copy (type);
          self->packed_size = fixed_size;
          /* Numbers: no normal form to check, that is most of the cost. */
          self->packed_any_bytes = g_variant_type_is_basic (type) &&
                                   !g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN);
          self->packed = g_byte_array_new ();
        }
    }
  else if (self->packed_type != NULL && !g_variant_type_equal (type, self->packed_type))
    chunk_results_unpack (self);

  if (self->packed_type != NULL && self->packed_any_bytes)
    {
      g_byte_array_set_size (self->packed, self->packed_size);
      g_variant_store (owned, self->packed->data);
    }
  else if (self->packed_type != NULL)
    {
      g_autoptr(GVariant) normal = normal_form (owned);

      g_byte_array_append (self->packed, g_variant_get_data (normal), g_variant_get_size (normal));
    }
  else
    g_ptr_array_add (self->values, g_steal_pointer (&owned));

  self->n_values++;
  return TRUE;
}

/* A CHUNK_RESULT frame, (tva(usis)): the results, as an "aT" when they
 * share a type T (large ones shared), as an "av" otherwise; and the
 * failures. As p_message_encode (P_MESSAGE_CHUNK_RESULT,
 * p_message_new_chunk_result (...)) of the same results. */
PFrame *
p_message_encode_chunk_result (guint64         id,
                               PChunkResults  *results,
                               GVariant       *errors,
                               gsize           max_message_size,
                               GError        **error)
{
  g_autoptr(GVariant) owned_errors = g_variant_ref_sink (errors);
  GVariant **values = (GVariant **) results->values->pdata;
  gsize n_values = results->n_values;
  const GVariantType *type = NULL;
  g_autofree char *array_type = NULL;
  g_autoptr(GVariant) boxed = NULL;
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GPtrArray) normals = g_ptr_array_new_full (n_values, (GDestroyNotify) g_variant_unref);
  Items items = { NULL, NULL, NULL, 0, n_values };
  Payload payload = { .items = &items };
  gsize payload_end, errors_start, body_end, size, offset_size;
  Writer writer;

  if (results->packed_type != NULL)
    {
      g_autofree char *element = g_variant_type_dup_string (results->packed_type);

      type = results->packed_type;
      array_type = g_strconcat ("a", element, NULL);
    }
  else if (n_values > 0)
    {
      type = g_variant_get_type (values[0]);
      for (gsize i = 1; i < n_values && type != NULL; i++)
        if (!g_variant_type_equal (g_variant_get_type (values[i]), type))
          type = NULL;
      if (type != NULL && g_variant_type_equal (type, G_VARIANT_TYPE_VARIANT))
        type = NULL;
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
      if (results->packed_type != NULL)
        {
          /* The frame may share them: it keeps them alive. */
          g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (results->packed->data, results->packed->len,
                                                                (GDestroyNotify) g_byte_array_unref,
                                                                g_byte_array_ref (results->packed));

          packed = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (array_type), bytes, TRUE));
          items.fixed = packed;
        }
      else
        {
          for (gsize i = 0; i < n_values; i++)
            g_ptr_array_add (normals, normal_form (values[i]));
          items.items = (GVariant **) normals->pdata;
        }
      items_layout (&items);
    }

  payload_end = 8 + payload_size (&payload) + 1 + strlen (payload.type);
  errors_start = align_up (payload_end, 4);
  body_end = errors_start + g_variant_get_size (owned_errors);
  size = container_size_for (body_end, 1);
  offset_size = offset_size_for (size);

  if (!check_size (size, max_message_size, error))
    return NULL;

  writer_init (&writer, size, P_MESSAGE_CHUNK_RESULT);
  writer_append (&writer, &id, sizeof id);
  writer_payload (&writer, &payload);
  writer_align (&writer, 4);
  writer_value (&writer, owned_errors);
  write_offset (writer_reserve (&writer, offset_size), payload_end, offset_size);

  g_assert (writer.position == size);
  return writer_finish (&writer);
}

/* {{{ The frames waiting to be written
 *
 * An array rather than a GQueue: no list node to allocate and free per
 * frame, and the write vectors are read off it in order. */

void
p_frame_queue_init (PFrameQueue *self)
{
  *self = (PFrameQueue) { g_ptr_array_new_with_free_func ((GDestroyNotify) p_frame_unref), 0, };
}

void
p_frame_queue_clear (PFrameQueue *self)
{
  g_clear_pointer (&self->frames, g_ptr_array_unref);
  *self = (PFrameQueue) { NULL, 0, };
}

void
p_frame_queue_push (PFrameQueue *self,
                    PFrame      *frame)
{
  g_ptr_array_add (self->frames, p_frame_ref (frame));
  self->size += frame->size;
  self->n_frames++;
}

gboolean
p_frame_queue_is_empty (const PFrameQueue *self)
{
  return self->size == 0;
}

/* The next bytes to write, as up to @max_vectors vectors; how many. */
gsize
p_frame_queue_peek (const PFrameQueue *self,
                    GOutputVector     *vectors,
                    gsize              max_vectors)
{
  gsize n_vectors = 0;
  guint first_segment = self->head_segment;
  gsize skip = self->head_written;

  for (guint i = self->head; i < self->frames->len && n_vectors < max_vectors; i++)
    {
      const PFrame *frame = self->frames->pdata[i];

      /* A descriptor goes with the first byte of a write: its frame
       * starts the next one. */
      if (frame->fd >= 0 && i > self->head)
        break;

      for (guint k = first_segment; k < frame->n_segments && n_vectors < max_vectors; k++)
        {
          vectors[n_vectors].buffer = frame->segments[k].data + skip;
          vectors[n_vectors].size = frame->segments[k].size - skip;
          n_vectors++;
          skip = 0;
        }
      first_segment = 0;
    }

  return n_vectors;
}

/* The descriptor to send with the bytes p_frame_queue_peek() gives, or -1:
 * the head frame's, before any of its bytes left. */
int
p_frame_queue_peek_fd (const PFrameQueue *self)
{
  const PFrame *frame;

  if (self->size == 0)
    return -1;

  frame = self->frames->pdata[self->head];
  return self->head_segment == 0 && self->head_written == 0 ? frame->fd : -1;
}

/* @written bytes left: the frames they finish are let go. */
void
p_frame_queue_advance (PFrameQueue *self,
                       gsize        written)
{
  g_assert (written <= self->size);

  self->size -= written;
  while (written > 0)
    {
      PFrame *frame = self->frames->pdata[self->head];
      gsize left = frame->segments[self->head_segment].size - self->head_written;

      if (written < left)
        {
          self->head_written += written;
          return;
        }

      written -= left;
      self->head_written = 0;
      if (++self->head_segment == frame->n_segments)
        {
          g_clear_pointer (&self->frames->pdata[self->head], p_frame_unref);
          self->head++;
          self->head_segment = 0;
        }
    }

  /* Written up: the array starts again, its allocation kept; behind, its
   * written part goes once it is most of it. */
  if (self->size == 0)
    {
      g_ptr_array_set_size (self->frames, 0);
      self->head = 0;
      self->n_frames = 0;
    }
  else if (self->head >= 64 && self->head >= self->frames->len / 2)
    {
      g_ptr_array_remove_range (self->frames, 0, self->head);
      self->head = 0;
    }
}

/* }}} */

/* }}} */

/* How p_variant_join_boxed() reads one of its arrays. */
typedef struct
{
  GVariant *array;
  gsize n_items;
  const guint8 *data;      /* of a fixed-size array, read in place */
  gsize fixed_size;
  const char *item_type;   /* NULL: items are variants already */
  gsize item_type_length;
} JoinSource;

/* The @index-th item's bytes; @hold keeps them alive when needed. */
static const guint8 *
join_item (const JoinSource  *source,
           gsize              index,
           gsize             *size,
           GVariant         **hold)
{
  if (source->fixed_size > 0)
    {
      *size = source->fixed_size;
      *hold = NULL;
      return source->data + index * source->fixed_size;
    }

  *hold = g_variant_get_child_value (source->array, index);
  *size = g_variant_get_size (*hold);
  return g_variant_get_data (*hold);
}

static GVariant *
join_tree (GVariant **boxed,
           gsize      n_items)
{
  GVariant *array = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, boxed, n_items));

  for (gsize i = 0; i < n_items; i++)
    g_variant_unref (boxed[i]);

  return array;
}

/* One "av" of every item of @arrays, each boxed in a variant ("av" items
 * are variants already): a map's result. Small items are serialized here
 * rather than built from a million GVariants; large ones stay where they
 * were received, referenced by a tree of GVariants that GLib serializes
 * only if someone asks for its bytes. Trusted arrays only. */
GVariant *
p_variant_join_boxed (GVariant **arrays,
                      guint      n_arrays)
{
  g_autofree JoinSource *sources = g_new0 (JoinSource, MAX (n_arrays, 1));
  gsize end = 0, n_items = 0, size, offset_size, k = 0;
  guint8 *data;

  for (guint a = 0; a < n_arrays; a++)
    {
      const char *array_type = g_variant_get_type_string (arrays[a]);

      sources[a].array = arrays[a];
      sources[a].n_items = g_variant_n_children (arrays[a]);
      if (array_type[2] == '\0' && basic_fixed_size (array_type[1]) > 0)
        {
          sources[a].fixed_size = basic_fixed_size (array_type[1]);
          sources[a].data = g_variant_get_data (arrays[a]);
        }
      if (strcmp (array_type, "av") != 0)
        {
          sources[a].item_type = array_type + 1;
          sources[a].item_type_length = strlen (array_type + 1);
        }
      n_items += sources[a].n_items;
    }

  if (n_items == 0)
    return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0));

  /* Where everything goes: items 8-aligned, each followed by its type. */
  for (guint a = 0; a < n_arrays; a++)
    {
      if (sources[a].fixed_size > 0 && sources[a].n_items > 0)
        {
          gsize span = sources[a].fixed_size + 1 + sources[a].item_type_length;

          end = align_up (end, 8) + (sources[a].n_items - 1) * align_up (span, 8) + span;
          continue;
        }

      for (gsize i = 0; i < sources[a].n_items; i++)
        {
          /* Its size only: a sealed result's box is not serialized, and
           * asking for its bytes would copy it. */
          g_autoptr(GVariant) item = g_variant_get_child_value (sources[a].array, i);
          gsize item_size = g_variant_get_size (item);

          end = align_up (end, 8) + item_size + (sources[a].item_type != NULL ? 1 + sources[a].item_type_length : 0);
        }
    }

  if (end / n_items >= SHARE_THRESHOLD)
    {
      g_autofree GVariant **boxed = g_new (GVariant *, n_items);

      for (guint a = 0; a < n_arrays; a++)
        for (gsize i = 0; i < sources[a].n_items; i++)
          {
            g_autoptr(GVariant) item = g_variant_get_child_value (sources[a].array, i);

            boxed[k++] = sources[a].item_type != NULL ? g_variant_ref_sink (g_variant_new_variant (item))
                                                      : g_steal_pointer (&item);
          }

      return join_tree (boxed, n_items);
    }

  size = container_size_for (end, n_items);
  offset_size = offset_size_for (size);
  data = g_malloc0 (size);

  end = 0;
  for (guint a = 0; a < n_arrays; a++)
    {
      /* Numbers, most often: a million of them in a map. */
      if (sources[a].fixed_size > 0)
        {
          const JoinSource *source = &sources[a];
          guint8 *offsets = data + size - (n_items - k) * offset_size;

          for (gsize i = 0; i < source->n_items; i++, offsets += offset_size)
            {
              end = align_up (end, 8);
              memcpy (data + end, source->data + i * source->fixed_size, source->fixed_size);
              end += source->fixed_size + 1;     /* the zero byte: from g_malloc0() */
              memcpy (data + end, source->item_type, source->item_type_length);
              end += source->item_type_length;
              write_offset (offsets, end, offset_size);
            }
          k += source->n_items;
          continue;
        }

      for (gsize i = 0; i < sources[a].n_items; i++)
        {
          g_autoptr(GVariant) hold = NULL;
          gsize item_size;
          const guint8 *item = join_item (&sources[a], i, &item_size, &hold);

          end = align_up (end, 8);
          if (item_size > 0)
            memcpy (data + end, item, item_size);
          end += item_size;
          if (sources[a].item_type != NULL)
            {
              data[end++] = '\0';
              memcpy (data + end, sources[a].item_type, sources[a].item_type_length);
              end += sources[a].item_type_length;
            }

          write_offset (data + size - (n_items - k) * offset_size, end, offset_size);
          k++;
        }
    }

  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("av"), data, size, TRUE, g_free, data));
}

/* }}} */
/* {{{ Sealed messages: large values in shared memory (version 3)
 *
 * A body or a value of P_SEALED_MIN_SIZE bytes or more is written once to
 * a memfd, sealed against writing and shrinking, and its descriptor goes
 * along a small frame: one copy instead of two through the socket each
 * way, and none when a worker returns (part of) what it was given, which
 * it sends back in the pool's own memfd. */

/* A sealed file mapped, alive as long as a GBytes made of it. */
typedef struct
{
  gatomicrefcount ref_count;
  int fd;                  /* kept to send it back (in workers); else -1 */
  const guint8 *data;
  gsize length;
  gboolean copied;         /* read into memory: the process ran out of mappings */
} Mapping;

/* A worker's mappings that keep their descriptor, to find the one a
 * returned value lies in. Few: those of the tasks in hand. */
static GMutex kept_mappings_mutex;
static GPtrArray *kept_mappings;

static void
mapping_unref (gpointer data)
{
  Mapping *mapping = data;

  if (!g_atomic_ref_count_dec (&mapping->ref_count))
    return;

  if (mapping->fd >= 0)
    {
      g_mutex_lock (&kept_mappings_mutex);
      g_ptr_array_remove_fast (kept_mappings, mapping);
      g_mutex_unlock (&kept_mappings_mutex);
      close (mapping->fd);
    }
  if (mapping->copied)
    g_free ((gpointer) mapping->data);
  else
    munmap ((gpointer) mapping->data, mapping->length);
  g_free (mapping);
}

static gboolean
pread_all (int     fd,
           guint8 *data,
           gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = pread (fd, data + done, size - done, done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      done += n;
    }

  return TRUE;
}

/* @fd, taken, mapped if it is sealed and holds at least @needed bytes. */
static Mapping *
mapping_new (int       fd,
             gsize     needed,
             gboolean  keep_fd,
             GError  **error)
{
  const int required_seals = F_SEAL_WRITE | F_SEAL_SHRINK;
  int seals = fcntl (fd, F_GET_SEALS);
  Mapping *mapping;
  struct stat st;
  void *data;

  if (seals < 0 || (seals & required_seals) != required_seals)
    {
      close (fd);
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("A sealed message came with a descriptor that is not sealed"));
      return NULL;
    }

  if (fstat (fd, &st) != 0 || st.st_size <= 0 || (guint64) st.st_size < needed)
    {
      close (fd);
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("A sealed message is larger than its descriptor’s file"));
      return NULL;
    }

  mapping = g_new0 (Mapping, 1);
  data = mmap (NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED)
    {
      /* Out of mappings (vm.max_map_count), say, with a result in each:
       * the bytes are read instead. */
      data = g_try_malloc (st.st_size);
      if (data == NULL || !pread_all (fd, data, st.st_size))
        {
          int saved_errno = errno;

          g_free (data);
          g_free (mapping);
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not map a sealed message: %s"), g_strerror (saved_errno));
          return NULL;
        }
      mapping->copied = TRUE;
    }

  g_atomic_ref_count_init (&mapping->ref_count);
  mapping->data = data;
  mapping->length = st.st_size;
  mapping->fd = -1;
  if (keep_fd)
    {
      mapping->fd = fd;
      g_mutex_lock (&kept_mappings_mutex);
      if (kept_mappings == NULL)
        kept_mappings = g_ptr_array_new ();
      g_ptr_array_add (kept_mappings, mapping);
      g_mutex_unlock (&kept_mappings_mutex);
    }
  else
    close (fd);

  return mapping;
}

static GBytes *
mapping_range (Mapping *mapping,
               gsize    offset,
               gsize    size)
{
  g_atomic_ref_count_inc (&mapping->ref_count);
  return g_bytes_new_with_free_func (mapping->data + offset, size, mapping_unref, mapping);
}

/* A sealed memfd of @vectors, then BODY_SLACK zeros (a reader may look a
 * few bytes past a body); -1 on an error. */
static int
sealed_file_new (const GOutputVector  *vectors,
                 gsize                 n_vectors,
                 GError              **error)
{
  gsize total = 0, offset = 0;
  int fd;

  for (gsize i = 0; i < n_vectors; i++)
    total += vectors[i].size;

  fd = memfd_create ("processing-glib-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate (fd, total + BODY_SLACK) != 0)
    goto failed;

  for (gsize i = 0; i < n_vectors; i++)
    for (gsize done = 0; done < vectors[i].size;)
      {
        gssize n = pwrite (fd, (const guint8 *) vectors[i].buffer + done, vectors[i].size - done, offset);

        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          goto failed;
        done += n;
        offset += n;
      }

  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    goto failed;

  return fd;

failed:
  {
    int saved_errno = errno;

    if (fd >= 0)
      close (fd);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 _("Could not make a sealed message: %s"), g_strerror (saved_errno));
    return -1;
  }
}

static PFrame *
sealed_frame_new (PMessageKind  kind,
                  GVariant     *body,
                  int           fd)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  g_autoptr(GBytes) bytes = p_message_encode (kind, owned, G_MAXUINT32, NULL);
  PFrame *frame;

  g_assert (bytes != NULL);
  frame = p_frame_new_from_bytes (g_steal_pointer (&bytes));
  frame->fd = fd;

  return frame;
}

/* @frame (a TASK or a CHUNK; a CHUNK_RESULT) as a SEALED message: its
 * body goes to a sealed memfd. NULL on an error (out of descriptors, say):
 * send @frame. */
PFrame *
p_frame_new_sealed (PFrame  *frame,
                    GError **error)
{
  g_autofree GOutputVector *vectors = g_new (GOutputVector, frame->n_segments);
  guint32 header[2];
  gsize skip = P_FRAME_HEADER_SIZE;
  gsize n_vectors = 0;
  gsize left;
  int fd;

  g_assert (frame->fd < 0 && frame->segments[0].size >= P_FRAME_HEADER_SIZE);
  memcpy (header, frame->segments[0].data, sizeof header);

  /* The body, without the header nor the padding. */
  left = header[0];
  for (guint i = 0; i < frame->n_segments && left > 0; i++)
    {
      vectors[n_vectors].buffer = frame->segments[i].data + skip;
      vectors[n_vectors].size = MIN (frame->segments[i].size - skip, left);
      left -= vectors[n_vectors].size;
      skip = 0;
      n_vectors++;
    }
  g_assert (left == 0);

  fd = sealed_file_new (vectors, n_vectors, error);
  if (fd < 0)
    return NULL;

  return sealed_frame_new (P_MESSAGE_SEALED,
                           g_variant_new ("(ut)", header[1], (guint64) header[0]),
                           fd);
}

/* @frame, or a SEALED message of it when it is that large and a sealed
 * file can be made (else it goes in the stream): a new reference. */
PFrame *
p_frame_seal_if_large (PFrame *frame)
{
  g_autoptr(GError) error = NULL;
  PFrame *sealed;

  if (frame->size < P_FRAME_HEADER_SIZE + P_SEALED_MIN_SIZE)
    return p_frame_ref (frame);

  sealed = p_frame_new_sealed (frame, &error);
  if (sealed == NULL)
    {
      g_debug ("A large message goes in the stream: %s", error->message);
      return p_frame_ref (frame);
    }

  return sealed;
}

/* A RESULT of @value as a SEALED_RESULT: in the memfd of the task it came
 * from when it lies in one, else in a new one. NULL on an error. */
PFrame *
p_message_encode_sealed_result (guint64    id,
                                GVariant  *value,
                                GError   **error)
{
  const guint8 *data = g_variant_get_data (value);
  gsize size = g_variant_get_size (value);
  GOutputVector vector = { data, size };
  guint64 offset = 0;
  int fd = -1;

  /* As deep as a RESULT's value may go, whichever way it is sent. */
  if (!p_variant_check_depth (value, 2, error))
    return NULL;

  g_mutex_lock (&kept_mappings_mutex);
  for (guint i = 0; kept_mappings != NULL && i < kept_mappings->len; i++)
    {
      Mapping *mapping = kept_mappings->pdata[i];

      /* Followed by BODY_SLACK bytes of the file, as any sealed value. */
      if (data >= mapping->data && data + size + BODY_SLACK <= mapping->data + mapping->length)
        {
          fd = fcntl (mapping->fd, F_DUPFD_CLOEXEC, 3);
          offset = data - mapping->data;
          break;
        }
    }
  g_mutex_unlock (&kept_mappings_mutex);

  if (fd < 0)
    {
      fd = sealed_file_new (&vector, 1, error);
      if (fd < 0)
        return NULL;
      offset = 0;
    }

  return sealed_frame_new (P_MESSAGE_SEALED_RESULT,
                           g_variant_new ("(tstt)", id, g_variant_get_type_string (value),
                                          offset, (guint64) size),
                           fd);
}

/* A control message that sends a copy of @fd (the caller keeps its own);
 * NULL with @error when no descriptor is left. */
GSocketControlMessage *
p_fd_message_new (int      fd,
                  GError **error)
{
  g_autoptr(GUnixFDList) fd_list = NULL;
  int copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);

  if (copy < 0)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return NULL;
    }

  fd_list = g_unix_fd_list_new_from_array (&copy, 1);
  return g_unix_fd_message_new_with_fd_list (fd_list);
}

/* }}} */

struct _PFrameReader
{
  PDirection direction;
  gsize max_message_size;

  /* Small frames accumulate here; [start, end) is unparsed. */
  guint8 *buffer;
  gsize allocated;
  gsize start;
  gsize end;

  /* A large body being read into its own allocation. */
  guint8 *body;
  gsize body_size;
  gsize body_padded;
  gsize body_allocated;
  gsize body_filled;
  PMessageKind body_kind;

  /* Descriptors received, for the sealed messages to come, in order. */
  GArray *fds;
  gboolean fds_lost;       /* the kernel dropped some (MSG_CTRUNC) */
  gboolean fds_overflow;   /* too many came with no message to take them */

  gboolean failed;
};

/* GLib 2.74 frees a container type's description with the last value of
 * that type, under a global lock, and builds it again for the next one:
 * for every message, since each is freed before the next arrives. A value
 * of each type the channel uses, kept for ever, keeps them. */
static void
pin_message_types (void)
{
  static const char * const types[] = {
    "(tsv)", "(tsvb)", "(t)", "(uxas)", "(tv)", "(tsis)", "(tva(usis))", "a(usis)", "(usis)", "av",
  };
  /* (Where they are kept is read, so that no compiler drops it and leak
   * checkers see them.) */
  static GPtrArray *pinned = NULL;

  if (g_once_init_enter (&pinned))
    {
      GPtrArray *values = g_ptr_array_new ();

      for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
        g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE (types[i]), NULL, 0,
                                                                              FALSE, NULL, NULL)));
      g_once_init_leave (&pinned, values);
    }
}

PFrameReader *
p_frame_reader_new (PDirection direction,
                    gsize      max_message_size)
{
  PFrameReader *self = g_new0 (PFrameReader, 1);

  pin_message_types ();

  self->direction = direction;
  self->max_message_size = max_message_size;
  self->allocated = READ_BUFFER_SIZE;
  self->buffer = g_malloc (self->allocated);

  return self;
}

void
p_frame_reader_free (PFrameReader *self)
{
  if (self == NULL)
    return;

  g_free (self->buffer);
  g_free (self->body);
  if (self->fds != NULL)
    {
      for (guint i = 0; i < self->fds->len; i++)
        close (g_array_index (self->fds, int, i));
      g_array_unref (self->fds);
    }
  g_free (self);
}

/* Where the next read should go, and how much it may read. */
guint8 *
p_frame_reader_get_space (PFrameReader *self,
                          gsize        *size)
{
  gsize wanted = MIN_READ_SPACE;

  /* A large body takes what comes until it is whole; what follows it, read
   * before it is popped, goes to the buffer. */
  if (self->body != NULL && self->body_filled < self->body_padded)
    {
      if (self->body_filled == self->body_allocated)
        {
          self->body_allocated = MIN (self->body_allocated * 2, self->body_padded);
          self->body = g_realloc (self->body, self->body_allocated + BODY_SLACK);
        }

      *size = self->body_allocated - self->body_filled;
      return self->body + self->body_filled;
    }

  /* A small frame whose header is known must fit whole (frames fed and
   * not popped yet may be whole already). */
  if (self->end - self->start >= P_FRAME_HEADER_SIZE)
    {
      guint32 header[2];
      gsize buffered = self->end - self->start;

      memcpy (header, self->buffer + self->start, sizeof header);
      if (header[0] <= DIRECT_BODY_THRESHOLD && buffered < P_FRAME_HEADER_SIZE + pad8 (header[0]))
        wanted = MAX (wanted, P_FRAME_HEADER_SIZE + pad8 (header[0]) - buffered);
    }

  if (self->allocated - self->end < wanted)
    {
      /* Keep frames 8-aligned in the buffer: start is always a multiple
       * of 8 because every frame's size is. */
      memmove (self->buffer, self->buffer + self->start, self->end - self->start);
      self->end -= self->start;
      self->start = 0;

      if (self->allocated - self->end < wanted)
        {
          self->allocated = MAX (self->allocated * 2, self->end + wanted);
          self->buffer = g_realloc (self->buffer, self->allocated);
        }
    }

  *size = self->allocated - self->end;
  return self->buffer + self->end;
}

void
p_frame_reader_commit (PFrameReader *self,
                       gsize         n_bytes)
{
  if (self->body != NULL && self->body_filled < self->body_padded)
    {
      g_assert (n_bytes <= self->body_allocated - self->body_filled);
      self->body_filled += n_bytes;
    }
  else
    {
      g_assert (n_bytes <= self->allocated - self->end);
      self->end += n_bytes;
    }
}

void
p_frame_reader_feed (PFrameReader *self,
                     const guint8 *data,
                     gsize         size)
{
  while (size > 0)
    {
      gsize space;
      guint8 *dest = p_frame_reader_get_space (self, &space);
      gsize n = MIN (space, size);

      memcpy (dest, data, n);
      p_frame_reader_commit (self, n);
      data += n;
      size -= n;
    }
}

/* TRUE when no partial frame is buffered: an end of stream here is clean. */
gboolean
p_frame_reader_is_idle (PFrameReader *self)
{
  return self->body == NULL && self->start == self->end;
}

/* Checks and reads @message, a body as received (owned); NULL when it
 * is malformed. */
static PMessage *
decode_message (PMessage  *received,
                GError   **error)
{
  g_autoptr(PMessage) message = received;
  PMessageKind kind = message->kind;
  const GVariantType *type = p_message_kind_get_body_type (kind);
  gsize size;
  const guint8 *data = message_body_data (message, &size);
  gboolean normal;

  if (kind == P_MESSAGE_TASK || kind == P_MESSAGE_RESULT)
    normal = envelope_read_value (message);
  else
    {
      message->body = g_variant_ref_sink (g_variant_new_from_bytes (type, message->bytes, FALSE));
      normal = p_variant_is_normal_form (message->body);
    }

  if (!normal)
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   _("Message of kind %u is not a %s in normal form"),
                   (guint) kind, g_variant_type_peek_string (type));
      return NULL;
    }

  /* Checked: trusted from now on, so that no later use checks it again
   * (the fields a worker sends back, say). GLib's own check marks it so;
   * after ours, it is made again, trusted. */
  if (message->body != NULL && size > SMALL_VALUE_SIZE)
    {
      g_clear_pointer (&message->body, g_variant_unref);
      message->body = g_variant_ref_sink (g_variant_new_from_bytes (type, message->bytes, TRUE));
    }

  /* Every kind but HELLO is a tuple that starts with its "t" id (at least
   * 8 bytes, being in normal form); in a TASK, a CHUNK and an ERROR, a
   * string follows it, which normal form ends with its only nul. */
  if (kind != P_MESSAGE_HELLO)
    memcpy (&message->id, data, sizeof message->id);
  if (kind == P_MESSAGE_TASK || kind == P_MESSAGE_CHUNK || kind == P_MESSAGE_ERROR)
    message->name = (const char *) data + sizeof (guint64);

  return g_steal_pointer (&message);
}

/* A SEALED message's own body, or a SEALED_RESULT's value, from the next
 * descriptor received. */
static PMessage *
unseal (PFrameReader  *self,
        PMessage      *received,
        GError       **error)
{
  g_autoptr(PMessage) sealed = received;
  g_autoptr(GBytes) bytes = NULL;
  Mapping *mapping;
  int fd;

  if (self->fds == NULL || self->fds->len == 0)
    {
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           self->fds_lost ? _("A sealed message lost its descriptor (too many open files?)")
                                          : _("A sealed message came without a descriptor"));
      return NULL;
    }
  fd = g_array_index (self->fds, int, 0);
  g_array_remove_index (self->fds, 0);

  if (sealed->kind == P_MESSAGE_SEALED)
    {
      guint32 kind;
      guint64 size;
      PMessage *inner;

      g_variant_get (sealed->body, "(ut)", &kind, &size);
      if ((self->direction == P_DIRECTION_TO_WORKER ? kind != P_MESSAGE_TASK && kind != P_MESSAGE_CHUNK
                                                    : kind != P_MESSAGE_CHUNK_RESULT) ||
          size > self->max_message_size)
        {
          close (fd);
          g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       _("A sealed message of kind %u and %" G_GUINT64_FORMAT " bytes cannot be taken"),
                       kind, size);
          return NULL;
        }

      /* A worker keeps the descriptor to send (part of) it back. */
      mapping = mapping_new (fd, size + BODY_SLACK, self->direction == P_DIRECTION_TO_WORKER, error);
      if (mapping == NULL)
        return NULL;

      inner = message_new (kind, NULL, 0);
      inner->bytes = mapping_range (mapping, 0, size);
      inner->sealed = TRUE;
      mapping_unref (mapping);
      return decode_message (inner, error);
    }
  else
    {
      g_autoptr(GVariant) value = NULL;
      const char *type_string;
      guint64 id, offset, size;
      gsize alignment, fixed_size;
      PMessage *result;

      g_variant_get (sealed->body, "(t&stt)", &id, &type_string, &offset, &size);
      if (!g_variant_type_string_is_valid (type_string) ||
          !g_variant_type_is_definite ((const GVariantType *) type_string) ||
          size > self->max_message_size || offset > G_MAXUINT64 - size - BODY_SLACK)
        {
          close (fd);
          g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                               _("A sealed result does not say where its value is"));
          return NULL;
        }
      type_layout ((const GVariantType *) type_string, &alignment, &fixed_size);

      mapping = mapping_new (fd, offset + size + BODY_SLACK, FALSE, error);
      if (mapping == NULL)
        return NULL;
      bytes = mapping_range (mapping, offset, size);
      mapping_unref (mapping);

      value = g_variant_ref_sink (g_variant_new_from_bytes ((const GVariantType *) type_string, bytes, FALSE));
      if ((fixed_size > 0 && fixed_size != size) || (offset & (alignment - 1)) != 0 ||
          !p_variant_is_normal_form (value))
        {
          g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       _("Message of kind %u is not a %s in normal form"),
                       (guint) P_MESSAGE_SEALED_RESULT, type_string);
          return NULL;
        }

      result = message_new (P_MESSAGE_RESULT, NULL, 0);
      result->id = id;
      result->sealed = TRUE;
      result->value = g_variant_ref_sink (g_variant_new_from_bytes ((const GVariantType *) type_string, bytes, TRUE));
      return result;
    }
}

static PMessage *
reader_decode (PFrameReader  *self,
               PMessage      *received,
               GError       **error)
{
  PMessage *message = decode_message (received, error);

  if (message != NULL &&
      (message->kind == P_MESSAGE_SEALED || message->kind == P_MESSAGE_SEALED_RESULT))
    return unseal (self, message, error);

  return message;
}

/* Takes @fd for a sealed message to come. More than that many waiting is
 * a peer that sends descriptors for nothing: they are closed, and the
 * next message fails. */
#define MAX_WAITING_FDS 64

void
p_frame_reader_add_fd (PFrameReader *self,
                       int           fd)
{
  if (self->fds == NULL)
    self->fds = g_array_new (FALSE, FALSE, sizeof (int));

  if (self->fds->len >= MAX_WAITING_FDS)
    {
      close (fd);
      self->fds_overflow = TRUE;
      return;
    }

  g_array_append_val (self->fds, fd);
}

/* Reads what @socket_fd has, without blocking, and the descriptors that
 * came along: how many bytes, 0 at the end of the stream, -1 with @error
 * (G_IO_ERROR_WOULD_BLOCK: nothing yet). @space: how many it could take. */
gssize
p_frame_reader_receive (PFrameReader  *self,
                        int            socket_fd,
                        gsize         *space,
                        GError       **error)
{
  union
  {
    struct cmsghdr header;
    char buffer[CMSG_SPACE (16 * sizeof (int))];
  } control;
  struct msghdr msg = { 0, };
  struct iovec vector;
  struct cmsghdr *cmsg;
  gssize n_read;

  vector.iov_base = p_frame_reader_get_space (self, space);
  vector.iov_len = *space;
  msg.msg_iov = &vector;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buffer;
  msg.msg_controllen = sizeof control.buffer;

  do
    n_read = recvmsg (socket_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n_read < 0 && errno == EINTR);

  if (n_read < 0)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return -1;
    }

  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        gsize n_fds = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);

        for (gsize i = 0; i < n_fds; i++)
          {
            int fd;

            memcpy (&fd, CMSG_DATA (cmsg) + i * sizeof (int), sizeof fd);
            p_frame_reader_add_fd (self, fd);
          }
      }
  if (msg.msg_flags & MSG_CTRUNC)
    self->fds_lost = TRUE;

  if (n_read > 0)
    p_frame_reader_commit (self, n_read);

  return n_read;
}

/* Returns TRUE and a message when one is complete, FALSE without an error
 * when more bytes are needed, FALSE with an error on a malformed stream
 * (after which the reader only fails). */
gboolean
p_frame_reader_pop (PFrameReader  *self,
                    PMessage     **message,
                    GError       **error)
{
  guint32 header[2];
  gsize available;
  gsize padded;

  /* An empty buffer restarts at its (aligned) beginning. */
  if (self->body == NULL && self->start == self->end)
    self->start = self->end = 0;

  if (self->failed)
    {
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("The channel is broken"));
      return FALSE;
    }

  if (self->fds_overflow)
    {
      self->failed = TRUE;
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("Descriptors came that no message takes"));
      return FALSE;
    }

  if (self->body != NULL)
    {
      PMessage *received;

      if (self->body_filled < self->body_padded)
        return FALSE;

      if (!is_zero (self->body + self->body_size, self->body_padded - self->body_size))
        goto bad_padding;

      memset (self->body + self->body_padded, 0, BODY_SLACK);
      received = message_new (self->body_kind, NULL, 0);
      received->bytes = g_bytes_new_take (g_steal_pointer (&self->body), self->body_size);
      *message = reader_decode (self, received, error);
      self->failed = *message == NULL;
      return *message != NULL;
    }

  available = self->end - self->start;
  if (available < P_FRAME_HEADER_SIZE)
    return FALSE;

  memcpy (header, self->buffer + self->start, sizeof header);

  if (!p_message_kind_is_valid (header[1], self->direction))
    {
      self->failed = TRUE;
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   _("Unknown message kind %u"), header[1]);
      return FALSE;
    }

  if (header[0] > self->max_message_size)
    {
      self->failed = TRUE;
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   _("Message of %u bytes is over the limit of %" G_GSIZE_FORMAT " bytes"),
                   header[0], self->max_message_size);
      return FALSE;
    }

  padded = pad8 (header[0]);

  if (padded > DIRECT_BODY_THRESHOLD)
    {
      gsize have = MIN (available - P_FRAME_HEADER_SIZE, padded);

      self->body_kind = header[1];
      self->body_size = header[0];
      self->body_padded = padded;
      self->body_allocated = MAX (MIN (padded, INITIAL_BODY_ALLOCATION), have);
      self->body = g_malloc (self->body_allocated + BODY_SLACK);
      memcpy (self->body, self->buffer + self->start + P_FRAME_HEADER_SIZE, have);
      self->body_filled = have;
      self->start += P_FRAME_HEADER_SIZE + have;

      return p_frame_reader_pop (self, message, error);
    }

  if (available < P_FRAME_HEADER_SIZE + padded)
    return FALSE;

  {
    const guint8 *data = self->buffer + self->start + P_FRAME_HEADER_SIZE;
    PMessage *received;

    if (!is_zero (data + header[0], padded - header[0]))
      goto bad_padding;

    /* The hot path's TASKs and RESULTs carry their bodies inline. */
    if (header[1] == P_MESSAGE_TASK || header[1] == P_MESSAGE_RESULT)
      received = message_new (header[1], data, header[0]);
    else
      {
        guint8 *copy = g_malloc (header[0] + BODY_SLACK);

        memcpy (copy, data, header[0]);
        memset (copy + header[0], 0, BODY_SLACK);
        received = message_new (header[1], NULL, 0);
        received->bytes = g_bytes_new_take (copy, header[0]);
      }
    self->start += P_FRAME_HEADER_SIZE + padded;
    if (self->start == self->end)
      self->start = self->end = 0;

    *message = reader_decode (self, received, error);
    self->failed = *message == NULL;
    return *message != NULL;
  }

bad_padding:
  self->failed = TRUE;
  g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       _("Frame padding is not zero"));
  return FALSE;
}

gboolean
p_channel_parse_env (const char *value,
                     int        *fd,
                     GPid       *parent_pid,
                     gsize      *max_message_size)
{
  g_auto(GStrv) parts = NULL;
  guint64 numbers[3];

  if (value == NULL)
    return FALSE;

  parts = g_strsplit (value, ":", -1);
  if (g_strv_length (parts) != 3)
    return FALSE;

  for (guint i = 0; i < 3; i++)
    if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT32, &numbers[i], NULL))
      return FALSE;

  if (numbers[2] < P_MIN_MAX_MESSAGE_SIZE || numbers[2] > P_MAX_MAX_MESSAGE_SIZE)
    return FALSE;

  *fd = (int) numbers[0];
  *parent_pid = (GPid) numbers[1];
  *max_message_size = numbers[2];

  return TRUE;
}

/* {{{ The reply area (docs/protocol.md, section 12) */

static gsize
reply_area_size (gsize capacity)
{
  return sizeof (PReplyArea) + capacity;
}

/* The pool's side: an area for one worker, and the descriptor that the
 * worker maps it from (close-on-exec; the launcher passes it on). */
PReplyArea *
p_reply_area_new (gsize    capacity,
                  int     *fd,
                  GError **error)
{
  PReplyArea *area;
  int saved_errno;
  int area_fd;

  g_assert (capacity >= P_REPLY_AREA_MIN_CAPACITY && capacity <= P_REPLY_AREA_MAX_CAPACITY);

  area_fd = memfd_create ("processing-glib-replies", MFD_CLOEXEC);
  if (area_fd < 0)
    goto failed;

  if (ftruncate (area_fd, reply_area_size (capacity)) != 0)
    goto failed;

  area = mmap (NULL, reply_area_size (capacity), PROT_READ | PROT_WRITE, MAP_SHARED, area_fd, 0);
  if (area == MAP_FAILED)
    goto failed;

  *fd = area_fd;
  return area;

failed:
  saved_errno = errno;
  if (area_fd >= 0)
    close (area_fd);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s", g_strerror (saved_errno));
  return NULL;
}

/* The worker's side: the area @value ("FD:CAPACITY") names, or NULL if
 * there is none to be had; the worker then sends each reply at once. The
 * descriptor is closed either way, so that what a task starts does not
 * inherit it. */
PReplyArea *
p_reply_area_map_env (const char *value,
                      gsize      *capacity)
{
  g_auto(GStrv) parts = NULL;
  guint64 fd, size;
  struct stat st;
  PReplyArea *area;

  if (value == NULL)
    return NULL;

  parts = g_strsplit (value, ":", -1);
  if (parts[0] == NULL || !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT, &fd, NULL))
    return NULL;

  area = MAP_FAILED;
  /* Beyond the file, the memory would fault: the size is checked. */
  if (g_strv_length (parts) == 2 &&
      g_ascii_string_to_unsigned (parts[1], 10, P_REPLY_AREA_MIN_CAPACITY, P_REPLY_AREA_MAX_CAPACITY,
                                  &size, NULL) &&
      fstat ((int) fd, &st) == 0 &&
      S_ISREG (st.st_mode) &&
      (guint64) st.st_size >= reply_area_size (size))
    area = mmap (NULL, reply_area_size (size), PROT_READ | PROT_WRITE, MAP_SHARED, (int) fd, 0);
  close ((int) fd);

  if (area == MAP_FAILED)
    return NULL;

  *capacity = size;
  return area;
}

void
p_reply_area_unmap (PReplyArea *area,
                    gsize       capacity)
{
  if (area != NULL)
    munmap (area, reply_area_size (capacity));
}

/* After the worker died, having written @received bytes that the pool
 * read: the bytes the area held that never reached the channel, which
 * continue its stream. NULL when there are none, or when the area does
 * not describe the end of that stream (a worker that wrote garbage). */
const guint8 *
p_reply_area_get_unsent (const PReplyArea *area,
                         gsize             capacity,
                         guint64           received,
                         gsize            *length)
{
  guint64 start = area->stream_offset;
  guint32 held = g_atomic_int_get ((const gint *) &area->length);

  *length = 0;
  if (held == 0 || held > capacity || received < start || received - start >= held)
    return NULL;

  *length = held - (received - start);
  return area->data + (received - start);
}

/* Copies the bytes of @frame to @dest, which has room for them. */
gsize
p_frame_copy_to (PFrame *frame,
                 guint8 *dest)
{
  for (guint i = 0; i < frame->n_segments; i++)
    {
      memcpy (dest, frame->segments[i].data, frame->segments[i].size);
      dest += frame->segments[i].size;
    }

  return frame->size;
}

/* }}} */
/* {{{ What a message's fields must say, beyond its type */

/* An error domain's name, as a GQuark's string: the pool interns it, so a
 * worker must not be able to make up arbitrary ones. */
gboolean
p_error_domain_is_valid (const char *domain)
{
  gsize length = 0;

  for (const char *p = domain; *p != '\0'; p++, length++)
    if (length >= 128 || !(g_ascii_isalnum (*p) || strchr ("-_.:", *p) != NULL))
      return FALSE;

  return length > 0 && length < 128;
}

/* A CHUNK's items are an array. */
gboolean
p_chunk_message_holds_array (GVariant *body)
{
  g_autoptr(GVariant) boxed = g_variant_get_child_value (body, 2);
  g_autoptr(GVariant) items = g_variant_get_variant (boxed);

  return g_variant_is_of_type (items, G_VARIANT_TYPE_ARRAY);
}

/* A CHUNK_RESULT for a chunk of @n_items: @values (what its variant
 * holds) is an array; failures in item order; every
 * item once when the chunk does not stop at its first failure; the items
 * up to and including the first failure when it does. */
gboolean
p_chunk_result_is_valid (GVariant   *values,
                         GVariant   *errors,
                         guint       n_items,
                         PChunkRule  rule)
{
  gsize n_values;
  gsize n_errors = g_variant_n_children (errors);
  guint32 first_index = 0;
  guint32 previous = 0;

  if (!g_variant_is_of_type (values, G_VARIANT_TYPE_ARRAY))
    return FALSE;
  n_values = g_variant_n_children (values);

  for (gsize i = 0; i < n_errors; i++)
    {
      const char *domain;
      guint32 index;

      g_variant_get_child (errors, i, "(u&sis)", &index, &domain, NULL, NULL);
      if (index >= n_items || (i > 0 && index <= previous) || !p_error_domain_is_valid (domain))
        return FALSE;
      if (i == 0)
        first_index = index;
      previous = index;
    }

  if (n_values + n_errors == n_items)
    return rule != P_CHUNK_RULE_MAP || n_errors == 0 || (n_errors == 1 && first_index == n_values);

  return rule != P_CHUNK_RULE_IMAP && n_errors == 1 && first_index == n_values;
}

/* }}} */
/* {{{ Waiting for the other end */

#define SPIN_USEC        50   /* the longest spin */
#define SPIN_WORTH_USEC  250  /* a wait this short without a spin is worth one */
#define SPIN_BACKOFF_MAX 64   /* waits without a spin after spins in vain, at most */

/* g_poll(), but it first polls without sleeping for up to %SPIN_USEC when
 * @may_spin is set and @spinner has seen recent waits end that soon.
 *
 * Waking a thread that sleeps costs tens of microseconds here (a forked
 * child echoing over a socketpair answers in ~45 µs when it sleeps between
 * messages, in under 4 µs when it polls), and a caller that waits for each
 * result before it sends the next task pays that on every task. So the
 * side that has just been answered quickly polls for a moment before it
 * sleeps, as an adaptive mutex spins before it blocks. Each turn yields
 * the processor: the thread that will answer may be waiting for it.
 *
 * A wait that ends while spinning, or one short enough without spinning,
 * allows the next spin. A spin that runs out skips the next 1, 2, 4, …
 * chances to spin, up to %SPIN_BACKOFF_MAX: a worker fed now and then
 * never spins, and one whose tasks come too late to be caught (more busy
 * threads than processors, say) soon spins rarely. */
gint
p_poll_spinning (PSpinner *spinner,
                 GPollFD  *fds,
                 guint     n_fds,
                 gint      timeout_msec,
                 gboolean  may_spin)
{
  gint64 start = g_get_monotonic_time ();
  gboolean spin = may_spin && spinner->last_wait_short && timeout_msec != 0;
  gint n_ready;

  if (spin && spinner->n_skipped < spinner->backoff)
    {
      spinner->n_skipped++;
      spin = FALSE;
    }

  if (spin)
    {
      do
        {
          n_ready = g_poll (fds, n_fds, 0);
          if (n_ready != 0)
            {
              spinner->backoff = 0;
              spinner->last_wait_short = TRUE;
              return n_ready;
            }
          g_thread_yield ();
        }
      while (g_get_monotonic_time () - start < SPIN_USEC);

      spinner->backoff = CLAMP (spinner->backoff * 2, 1, SPIN_BACKOFF_MAX);
      spinner->n_skipped = 0;
    }

  n_ready = g_poll (fds, n_fds, timeout_msec);
  spinner->last_wait_short = !spin && g_get_monotonic_time () - start < SPIN_WORTH_USEC;

  return n_ready;
}

/* }}} */
