"""Every limit on what the web UI and API accept, in one place (issue 12).

Lengths are in characters, after surrounding spaces are trimmed. The domain
(crm/) keeps its own rules on top of these (a remark is one line, a tag name
1 to 60 characters...); these are the outer bounds checked at the edge.
"""

from __future__ import annotations

import datetime as dt

from crm.greetings.audio import MAX_BYTES as GREETING_MAX_BYTES
from crm.imports.reader import MAX_FILE_BYTES

# Numbers. Every id column is a PostgreSQL bigint.
ID_MAX = 2**63 - 1
# An id in a URL path has at most this many digits (below ID_MAX); longer ones match no route: 404.
PATH_ID_DIGITS = 18
# Page numbers: far past any real list (1,000,000 rows at 1 a page), far below int64 offsets.
PAGE_MAX = 10_000_000
SECONDS_MAX = 86_400

# Dates typed into filters and reports: a wide window, far from date arithmetic's ends.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)

# Text.
NAME = 200             # last/first name, patronymic, company name, a user's full name
REMARK = 300           # one line shown in lists
COMMENT = 10_000       # a counterparty's comment, task remarks
CALL_COMMENT = 2_000   # the operator's words on a call (the screen pop's box)
NOTE = 10_000
CALL_SCRIPT = 4_000    # what a queue's or tag's call script may hold (crm/call_scripts.py)
ADDRESS = 1_000
CONTACT_VALUE = 300    # a phone, e-mail, site... (crm.counterparties.contacts says the same)
CONTACT_NOTE = 200
TITLE = 200            # a task's title
TAG_NAME = 60
DESCRIPTION = 1_000    # a tag's description
SHORT = 60             # names of queues, task types, music classes; enum-like fields
SECTION_NAME = 40
FILTER_NAME = 80
FILTER_QUERY = 2_000   # a saved filter is a list's query string
SEARCH = 200           # a search term
LOGIN = 64
PASSWORD = 1_024
EMAIL = 254
EXTENSION = 16
PHONE = 64             # a number to call
CHANNEL = 128          # an Asterisk channel id in a path
LIST_ITEMS = 100       # ids in one filter, contacts or addresses on one card, members of a queue
QUERY_VALUE = 2_000    # any other query-string value

# Request bodies. Forms and JSON: far more than any form of ours (a 10,000-character
# comment in Cyrillic is 60 KB urlencoded), and within web/csrf.py's own 1 MB.
MAX_BODY_BYTES = 1024 * 1024
# The Excel import upload: the file plus its multipart envelope.
UPLOAD_BODY_BYTES = {"/import": MAX_FILE_BYTES + 64 * 1024}
# A greeting's upload (issue 15): an mp3 or wav file.
UPLOAD_BODY_BYTES["/admin/greetings"] = GREETING_MAX_BYTES + 64 * 1024
