"""The figures of a load run, as a table to read and as JSON for the test to assert on."""

import json
from pathlib import Path


def figures(ledger, findings, faults, locust_stats: dict, converged: tuple[bool, float], seconds: float) -> dict:
    served = len(ledger.entries)
    classes = ledger.by_class()
    return {
        "load seconds": seconds,
        "requests served": served,
        "requests per second": round(served / seconds, 1) if seconds else 0,
        "requests counted by locust": locust_stats.get("requests"),
        "by status class": dict(sorted(classes.items())),
        "by outcome": dict(sorted(ledger.by_outcome().items())),
        "expected 4xx and 429, by kind": dict(ledger.expected().most_common()),
        "unexpected, by kind": dict(ledger.unexpected().most_common()),
        "latency p50 ms": ledger.latency_ms(0.50),
        "latency p99 ms": ledger.latency_ms(0.99),
        "converged": converged[0],
        "convergence wait s": round(converged[1], 1),
        **findings.figures,
        "faults": [{"fault": f.name, "at": f.at, "detail": f.detail,
                    "recovered_s": None if f.recovered_s is None else round(f.recovered_s, 2)} for f in faults],
        "problems": findings.problems,
    }


def table(data: dict) -> str:
    lines = ["", "Load run with faults: figures", "-" * 72]
    for key, value in data.items():
        if key in ("faults", "problems"):
            continue
        if isinstance(value, dict):
            lines.append(f"{key:<52} {'' if value else '-'}")
            lines += [f"    {name:<48} {count}" for name, count in value.items()]
        else:
            lines.append(f"{key:<52} {value}")
    lines.append("faults (time until the service answered again)")
    if not data["faults"]:
        lines.append("    none injected")
    for fault in data["faults"]:
        took = "NOT BACK" if fault["recovered_s"] is None else f"{fault['recovered_s']} s"
        lines.append(f"    {fault['fault']:<48} {took:<8}  at {fault['at']} UTC; {fault['detail']}")
    lines.append("-" * 72)
    if data["problems"]:
        lines.append("GOALS FAILED:")
        lines += [f"  - {problem}" for problem in data["problems"]]
    else:
        lines.append("goals met: 0 acknowledged writes lost, 0 events lost or stuck, 0 duplicates, "
                     "cache consistent, 0 unexpected answers")
    return "\n".join(lines)


def write_json(path: Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=2, default=str))
