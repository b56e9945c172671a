"""Screen pops (H5): the Stasis app tells the web workers, through PostgreSQL
NOTIFY, that a user's phone rings or was answered."""

CHANNEL = "pbxcrm_pops"
