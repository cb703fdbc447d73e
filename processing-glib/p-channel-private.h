/* p-channel-private.h: framing of GVariant messages on a stream
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* See docs/protocol.md, which is the specification; keep both in step. */

#define P_PROTOCOL_VERSION 3
/* The oldest version a pool still speaks to: without RECALL. */
#define P_PROTOCOL_VERSION_MIN 1

/* Frame header: body size (guint32) then message kind (guint32), both in
 * host byte order; the body is padded with zeros to a multiple of 8 bytes so
 * that every body starts 8-aligned and is parsed without a copy. */
#define P_FRAME_HEADER_SIZE 8

/* Default and bounds of the largest message body, in bytes. */
#define P_DEFAULT_MAX_MESSAGE_SIZE ((gsize) 512 * 1024 * 1024)
#define P_MIN_MAX_MESSAGE_SIZE     ((gsize) 4096)
#define P_MAX_MAX_MESSAGE_SIZE     ((gsize) G_MAXUINT32 - 8)

/* The child's environment names its channel: "FD:PPID:MAX_MESSAGE_SIZE". */
#define P_CHANNEL_ENV "PROCESSING_GLIB_CHANNEL"
#define P_CHANNEL_FD  3

/* The reply area: memory the pool shares with a worker, in which the
 * worker keeps the replies it holds back to send several in one write, so
 * that they outlive it ("FD:CAPACITY"; docs/protocol.md, section 12). */
#define P_REPLY_AREA_ENV "PROCESSING_GLIB_REPLY_AREA"
#define P_REPLY_AREA_FD  4
#define P_REPLY_AREA_CAPACITY ((gsize) 64 * 1024)
#define P_REPLY_AREA_MIN_CAPACITY ((gsize) 4096)
#define P_REPLY_AREA_MAX_CAPACITY ((gsize) 16 * 1024 * 1024)

/* Sealed messages (version 3; docs/protocol.md, section 13): a value or a
 * body this large travels in a sealed memfd passed along the frame, not in
 * the stream. The pool's environment says that it takes them ("1"). */
#define P_SEALED_ENV "PROCESSING_GLIB_SEALED"
#define P_SEALED_MIN_SIZE ((gsize) 256 * 1024)

typedef struct
{
  guint64 stream_offset;   /* where in the worker's stream the held bytes start */
  guint32 length;          /* how many are held; stored after them */
  guint32 reserved;
  guint8 data[];           /* @capacity bytes */
} PReplyArea;

typedef enum
{
  /* pool → worker */
  P_MESSAGE_TASK         = 1,   /* (tsv)         id, function, args */
  P_MESSAGE_CHUNK        = 2,   /* (tsvb)        id, function, items array, stop at first error */
  P_MESSAGE_CANCEL       = 3,   /* (t)           id */
  P_MESSAGE_RECALL       = 4,   /* (t)           id (version 2) */
  P_MESSAGE_SEALED       = 5,   /* (ut)          kind, size: that message's body is in the descriptor (version 3; either way) */
  /* worker → pool */
  P_MESSAGE_HELLO        = 16,  /* (uxas)        protocol version, pid, function names */
  P_MESSAGE_RESULT       = 17,  /* (tv)          id, value */
  P_MESSAGE_ERROR        = 18,  /* (tsis)        id, error domain, code, message */
  P_MESSAGE_CHUNK_RESULT = 19,  /* (tva(usis))   id, values ("av", or "aT" when all are T), (item index, domain, code, message) */
  P_MESSAGE_RECALLED     = 20,  /* (t)           id (version 2) */
  P_MESSAGE_SEALED_RESULT = 21, /* (tstt)        id, value type, offset, size: the value is in the descriptor */
} PMessageKind;

typedef enum
{
  P_DIRECTION_TO_WORKER,
  P_DIRECTION_TO_POOL,
} PDirection;

gboolean            p_variant_is_normal_form     (GVariant    *value);
gboolean            p_variant_is_normal_form_walking (GVariant *value);
gboolean            p_variant_check_depth        (GVariant    *value,
                                                  gsize        depth,
                                                  GError     **error);

const GVariantType *p_message_kind_get_body_type (PMessageKind kind);
gboolean            p_message_kind_is_valid      (PMessageKind kind,
                                                  PDirection   direction);

GVariant           *p_message_new_task           (guint64       id,
                                                  const char   *function,
                                                  GVariant     *args);
GVariant           *p_message_new_chunk          (guint64       id,
                                                  const char   *function,
                                                  GVariant     *items,
                                                  gboolean      stop_at_first_error);
GVariant           *p_message_new_id             (guint64       id);
GVariant           *p_message_new_result         (guint64       id,
                                                  GVariant     *value);
GVariant           *p_message_new_error          (guint64       id,
                                                  const GError *error);
