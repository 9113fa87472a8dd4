"""samconfig.toml and env.json, read as SAM CLI reads them."""

import pytest

from local.app.env_vars import read_env_vars
from local.app.samconfig import read_samconfig
from local.errors import LocalError


def config(tmp_path, text: str, command="up", env="default"):
    (tmp_path / "samconfig.toml").write_text(text)
    return read_samconfig(tmp_path / "template.yaml", command, env)


def test_the_command_table_wins_over_global(tmp_path):
    found = config(tmp_path, """
[default.global.parameters]
parameter_overrides = "A=1 B='two words'"
env_vars = "global.json"
[default.local_start_api.parameters]
parameter_overrides = ["B=3", "ParameterKey=C,ParameterValue=4"]
[default.local_invoke.parameters]
env_vars = "invoke.json"
""")
    assert found.parameter_overrides == {"B": "3", "C": "4"} and found.env_vars == tmp_path / "global.json"
    invoke = read_samconfig(tmp_path / "template.yaml", "invoke")
    assert invoke.parameter_overrides == {"A": "1", "B": "two words"} and invoke.env_vars == tmp_path / "invoke.json"


def test_no_file_is_no_settings_and_a_named_one_must_exist(tmp_path):
    assert read_samconfig(tmp_path / "template.yaml", "up").parameter_overrides == {}
    with pytest.raises(LocalError, match="config file not found"):
        read_samconfig(tmp_path / "template.yaml", "up", config_file=tmp_path / "absent.toml")


@pytest.mark.parametrize("text, env, problem", [
    ("[default\n", "default", "not TOML"),
    ("[default.global.parameters]\nparameter_overrides = 'novalue'\n", "default", "'novalue' is not KEY=VALUE"),
    ("[default.global.parameters]\n", "staging", r"no \[staging\] environment"),
])
def test_bad_files_name_their_problem(tmp_path, text, env, problem):
    with pytest.raises(LocalError, match=problem):
        config(tmp_path, text, env=env)


@pytest.mark.parametrize("text, problem", [
    ('{"Fn": ', "not JSON: Expecting value at line 1, column 8"),
    ('["a"]', "must be"),
    ('{"Fn": {"A": {"deep": 1}}}', "Fn.A must be text, a number or a boolean"),
])
def test_bad_env_vars_files_name_their_problem(tmp_path, text, problem):
    path = tmp_path / "env.json"
    path.write_text(text)
    with pytest.raises(LocalError, match=problem):
        read_env_vars(path)
