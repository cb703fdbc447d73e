/* p-pool-sandbox-private.c: the pool's side of its workers' sandbox
 *
 * Workers confine themselves (p-sandbox-enforce-private.c) and say how in
 * their FEATURES. The pool judges each report against what is required,
 * before the worker gets any task: one that falls short is killed and
 * counts as a worker that failed to start. A worker that says nothing
 * (an older one) falls short. The pool's construction waits for its first
 * worker's verdict, so that a kernel that lacks a mechanism makes the pool
 * fail to start, naming it. What is in force is what every accepted
 * worker applied.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <sys/wait.h>

#include "p-pool-sandbox-private.h"
#include "p-error.h"
#include "p-i18n-private.h"
#include "p-protocol-private.h"
#include "p-sandbox-private.h"

struct _PCoreSandbox
{
  /* Read-only. */
  PSandboxMechanisms required;  /* those that have something to do */
  guint64 memory_limit;

  /* Under the core's mutex. */
  gboolean accepted;            /* a worker was */
  GError *first_failure;        /* before that: why the first did not start */
  PSandboxMechanisms in_force;  /* in every accepted worker */
  GVariant *report;             /* the accepted worker with the least in force */
};

PCoreSandbox *
p_core_sandbox_new (PSandbox *sandbox)
{
  PCoreSandbox *self = g_new0 (PCoreSandbox, 1);

  self->required = p_sandbox_get_required_mechanisms (sandbox) &
                   p_sandbox_mechanisms_applicable (p_sandbox_get_network (sandbox));
  self->memory_limit = p_sandbox_get_memory_limit (sandbox);

  return self;
}

void
p_core_sandbox_free (PCoreSandbox *self)
{
  if (self == NULL)
    return;

  g_clear_error (&self->first_failure);
  g_clear_pointer (&self->report, g_variant_unref);
  g_free (self);
}

/* {{{ Judging a worker's report */

/* The report as the pool keeps it: only what it understood of the
 * worker's (which it does not trust). */
static GVariant *
parse_report (GVariant            *features,
              PSandboxMechanisms  *applied,
              GHashTable          *reasons)
{
  g_auto(GVariantDict) clean = G_VARIANT_DICT_INIT (NULL);
  g_auto(GVariantBuilder) applied_nicks = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_STRING_ARRAY);
  g_auto(GVariantBuilder) refused = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GVariant) applied_value = NULL;
  g_autoptr(GVariant) refused_value = NULL;
  const char * const numbers[] = {
    P_SANDBOX_REPORT_MEMORY_LIMIT, "t",
    P_SANDBOX_REPORT_MEMORY_BASE, "t",
    P_SANDBOX_REPORT_LANDLOCK_ABI, "u",
  };
  GVariantIter iter;
  const char *nick;
  const char *reason;

  *applied = P_SANDBOX_MECHANISM_NONE;

  report = g_variant_lookup_value (features, P_FEATURE_SANDBOX, G_VARIANT_TYPE_VARDICT);
  if (report == NULL)
    return NULL;

  applied_value = g_variant_lookup_value (report, P_SANDBOX_REPORT_APPLIED, G_VARIANT_TYPE_STRING_ARRAY);
  if (applied_value != NULL)
    {
      g_variant_iter_init (&iter, applied_value);
      while (g_variant_iter_next (&iter, "&s", &nick))
        {
          PSandboxMechanisms mechanism = p_sandbox_mechanism_from_nick (nick);

          if (mechanism != 0 && !(*applied & mechanism))
            {
              *applied |= mechanism;
              g_variant_builder_add (&applied_nicks, "s", nick);
            }
        }
    }

  refused_value = g_variant_lookup_value (report, P_SANDBOX_REPORT_REFUSED, G_VARIANT_TYPE ("a{ss}"));
  if (refused_value != NULL)
    {
      g_variant_iter_init (&iter, refused_value);
      while (g_variant_iter_next (&iter, "{&s&s}", &nick, &reason))
        {
          PSandboxMechanisms mechanism = p_sandbox_mechanism_from_nick (nick);

          if (mechanism != 0 && !(*applied & mechanism) &&
              !g_hash_table_contains (reasons, GUINT_TO_POINTER (mechanism)))
            {
              g_hash_table_insert (reasons, GUINT_TO_POINTER (mechanism), g_strdup (reason));
              g_variant_builder_add (&refused, "{ss}", nick, reason);
            }
        }
    }

  g_variant_dict_insert_value (&clean, P_SANDBOX_REPORT_APPLIED, g_variant_builder_end (&applied_nicks));
  g_variant_dict_insert_value (&clean, P_SANDBOX_REPORT_REFUSED, g_variant_builder_end (&refused));
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i += 2)
    {
      g_autoptr(GVariant) number = g_variant_lookup_value (report, numbers[i], G_VARIANT_TYPE (numbers[i + 1]));

      if (number != NULL)
        g_variant_dict_insert_value (&clean, numbers[i], number);
    }

  return g_variant_ref_sink (g_variant_dict_end (&clean));
}

/* "seccomp (why), landlock-filesystem (why)" */
static char *
describe_missing (PSandboxMechanisms  missing,
                  GHashTable         *reasons)
{
  g_autoptr(GString) string = g_string_new (NULL);

  for (guint bit = 1; bit <= P_SANDBOX_ALL_MECHANISMS; bit <<= 1)
    {
      const char *reason;

      if (!(missing & bit))
        continue;

      if (string->len > 0)
        g_string_append (string, "; ");
      g_string_append (string, p_sandbox_mechanism_get_nick (bit));

      reason = g_hash_table_lookup (reasons, GUINT_TO_POINTER (bit));
      /* Translators: in place of why a sandbox mechanism is not in force,
       * after its name: “seccomp (not reported)”. */
      g_string_append_printf (string, " (%s)", reason != NULL ? reason : _("not reported"));
    }

  return g_string_free (g_steal_pointer (&string), FALSE);
}