GVariant           *p_message_new_chunk_result   (guint64       id,
                                                  GVariant    **values,
                                                  gsize         n_values,
                                                  GVariant     *errors);
GVariant           *p_chunk_values_get           (GVariant     *values,
                                                  gsize         index);
GVariant           *p_variant_join_boxed         (GVariant    **arrays,
                                                  guint         n_arrays);

GBytes             *p_message_encode             (PMessageKind kind,
                                                  GVariant    *body,
                                                  gsize        max_message_size,
                                                  GError     **error);

/* A message as received. A TASK's and a RESULT's fields are read in
 * place, without a GVariant of the whole body; every other kind keeps its
 * body, in normal form and trusted.
 *
 * A TASK's or RESULT's value of a basic type, in an inline body, is
 * checked but not made: p_message_dup_value() makes it in the thread that
 * uses it, so that its GVariant and GBytes are allocated and freed by one
 * thread. (What one thread allocates and another frees goes through GLib's
 * slice allocator's global depot: a submit run took a sixth more CPU when
 * the pool's thread made the values its callers freed.)
 *
 * A small TASK's or RESULT's body is stored inline, in the message's own
 * allocation, which the value made from it keeps alive past
 * p_message_free(): one allocation where there were a message, a buffer
 * and the buffer's GBytes. */
typedef struct
{
  PMessageKind kind;
  guint64 id;              /* every kind but HELLO */
  const char *name;        /* TASK, CHUNK: the function; ERROR: the domain; in the body; else NULL */
  GVariant *value;         /* TASK: the arguments; RESULT: the value; NULL if deferred or another kind */
  GVariant *body;          /* every kind but TASK and RESULT; else NULL */
  GBytes *bytes;           /* the body's, unless it is inline: see p_message_ref_bytes() */
  GList link;              /* for whoever queues it; data is the message */
  gboolean sealed;         /* its value, or its body, is in shared memory */

  /*< private >*/
  gatomicrefcount ref_count;
  const GVariantType *deferred_type;   /* a value not made yet: in the inline body */
  gsize deferred_start;
  gsize deferred_size;
  gsize inline_size;
  guint64 inline_body[];   /* 8-aligned, then zeros (see BODY_SLACK) */
} PMessage;

GBytes             *p_message_ref_bytes          (const PMessage *message);
GVariant           *p_message_dup_body           (const PMessage *message);
GVariant           *p_message_dup_boxed_value    (const PMessage *message);
GVariant           *p_message_dup_value          (const PMessage *message);
void                p_message_free               (PMessage       *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PMessage, p_message_free)

/* A message's deferred value, kept past p_message_free() for another
 * thread to make. */
typedef struct _PDeferredValue PDeferredValue;

PDeferredValue     *p_message_defer_value        (const PMessage *message);
GVariant           *p_deferred_value_take        (PDeferredValue *deferred);
void                p_deferred_value_free        (PDeferredValue *deferred);

typedef struct _PFrameReader PFrameReader;
typedef struct _PChunkResults PChunkResults;

/* A frame ready to be written: bytes of its own and, for large values,
 * segments shared with them. Immutable; a chunk keeps its frame to send it
 * again should its worker die. */
typedef struct _PFrame PFrame;

PFrame             *p_frame_new                  (GBytes * const *segments,
                                                  guint         n_segments);
PFrame             *p_frame_new_from_bytes       (GBytes       *bytes);
PFrame             *p_frame_ref                  (PFrame       *frame);
void                p_frame_unref                (PFrame       *frame);
gsize               p_frame_get_size             (PFrame       *frame);
int                 p_frame_get_fd               (PFrame       *frame);
PFrame             *p_frame_new_sealed           (PFrame       *frame,
                                                  GError      **error);
PFrame             *p_frame_seal_if_large        (PFrame       *frame);
PFrame             *p_message_encode_sealed_result (guint64     id,
                                                  GVariant     *value,
                                                  GError      **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PFrame, p_frame_unref)

PFrame             *p_message_encode_task        (guint64       id,
                                                  const char   *function,
                                                  GVariant     *args,
                                                  gsize         max_message_size,
                                                  GError      **error);
PFrame             *p_message_encode_task_item   (guint64       id,
                                                  const char   *function,
                                                  GVariant     *items,
                                                  gsize         index,
                                                  gsize         max_message_size,
                                                  GError      **error);
PFrame             *p_message_encode_chunk       (guint64       id,
                                                  const char   *function,
                                                  GVariant     *items,
                                                  gboolean      stop_at_first_error,
                                                  gsize         max_message_size,
                                                  GError      **error);
PFrame             *p_message_encode_chunk_items (guint64       id,
                                                  const char   *function,
                                                  GVariant     *all_items,
                                                  gsize         first,
                                                  gsize         n,
                                                  gboolean      stop_at_first_error,
                                                  gsize         max_message_size,
                                                  GError      **error);
