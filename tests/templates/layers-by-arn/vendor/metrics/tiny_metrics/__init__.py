def count(items) -> int:
    return len(list(items))
