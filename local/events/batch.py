"""Lambda's rules for which records of a batch failed (ReportBatchItemFailures)."""


def failed_ids(outcome, records: list[dict], report_failures: bool) -> set[str]:
    """Which records failed: all when the function erred or answered nonsense; those named in
    batchItemFailures when the function reports them; none otherwise."""
    everyone = {record["messageId"] for record in records}
    if outcome.failed:
        return everyone
    if not report_failures:
        return set()
    payload = outcome.payload
    if payload is None:
        return set()
    items = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return everyone
    named = {item.get("itemIdentifier") for item in items if isinstance(item, dict)}
    if not named <= everyone or None in named:
        return everyone  # an identifier Lambda does not know: the whole batch fails, as on AWS
    return named
