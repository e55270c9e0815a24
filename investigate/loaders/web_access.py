"""Format web_access: being written (registers nothing yet)."""
