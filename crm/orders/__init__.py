"""Orders of an outsourcing call centre (issue 22, H9): a customer's call list and script, loaded from a
file or a URL on a schedule (loader, sources); who sees and works them (permissions); their SQL (queries);
the customers themselves (customers)."""
