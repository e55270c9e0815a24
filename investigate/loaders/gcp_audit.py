"""Format gcp_audit: being written (registers nothing yet)."""
