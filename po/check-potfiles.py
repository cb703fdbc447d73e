#!/usr/bin/python3
# check-potfiles.py: fails when po/POTFILES.in and the sources disagree.
#
#   check-potfiles.py SOURCE_ROOT
#
# Every file under the directories below that marks a string for
# translation must be listed in POTFILES.in, or its messages would never
# reach a translator; every file listed must exist and mark one, or
# xgettext would stop (a missing file) or the list would hide a mistake.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
import sys
from pathlib import Path

SCANNED = ["processing-glib", "examples"]
SUFFIXES = {".c", ".h", ".py", ".js", ".ui"}
# gettext's keywords as GLib's preset passes them to xgettext.
MARKER = re.compile(r"(?<![\w.])(?:_|N_|C_|NC_|Q_|g_dgettext|g_dngettext|g_dpgettext2|ngettext)\s*\(\s*[\"']")


UI_MARKER = re.compile(r'translatable="yes"')


def marks_strings(path):
    marker = UI_MARKER if path.suffix == ".ui" else MARKER
    return marker.search(path.read_text(encoding="utf-8")) is not None


def main():
    root = Path(sys.argv[1])
    listed = []
    for line in (root / "po" / "POTFILES.in").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            listed.append(line)

    problems = []
    for name in listed:
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: listed in po/POTFILES.in but missing")
        elif not marks_strings(path):
            problems.append(f"{name}: listed in po/POTFILES.in but marks no string")
    for directory in SCANNED:
        for path in sorted((root / directory).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            name = path.relative_to(root).as_posix()
            if name not in listed and marks_strings(path):
                problems.append(f"{name}: marks strings for translation but is missing from po/POTFILES.in")

    for problem in problems:
        print(problem)
    print(f"{len(listed)} files listed, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
