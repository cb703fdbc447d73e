/* p-map-iter.c: results of imap and imap_unordered
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-map-iter-private.h"
#include "p-chunk-results-private.h"
#include "p-error-private.h"
#include "p-i18n-private.h"

/**
 * SECTION:p-map-iter
 * @title: PMapIter
 * @short_description: The results of imap and imap_unordered
 *
 * An iterator over the results of p_pool_imap() or
 * p_pool_imap_unordered(): one result per item, as soon as it is there.
 *
 * p_map_iter_next() blocks (with a timeout, and with no main loop needed);
 * p_map_iter_next_async() completes in the caller's thread-default main
 * context. Both return %NULL without an error at the end.
 *
 * An item whose task failed yields its error in its place, and iteration
 * goes on with the next item. When the whole operation fails (it was
 * cancelled, or the pool was terminated), the items that had arrived are
 * still returned, then the error once, then the end. For p_pool_imap(), an
 * item that had not arrived while a later one had yields that error in its
 * place, so that every result keeps its position.
 *
 * Until its last result has arrived, a #PMapIter keeps its pool alive.
 */

/**
 * PMapIter:
 *
 * The results of imap and imap_unordered. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_MAP_ITER:
 *
 * The #GType of #PMapIter.
 *
 * Since: 0.1
 */

/* At most one of the three is set; none at the end, or while it has not
 * arrived. */
typedef struct
{
  GVariant *value;
  PDeferredValue *deferred_value;  /* made by the thread that takes it */
  GError *error;
} Entry;

typedef struct
{
  GTask *task;
  gulong cancelled_handler;   /* on the task's cancellable; 0 for none */
} Waiter;

struct _PMapIter
{
  GObject parent_instance;

  GMutex mutex;
  GCond cond;
  guint n_waiters;       /* blocked in next(): a broadcast is a system call */

  gboolean ordered;
  guint n_items;         /* known so far: a lazy map's grow (p_map_iter_add_items()) */
  gboolean items_final;  /* no more will come */
  guint n_received;
  guint n_delivered;

  GArray *window;        /* ordered: Entry, for items from window_start on */
  guint window_start;
  guint next_index;      /* ordered: the next one to hand out */
  guint arrived_end;     /* ordered: one past the last item that arrived */
  GQueue arrived;        /* unordered: Entry *, in arrival order */

  /* A lazy map's: called after an item was taken, to pull more. */
  PMapIterFeedFunc feed;
  gpointer feed_data;
  GDestroyNotify feed_destroy;

  GMainContext *context; /* of the thread that made it: notifications, feeding */
  gboolean counts_notify_pending;
  guint listeners_batch;  /* p_wake_batch_serial() when listened was asked */
  gboolean listened;

  GError *fatal_error;
  gboolean fatal_delivered;
  GError *source_error;  /* a lazy map's source failed: after every item */
  gboolean source_error_delivered;

  GQueue waiters;        /* Waiter *, for next_async, in call order */
  GObject *pool;         /* until every result arrived */
  PSinkLink *link;       /* the pool thread's way here */
};

enum {
  PROP_0,
  PROP_COMPLETED,
  PROP_TOTAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PMapIter, p_map_iter, G_TYPE_OBJECT)

static void counts_changed_locked (PMapIter *self);
static void arrived_unlock (PMapIter *self);

static void
entry_clear (Entry *entry)
{
  g_clear_pointer (&entry->value, g_variant_unref);
  g_clear_pointer (&entry->deferred_value, p_deferred_value_free);
  g_clear_error (&entry->error);
}

static gboolean
entry_is_set (const Entry *entry)
{
  return entry->value != NULL || entry->deferred_value != NULL || entry->error != NULL;
}

/* The entry's value, made now if it was deferred. */
static GVariant *
entry_steal_value (Entry *entry)
{
  if (entry->deferred_value != NULL)
    return p_deferred_value_take (g_steal_pointer (&entry->deferred_value));

  return g_steal_pointer (&entry->value);
}

static void
p_map_iter_dispose (GObject *object)
{
  PMapIter *self = P_MAP_ITER (object);

  p_sink_link_clear (&self->link);

  G_OBJECT_CLASS (p_map_iter_parent_class)->dispose (object);
}

