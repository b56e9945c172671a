"""Transfers (issue 15, FEATURES.md L1): a call moved from the operator talking to another
user, a queue or a number, from a desk phone (SIP REFER, blind or attended) or from the web.

The web asks through PostgreSQL (transfer_requests, NOTIFY CHANNEL); the Stasis app
(ari_app/transfers/) puts the transfer through. What is decided here is pure
(decide.py); the SQL of both sides is queries.py."""

CHANNEL = "pbxcrm_transfers"
