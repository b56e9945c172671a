"""E-mail on the card (issue 23, FEATURES I4): messages read from IMAP mailboxes and filed on the
cards of their addresses, threads, attachments, replies sent through SMTP. Pure rules and SQL here;
the IMAP poller is the `pbxcrm mail` process, the pages are web/views."""
