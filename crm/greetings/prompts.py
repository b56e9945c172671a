"""A prompt a caller hears: an uploaded greeting or a built-in Asterisk prompt. Pure.

Built-in prompts are Asterisk's core sounds, in English and in Russian (Debian's
asterisk-core-sounds-en and -ru: the call's language picks the folder). An uploaded
greeting is one file, `<file>.wav`, in the greetings directory as Asterisk sees it
(PBXCRM_GREETINGS_ASTERISK_DIR), played by its full path whatever the call's language.

A form names a prompt as one choice: "greeting:<id>" or "sound:<name>" ("" for none).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.i18n import N_, gettext

# Core sounds both languages have, with what they say (the Russian recordings say the same).
BUILTIN_PROMPTS = {
    "hello": N_("Hello."),
    "one-moment-please": N_("One moment, please."),
    "pls-hold-while-try": N_("Please hold while we try to connect you."),
    "queue-thankyou": N_("Thank you for your patience."),
    "all-circuits-busy-now": N_("All circuits are busy now."),
    "vm-nobodyavail": N_("Nobody is available to take your call at the moment."),
    "goodbye": N_("Goodbye!"),
    "basic-pbx-ivr-main": N_("Asterisk's sample main menu: sales 1, support 2, accounts 3, directory 4, "
                             "operator 0."),
}
# What a menu says after a key it does not know, before it plays again; what "hang up" says.
INVALID_KEY_SOUND = "pm-invalid-option"
GOODBYE_SOUND = "goodbye"


@dataclass(frozen=True)
class Prompt:
    """An uploaded greeting (its id, name and file) or a built-in prompt (`sound`)."""

    greeting_id: int | None = None
    name: str = ""
    file: str | None = None
    sound: str | None = None

    @property
    def choice(self) -> str:
        return f"greeting:{self.greeting_id}" if self.greeting_id is not None else f"sound:{self.sound}"

    @property
    def route_name(self) -> str:
        """How a call's route names it: the greeting's name, or the built-in prompt's sound name."""
        return self.name if self.greeting_id is not None else self.sound or ""

    def label(self) -> str:
        """How pages name it: the greeting's name, or the built-in prompt's words."""
        if self.greeting_id is not None:
            return self.name
        return builtin_label(self.sound or "")

    def media(self, greetings_dir: str) -> str:
        """The ARI media URI: sound:<full path without .wav>, or sound:<core sound>."""
        if self.file is not None:
            return f"sound:{greetings_dir.rstrip('/')}/{self.file}"
        return f"sound:{self.sound}"


def builtin_label(sound: str) -> str:
    text = BUILTIN_PROMPTS.get(sound)
    return gettext(text) if text is not None else sound


def prompt_of(greeting_id: int | None, greeting_name: str | None, greeting_file: str | None,
              sound: str | None) -> Prompt | None:
    """The prompt stored as two columns (one of them set), or None."""
    if greeting_id is not None:
        return Prompt(greeting_id=greeting_id, name=greeting_name or "", file=greeting_file)
    if sound is not None:
        return Prompt(sound=sound)
    return None


@dataclass(frozen=True)
class PromptChoice:
    """A form's choice, parsed: (greeting id, built-in sound), at most one of them set."""

    greeting_id: int | None = None
    sound: str | None = None

    @property
    def empty(self) -> bool:
        return self.greeting_id is None and self.sound is None


def parse_choice(text: str) -> PromptChoice | None:
    """"greeting:5" / "sound:hello" / "" -> the choice; None when it is neither."""
    kind, _, value = text.strip().partition(":")
    if not text.strip():
        return PromptChoice()
    if kind == "greeting" and value.isdigit() and len(value) <= 18:
        return PromptChoice(greeting_id=int(value))
    if kind == "sound" and value in BUILTIN_PROMPTS:
        return PromptChoice(sound=value)
    return None
