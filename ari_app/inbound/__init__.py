"""Inbound calls: a caller from the trunk is looked up, routed (manager, queues), bridged.

handlers.py takes the StasisStart; session.py is the call's flow (states in ari_app/call_states.py).
"""
