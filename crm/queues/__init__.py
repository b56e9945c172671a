"""Call queues defined in the CRM: members, ring strategy, ring time, waiting music."""
