"""Fill Russian translations into the catalogue from a JSON file (a translator's tool, issue 14).

    .venv/bin/python scripts/po_fill.py new.json     # {"English": "Русский", "%(num)d call": ["…", "…", "…"]}

Keys are msgids (the singular for plurals, whose value is the three Russian forms); a key
"context\\x04msgid" fills a pgettext entry. Entries already translated are overwritten;
keys not in the catalogue are reported (run `make messages` first). Prints what is still empty.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "crm" / "locale" / "ru" / "LC_MESSAGES" / "messages.po"


def main(path: str) -> int:
    wanted = json.loads(Path(path).read_text(encoding="utf-8"))
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    by_key = {}
    for message in catalogue:
        if not message.id:
            continue
        singular = message.id if isinstance(message.id, str) else message.id[0]
        by_key[f"{message.context}\x04{singular}" if message.context else singular] = message
    unknown = [key for key in wanted if key not in by_key]
    for key, text in wanted.items():
        message = by_key.get(key)
        if message is None:
            continue
        message.string = tuple(text) if isinstance(message.id, tuple) else text
        message.flags.discard("fuzzy")
    with PO.open("wb") as f:
        write_po(f, catalogue, width=0, no_location=True, sort_output=True)
    empty = [k for k, m in by_key.items()
             if not all(m.string if isinstance(m.string, tuple) else (m.string,))]
    for key in unknown:
        print(f"not in the catalogue: {key!r}", file=sys.stderr)
    print(f"{len(wanted) - len(unknown)} filled, {len(empty)} still empty")
    for key in empty[:50]:
        print(f"  {key!r}")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
