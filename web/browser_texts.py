"""The words app.js shows (the screen pop and its Transfer, click-to-call, notifications), in the page's language.

The CSP allows no inline script, so they travel as data: base.html puts them on
<body data-i18n="{...}"> and app.js reads them there. Parameters are %(name)s, filled in app.js.
"""

from __future__ import annotations

import json

from crm.i18n import N_, gettext

TEXTS = {
    "calling": N_("Your phone rings; pick it up to call %(number)s"),
    "failed": N_("failed"),
    "incoming_call": N_("Incoming call %(number)s"),
    "on_the_call": N_("On the call %(number)s"),
    "close": N_("Close"),
    "last_interactions": N_("Last interactions"),
    "task": N_("task #%(id)s %(title)s (%(status)s)"),
    "unknown_number": N_("Unknown number"),
    "find_placeholder": N_("Find a counterparty to attach"),
    "find_label": N_("Find counterparty"),
    "find": N_("Find"),
    "attach": N_("Attach"),
    "attached": N_("Attached: %(result)s"),
    "create_client": N_("Create new client"),
    "comment_placeholder": N_("Comment on this call"),
    "comment_label": N_("Call comment"),
    "save_comment": N_("Save comment"),
    "saved": N_("saved"),
    "script": N_("Script"),
    # A pop's call that stopped ringing for this user, unanswered (issue 20).
    "pop_hung_up": N_("The caller hung up"),
    "pop_moved_on": N_("The call went elsewhere"),
    # Transfer on the pop (issue 15).
    "transfer": N_("Transfer"),
    "transfer_to": N_("Transfer to"),
    "transfer_users": N_("Users"),
    "transfer_queues": N_("Queues"),
    "transfer_number": N_("A number…"),
    "transfer_number_label": N_("Number to transfer to"),
    "transferring": N_("Transferring…"),
    "transferred_to": N_("Transferred to %(to)s"),
    "transfer_failed": N_("The transfer did not go through: the call is over, or nobody talks on it now"),
    # The browser phone (issue 19; web/static/phone/phone.js).
    "phone_connecting": N_("Connecting the phone…"),
    "phone_registered": N_("Phone ready: %(extension)s"),
    "phone_unregistered": N_("Phone not registered"),
    "phone_failed": N_("The phone could not register: %(reason)s"),
    "phone_microphone_denied": N_("Microphone denied: allow it for this site, then try again"),
    "phone_no_microphone": N_("No microphone found: connect one, then try again"),
    "phone_unsupported": N_("This browser cannot be a phone"),
    "phone_calling": N_("Calling %(number)s…"),
    "phone_on_hold": N_("On hold: %(number)s"),
    "phone_ended": N_("Call ended"),
    "phone_mute": N_("Mute"),
    "phone_unmute": N_("Unmute"),
    "phone_hold": N_("Hold"),
    "phone_resume": N_("Take off hold"),
}


def browser_texts() -> str:
    """TEXTS translated, as JSON for the attribute (the template escapes it)."""
    return json.dumps({key: gettext(text) for key, text in TEXTS.items()}, ensure_ascii=False)
