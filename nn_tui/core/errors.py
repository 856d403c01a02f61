"""The one exception type for mistakes a user can fix (bad preset, unknown dataset, missing file)."""


class UserError(Exception):
    """A problem with the user's input. The CLI prints the message and exits with code 2."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        self.detail = message
        prefix = ""
        if source:
            prefix += f"{source}: "
        if key:
            prefix += f"{key}: "
        super().__init__(prefix + message)
