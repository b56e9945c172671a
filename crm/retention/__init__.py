"""Retention (issue 25): recordings and call rows older than the admin's periods deleted or archived.

policy.py holds the settings and the decisions (pure), queries.py every SQL statement, archive.py the files
(recordings moved or removed, call rows written to gzip JSON lines), job.py one run in small batches.
"""
