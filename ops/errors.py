"""Errors of the app's own operations; their text is meant to be shown to a person as one line."""


class OpsError(Exception):
    pass


class MigrationError(OpsError):
    pass
