"""The e-mail poller (`pbxcrm mail`, issue 23): reads every enabled mailbox (table mailboxes, the admin
page Mailboxes) over IMAP and files each message through crm.mail.inbound. It shares nothing with the
web but PostgreSQL (NOTIFY crm.mail.MAILBOXES_CHANNEL: the admin changed a mailbox).

imap.py     one IMAP connection (imapclient, blocking: run in a worker thread), read-only, BODY.PEEK
poller.py   one mailbox: read its folders from their cursors, IDLE, reconnect with backoff
service.py  every enabled mailbox's poller, started, restarted when its row changes, stopped
"""
