"""Lines and DIDs (issue 15, FEATURES.md L2, L3): each number dialled on a trunk routes on its
own (the CRM's routing, a queue, a user), in business hours and out of them."""

# NOTIFYed when a line changes: the call path's cache (crm/routing/view.py) reloads at once.
CHANGED_CHANNEL = "pbxcrm_routing"
