"""scale room."""
