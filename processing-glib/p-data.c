/* p-data.c: tasks whose arguments and results are bytes, for bindings
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-data.h"
#include "p-i18n-private.h"
#include "p-map-iter-private.h"
#include "p-message-writer-private.h"
#include "p-pool-private.h"
#include "p-result-private.h"

/**
 * SECTION:p-data
 * @title: Bytes in and out
 * @short_description: Tasks whose arguments and results are bytes
 *
 * A binding whose values travel as bytes of its own (a Python pickle,
 * JSON...) sends each as a GVariant of type `ay`. These functions do that
 * without a #GVariant on the binding's side, where making and freeing
 * each costs more than the task's round trip through the pool:
 * p_pool_submit_data() submits bytes, p_result_get_bytes() and
 * p_map_iter_next_bytes() read them back, and a worker serves a
 * #PBytesFunc with p_worker_add_bytes_function().
 *
 * A binding also spares itself the #GBytes objects: p_result_get_data(),
 * p_map_iter_next_data() and p_map_iter_next_data_many() (the results
 * that are there, in one call) give plain arrays of bytes, and a worker's
 * #PDataFunc, served with p_worker_add_data_function(), takes and returns
 * them.
 *
 * Their tasks are ordinary tasks: a worker's #PTaskFunc given the same
 * function name receives an `ay`, and a caller of p_pool_submit() may
 * pass one to a #PBytesFunc.
 */

static gboolean
check_bytes (GVariant  *value,
             GError   **error)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING))
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("The value is of type “%s”, not bytes (“ay”)"),
               g_variant_get_type_string (value));
  return FALSE;
}

typedef struct
{
  const guint8 *data;
  gsize size;
} Data;

/* The TASK frame of a p_pool_submit_data(): the bytes copied once, and
 * sent in the stream however large they are. A binding's values are new
 * each way, and the pool's thread copies them into the socket while the
 * caller goes on; a sealed file's pages would be made, mapped and freed
 * for each, in the caller's thread (docs/performance.md, "From Python"). */
static PFrame *
encode_data_task (guint64      id,
                  const char  *function,
                  gsize        max_message_size,
                  gpointer     user_data,
                  GError     **error)
{
  Data *data = user_data;
  g_autoptr(GBytes) bytes = g_bytes_new (data->data, data->size);
  PFrame *frame;

  frame = p_message_encode_task_bytes (id, function, bytes, max_message_size, error);
  if (frame != NULL)
    frame->stream_only = TRUE;

  return frame;
}

/**
 * p_pool_submit_data:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @data: (array length=size) (element-type guint8): the task's argument,
 *   copied
 * @size: the length of @data
 * @cancellable: (nullable): a #GCancellable, or %NULL
 *
 * Submits a task whose argument is @data, as a GVariant of type `ay`: as
 * p_pool_submit() does, without the caller making the GVariant. @data is
 * copied once, before this returns.
 *
 * Returns: (transfer full): the task's #PResult
 *
 * Since: 0.1
 */
PResult *
p_pool_submit_data (PPool        *self,
                    const char   *function,
                    const guint8 *data,
                    gsize         size,
                    GCancellable *cancellable)
{
  Data task = { data, size };

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  return p_pool_submit_encoded (self, function, encode_data_task, &task, cancellable);
}

/**
 * p_result_get_bytes:
 * @self: a #PResult
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 * @error: return location for a #GError
 *
 * Returns the result as p_result_get() does, as bytes: the result must be
 * of type `ay`, or this fails with %G_IO_ERROR_INVALID_DATA.
 *
 * Returns: (transfer full): the bytes of the result, or %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
p_result_get_bytes (PResult  *self,
                    gint64    timeout_usec,
                    GError  **error)
{
  g_autoptr(GVariant) value = NULL;

  g_return_val_if_fail (P_IS_RESULT (self), NULL);
  g_return_val_if_fail (timeout_usec >= -1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  value = p_result_get (self, timeout_usec, error);
  if (value == NULL || !check_bytes (value, error))
    return NULL;

  return g_variant_get_data_as_bytes (value);
}

/**
 * p_result_get_data:
 * @self: a #PResult
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 * @size: (out): return location for the length of the bytes
 * @error: return location for a #GError
 *
 * Returns the result as p_result_get_bytes() does, without a #GBytes: the
 * bytes are @self's, valid as long as @self. A binding that copies them
 * into a value of its own gets them in one call.
 *
 * Returns: (array length=size) (element-type guint8) (transfer none) (nullable):
 *   the bytes of the result, or %NULL with @error set
 *
 * Since: 0.1
 */
