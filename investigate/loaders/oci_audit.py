"""Format oci_audit: being written (registers nothing yet)."""
