"""The living demo (issue 19): weeks of call-centre history seeded in bulk (history.py, on top of
crm/demo_data.py's counterparties), and a small stream of live sipp calls into the sandbox
Asterisk answered by simulated phones (stream.py). Used by `make demo` and its tests only."""
