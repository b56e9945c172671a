"""Transfers (issue 15): blind and attended transfers from desk phones (SIP REFER, which
Asterisk hands to the app as ChannelTransfer) and from the web (LISTEN/NOTIFY): handlers.py
takes the events, service.py finds the calls and decides, jobs.py puts a transfer through in
the call's conversation (conversation.py), where the caller stays in the call's bridge."""
