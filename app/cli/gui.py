"""`lectern gui`: the desktop window (placeholder until the UI lands)."""


def register(sub) -> None:
    pass


def open_window(files) -> int:
    raise SystemExit("the desktop window is not built yet")
