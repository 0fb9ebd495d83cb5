"""What admins and frontends see beyond one status: spend over time, the ranking, the audit log."""
