"""medicare room."""
