"""Security suite: hostile input and the authentication matrix against a subprocess bridge."""
