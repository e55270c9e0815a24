"""Format pgaudit: being written (registers nothing yet)."""