static void
p_map_iter_finalize (GObject *object)
{
  PMapIter *self = P_MAP_ITER (object);
  Entry *entry;

  /* A waiter holds a reference, so there can be none left. */
  g_assert (g_queue_is_empty (&self->waiters));

  g_clear_pointer (&self->window, g_array_unref);
  if (self->feed_destroy != NULL)
    self->feed_destroy (self->feed_data);
  g_clear_pointer (&self->context, g_main_context_unref);

  while ((entry = g_queue_pop_head (&self->arrived)))
    {
      entry_clear (entry);
      g_free (entry);
    }

  g_clear_error (&self->fatal_error);
  g_clear_error (&self->source_error);
  g_clear_object (&self->pool);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (p_map_iter_parent_class)->finalize (object);
}

static void
p_map_iter_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PMapIter *self = P_MAP_ITER (object);

  switch (prop_id)
    {
    case PROP_COMPLETED:
      g_value_set_uint (value, p_map_iter_get_completed (self));
      break;

    case PROP_TOTAL:
      g_value_set_uint (value, p_map_iter_get_total (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
p_map_iter_class_init (PMapIterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = p_map_iter_dispose;
  object_class->finalize = p_map_iter_finalize;
  object_class->get_property = p_map_iter_get_property;

  /**
   * PMapIter:completed:
   *
   * How many items' results (or errors) have arrived, taken or not.
   * Notified with #PMapIter:total in the thread-default main context of the
   * thread that made the iterator, at most once per iteration of that
   * context however many arrived.
   *
   * Since: 0.1
   */
  properties[PROP_COMPLETED] =
    g_param_spec_uint ("completed", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * PMapIter:total:
   *
   * How many items there are: of p_pool_imap_lazy(), those taken from its
   * source so far, which grows until the source ends.
   *
   * Since: 0.1
   */
  properties[PROP_TOTAL] =
    g_param_spec_uint ("total", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  p_i18n_init ();
}

static void
p_map_iter_init (PMapIter *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  g_queue_init (&self->arrived);
  g_queue_init (&self->waiters);
}

PMapIter *
p_map_iter_new (GObject  *pool,
                gboolean  ordered,
                guint     n_items)
{
  PMapIter *self = g_object_new (P_TYPE_MAP_ITER, NULL);

  self->ordered = ordered;
  self->n_items = n_items;
  self->items_final = TRUE;
  if (ordered)
    {
      self->window = g_array_sized_new (FALSE, TRUE, sizeof (Entry), MIN (n_items, 4096));
      g_array_set_clear_func (self->window, (GDestroyNotify) entry_clear);
    }
  if (n_items > 0 && pool != NULL)
    self->pool = g_object_ref (pool);
  self->link = p_sink_link_new (G_OBJECT (self));
  self->context = g_main_context_ref_thread_default ();

  return self;
}

/* {{{ Lazy input (p_pool_imap_lazy())
 *
 * A lazy map's items are pulled from their source as the consumer takes
 * results: its feed runs after each item taken, in the thread that took
 * it, or in the iterator's context for those the pool thread handed to
 * p_map_iter_next_async(). */

/* Makes @self lazy: its items are added as they are pulled. */
void
p_map_iter_set_feed (PMapIter         *self,
                     PMapIterFeedFunc  feed,
                     gpointer          data,
                     GDestroyNotify    destroy)
{
  g_assert (self->feed == NULL && self->n_items == 0);

  self->feed = feed;
  self->feed_data = data;
  self->feed_destroy = destroy;
  self->items_final = FALSE;
}

/* @n items more: the index of the first. */
guint
p_map_iter_add_items (PMapIter *self,
                      guint     n)
{
  guint first;

  g_mutex_lock (&self->mutex);
  g_assert (!self->items_final);
  first = self->n_items;
  self->n_items += n;
  counts_changed_locked (self);
  g_mutex_unlock (&self->mutex);

  return first;
}

/* The source ended, and those added are all; with @error (taken), the
 * source failed, which the consumer gets after every item's result. */
void
p_map_iter_end_items (PMapIter *self,
                      GError   *error)
{
  g_mutex_lock (&self->mutex);
  self->items_final = TRUE;
  if (self->source_error == NULL && self->fatal_error == NULL)
    self->source_error = g_steal_pointer (&error);
  g_clear_error (&error);
  arrived_unlock (self);
}

/* How many items the consumer took. */
guint
p_map_iter_get_taken (PMapIter *self)
{
  guint taken;

  g_mutex_lock (&self->mutex);
  taken = self->n_delivered;
  g_mutex_unlock (&self->mutex);

  return taken;
}

static gboolean
feed_in_context (gpointer user_data)
{
  PMapIter *self = user_data;

  self->feed (self, self->feed_data);
  return G_SOURCE_REMOVE;
}

/* After items were taken, without the lock: more are pulled. */
static void
fed (PMapIter *self,
     gboolean  in_context)
{
  if (self->feed == NULL)
    return;

  if (in_context)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, feed_in_context,
                                g_object_ref (self), g_object_unref);
  else
    self->feed (self, self->feed_data);
}

/* }}} */
/* {{{ Counts */

static gboolean
notify_counts_in_context (gpointer user_data)
{
  PMapIter *self = user_data;

  g_mutex_lock (&self->mutex);
  self->counts_notify_pending = FALSE;
  g_mutex_unlock (&self->mutex);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOTAL]);
  g_object_thaw_notify (G_OBJECT (self));

  return G_SOURCE_REMOVE;
}

/* With the lock held: once per iteration of the context, and only when
 * somebody listens; asked once per batch of replies, not per item. */
static void
counts_changed_locked (PMapIter *self)
{
  guint batch = p_wake_batch_serial ();

  if (self->counts_notify_pending)
    return;

  if (batch == 0 || batch != self->listeners_batch)
    {
      self->listeners_batch = batch;
      self->listened = p_sink_has_notify_handlers (self);
    }
  if (!self->listened)
    return;

  self->counts_notify_pending = TRUE;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, notify_counts_in_context,
                              g_object_ref (self), g_object_unref);
}

/**
 * p_map_iter_get_completed:
 * @self: a #PMapIter
 *
 * Returns #PMapIter:completed: how many items' results have arrived.
 *
 * Returns: the number of results that arrived
 *
 * Since: 0.1
 */
guint
p_map_iter_get_completed (PMapIter *self)
{
  guint completed;

  g_return_val_if_fail (P_IS_MAP_ITER (self), 0);

  g_mutex_lock (&self->mutex);
  completed = self->n_received;
  g_mutex_unlock (&self->mutex);

  return completed;
}

/**
 * p_map_iter_get_total:
 * @self: a #PMapIter
 *
 * Returns #PMapIter:total: how many items there are, or, for
 * p_pool_imap_lazy(), have been taken from its source so far.
 *
 * Returns: the number of items
 *
 * Since: 0.1
 */
guint
p_map_iter_get_total (PMapIter *self)
{
  guint total;

  g_return_val_if_fail (P_IS_MAP_ITER (self), 0);

  g_mutex_lock (&self->mutex);
  total = self->n_items;
  g_mutex_unlock (&self->mutex);

  return total;
}

/* }}} */

PSinkLink *
p_map_iter_get_link (PMapIter *self)
{
  return self->link;
}

/* {{{ The ordered items' window
 *
 * An ordered map's results wait in a window of the items from the first
 * not taken to the last that arrived: a lazy map's stays about as small as
 * its buffer, however many items pass through. */

/* The slot of @index, or NULL if nothing arrived that far. */
static Entry *
window_slot (PMapIter *self,
             guint     index)
{
  if (index - self->window_start >= self->window->len)
    return NULL;

  return &g_array_index (self->window, Entry, index - self->window_start);
}

static Entry *
window_grow_to (PMapIter *self,
                guint     index)
{
  g_assert (index >= self->window_start);

  if (index - self->window_start >= self->window->len)
    g_array_set_size (self->window, index - self->window_start + 1);

  return &g_array_index (self->window, Entry, index - self->window_start);
}

/* Slots taken go once they are most of the window. */
static void
window_forget_taken (PMapIter *self)
{
  guint taken = self->next_index - self->window_start;

  if (taken < 64 || taken < self->window->len / 2)
    return;

  g_array_remove_range (self->window, 0, taken);
  self->window_start = self->next_index;
}

/* }}} */

typedef enum
{
  TAKE_NOTHING_YET,
  TAKE_ENTRY,
  TAKE_END,
} TakeResult;

/* With the lock held: hands out what comes next, if anything; with @out
 * NULL, only says what it would hand out. */
static TakeResult
take_locked (PMapIter *self,
             Entry    *out)
{
  if (self->ordered && self->next_index < self->n_items)
    {
      Entry *slot = window_slot (self, self->next_index);

      if (slot != NULL && entry_is_set (slot))
        {
          if (out == NULL)
            return TAKE_ENTRY;
          *out = *slot;
          *slot = (Entry) { NULL, NULL, NULL };
          self->next_index++;
          self->n_delivered++;
          window_forget_taken (self);
          return TAKE_ENTRY;
        }

      /* It will never come, and items after it did: the error stands in
       * for it, so that those keep their positions. */
      if (self->fatal_error != NULL && self->next_index < self->arrived_end)
        {
          if (out == NULL)
            return TAKE_ENTRY;
          *out = (Entry) { .error = g_error_copy (self->fatal_error) };
          self->next_index++;
          self->n_delivered++;
          window_forget_taken (self);
          return TAKE_ENTRY;
        }
    }

  if (!self->ordered && !g_queue_is_empty (&self->arrived))
    {
      Entry *entry;

      if (out == NULL)
        return TAKE_ENTRY;
      entry = g_queue_pop_head (&self->arrived);
      *out = *entry;
      g_free (entry);
      self->n_delivered++;
      return TAKE_ENTRY;
    }

  /* Once for the items missing at the end; in an imap whose last
   * missing item had the error in its place, none are. */
  if (self->fatal_error != NULL && !self->fatal_delivered &&
      (!self->ordered || self->next_index < self->n_items))
    {
      if (out == NULL)
        return TAKE_ENTRY;
      self->fatal_delivered = TRUE;
      *out = (Entry) { .error = g_error_copy (self->fatal_error) };
      return TAKE_ENTRY;
    }

  /* After every item, what the source of a lazy map failed with. */
  if (self->source_error != NULL && !self->source_error_delivered && self->fatal_error == NULL &&
      self->n_delivered == self->n_items)
    {
      if (out == NULL)
        return TAKE_ENTRY;
      self->source_error_delivered = TRUE;
      *out = (Entry) { .error = g_error_copy (self->source_error) };
      return TAKE_ENTRY;
    }

  if ((self->items_final && self->n_delivered == self->n_items) || self->fatal_delivered)
    return TAKE_END;

  return TAKE_NOTHING_YET;
}

/* Never with self->mutex held, nor in a thread that is cancelling the
 * waiter's cancellable: that thread only runs on_next_cancelled(). */
static void
waiter_free (Waiter *waiter)
{
  /* Waits for a cancel running in another thread to finish. (Not a
   * GCancellableSource: see p-glib-workarounds-private.h.) */
  if (waiter->cancelled_handler != 0)
    g_cancellable_disconnect (g_task_get_cancellable (waiter->task), waiter->cancelled_handler);
  g_object_unref (waiter->task);
  g_free (waiter);
}

static void
waiter_complete (Waiter     *waiter,
                 TakeResult  taken,
                 Entry      *entry)
{
  if (taken == TAKE_END)
    g_task_return_pointer (waiter->task, NULL, NULL);
  else if (entry->error != NULL)
    g_task_return_error (waiter->task, g_steal_pointer (&entry->error));
  else
    g_task_return_pointer (waiter->task, entry_steal_value (entry),
                           (GDestroyNotify) g_variant_unref);

  waiter_free (waiter);
}

/* After new entries: wakes blocking callers and serves async ones. */
static void
arrived_unlock (PMapIter *self)
{
  GQueue served = G_QUEUE_INIT;
  GQueue entries = G_QUEUE_INIT;
  gboolean any_taken = FALSE;
  Waiter *waiter;

  if (self->n_waiters > 0)
    p_wake_waiters (G_OBJECT (self), &self->cond);

  while (!g_queue_is_empty (&self->waiters))
    {
      Entry entry = { NULL, NULL, NULL };
      TakeResult taken = take_locked (self, &entry);

      if (taken == TAKE_NOTHING_YET)
        break;

      waiter = g_queue_pop_head (&self->waiters);
      g_queue_push_tail (&served, waiter);
      /* The end is an entry with neither value nor error. */
      g_queue_push_tail (&entries, g_memdup2 (&entry, sizeof entry));
    }

  g_mutex_unlock (&self->mutex);

  while ((waiter = g_queue_pop_head (&served)))
    {
      Entry *entry = g_queue_pop_head (&entries);
      gboolean is_end = !entry_is_set (entry);

      waiter_complete (waiter, is_end ? TAKE_END : TAKE_ENTRY, entry);
      entry_clear (entry);
      g_free (entry);
      if (!is_end)
        any_taken = TRUE;
    }

  /* Handed over from the pool's thread: more are pulled in the
   * iterator's own context. */
  if (any_taken)
    fed (self, TRUE);
}

/* Lets go of the pool before the last results can be seen: a caller that
 * then drops the pool must be the one whose unref reaps the workers. Only
 * the pool thread pushes, so what is decided here stays true. */
static void
release_pool_before_last (PMapIter *self,
                          guint     n_arriving,
                          gboolean  failing)
{
  GObject *pool = NULL;

  g_mutex_lock (&self->mutex);
  if (failing || (self->items_final && self->n_received + n_arriving >= self->n_items))
    pool = g_steal_pointer (&self->pool);
  g_mutex_unlock (&self->mutex);

  g_clear_object (&pool);
}

static void
store_locked (PMapIter *self,
              guint     index,
              Entry     arrived)
{
  g_assert (index < self->n_items);
  g_assert (entry_is_set (&arrived));

  if (self->ordered)
    {
      Entry *slot = window_grow_to (self, index);

      g_assert (!entry_is_set (slot));
      *slot = arrived;
      self->arrived_end = MAX (self->arrived_end, index + 1);
    }
  else
    {
      g_queue_push_tail (&self->arrived, g_memdup2 (&arrived, sizeof arrived));
    }

  self->n_received++;
  counts_changed_locked (self);
}

/* A chunk's results: @values holds the successes in item order ("av", or
 * "aT" when they share a type T),
 * @errors the failures as (index in chunk, domain, code, message). */
void
p_map_iter_push_chunk (PMapIter *self,
                       guint     first_item,
                       guint     n_items,
                       GVariant *values,
                       GVariant *errors)
{
  gsize n_values = g_variant_n_children (values);
  gsize n_errors = g_variant_n_children (errors);
  gsize next_value = 0;
  gsize next_error = 0;

  release_pool_before_last (self, n_items, FALSE);

  g_mutex_lock (&self->mutex);

  for (guint i = 0; i < n_items; i++)
    {
      guint32 error_index = G_MAXUINT32;

      if (next_error < n_errors)
        g_variant_get_child (errors, next_error, "(usis)", &error_index, NULL, NULL, NULL);

      if (error_index == i)
        {
          const char *domain, *message;
          gint32 code;

          g_variant_get_child (errors, next_error++, "(u&si&s)", NULL, &domain, &code, &message);
          store_locked (self, first_item + i,
                        (Entry) { .error = g_error_new_literal (g_quark_from_string (domain), code, message) });
        }
      else if (next_value < n_values)
        {
          store_locked (self, first_item + i, (Entry) { .value = p_chunk_values_get (values, next_value++) });
        }
      else
        {
          store_locked (self, first_item + i,
                        (Entry) { .error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                                _("The item was not run")) });
        }
    }

  arrived_unlock (self);
}

