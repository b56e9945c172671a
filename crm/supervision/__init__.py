"""Listen-in, whisper and barge (issue 18): a supervisor joins a live call from the web.

The web checks and asks (requests.py: a supervision_requests row and a NOTIFY on CHANNEL,
as transfers and click-to-call do); the Stasis app (ari_app/supervision/) rings the
supervisor's phone and, when it answers, joins it to the call. What is decided is pure
(decide.py); the SQL of both sides is queries.py."""

CHANNEL = "pbxcrm_supervision"
LISTEN, WHISPER, BARGE = "listen", "whisper", "barge"
MODES = (LISTEN, WHISPER, BARGE)
