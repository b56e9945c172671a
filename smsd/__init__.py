"""The SMS process (`pbxcrm sms`, issue 21): holds every active gateway's connection, sends what is
queued in sms_messages, and hands receipts and incoming messages to crm.sms.inbox. It shares nothing
with the web and the Stasis app but PostgreSQL (NOTIFY crm.sms.QUEUE_CHANNEL wakes it).

worker.py    the sender: claims, submits, records; retry.py, when a retry comes (pure)
adapters.py  gateway kind -> adapter class
smpp.py      the SMPP 3.4 adapter; smpp_pdu.py, its PDUs and texts (pure)
"""
