"""warehouse room."""
