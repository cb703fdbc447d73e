#!/usr/bin/python3
# check-translations.py: fails when a catalog lacks a message of the sources.
#
#   check-translations.py SOURCE_ROOT
#
# Extracts the messages of the files in po/POTFILES.in as the build does
# (xgettext with the keywords of meson's "glib" preset), into a temporary
# directory, and checks every language of po/LINGUAS: each message must
# have a translation in po/LANG.po that is neither empty nor fuzzy, and
# the catalog must pass msgfmt --check. What is missing is listed, message
# by message, with where it comes from. Exits 77 (skipped) without
# xgettext or msgfmt.
#
# It also fails when xgettext warns, and when a marked string is followed
# by a macro inside the same _() (G_GSIZE_FORMAT, say): xgettext cannot
# expand macros, so the message would stop at the macro.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "processing-glib-1.0"
SKIP = 77

# meson's i18n.gettext(preset: 'glib') (mesonbuild/modules/i18n.py).
XGETTEXT_ARGS = [
    "--from-code=UTF-8",
    "--add-comments",
    "--keyword=_",
    "--keyword=N_",
    "--keyword=C_:1c,2",
    "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2",
    "--keyword=g_dngettext:2,3",
    "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format",
    "--flag=C_:2:pass-c-format",
    "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format",
    "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format",
    "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format",
    "--flag=g_set_error:4:c-format",
    "--flag=g_markup_printf_escaped:1:c-format",
    "--flag=g_log:3:c-format",
    "--flag=g_print:1:c-format",
    "--flag=g_printerr:1:c-format",
    "--flag=g_printf:1:c-format",
    "--flag=g_fprintf:2:c-format",
    "--flag=g_sprintf:2:c-format",
    "--flag=g_snprintf:3:c-format",
]


# _("text" MACRO …) or N_(…): a literal, then a name, inside the call.
MACRO_IN_MESSAGE = re.compile(r'(?<![\w.])N?_\s*\(\s*(?:"(?:[^"\\\n]|\\.)*"\s*)+[A-Za-z_]')


class Entry:
    def __init__(self):
        self.context = None
        self.msgid = None
        self.plural = None
        self.msgstr = []
        self.fuzzy = False
        self.obsolete = False
        self.references = []

    @property
    def key(self):
        return (self.context, self.msgid)

    @property
    def translated(self):
        return bool(self.msgstr) and all(self.msgstr)