/* A single item's result (taken). */
void
p_map_iter_push_value (PMapIter *self,
                       guint     item,
                       GVariant *value)
{
  release_pool_before_last (self, 1, FALSE);

  g_mutex_lock (&self->mutex);
  store_locked (self, item, (Entry) { .value = value });
  arrived_unlock (self);
}

/* A single item's result, to be made by the thread that takes it (see
 * p_message_dup_value()). */
void
p_map_iter_push_deferred_value (PMapIter       *self,
                                guint           item,
                                PDeferredValue *deferred)
{
  release_pool_before_last (self, 1, FALSE);

  g_mutex_lock (&self->mutex);
  store_locked (self, item, (Entry) { .deferred_value = deferred });
  arrived_unlock (self);
}

/* Every item of a chunk failed with @error. */
void
p_map_iter_push_error (PMapIter     *self,
                       guint         first_item,
                       guint         n_items,
                       const GError *error)
{
  release_pool_before_last (self, n_items, FALSE);

  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < n_items; i++)
    store_locked (self, first_item + i, (Entry) { .error = g_error_copy (error) });
  arrived_unlock (self);
}

/* The whole operation failed: no more items will come. */
void
p_map_iter_fail (PMapIter     *self,
                 const GError *error)
{
  release_pool_before_last (self, 0, TRUE);

  g_mutex_lock (&self->mutex);
  /* For a lazy map: nothing more is pulled. */
  if (self->fatal_error == NULL && (self->n_received < self->n_items || !self->items_final))
    self->fatal_error = g_error_copy (error);
  self->items_final = TRUE;
  arrived_unlock (self);
}

