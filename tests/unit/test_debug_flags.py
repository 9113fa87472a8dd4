"""`--debug-port` and `--debug-function` (local/runtime/debugging.py): what is refused, with one
line that says how to fix it, before anything starts; which function a name designates."""

import socket

import pytest

from local.app.model import AppModel
from local.cli import main
from local.errors import LocalError
from local.runtime import debugging
from local.runtime.debugging import DebugFlags, DebugTarget


def model_of(*specs) -> AppModel:
    return AppModel(functions={spec.logical_id: spec for spec in specs}, layers={}, apis={}, queues={},
                    topics={}, subscriptions={}, parameters={})


def error_of(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_debug_function_without_a_port_is_refused_before_anything_starts(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path / "state"))
    line = error_of(capsys, "up", "--debug-function", "GreetFunction")
    assert "--debug-function needs --debug-port" in line
    assert not (tmp_path / "state").exists()  # nothing started, nothing written


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_debug_port_that_is_no_tcp_port_is_refused(capsys, port):
    assert f"--debug-port {port} is not a TCP port" in error_of(capsys, "invoke", "F", "--debug-port", port)


def test_a_debug_port_in_use_is_refused_naming_the_flag():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(LocalError, match=r"port \d+ \(debugger\) is already in use.*--debug-port"):
            DebugFlags.given(taken.getsockname()[1])


def test_without_debugpy_the_error_says_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setattr(debugging.importlib.util, "find_spec", lambda name: None)
    line = error_of(capsys, "up", "-d", "5678")  # -d: SAM CLI's short form
    assert "debugpy" in line and "pip install debugpy" in line


def test_no_flags_no_debugging():
    assert DebugFlags.given(None, None) is None


def test_the_only_function_needs_no_name_but_two_need_one(make_function):
    only = model_of(make_function("Only", "def handler(e, c): pass"))
    assert DebugFlags(5678).target(only) == DebugTarget("Only", 5678)
    two = model_of(make_function("First", "def handler(e, c): pass"), make_function("Second", "def handler(e, c): pass"))
    with pytest.raises(LocalError, match=r"--debug-port needs --debug-function NAME: the template has 2 "
                                         r"functions \(First, Second\)"):
        DebugFlags(5678).target(two)


def test_a_function_is_named_by_logical_id_or_function_name_and_an_unknown_one_is_refused(make_function):
    spec = make_function("GreetFunction", "def handler(e, c): pass").model_copy(update={"function_name": "greet-dev"})
    model = model_of(spec, make_function("Other", "def handler(e, c): pass"))
    assert DebugFlags(5678, "greet-dev").target(model).function == "GreetFunction"
    assert DebugFlags(5678, "GreetFunction").target(model).function == "GreetFunction"
    with pytest.raises(LocalError, match=r"no function named 'Nope' in the template to debug; the functions are: "
                                         r"GreetFunction, Other"):
        DebugFlags(5678, "Nope").target(model)
