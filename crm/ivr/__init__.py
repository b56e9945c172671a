"""IVR menus (issue 15, FEATURES.md L2, L3): a prompt, keys that each route the call (a queue,
a user, another menu, the CRM's routing, a hang-up), and what happens when the caller presses
nothing or a key the menu does not have. The walk through a menu is a pure function
(crm/ivr/walk.py); the call path plays it (ari_app/inbound/menu.py)."""