static GVariant *
return_entry (Entry   *entry,
              GError **error)
{
  if (entry->error != NULL)
    {
      g_propagate_error (error, entry->error);
      return NULL;
    }

  return entry_steal_value (entry);
}

/**
 * p_map_iter_next:
 * @self: a #PMapIter
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 * @error: return location for a #GError
 *
 * Returns the next result: in the order of the items for p_pool_imap(), in
 * the order they finish for p_pool_imap_unordered().
 *
 * When the next item's task failed, returns %NULL with its error; the
 * following call goes on with the item after it. At the end, returns %NULL
 * without setting @error. If nothing arrives within @timeout_usec, fails
 * with %G_IO_ERROR_TIMED_OUT without losing anything: the same item can be
 * asked for again.
 *
 * This works from any thread, with no main loop running.
 *
 * Returns: (transfer full) (nullable): the next result, or %NULL at the end
 *   or on error
 *
 * Since: 0.1
 */
GVariant *
p_map_iter_next (PMapIter  *self,
                 gint64     timeout_usec,
                 GError   **error)
{
  Entry entry = { NULL, NULL, NULL };
  TakeResult taken;
  gint64 end_time;

  g_return_val_if_fail (P_IS_MAP_ITER (self), NULL);
  g_return_val_if_fail (timeout_usec >= -1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  end_time = timeout_usec > 0 ? g_get_monotonic_time () + timeout_usec : timeout_usec;

  g_mutex_lock (&self->mutex);
  self->n_waiters++;
  while ((taken = take_locked (self, &entry)) == TAKE_NOTHING_YET)
    {
      if (end_time == 0)
        break;
      else if (end_time < 0)
        g_cond_wait (&self->cond, &self->mutex);
      else if (!g_cond_wait_until (&self->cond, &self->mutex, end_time))
        {
          taken = take_locked (self, &entry);
          break;
        }
    }
  self->n_waiters--;
  g_mutex_unlock (&self->mutex);

  if (taken == TAKE_ENTRY)
    fed (self, FALSE);

  if (taken == TAKE_NOTHING_YET)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           _("Timed out waiting for the next result"));
      return NULL;
    }

  if (taken == TAKE_END)
    return NULL;

  return return_entry (&entry, error);
}

