"""SMS campaigns (issue 21, I2): one text to many recipients, approved by a supervisor, sent in a window.

model.py       statuses, who may move them, the sending window, the placeholders (pure)
recipients.py  the list from a tag filter, a saved filter or an Excel file, and its checks
queries.py     create, change, move, totals and results
runner.py      one step of the runner (smsd/campaigns.py runs it): start, queue a batch, finish
"""
