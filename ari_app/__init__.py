"""The Stasis application: takes calls from Asterisk over ARI and puts the CRM in their path."""
