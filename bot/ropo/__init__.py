"""The Ropo One adapter: client, token, models, errors and the built-in sandbox."""
