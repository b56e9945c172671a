"""SMS (issue 21): messages in and out through the admin's gateways, as a chat on the card.

model.py     statuses and their transitions, GSM-7 / UCS-2 and how many parts a text takes (pure)
gateway.py   the one interface every gateway adapter (SMPP, SIP MESSAGE, HTTP) implements
queries.py   the SQL: queue, claim, record a submit, a receipt, an incoming message
"""

CHANNEL = "pbxcrm_sms"  # NOTIFY payload: a message id whose status changed or that arrived
QUEUE_CHANNEL = "pbxcrm_sms_queue"  # NOTIFY payload: a message id queued for the sender
