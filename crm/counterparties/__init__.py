"""Counterparties: clients (people) and companies (groups of clients), their contacts and addresses."""
