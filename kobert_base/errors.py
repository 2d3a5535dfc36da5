"""The one error type a user sees: raised anywhere, shown by the front ends as one line."""


class UserError(Exception):
    """A problem with the user's input or files: shown as one line, never a traceback."""
