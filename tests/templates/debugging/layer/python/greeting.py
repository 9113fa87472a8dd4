"""The layer's module: a breakpoint here binds to this file in the project (`# stop: layer`)."""


def greet(name: str) -> str:
    text = f"hello, {name}"  # stop: layer
    return text