static void
record_first_failure (PCore        *core,
                      const GError *error)
{
  PCoreSandbox *self = core->sandbox;

  g_mutex_lock (&core->mutex);
  if (!self->accepted && self->first_failure == NULL)
    {
      self->first_failure = g_error_copy (error);
      g_cond_broadcast (&core->cond);
    }
  g_mutex_unlock (&core->mutex);
}

gboolean
p_core_sandbox_accept (PCore    *core,
                       PProcess *process,
                       GVariant *features)
{
  PCoreSandbox *self = core->sandbox;
  g_autoptr(GHashTable) reasons = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GError) error = NULL;
  PSandboxMechanisms applied = P_SANDBOX_MECHANISM_NONE;
  PSandboxMechanisms missing;

  if (self == NULL)
    return TRUE;

  if (features == NULL)
    error = g_error_new (P_POOL_ERROR, P_POOL_ERROR_SANDBOX,
                         _("Worker process %d speaks protocol version %u, which cannot report a sandbox"),
                         (int) process->pid, process->version);
  else if ((report = parse_report (features, &applied, reasons)) == NULL)
    error = g_error_new (P_POOL_ERROR, P_POOL_ERROR_SANDBOX,
                         _("Worker process %d did not confine itself: it reported no sandbox (is its processing-glib older than the pool’s?)"),
                         (int) process->pid);
  else if ((missing = self->required & ~applied) != 0)
    {
      g_autofree char *description = describe_missing (missing, reasons);

      error = g_error_new (P_POOL_ERROR, P_POOL_ERROR_SANDBOX,
                           /* Translators: %s lists the mechanisms that are
                            * missing, each with why in parentheses:
                            * “seccomp (…); landlock-filesystem (…)”. Their
                            * names are not translated. */
                           _("The sandbox is not in force in worker process %d, which lacks %s"),
                           (int) process->pid, description);
    }

  if (error != NULL)
    {
      record_first_failure (core, error);
      p_process_kill (process, g_steal_pointer (&error));
      return FALSE;
    }

  g_mutex_lock (&core->mutex);
  if (!self->accepted || (applied & self->in_force) != self->in_force)
    g_clear_pointer (&self->report, g_variant_unref);
  if (self->report == NULL)
    self->report = g_variant_ref (report);
  self->in_force = self->accepted ? self->in_force & applied : applied;
  if (!self->accepted)
    {
      self->accepted = TRUE;
      g_cond_broadcast (&core->cond);
    }
  g_mutex_unlock (&core->mutex);

  return TRUE;
}

gboolean
p_core_sandbox_awaits_verdict (PCore *core)
{
  PCoreSandbox *self = core->sandbox;

  /* Both are written on this thread only. */
  return self != NULL && !self->accepted && self->first_failure == NULL;
}

void
p_core_sandbox_start_failed (PCore        *core,
                             const GError *cause)
{
  if (core->sandbox != NULL)
    record_first_failure (core, cause);
}

char *
p_core_sandbox_describe_death (PCore    *core,
                               PProcess *process)
{
  g_autofree char *limit = NULL;

  /* An allocation the limit refused ends in abort() or a fault. */
  if (core->sandbox == NULL || core->sandbox->memory_limit == 0 || !WIFSIGNALED (process->wait_status))
    return NULL;

  limit = g_format_size_full (core->sandbox->memory_limit, G_FORMAT_SIZE_IEC_UNITS);
  /* Translators: added to why a worker died, after “; ”: “Worker process
   * %d was killed by signal %d (%s); its sandbox limits …”. “it” is the
   * worker; %s is a size such as “64.0 MiB”, %llu the same in bytes. */
  return g_strdup_printf (_("its sandbox limits the memory it may take to %s (%llu bytes)"),
                          limit, (unsigned long long) core->sandbox->memory_limit);
}

/* }}} */
/* {{{ From other threads */

gboolean
p_core_sandbox_wait (PCore   *core,
                     GError **error)
{
  PCoreSandbox *self = core->sandbox;
  GError *failure = NULL;

  g_assert (self != NULL);

  g_mutex_lock (&core->mutex);
  while (!self->accepted && self->first_failure == NULL && !core->finished)
    g_cond_wait (&core->cond, &core->mutex);
  if (!self->accepted)
    failure = self->first_failure != NULL
      ? g_error_copy (self->first_failure)
      : g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_WORKER_START, _("The pool ended before a worker started"));
  g_mutex_unlock (&core->mutex);

  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }

  return TRUE;
}

PSandboxMechanisms
p_core_sandbox_get_mechanisms (PCore *core)
{
  PSandboxMechanisms in_force;

  if (core->sandbox == NULL)
    return P_SANDBOX_MECHANISM_NONE;

  g_mutex_lock (&core->mutex);
  in_force = core->sandbox->in_force;
  g_mutex_unlock (&core->mutex);

  return in_force;
}

GVariant *
p_core_sandbox_dup_report (PCore *core)
{
  GVariant *report = NULL;

  if (core->sandbox == NULL)
    return NULL;

  g_mutex_lock (&core->mutex);
  if (core->sandbox->report != NULL)
    report = g_variant_ref (core->sandbox->report);
  g_mutex_unlock (&core->mutex);

  return report;
}

/* }}} */