/* For p-data.c: takes the values that arrived, up to @max, in the order
 * p_map_iter_next() hands them out, and stops before an error, the end, or
 * a value not of @type, which the next call gets. */
guint
p_map_iter_take_values (PMapIter           *self,
                        guint               max,
                        const GVariantType *type,
                        GPtrArray          *values)
{
  guint n = 0;

  g_mutex_lock (&self->mutex);
  while (n < max)
    {
      const Entry *next;
      Entry entry = { NULL, NULL, NULL };

      if (self->ordered)
        next = self->next_index < self->n_items ? window_slot (self, self->next_index) : NULL;
      else
        next = g_queue_peek_head (&self->arrived);

      /* (A deferred value is of a basic type, made by its taker.) */
      if (next == NULL || next->value == NULL || !g_variant_is_of_type (next->value, type))
        break;

      take_locked (self, &entry);
      g_ptr_array_add (values, g_steal_pointer (&entry.value));
      n++;
    }
  g_mutex_unlock (&self->mutex);

  if (n > 0)
    fed (self, FALSE);

  return n;
}

/**
 * p_map_iter_wait:
 * @self: a #PMapIter
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 *
 * Waits until p_map_iter_next() would return at once: with the next
 * result, an error in its place, or the end. Unlike a p_map_iter_next()
 * that times out, this tells a wait that ran out from an item that failed
 * with %G_IO_ERROR_TIMED_OUT (a task that ran over #PPool:task-timeout).
 * No main loop needs to run.
 *
 * Returns: %TRUE if p_map_iter_next() would not wait
 *
 * Since: 0.1
 */
