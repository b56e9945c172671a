"""The CRM domain and its SQL, shared by the Stasis app, the FastAGI server and the web UI.

Nothing here imports Starlette or ARI code: the processes share only PostgreSQL.
"""
