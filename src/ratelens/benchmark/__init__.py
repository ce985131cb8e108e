"""benchmark room."""
