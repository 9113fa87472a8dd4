"""/openapi.json is generated from the models, and agrees with the routes of the template."""


from openapi_spec_validator import validate
from support import PROJECT_ROOT

from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model


def template_routes() -> set[tuple[str, str]]:
    path = PROJECT_ROOT / "template.yaml"
    template = load_template(path)
    model = build_model(path, template, Resolver(template, Deployment(), path), {})
    return {(event.method, event.path) for spec in model.functions.values() for event in spec.api_events}


def test_the_document_is_valid_openapi_and_covers_exactly_the_template_routes(api):
    response = api.get("/openapi.json")
    assert response.status == 200
    document = response.json()
    validate(document)  # an independent validator of OpenAPI documents
    documented = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert documented == template_routes()


def test_request_schemas_come_from_the_validating_models(api):
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    product_in = schemas["ProductIn"]
    assert set(product_in["required"]) == {"name", "unit"}
    assert product_in["additionalProperties"] is False
    assert product_in["properties"]["name"]["maxLength"] == 100
    item = schemas["ItemIn"]["properties"]["quantity"]
    assert any(option.get("exclusiveMinimum") == 0 for option in item.get("anyOf", [item]))
