"""Running the server: uvicorn with a protocol that can say why in the status line."""
