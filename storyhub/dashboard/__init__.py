"""The outcomes dashboard: anonymous counts of confirmed themes, each a link to its passages."""
