"""The domain's exception hierarchy: each class's docstring is its default message."""

from __future__ import annotations


class DomainError(Exception):
    """A domain rule was broken."""

    code = "domain_error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip())

    @property
    def message(self) -> str:
        return str(self)


class IllegalTransition(DomainError):
    """This state change is not allowed."""

    code = "illegal_transition"

    def __init__(self, what: str, current: str, target: str) -> None:
        super().__init__(f"{what} cannot go from {current!r} to {target!r}")
        self.current = current
        self.target = target


class InvalidDefinition(DomainError):
    """The workflow definition is invalid."""

    code = "invalid_definition"

    def __init__(self, problems: list[object]) -> None:
        count = len(problems)
        super().__init__(f"the workflow definition has {count} problem{'s' * (count != 1)}")
        self.problems = problems


class ExpressionError(DomainError):
    """A template expression could not be evaluated."""

    code = "expression_error"
