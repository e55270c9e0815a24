"""Format s3_access: being written (registers nothing yet)."""
