"""Format azure_signin: being written (registers nothing yet)."""
