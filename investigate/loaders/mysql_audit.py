"""Format mysql_audit: being written (registers nothing yet)."""
