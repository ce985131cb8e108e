"""ratelens."""
