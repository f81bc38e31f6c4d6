#!/usr/bin/env bash
# The translation catalogues (src/safeground/locale/LANG/LC_MESSAGES/messages.po and .mo):
# extract every marked string of the code and templates (babel.cfg), add the new ones to each
# catalogue (and drop those no longer used), then compile the .mo files the app reads.
# Translators then fill in the empty msgstr of the .po files and run this again.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
"$BIN/pybabel" -q extract -F babel.cfg -o "$pot" --no-location --sort-output \
  --project Safeground --copyright-holder "Safeground contributors" .
"$BIN/pybabel" -q update -i "$pot" -d src/safeground/locale --no-fuzzy-matching \
  --ignore-obsolete --width 100
"$BIN/pybabel" -q compile -d src/safeground/locale --statistics
