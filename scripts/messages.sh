#!/usr/bin/env bash
# `make messages`: extract every marked text (babel.cfg) and merge it into the Russian
# catalogue, crm/locale/ru/LC_MESSAGES/messages.po; then translate what is new (empty msgstr).
# No locations and sorted output: the file changes only where a message does, which keeps
# merges of parallel branches clean. tests/test_i18n_catalogue.py fails on what is left.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
.venv/bin/pybabel -q extract -F babel.cfg --no-location --sort-output --no-wrap \
  --project=pbxcrm --copyright-holder=pbxcrm -o "$pot" crm web ari_app agi pbxcrm smsd
po=crm/locale/ru/LC_MESSAGES/messages.po
if [ ! -f "$po" ]; then
  .venv/bin/pybabel -q init -i "$pot" -d crm/locale -l ru --no-wrap
else
  .venv/bin/pybabel -q update -i "$pot" -d crm/locale -l ru --no-wrap --no-fuzzy-matching --ignore-obsolete
fi
# The dates in the header change on every run; they would make every merge conflict.
sed -i '/^"POT-Creation-Date: /d; /^"PO-Revision-Date: /d' "$po"
untranslated=$(.venv/bin/python -c 'import sys
from babel.messages.pofile import read_po
c = read_po(open(sys.argv[1], "rb"), locale="ru")
print(sum(1 for m in c if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))))' "$po")
echo "pbxcrm: $po: $untranslated message(s) without a Russian translation"
