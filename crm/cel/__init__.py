"""Call records from Asterisk's own Channel Event Logging (issue 16): every call through the
PBX is logged, also those the Stasis app never saw - calls while it was down (the dialplan's
default queue), FastAGI-mode calls, dialplan-only calls - and the app's rows left without an
end when it died mid-call.

events.py (a CEL row checked), facts.py (one call's events -> what happened) and rows.py (->
the call log's row) are pure; queries.py is the SQL; reconciler.py runs the batches."""
