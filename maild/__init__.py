"""The e-mail poller (`pbxcrm mail`, issue 23): reads every enabled mailbox (table mailboxes, the admin
page Mailboxes) over IMAP and files each message through crm.mail.inbound. It shares nothing with the
web but PostgreSQL (NOTIFY crm.mail.MAILBOXES_CHANNEL: the admin changed a mailbox).

imap.py     one IMAP connection (imapclient, blocking: run in a worker thread), read-only, BODY.PEEK
poller.py   one mailbox: read its folders from their cursors, IDLE, reconnect with backoff
service.py  every enabled mailbox's poller, started, restarted when its row changes, stopped

The IMAP library is imapclient: it parses FETCH answers (envelope, UIDs, flags) for us, speaks IDLE with a
timeout and STARTTLS (the mailboxes table allows 'starttls'), and is maintained. aioimaplib is asyncio but
has no STARTTLS and hands back raw response lines to parse by hand; imap_tools is a thin layer over
imaplib without IDLE timeouts we could wait on beside a NOTIFY. A blocking client in one worker thread
per mailbox costs nothing at a call centre's mail volume.
"""
