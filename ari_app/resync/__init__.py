"""After every (re)connect to ARI: take up the channels sitting in the Stasis app (service.py)."""

from ari_app.resync.service import Resyncer, resync, stasis_args

__all__ = ["Resyncer", "resync", "stasis_args"]
