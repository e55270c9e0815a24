"""Format azure_activity: being written (registers nothing yet)."""
