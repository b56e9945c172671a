"""The language the call path speaks to a caller: the line's, else the call centre's, else English.

A line's language is the one Asterisk gave the caller's channel: the trunk endpoint's
`language =` (asterisk-conf/pjsip.conf) for every number of a trunk, or
Set(CHANNEL(language)=...) in the dialplan for one number called. A channel that
nobody gave one has Asterisk's default language, "en" (asterisk.conf's
`defaultlanguage`), which therefore reads as "not set": the call centre's language
(app_settings 'locale.language') applies. The dialplan's default queue follows the
same rule with the centre's language mirrored into AstDB, DB(pbxcrm/language)
(dialplan/pbxcrm.conf, ari_app/dialplan_store.py), so a caller handed to it hears the same language.
"""

from __future__ import annotations

from crm.i18n import FALLBACK_LANGUAGE

ASTERISK_DEFAULT_LANGUAGE = "en"
# The AstDB key (family pbxcrm) the app keeps the centre's language in (empty: none set).
LANGUAGE_KEY = "language"


def caller_language(channel_language: str | None, centre_language: str | None) -> str:
    """The language of the prompts a caller on this channel hears, as Asterisk names its sound folders."""
    if channel_language and channel_language != ASTERISK_DEFAULT_LANGUAGE:
        return channel_language
    return centre_language or FALLBACK_LANGUAGE
