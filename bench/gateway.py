"""The API gateway against `chalice local` and gunicorn+Flask, side by side in one run.

    .venv/bin/python bench/gateway.py [--seconds 5] [--connections 16]

Each server answers the same trivial GET on 127.0.0.1; wrk (Debian's package) loads each in
turn. The same function also sits behind an HTTP API route, measured against the REST route. Ours goes through the whole chain: route, stage throttle, a cached TOKEN authorizer,
the proxy event, the function runtime (instances on demand, with the default ceiling) and
the proxy response. A second wrk run with one connection gives the p50 latency, from which
the p50 of a direct invoke through the runtime is subtracted: the latency the gateway adds.
"""

import argparse
import io
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model
from local.gateway.gateway import AccessLog, Gateway
from local.http.server import HttpServer
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services.procs import free_port

COMMAND = ".venv/bin/python bench/gateway.py"
TOKEN = "Bearer bench"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: bench
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 1000000, ThrottlingBurstLimit: 1000000}
      Auth:
        DefaultAuthorizer: Token
        Authorizers:
          Token: {FunctionArn: !GetAtt Authorizer.Arn, Identity: {ReauthorizeEvery: 300}}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingRateLimit: 1000000, ThrottlingBurstLimit: 1000000}
      Auth:
        DefaultAuthorizer: Simple
        Authorizers:
          Simple:
            FunctionArn: !GetAtt SimpleAuthorizer.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], ReauthorizeEvery: 300}
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.hello
      Runtime: python3.11
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /hello, Method: get}}
        GetHttp: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /hello-http, Method: get}}
  Authorizer:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn, Handler: app.authorize, Runtime: python3.11}
  SimpleAuthorizer:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn, Handler: app.authorize_simply, Runtime: python3.11}
"""

FUNCTIONS = """
def hello(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"hello": "world"}'}

def authorize_simply(event, context):
    return {"isAuthorized": True}

def authorize(event, context):
    return {"principalId": "bench", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": event["methodArn"].split("/")[0] + "/*"}]}}
"""

CHALICE_APP = """
from chalice import Chalice
app = Chalice(app_name="bench")

@app.route("/hello")
def hello():
    return {"hello": "world"}
"""

FLASK_APP = """
from flask import Flask
app = Flask(__name__)

@app.get("/hello")
def hello():
    return {"hello": "world"}
"""


def wrk(url: str, seconds: float, connections: int, threads: int, headers: list[str]) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    for header in headers:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rate, "p50_ms": float(p50.group(1)) * scale, "non_2xx": int(errors.group(1)) if errors else 0}


def wait_until_up(url: str, headers: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def start_process(argv: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def direct_invoke_p50_ms(runtime: Runtime, count: int = 2000) -> float:
    event = {"httpMethod": "GET", "path": "/hello"}
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        runtime.invoke("Hello", event)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (`make bench` does it)")
    load = dict(seconds=args.seconds, connections=args.connections, threads=2)
    results = {}

    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch:
        scratch = Path(scratch)
        (scratch / "fn").mkdir()
        (scratch / "fn" / "app.py").write_text(textwrap.dedent(FUNCTIONS))
        (scratch / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
        template = load_template(scratch / "template.yaml")
        model = build_model(scratch / "template.yaml", template, Resolver(template, Deployment()), {})
        # Default settings: instances start on demand up to the local ceiling (LOCAL_MAX_INSTANCES).
        runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
        gateway = Gateway(model, runtime, "123456789012", access_log=AccessLog(io.StringIO()))
        server = HttpServer(gateway, free_port(), loop=runtime.loop)
        server.start()
        try:
            url = f"{server.url}/hello"
            wait_until_up(url, {"Authorization": TOKEN})
            runtime.invoke("Hello", {})  # one instance warm before timing
            # REST and HTTP routes alternate, twice each, so that a drift of the machine's speed
            # during the run falls on both alike.
            http_url = f"{server.url}/hello-http"
            wait_until_up(http_url, {"Authorization": TOKEN})
            rest_runs, http_runs = [], []
            for _ in range(2):
                rest_runs.append(wrk(url, headers=[f"Authorization: {TOKEN}"], **load))
                http_runs.append(wrk(http_url, headers=[f"Authorization: {TOKEN}"], **load))
            results["local gateway"] = rest_runs[0]
            http_route = {"rest": [r["rps"] for r in rest_runs], "http": [r["rps"] for r in http_runs]}
            single = wrk(url, seconds=args.seconds, connections=1, threads=1, headers=[f"Authorization: {TOKEN}"])
            direct = direct_invoke_p50_ms(runtime)
        finally:
            server.stop()
            runtime.stop()

        chalice_dir = scratch / "chalice"
        (chalice_dir / ".chalice").mkdir(parents=True)
        (chalice_dir / ".chalice" / "config.json").write_text('{"version": "2.0", "app_name": "bench", "stages": {"dev": {}}}')
        (chalice_dir / "app.py").write_text(textwrap.dedent(CHALICE_APP))
        port = free_port()
        chalice = start_process([str(Path(sys.executable).with_name("chalice")), "local", "--host", "127.0.0.1",
                                 "--port", str(port)], chalice_dir)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/hello", {})
            results["chalice local"] = wrk(f"http://127.0.0.1:{port}/hello", headers=[], **load)
        finally:
            stop_process(chalice)

        flask_dir = scratch / "flask"
        flask_dir.mkdir()
        (flask_dir / "app.py").write_text(textwrap.dedent(FLASK_APP))
        port = free_port()
        gunicorn = start_process([str(Path(sys.executable).with_name("gunicorn")), "-w", "2", "-b",
                                  f"127.0.0.1:{port}", "app:app"], flask_dir)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/hello", {})
            results["gunicorn+Flask (2 workers)"] = wrk(f"http://127.0.0.1:{port}/hello", headers=[], **load)
        finally:
            stop_process(gunicorn)

    command = f"{COMMAND} --seconds {args.seconds:g} --connections {args.connections}"
    width = max(map(len, results))
    print(f"trivial GET, wrk -t2 -c{args.connections} -d{args.seconds:g}s on 127.0.0.1   [{command}]")
    for name, r in results.items():
        print(f"  {name:<{width}}  {r['rps']:>8.0f} req/s  p50 {r['p50_ms']:.2f} ms  non-2xx {r['non_2xx']}")
    ours = results["local gateway"]["rps"]
    print(f"  ratio local gateway / chalice local:  {ours / results['chalice local']['rps']:.1f}x  (goal >= 10x)")
    print(f"  ratio local gateway / gunicorn+Flask: {ours / results['gunicorn+Flask (2 workers)']['rps']:.2f}x  (goal >= 1.0x)")
    rest_rps, http_rps = statistics.mean(http_route["rest"]), statistics.mean(http_route["http"])
    print(f"  HTTP API route (payload 2.0, cached simple Lambda authorizer) against the REST route (cached TOKEN "
          f"authorizer), alternating: {' / '.join(f'{v:.0f}' for v in http_route['http'])} against "
          f"{' / '.join(f'{v:.0f}' for v in http_route['rest'])} req/s, ratio {http_rps / rest_rps:.2f}x  "
          "(goal >= 1.0x)")
    print(f"latency added by the gateway: p50 {single['p50_ms']:.3f} ms over one connection minus p50 "
          f"{direct:.3f} ms of a direct invoke = {single['p50_ms'] - direct:.3f} ms  (goal < 1 ms)")


if __name__ == "__main__":
    main()
