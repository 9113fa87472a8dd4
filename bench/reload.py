"""How long an edit takes to show, measured from the save to the first answer that has it.

    .venv/bin/python bench/reload.py [--rounds 10] [--functions 25]

Starts `python -m local up` on a copy of tests/templates/hot-reload (one function), and on a
template made wider with `--functions` more functions (each with a route and a queue with its
consumer, so a reload reads, checks and provisions as much as a real application's), then per
round: a handler edit (a string in app.py), a template edit (an environment variable) and a
template edit adding a route. Each is saved and followed at once by requests until one
answers with the edit: the figure is the save to that answer. A request made right after a
save meets the edit (the gateway checks the files first: local/reload/, runtime/code_watch.py),
so it is mostly the reload and the new instance's cold start. Not a test: the ratios and
figures are printed, never asserted.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from startup import stack_env, wait_for_health  # noqa: E402

SOURCE = ROOT / "tests" / "templates" / "hot-reload"

WIDE = """
  Queue{n}:
    Type: AWS::SQS::Queue
  Function{n}:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.hello
      Events:
        Route:
          Type: Api
          Properties:
            Path: /f{n}
            Method: get
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue{n}.Arn
"""

ROUTE = """
  Added{round}Function:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.hello
      Events:
        Added:
          Type: Api
          Properties:
            Path: /added{round}
            Method: get
"""


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def until(probe, what: str, limit_s: float = 10.0) -> float:
    """Seconds from now until probe() is true, asking again at once each time it is not."""
    began = time.perf_counter()
    while not probe():
        if time.perf_counter() - began > limit_s:
            raise SystemExit(f"{what}: the edit did not show within {limit_s:.0f} s")
    return time.perf_counter() - began


def measure(functions: int, rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as folder:
        app = Path(folder) / "app"
        shutil.copytree(SOURCE, app)
        template, handler = app / "template.yaml", app / "src" / "app.py"
        base = template.read_text() + "".join(WIDE.format(n=n) for n in range(functions))
        template.write_text(base)
        env = {**stack_env(Path(folder) / "state"), "LOCAL_TEMPLATE": str(template)}
        url = f"http://127.0.0.1:{env['LOCAL_GATEWAY_PORT']}"
        log = open(Path(folder) / "up.log", "w")  # shown if an edit does not show
        process = subprocess.Popen([sys.executable, "-m", "local", "up"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        figures: dict[str, list[float]] = {"handler edit": [], "environment variable": [], "new route": []}
        try:
            wait_for_health(f"{url}/hello", process, 120)
            code = handler.read_text()
            for number in range(rounds):
                marker = f"edit-{number}"
                handler.write_text(code.replace('"greeting"', f'"{marker}"'))
                figures["handler edit"].append(until(lambda: marker.encode() in get(f"{url}/hello")[1], "handler"))
                template.write_text(base.replace("GREETING: hello", f"GREETING: {marker}"))
                figures["environment variable"].append(
                    until(lambda: json.loads(get(f"{url}/hello")[1]).get(marker) == marker, "environment"))
                template.write_text(base.replace("GREETING: hello", f"GREETING: {marker}")
                                    + ROUTE.format(round=number))
                figures["new route"].append(until(lambda: get(f"{url}/added{number}")[0] == 200, "route"))
                time.sleep(0.2)  # let the event runner's reload finish before the next round
        except SystemExit:
            print("\n".join(line for line in (Path(folder) / "up.log").read_text().splitlines()
                            if not line.startswith(("[", "127."))), file=sys.stderr)
            raise
        finally:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--functions", type=int, default=25, help="functions the wide template adds")
    args = parser.parse_args()
    print(f"save to the first answer with the edit, {args.rounds} rounds, ms (p50 / max)")
    for label, functions in (("1 function", 0), (f"{args.functions + 1} functions", args.functions)):
        figures = measure(functions, args.rounds)
        print(f"  {label}:")
        for what, seconds in figures.items():
            print(f"    {what:22} {statistics.median(seconds) * 1000:7.1f} / {max(seconds) * 1000:7.1f}")


if __name__ == "__main__":
    main()
