"""Scheduled calls (issue 22, FEATURES H8): a call planned for a time, from a card, a task or the list.

model.py decides (kinds, statuses, moves, rights; pure), queries.py stores and reads them, runner.py
runs the due ones (a reminder, or a click-to-call request) and settles those dialled."""