PFrame             *p_message_encode_result      (guint64       id,
                                                  GVariant     *value,
                                                  gsize         max_message_size,
                                                  GError      **error);
PFrame             *p_message_encode_chunk_result (guint64      id,
                                                  PChunkResults *results,
                                                  GVariant     *errors,
                                                  gsize         max_message_size,
                                                  GError      **error);
PChunkResults      *p_chunk_results_new          (void);
void                p_chunk_results_free         (PChunkResults *self);
gboolean            p_chunk_results_add          (PChunkResults *self,
                                                  GVariant      *value,
                                                  GError       **error);
gsize               p_chunk_results_get_count    (PChunkResults *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PChunkResults, p_chunk_results_free)

/* Frames waiting to be written: many frames per system call, large
 * segments never copied. */
typedef struct
{
  GPtrArray *frames;       /* PFrame; those from @head on are not written yet */
  guint head;
  guint head_segment;      /* of the head frame, the first not written yet */
  gsize head_written;      /* bytes of that segment already written */
  gsize size;              /* bytes not written yet */
  guint n_frames;          /* frames pushed since it was last empty */
} PFrameQueue;

void                p_frame_queue_init           (PFrameQueue  *self);
void                p_frame_queue_clear          (PFrameQueue  *self);
void                p_frame_queue_push           (PFrameQueue  *self,
                                                  PFrame       *frame);
gboolean            p_frame_queue_is_empty       (const PFrameQueue *self);
gsize               p_frame_queue_peek           (const PFrameQueue *self,
                                                  GOutputVector *vectors,
                                                  gsize         max_vectors);
void                p_frame_queue_advance        (PFrameQueue  *self,
                                                  gsize         written);
int                 p_frame_queue_peek_fd        (const PFrameQueue *self);

PFrameReader       *p_frame_reader_new           (PDirection    direction,
                                                  gsize         max_message_size);
void                p_frame_reader_free          (PFrameReader *self);
guint8             *p_frame_reader_get_space     (PFrameReader *self,
                                                  gsize        *size);
void                p_frame_reader_commit        (PFrameReader *self,
                                                  gsize         n_bytes);
gboolean            p_frame_reader_pop           (PFrameReader  *self,
                                                  PMessage     **message,
                                                  GError       **error);
gboolean            p_frame_reader_is_idle       (PFrameReader *self);
gssize              p_frame_reader_receive       (PFrameReader *self,
                                                  int           socket_fd,
                                                  gsize        *space,
                                                  GError      **error);
void                p_frame_reader_add_fd        (PFrameReader *self,
                                                  int           fd);
GSocketControlMessage *p_fd_message_new          (int           fd,
                                                  GError      **error);
void                p_frame_reader_feed          (PFrameReader  *self,
                                                  const guint8  *data,
                                                  gsize          size);

typedef enum
{
  P_CHUNK_RULE_MAP,      /* stops at the first failure */
  P_CHUNK_RULE_IMAP,     /* runs every item */
  P_CHUNK_RULE_EITHER,   /* not known any more (the job ended) */
} PChunkRule;

gboolean            p_error_domain_is_valid      (const char   *domain);
gboolean            p_chunk_message_holds_array  (GVariant     *body);
gboolean            p_chunk_result_is_valid      (GVariant     *values,
                                                  GVariant     *errors,
                                                  guint         n_items,
                                                  PChunkRule    rule);

gboolean            p_channel_parse_env          (const char   *value,
                                                  int          *fd,
                                                  GPid         *parent_pid,
                                                  gsize        *max_message_size);

PReplyArea         *p_reply_area_new             (gsize         capacity,
                                                  int          *fd,
                                                  GError      **error);
PReplyArea         *p_reply_area_map_env         (const char   *value,
                                                  gsize        *capacity);
void                p_reply_area_unmap           (PReplyArea   *area,
                                                  gsize         capacity);
const guint8       *p_reply_area_get_unsent      (const PReplyArea *area,
                                                  gsize         capacity,
                                                  guint64       received,
                                                  gsize        *length);
gsize               p_frame_copy_to              (PFrame       *frame,
                                                  guint8       *dest);

/* Whether a thread that waits for the other end polls before it sleeps. */
typedef struct
{
  gboolean last_wait_short;
  guint backoff;          /* chances to spin to skip after a spin in vain */
  guint n_skipped;
} PSpinner;

gint                p_poll_spinning              (PSpinner     *spinner,
                                                  GPollFD      *fds,
                                                  guint         n_fds,
                                                  gint          timeout_msec,
                                                  gboolean      may_spin);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PFrameReader, p_frame_reader_free)

G_END_DECLS
