"""One suite of behaviours, run against the ASGI and the WSGI adapter alike."""
