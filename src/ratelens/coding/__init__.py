"""coding room."""
