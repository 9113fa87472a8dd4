"""What an app declares for its local runs (Metadata: Local): read, checked, defaulted."""

import pytest
from support import PROJECT_ROOT

from infra.errors import TemplateError
from infra.template import load_template
from local.app.declaration import read_declaration


def declared(tmp_path, metadata: str | None):
    path = tmp_path / "orders" / "template.yaml"
    path.parent.mkdir()
    text = "Transform: AWS::Serverless-2016-10-31\n"
    if metadata is not None:
        text += "Metadata:\n  Local:\n" + "".join(f"    {line}\n" for line in metadata.strip().splitlines())
    path.write_text(text + "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    return read_declaration(path, load_template(path))


def test_nothing_declared_means_no_services_no_setup_and_sams_stack_name(tmp_path):
    nothing = declared(tmp_path, None)
    assert (nothing.name, nothing.stack_name, nothing.postgres, nothing.redis, nothing.setup) == (
        "orders", "local", False, False, [])


def test_services_setup_and_names_are_read(tmp_path):
    found = declared(tmp_path, """
Name: Orders API
StackName: orders-local
Services:
  Postgres: {Database: orders}
  Redis: {}
Setup:
  - python -m tools.setup --quiet
  - [bash, -c, "echo 'two words'"]
""")
    assert (found.name, found.stack_name, found.database, found.redis) == ("Orders API", "orders-local", "orders", True)
    assert found.setup == [["python", "-m", "tools.setup", "--quiet"], ["bash", "-c", "echo 'two words'"]]


def test_a_list_of_services_and_a_default_database(tmp_path):
    found = declared(tmp_path, "Services: [Postgres]")
    assert (found.database, found.redis) == ("postgres", False)


@pytest.mark.parametrize("metadata, problem", [
    ("Services: [Mysql]", "Services may name Postgres and Redis only"),
    ("Setup: echo hi", "Setup must be a list of commands"),
    ("Sevices: [Redis]", "unknown key(s) Sevices"),
    ("SecureParameters: [{GenerateBytes: 3}]", "SecureParameters must be a list of mappings with a Name"),
    ("Layers: [vendor/utils]", "Layers must map layer ARNs to folders"),
    ("Layers: {'arn:aws:lambda:us-east-1:1:layer:x': nowhere}", "Layers: no such folder (arn:aws:lambda:us-east-1:1:layer:x: "),
])
def test_a_bad_declaration_names_its_problem(tmp_path, metadata, problem):
    with pytest.raises(TemplateError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        declared(tmp_path, metadata)


def test_the_recipes_app_declares_what_it_needs():
    path = PROJECT_ROOT / "template.yaml"
    found = read_declaration(path, load_template(path))
    assert (found.name, found.stack_name, found.database, found.redis) == ("Recipes API", "recipes-local", "recipes",
                                                                          True)
    assert found.setup == [["python", "-m", "ops", "setup"]]
