"""The base of every error nodelab raises on purpose.

Each message says what failed, on what, and what to do, so faces (the CLI, notebooks) print it
as it is. Anything else that escapes is a bug and keeps its traceback.
"""


class NodelabError(Exception):
    """An error whose message is written for the user."""