gboolean
p_map_iter_wait (PMapIter *self,
                 gint64    timeout_usec)
{
  gboolean ready;
  gint64 end_time;

  g_return_val_if_fail (P_IS_MAP_ITER (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);

  end_time = timeout_usec > 0 ? g_get_monotonic_time () + timeout_usec : timeout_usec;

  g_mutex_lock (&self->mutex);
  self->n_waiters++;
  while (!(ready = take_locked (self, NULL) != TAKE_NOTHING_YET) && end_time != 0)
    {
      if (end_time < 0)
        g_cond_wait (&self->cond, &self->mutex);
      else if (!g_cond_wait_until (&self->cond, &self->mutex, end_time))
        {
          ready = take_locked (self, NULL) != TAKE_NOTHING_YET;
          break;
        }
    }
  self->n_waiters--;
  g_mutex_unlock (&self->mutex);

  return ready;
}

/* In the task's context, after its cancellable fired. */
static gboolean
next_cancelled (gpointer user_data)
{
  GTask *task = user_data;
  PMapIter *self = g_task_get_source_object (task);
  Waiter *waiter = NULL;

  g_mutex_lock (&self->mutex);
  for (GList *l = self->waiters.head; l != NULL; l = l->next)
    {
      if (((Waiter *) l->data)->task == task)
        {
          waiter = l->data;
          g_queue_delete_link (&self->waiters, l);
          break;
        }
    }
  g_mutex_unlock (&self->mutex);

  /* Already being served otherwise. */
  if (waiter != NULL)
    {
      /* Alive until returned: freeing the waiter drops a reference. */
      g_autoptr(GTask) alive = g_object_ref (task);

      (void) alive;
      g_task_return_error (task, p_error_new_cancelled ());
      waiter_free (waiter);
    }

  return G_SOURCE_REMOVE;
}

/* In the thread that cancels, maybe while it dispatches a source of the
 * task's context: the call fails from that context afterwards, never
 * inside g_cancellable_cancel(). */
static void
on_next_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(GSource) source = g_idle_source_new ();

  g_task_attach_source (task, source, next_cancelled);
}