def unquote(text):
    """The value of one PO string literal, "…" with C escapes."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"not a string: {text}")
    out = []
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
    i = 1
    while i < len(text) - 1:
        c = text[i]
        if c == "\\":
            i += 1
            out.append(escapes.get(text[i], "\\" + text[i]))
        else:
            out.append(c)
        i += 1
    return "".join(out)


def parse_po(path):
    """The entries of a PO file, header excluded."""
    entries = []
    entry = Entry()
    field = None

    def finish():
        nonlocal entry, field
        if entry.msgid != "" or entry.context is not None:
            entries.append(entry)
        entry = Entry()
        field = None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):
                continue
        if not line:
            if entry.msgid is not None:
                finish()
            continue
        if line.startswith("#"):
            if entry.msgid is not None:
                finish()
            if line.startswith("#,") and "fuzzy" in [flag.strip() for flag in line[2:].split(",")]:
                entry.fuzzy = True
            elif line.startswith("#:"):
                entry.references += line[2:].split()
            continue
        if obsolete:
            entry.obsolete = True
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = unquote(line)
            if field == "msgctxt":
                entry.context += value
            elif field == "msgid":
                entry.msgid += value
            elif field == "msgid_plural":
                entry.plural += value
            elif field is not None:
                entry.msgstr[field] += value
        elif keyword == "msgctxt":
            if entry.msgid is not None:
                finish()
            entry.context, field = unquote(rest), "msgctxt"
        elif keyword == "msgid":
            if entry.msgid is not None:
                finish()
            entry.msgid, field = unquote(rest), "msgid"
        elif keyword == "msgid_plural":
            entry.plural, field = unquote(rest), "msgid_plural"
        elif keyword.startswith("msgstr"):
            entry.msgstr.append(unquote(rest))
            field = len(entry.msgstr) - 1
        else:
            raise ValueError(f"{path}: cannot read: {raw}")
    if entry.msgid is not None:
        finish()
    return entries


def describe(entry):
    text = entry.msgid.replace("\n", "\\n")
    if entry.context is not None:
        text = f"{entry.context}|{text}"
    where = f"  ({', '.join(entry.references)})" if entry.references else ""
    return f'    "{text}"{where}'


def read_list(path):
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names += line.split()
    return names


def main():
    root = Path(sys.argv[1])
    po_dir = root / "po"

    xgettext = shutil.which("xgettext")
    msgfmt = shutil.which("msgfmt")
    if xgettext is None or msgfmt is None:
        print("SKIP: xgettext and msgfmt (gettext) are needed")
        return SKIP

    languages = read_list(po_dir / "LINGUAS")
    problems = []

    for name in read_list(po_dir / "POTFILES.in"):
        text = (root / name).read_text(encoding="utf-8")
        for match in MACRO_IN_MESSAGE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{name}:{line}: a macro inside a translated message; xgettext stops at it "
                            "(write %zu, %llu with a cast, … instead of G_*_FORMAT)")

    with tempfile.TemporaryDirectory() as directory:
        pot = Path(directory) / f"{PACKAGE}.pot"
        extract = subprocess.run([xgettext, f"--package-name={PACKAGE}", "-f", str(po_dir / "POTFILES.in"),
                                  "-D", str(root), "-o", str(pot)] + XGETTEXT_ARGS,
                                 capture_output=True, text=True)
        if extract.returncode != 0 or not pot.is_file():
            print(extract.stderr.rstrip())
            print("xgettext failed")
            return 1
        if extract.stderr.strip():
            problems.append(f"xgettext warns:\n{extract.stderr.rstrip()}")
        messages = [entry for entry in parse_po(pot) if not entry.obsolete]

    print(f"{len(messages)} messages in the sources; languages: {' '.join(languages) or 'none'}")

    for po in sorted(po_dir.glob("*.po")):
        if po.stem not in languages:
            problems.append(f"po/{po.name} exists but po/LINGUAS does not list {po.stem}: it is neither built nor installed")

    for language in languages:
        po = po_dir / f"{language}.po"
        if not po.is_file():
            problems.append(f"po/LINGUAS lists {language} but po/{language}.po is missing")
            continue

        check = subprocess.run([msgfmt, "--check", "-o", os.devnull, str(po)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            problems.append(f"po/{language}.po: msgfmt --check fails:\n{check.stderr.rstrip()}")

        translations = {entry.key: entry for entry in parse_po(po) if not entry.obsolete}
        missing, fuzzy, untranslated = [], [], []
        for message in messages:
            entry = translations.get(message.key)
            if entry is None:
                missing.append(message)
            elif entry.fuzzy:
                fuzzy.append(message)
            elif not entry.translated:
                untranslated.append(message)

        sources = {message.key for message in messages}
        stale = [entry for key, entry in translations.items() if key not in sources]

        done = len(messages) - len(missing) - len(fuzzy) - len(untranslated)
        print(f"po/{language}.po: {done} of {len(messages)} translated, {len(missing)} missing, "
              f"{len(fuzzy)} fuzzy, {len(untranslated)} untranslated, {len(stale)} no longer in the sources")
        for label, entries in (("missing", missing), ("fuzzy", fuzzy), ("untranslated", untranslated)):
            if entries:
                problems.append(f"po/{language}.po: {len(entries)} {label}:\n" + "\n".join(describe(e) for e in entries))
        # Not a failure: msgmerge (the update-po target) marks them obsolete.
        if stale:
            print("  no longer in the sources (not a failure: update-po marks them obsolete):")
            print("\n".join(describe(entry) for entry in stale))

    for problem in problems:
        print(problem)
    if problems:
        print(f"Merge the new messages in with `ninja -C BUILDDIR {PACKAGE}-update-po`, then translate "
              "each one listed (and remove its fuzzy flag).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
