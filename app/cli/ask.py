"""Sub-commands of `lectern` (placeholder until this area lands)."""


def register(sub) -> None:
    pass