const guint8 *
p_result_get_data (PResult  *self,
                   gint64    timeout_usec,
                   gsize    *size,
                   GError  **error)
{
  g_autoptr(GVariant) value = NULL;
  const guint8 *data;

  g_return_val_if_fail (P_IS_RESULT (self), NULL);
  g_return_val_if_fail (timeout_usec >= -1, NULL);
  g_return_val_if_fail (size != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *size = 0;
  value = p_result_get (self, timeout_usec, error);
  if (value == NULL || !check_bytes (value, error))
    return NULL;

  /* The result keeps its value: @value is one more reference. */
  *size = g_variant_get_size (value);
  data = g_variant_get_data (value);

  return data != NULL ? data : (const guint8 *) "";
}

/**
 * p_map_iter_next_bytes:
 * @self: a #PMapIter
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 * @error: return location for a #GError
 *
 * Returns the next result as p_map_iter_next() does, as bytes: each result
 * must be of type `ay`, or this fails with %G_IO_ERROR_INVALID_DATA (and
 * the iterator goes on with the next).
 *
 * Returns: (transfer full) (nullable): the bytes of the next result;
 *   %NULL with @error set, or %NULL without an error at the end
 *
 * Since: 0.1
 */
GBytes *
p_map_iter_next_bytes (PMapIter  *self,
                       gint64     timeout_usec,
                       GError   **error)
{
  g_autoptr(GVariant) value = NULL;

  g_return_val_if_fail (P_IS_MAP_ITER (self), NULL);
  g_return_val_if_fail (timeout_usec >= -1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  value = p_map_iter_next (self, timeout_usec, error);
  if (value == NULL || !check_bytes (value, error))
    return NULL;

  return g_variant_get_data_as_bytes (value);
}

/**
 * p_map_iter_next_data:
 * @self: a #PMapIter
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 * @data: (out) (array length=size) (element-type guint8) (transfer full) (optional):
 *   return location for the bytes of the next result, which the caller
 *   frees with g_free()
 * @size: (out) (optional): return location for their length
 * @error: return location for a #GError
 *
 * Takes the next result as p_map_iter_next_bytes() does, without a
 * #GBytes: a binding that copies the bytes into a value of its own gets
 * them in one call.
 *
 * Returns: %TRUE with the next result in @data; %FALSE at the end, or
 *   with @error set
 *
 * Since: 0.1
 */
gboolean
p_map_iter_next_data (PMapIter  *self,
                      gint64     timeout_usec,
                      guint8   **data,
                      gsize     *size,
                      GError   **error)
{
  GVariant *value;
  GBytes *bytes;
  gsize length;

  g_return_val_if_fail (P_IS_MAP_ITER (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (data != NULL)
    *data = NULL;
  if (size != NULL)
    *size = 0;

  value = p_map_iter_next (self, timeout_usec, error);
  if (value == NULL)
    return FALSE;
  if (!check_bytes (value, error))
    {
      g_variant_unref (value);
      return FALSE;
    }

  /* Taken without a copy when nothing else holds them. */
  bytes = g_variant_get_data_as_bytes (value);
  g_variant_unref (value);
  if (data != NULL)
    *data = g_bytes_unref_to_data (bytes, &length);
  else
    {
      length = g_bytes_get_size (bytes);
      g_bytes_unref (bytes);
    }
  if (size != NULL)
    *size = length;

  return TRUE;
}

/**
 * p_map_iter_next_data_many:
 * @self: a #PMapIter
 * @timeout_usec: how long to wait for the first result, in microseconds:
 *   -1 to wait for as long as it takes, 0 not to wait
 * @max_results: the most results to take, at least 1
 * @data: (out) (array length=size) (element-type guint8) (transfer full):
 *   return location for the bytes of the results, one after the other,
 *   which the caller frees with g_free()
 * @size: (out): return location for their length
 * @ends: (out) (array length=n_results) (element-type gsize) (transfer full):
 *   return location for where each result ends in @data, which the caller
 *   frees with g_free()
 * @n_results: (out): return location for the number of results
 * @error: return location for a #GError
 *
 * Takes the next result as p_map_iter_next_data() does, and with it those
 * after it that are there already, up to @max_results, in one call: a
 * binding that iterates over many small results calls into the library
 * once for each batch of them. An item that failed stops the batch before
 * it: the next call returns its error.
 *
 * Returns: %TRUE with one result or more; %FALSE at the end, or with
 *   @error set
 *
 * Since: 0.1
 */
gboolean
p_map_iter_next_data_many (PMapIter  *self,
                           gint64     timeout_usec,
                           guint      max_results,
                           guint8   **data,
                           gsize     *size,
                           gsize    **ends,
                           guint     *n_results,
                           GError   **error)
{
  g_autoptr(GPtrArray) values = NULL;
  GVariant *first;
  gsize total = 0;
  guint8 *out;

  g_return_val_if_fail (P_IS_MAP_ITER (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (max_results > 0, FALSE);
  g_return_val_if_fail (data != NULL && size != NULL && ends != NULL && n_results != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *data = NULL;
  *size = 0;
  *ends = NULL;
  *n_results = 0;

  first = p_map_iter_next (self, timeout_usec, error);
  if (first == NULL)
    return FALSE;
  if (!check_bytes (first, error))
    {
      g_variant_unref (first);
      return FALSE;
    }

  values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_ptr_array_add (values, first);
  p_map_iter_take_values (self, max_results - 1, G_VARIANT_TYPE_BYTESTRING, values);

  *ends = g_new (gsize, values->len);
  for (guint i = 0; i < values->len; i++)
    {
      total += g_variant_get_size (values->pdata[i]);
      (*ends)[i] = total;
    }

  /* One result alone is taken without a copy when nothing else holds it. */
  if (values->len == 1)
    {
      GBytes *bytes = g_variant_get_data_as_bytes (first);

      g_ptr_array_set_size (values, 0);
      *data = g_bytes_unref_to_data (bytes, size);
      *n_results = 1;
      return TRUE;
    }

  out = g_malloc (MAX (total, 1));
  for (guint i = 0; i < values->len; i++)
    {
      gsize length = g_variant_get_size (values->pdata[i]);

      if (length > 0)
        memcpy (out + (*ends)[i] - length, g_variant_get_data (values->pdata[i]), length);
    }
  *data = out;
  *size = total;
  *n_results = values->len;

  return TRUE;
}

typedef struct
{
  PBytesFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} BytesFunction;

static void
bytes_function_free (gpointer data)
{
  BytesFunction *function = data;

  if (function->destroy != NULL)
    function->destroy (function->user_data);
  g_free (function);
}

static GVariant *
call_bytes_function (GVariant      *args,
                     GCancellable  *cancellable,
                     gpointer       user_data,
                     GError       **error)
{
  BytesFunction *function = user_data;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GBytes) result = NULL;

  if (!check_bytes (args, error))
    {
      g_prefix_error (error, _("The task’s argument is not bytes: "));
      return NULL;
    }

  data = g_variant_get_data_as_bytes (args);
  result = function->func (data, cancellable, function->user_data, error);
  if (result == NULL)
    return NULL;

  /* The variant takes a reference of its own. */
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, result, TRUE);
}

/**
 * p_worker_add_bytes_function:
 * @self: a #PWorker
 * @name: the name the pool calls the function by: a non-empty UTF-8 string
 * @func: (scope notified) (closure user_data) (destroy destroy): the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the worker is finalized
 *
 * Serves @func under @name, as p_worker_add_function() does, for tasks
 * whose argument is bytes (a GVariant of type `ay`, as
 * p_pool_submit_data() sends): @func gets the bytes and returns bytes,
 * which the caller reads with p_result_get_bytes(). A task whose argument
 * is of another type fails with %G_IO_ERROR_INVALID_DATA.
 *
 * Since: 0.1
 */
void
p_worker_add_bytes_function (PWorker        *self,
                             const char     *name,
                             PBytesFunc      func,
                             gpointer        user_data,
                             GDestroyNotify  destroy)
{
  BytesFunction *function;

  g_return_if_fail (P_IS_WORKER (self));
  g_return_if_fail (name != NULL && name[0] != '\0');
  g_return_if_fail (func != NULL);

  function = g_new0 (BytesFunction, 1);
  function->func = func;
  function->user_data = user_data;
  function->destroy = destroy;

  p_worker_add_function (self, name, call_bytes_function, function, bytes_function_free);
}

typedef struct
{
  PDataFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} DataFunction;

static void
data_function_free (gpointer data)
{
  DataFunction *function = data;

  if (function->destroy != NULL)
    function->destroy (function->user_data);
  g_free (function);
}

static GVariant *
call_data_function (GVariant      *args,
                    GCancellable  *cancellable,
                    gpointer       user_data,
                    GError       **error)
{
  DataFunction *function = user_data;
  g_autoptr(GBytes) bytes = NULL;
  GByteArray *result;

  if (!check_bytes (args, error))
    {
      g_prefix_error (error, _("The task’s argument is not bytes: "));
      return NULL;
    }

  result = function->func (g_variant_get_data (args), g_variant_get_size (args), cancellable,
                           function->user_data, error);
  if (result == NULL)
    return NULL;

  /* The variant takes a reference of its own. */
  bytes = g_byte_array_free_to_bytes (result);
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

/**
 * p_worker_add_data_function:
 * @self: a #PWorker
 * @name: the name the pool calls the function by: a non-empty UTF-8 string
 * @func: (scope notified) (closure user_data) (destroy destroy): the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the worker is finalized
 *
 * Serves @func under @name, as p_worker_add_bytes_function() does, with
 * the bytes as a plain array each way: a binding then hands them to its
 * function as a value of its own (`bytes` in Python, a `Uint8Array` in
 * JavaScript) and takes its result back the same way, with no #GBytes
 * object made on its side.
 *
 * Since: 0.1
 */
void
p_worker_add_data_function (PWorker        *self,
                            const char     *name,
                            PDataFunc       func,
                            gpointer        user_data,
                            GDestroyNotify  destroy)
{
  DataFunction *function;

  g_return_if_fail (P_IS_WORKER (self));
  g_return_if_fail (name != NULL && name[0] != '\0');
  g_return_if_fail (func != NULL);

  function = g_new0 (DataFunction, 1);
  function->func = func;
  function->user_data = user_data;
  function->destroy = destroy;

  p_worker_add_function (self, name, call_data_function, function, data_function_free);
}
