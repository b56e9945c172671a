"""Reports (F1-F6): numbers computed in SQL from the CRM's own tables."""
