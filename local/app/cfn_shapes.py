"""Plain CloudFormation's Lambda resources in SAM's shapes, so that one reader serves both:
an AWS::Lambda::Function is a Serverless::Function without Globals or Events, and an
AWS::Lambda::LayerVersion a Serverless::LayerVersion without a BuildMethod."""

LAMBDA_FUNCTION = "AWS::Lambda::Function"
LAMBDA_LAYER = "AWS::Lambda::LayerVersion"


def function_props(props: dict) -> dict:
    """`Code` is ZipFile (inline source, which Lambda saves as index.py), an S3 location, a
    container image, or a local path (what `aws cloudformation package` and SAM CLI accept
    and upload)."""
    shaped = {key: value for key, value in props.items() if key != "Code"}
    code = props.get("Code")
    if isinstance(code, dict) and "ZipFile" in code:
        shaped["InlineCode"] = code["ZipFile"]
    elif isinstance(code, dict) and "ImageUri" in code:
        shaped.setdefault("PackageType", "Image")
    elif isinstance(code, dict) and "S3Bucket" in code:
        shaped["CodeUri"] = {"Bucket": code["S3Bucket"], "Key": code.get("S3Key")}
    elif code is not None:
        shaped["CodeUri"] = code
    return shaped


def layer_props(props: dict) -> dict:
    shaped = {key: value for key, value in props.items() if key != "Content"}
    content = props.get("Content")
    if isinstance(content, dict) and "S3Bucket" in content:
        shaped["ContentUri"] = {"Bucket": content["S3Bucket"], "Key": content.get("S3Key")}
    elif content is not None:
        shaped["ContentUri"] = content
    return shaped
