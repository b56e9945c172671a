"""`pbxcrm doctor`: checks a live Asterisk and the CRM against each other and says what is wrong.

One line per check, in plain words with what to do: the database and its migrations, ARI
and its credentials, the Asterisk modules pbxcrm needs, our dialplan contexts, the Stasis
app name, the trunk and every active user's phone, CEL rows arriving, the recordings
folder, the two clocks. The exit code is 1 when a check failed (warnings do not count),
`--json` gives the same as JSON.

- gather.py asks Asterisk (ARI only; its docstring says how each fact is found), the
  database and this host, into facts.py's plain values;
- checks.py turns the facts into verdicts, one pure function per check;
- requirements.py is the one list of the modules pbxcrm needs; dialplan.py reads
  dialplan/*.conf (the contexts to look for, the applications and functions they use,
  the Stasis() app names);
- report.py prints.

The language is the terminal's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, as gettext reads
them) when the CRM has it, else the call centre's (the CRM's language setting), else English.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from crm.i18n import choose, supported, using
from crm.settings import Settings
from pbxcrm.doctor import checks, report
from pbxcrm.doctor.gather import gather

DIALPLAN_DIR = Path(__file__).resolve().parents[2] / "dialplan"


def terminal_language(env: Mapping[str, str]) -> str | None:
    """The first of LANGUAGE (a list), LC_ALL, LC_MESSAGES, LANG that the CRM has."""
    for candidate in (*env.get("LANGUAGE", "").split(":"), env.get("LC_ALL"), env.get("LC_MESSAGES"),
                      env.get("LANG")):
        if supported(candidate):
            return supported(candidate)
    return None


async def run(settings: Settings, *, dialplan_dir: Path = DIALPLAN_DIR, as_json: bool = False,
              out: TextIO | None = None, env: Mapping[str, str] | None = None) -> int:
    out = out or sys.stdout
    env = os.environ if env is None else env
    facts = await gather(settings, dialplan_dir)
    with using(choose(terminal_language(env), facts.crm.language)) as language:
        verdicts = checks.verdicts(facts)
        if as_json:
            out.write(report.as_json(verdicts, language))
        else:
            colour = out.isatty() and "NO_COLOR" not in env and env.get("TERM") != "dumb"
            out.write(report.text(verdicts, colour))
    return 1 if report.failed(verdicts) else 0
