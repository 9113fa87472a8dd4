"""The AWS SDK that Lambda's Python runtime bundles (/var/lang/lib/python3.x/site-packages),
installed once into a folder of its own: the only packages a worker sees besides the
function's code, its layers and what they declare.

AWS no longer lists the bundled version per runtime; the pin below is the one named in
docs/ARCHITECTURE.md ("Lambda's import surroundings"), and a function that needs a newer
boto3 declares it in its requirements.txt, as it must on AWS.
"""

from pathlib import Path

from local.build.dependencies import PLATFORM_TAG
from local.build.pip_target import install_into

BUNDLED_SDK = ("boto3==1.40.4", "botocore==1.40.4")


def runtime_sdk(root: Path, announce=None) -> Path:
    """The folder holding the bundled boto3 and botocore; installed on first use (`announce`,
    when given, is called with a line first: the install takes seconds)."""
    version = BUNDLED_SDK[0].partition("==")[2]
    folder = Path(root) / "runtime" / f"boto3-{version}-{PLATFORM_TAG}"
    if not folder.is_dir():
        if announce is not None:
            announce(f"building the Lambda runtime's SDK ({' '.join(BUNDLED_SDK)}) with pip into {folder}")
        install_into(folder, list(BUNDLED_SDK), "the Lambda runtime's boto3", folder.parent)
    return folder
