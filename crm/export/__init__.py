"""Excel export (F4): lists and reports to .xlsx with their filters applied."""
