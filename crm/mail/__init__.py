"""E-mail on the card (issue 23, FEATURES I4): messages read from IMAP mailboxes and filed on the
cards of their addresses, threads, attachments, replies sent through SMTP. Pure rules and SQL here;
the IMAP poller is the `pbxcrm mail` process, the pages are web/views."""

# NOTIFY payload: the id of an incoming message just filed (or left unfiled) by the poller (pages refresh).
FILED_CHANNEL = "pbxcrm_mail_filed"
# NOTIFY payload: a mailbox id the admin added, changed or disabled (the poller reads the mailboxes again).
MAILBOXES_CHANNEL = "pbxcrm_mailboxes"
