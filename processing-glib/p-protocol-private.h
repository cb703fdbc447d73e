/* p-protocol-private.h: the protocol's constants and rules
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* See docs/protocol.md, which is the specification; keep both in step. */

#define P_PROTOCOL_VERSION 4
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
/* A remote worker's channel is its standard input and output
 * (docs/protocol.md, section 15): "stdio:MAX_MESSAGE_SIZE". */
#define P_CHANNEL_STDIO "stdio"

/* The reply area (docs/protocol.md, section 12): "FD:CAPACITY". */
#define P_REPLY_AREA_ENV "PROCESSING_GLIB_REPLY_AREA"
#define P_REPLY_AREA_FD  4

/* Sealed messages (version 3; docs/protocol.md, section 13): a value or a
 * body this large travels in a sealed memfd passed along the frame, not in
 * the stream. The pool's environment says that it takes them ("1"). */
#define P_SEALED_ENV "PROCESSING_GLIB_SEALED"
#define P_SEALED_MIN_SIZE ((gsize) 256 * 1024)

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
  P_MESSAGE_FEATURES     = 22,  /* (a{sv})       what the link and the worker have (version 4): right after HELLO */
  P_MESSAGE_PROGRESS     = 23,  /* (tds)         id, fraction done, message: of the running task (version 4) */
} PMessageKind;

/* FEATURES keys (docs/protocol.md, section 14). */
#define P_FEATURE_DESCRIPTORS   "descriptors"    /* b: descriptors pass along the channel */
#define P_FEATURE_SHARED_MEMORY "shared-memory"  /* b: the worker holds replies in the reply area */
#define P_FEATURE_SANDBOX       "sandbox"        /* a{sv}: what of its sandbox is in force (p-sandbox-private.h) */

typedef enum
{
  P_DIRECTION_TO_WORKER,
  P_DIRECTION_TO_POOL,
} PDirection;

typedef enum
{
  P_CHUNK_RULE_MAP,      /* stops at the first failure */
  P_CHUNK_RULE_IMAP,     /* runs every item */
  P_CHUNK_RULE_EITHER,   /* not known any more (the job ended) */
} PChunkRule;

const GVariantType *p_message_kind_get_body_type (PMessageKind  kind);
gboolean            p_message_kind_is_valid      (PMessageKind  kind,
                                                  PDirection    direction);
gboolean            p_message_size_check         (gsize         size,
                                                  gsize         max_message_size,
                                                  GError      **error);

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

G_END_DECLS
