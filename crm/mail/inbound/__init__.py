"""Incoming e-mail (issue 23, FEATURES I4): what the `pbxcrm mail` poller (maild/) does with a message it
read, without IMAP.

parse.py    raw bytes -> headers, bodies, attachments, problems (stdlib email, robust to bad MIME; pure)
rules.py    which addresses file it on which cards, its thread, the cursor, retries (pure)
queries.py  the SQL: mailboxes, cursors, contacts by address, storing a message
filing.py   one message filed and its folder's cursor moved in one transaction; NOTIFY FILED_CHANNEL
admin.py    the admin page's mailboxes: validation, changes audited, NOTIFY MAILBOXES_CHANNEL
"""
