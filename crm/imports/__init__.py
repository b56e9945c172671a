"""Excel imports: counterparties with contacts (A8), call lists (K2, H8), tasks and deals."""
