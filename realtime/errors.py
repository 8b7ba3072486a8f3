"""Errors a user can fix. The CLI prints their message on one line and exits 2."""


class InputError(Exception):
    """Bad input: the message says what was expected, what was got and how to fix it."""
