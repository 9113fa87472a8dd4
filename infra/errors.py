"""Errors raised by infra; their text is meant to be shown to a person as one line."""


class InfraError(Exception):
    pass


class TemplateError(InfraError):
    """template.yaml cannot be used: names the file, the resource (when there is one) and
    the problem."""

    def __init__(self, path, problem: str, resource: str | None = None):
        self.path, self.problem, self.resource = path, problem, resource
        where = f"{path}: resource {resource}" if resource else f"{path}"
        super().__init__(f"{where}: {problem}")


class ProvisioningError(InfraError):
    pass
