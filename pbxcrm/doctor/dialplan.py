"""What our dialplan files (dialplan/*.conf) define and use, read from the files. Pure.

`pbxcrm doctor` asks Asterisk whether each context defined here is loaded, checks that
every Stasis() names the app pbxcrm runs as, and that the module behind every dialplan
application and function is loaded: all of it from the files as they are, so a context
or an application added to them is checked without touching the doctor.

The syntax read is the subset extensions.conf files use: `[context]` (a template `(!)`
is not a context), `exten => pattern,priority,App(args)`, `same => priority,App(args)`,
`include => context`, `;` comments. Functions are the `${NAME(` read and `Set(NAME(...)=`
written; an application inside ExecIf(cond?App(args)) counts as used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_CONTEXT = re.compile(r"^\[([^\]]+)\](\([^)]*\))?")
_LINE = re.compile(r"^(exten|same|include)\s*=>?\s*(.*)$", re.IGNORECASE)
_APP = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*\(")
_EXEC_IF_APP = re.compile(r"\?\s*([A-Za-z][A-Za-z0-9_]*)\s*\(")
_FUNCTION_READ = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\(")
_FUNCTION_WRITE = re.compile(r"\bSet\(\s*([A-Za-z][A-Za-z0-9_]*)\(", re.IGNORECASE)
_STASIS = re.compile(r"\bStasis\(\s*([^,)]*)", re.IGNORECASE)
_CLASS_RANGE = re.compile(r"(.)-(.)")


@dataclass
class Context:
    name: str
    extensions: list[str] = field(default_factory=list)  # as written: s, 100, _[0-9+].
    includes: list[str] = field(default_factory=list)


@dataclass
class Dialplan:
    """What dialplan files define (contexts in order) and use (applications, functions, Stasis app names)."""

    contexts: dict[str, Context] = field(default_factory=dict)
    applications: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    stasis_apps: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)

    def probe(self, context: str) -> str | None:
        """An extension that exists in this context (or a context it includes), to ask Asterisk about."""
        seen: set[str] = set()
        todo = [context]
        while todo:
            name = todo.pop(0)
            found = self.contexts.get(name)
            if name in seen or found is None:
                continue
            seen.add(name)
            if found.extensions:
                return sample_extension(found.extensions[0])
            todo += found.includes
        return None


def parse(text: str, into: Dialplan | None = None) -> Dialplan:
    plan = into if into is not None else Dialplan()
    current: Context | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        header = _CONTEXT.match(line)
        if header:
            template = (header.group(2) or "").startswith("(!")
            current = None if template or header.group(1) in ("general", "globals") else \
                plan.contexts.setdefault(header.group(1), Context(header.group(1)))
            continue
        m = _LINE.match(line)
        if m is None or current is None:
            continue
        kind, rest = m.group(1).lower(), m.group(2).strip()
        if kind == "include":
            current.includes.append(rest)
            continue
        if kind == "exten":
            pattern, _, rest = rest.partition(",")
            if pattern.strip() and pattern.strip() not in current.extensions:
                current.extensions.append(pattern.strip())
        _priority, _, call = rest.partition(",")
        _use(plan, call)
    return plan


def _use(plan: Dialplan, call: str) -> None:
    app = _APP.match(call)
    if app:
        plan.applications.add(app.group(1))
        if app.group(1).lower() == "execif":
            plan.applications.update(_EXEC_IF_APP.findall(call))
    plan.functions.update(name.upper() for name in _FUNCTION_READ.findall(call))
    plan.functions.update(name.upper() for name in _FUNCTION_WRITE.findall(call))
    plan.stasis_apps.update(name.strip() for name in _STASIS.findall(call))


def read(directory: Path) -> Dialplan:
    """Every dialplan/*.conf, in name order."""
    plan = Dialplan()
    for path in sorted(directory.glob("*.conf")):
        parse(path.read_text(encoding="utf-8"), plan)
        plan.files.append(str(path))
    return plan


def sample_extension(pattern: str) -> str:
    """An extension the pattern matches: `_[0-9+].` -> 00, `_NXX` -> 200, `s` -> s."""
    if not pattern.startswith("_"):
        return pattern
    out = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "[":
            end = body.find("]", i)
            chars = body[i + 1:end] if end > i else ""
            r = _CLASS_RANGE.match(chars)
            out.append(r.group(1) if r else chars[:1])
            i = end + 1 if end > i else len(body)
            continue
        out.append({"X": "0", "Z": "1", "N": "2", ".": "0", "!": "", "-": ""}.get(char.upper(), char))
        i += 1
    return "".join(out)