/**
 * p_map_iter_next_async:
 * @self: a #PMapIter
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the next result is there
 * @user_data: data for @callback
 *
 * Asks for the next result without blocking. @callback is called in the
 * thread-default main context of the calling thread; call
 * p_map_iter_next_finish() from it. Several calls may be outstanding; they
 * are served in order.
 *
 * Cancelling @cancellable fails this call with %G_IO_ERROR_CANCELLED; it
 * does not cancel the map, and the item is handed to the next call.
 *
 * Since: 0.1
 */
void
p_map_iter_next_async (PMapIter            *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Entry entry = { NULL, NULL, NULL };
  TakeResult taken = TAKE_NOTHING_YET;

  g_return_if_fail (P_IS_MAP_ITER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, p_map_iter_next_async);
  /* A cancel that comes after the item was handed to this call is too
   * late: the item is returned, not dropped. One that comes before is
   * seen by next_cancelled(), which leaves the item to the next call. */
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  g_mutex_lock (&self->mutex);
  /* Earlier calls go first. */
  if (g_queue_is_empty (&self->waiters))
    taken = take_locked (self, &entry);

  if (taken == TAKE_NOTHING_YET)
    {
      Waiter *waiter = g_new0 (Waiter, 1);

      waiter->task = g_object_ref (task);
      if (cancellable != NULL)
        {
          /* If it fires now, here, on_next_cancelled() only schedules
           * next_cancelled(), which finds the waiter queued. */
          waiter->cancelled_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_next_cancelled),
                                                             g_object_ref (task), g_object_unref);
        }
      g_queue_push_tail (&self->waiters, waiter);
    }
  g_mutex_unlock (&self->mutex);

  if (taken == TAKE_END)
    g_task_return_pointer (task, NULL, NULL);
  else if (taken == TAKE_ENTRY && entry.error != NULL)
    g_task_return_error (task, entry.error);
  else if (taken == TAKE_ENTRY)
    g_task_return_pointer (task, entry_steal_value (&entry), (GDestroyNotify) g_variant_unref);

  if (taken == TAKE_ENTRY)
    fed (self, FALSE);
}

/**
 * p_map_iter_next_finish:
 * @self: a #PMapIter
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes p_map_iter_next_async(); see p_map_iter_next() for what it
 * returns.
 *
 * Returns: (transfer full) (nullable): the next result, or %NULL at the end
 *   or on error
 *
 * Since: 0.1
 */
GVariant *
p_map_iter_next_finish (PMapIter      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (P_IS_MAP_ITER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == p_map_iter_next_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
