class LocalError(Exception):
    """A problem the user can fix; its text is shown as one line, without a traceback."""
