"""A nested stack's model inside its parent's: every logical id of the child becomes
`Child/Id`, as SAM CLI names a nested function, and every reference between them follows,
so the runtime, the gateway and the event sources see one application."""

from local.app.model import AppModel


def with_nested(parent: AppModel, children: dict[str, AppModel]) -> AppModel:
    model = parent.model_copy(deep=True)
    for name, child in children.items():
        child = prefixed(child, f"{name}/")
        for part in ("functions", "layers", "apis", "queues", "topics", "subscriptions", "parameters"):
            getattr(model, part).update(getattr(child, part))
        model.warnings += child.warnings
    return model


def prefixed(model: AppModel, prefix: str) -> AppModel:
    def ids(mapping: dict, **changes) -> dict:
        return {f"{prefix}{key}": value.model_copy(update={"logical_id": f"{prefix}{value.logical_id}", **changes})
                for key, value in mapping.items()}

    functions = {}
    for key, spec in model.functions.items():
        functions[f"{prefix}{key}"] = spec.model_copy(update={
            "logical_id": f"{prefix}{spec.logical_id}",
            "layers": [layer.model_copy(update={"logical_id": f"{prefix}{layer.logical_id}"}) for layer in spec.layers],
            "api_events": [event.model_copy(update={"api": f"{prefix}{event.api}"}) for event in spec.api_events],
            "sqs_events": [event.model_copy(update={"queue": f"{prefix}{event.queue}"}) for event in spec.sqs_events],
        })
    apis = {}
    for key, api in model.apis.items():
        authorizers = {name: authorizer.model_copy(update={"function": f"{prefix}{authorizer.function}"
                                                           if authorizer.function else ""})
                       for name, authorizer in api.authorizers.items()}
        apis[f"{prefix}{key}"] = api.model_copy(update={"logical_id": f"{prefix}{api.logical_id}",
                                                        "authorizers": authorizers})
    return AppModel(functions=functions, layers=ids(model.layers), apis=apis, queues=ids(model.queues),
                    topics=ids(model.topics), subscriptions=ids(model.subscriptions),
                    parameters=ids(model.parameters), warnings=[f"{prefix}{line}" for line in model.warnings])
