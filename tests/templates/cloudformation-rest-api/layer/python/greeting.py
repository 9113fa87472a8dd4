def greet(who: str) -> str:
    return f"hello, {who}"
