"""An S3 trigger: a recipe image is uploaded straight to S3 with a presigned URL, and the
bucket's ObjectCreated notification runs the image check, which records the image on the
recipe only once it has really arrived and is the image it claims to be; a fake is deleted."""

import sys
import time
import urllib.parse
import urllib.request

from common import Demo

from infra.aws import emulator_client

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def put(grant: dict, data: bytes) -> int:
    request = urllib.request.Request(grant["url"], data=data, method="PUT", headers=grant["headers"])
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def image_url(demo: Demo, recipe_id: int, within: float = 15.0):
    """The recipe's image_url once the check has recorded it, else None after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        _, _, recipe, _ = demo.call("GET", f"/recipes/{recipe_id}")
        if recipe.get("image_url") or time.monotonic() > deadline:
            return recipe.get("image_url")
        time.sleep(0.2)


def main() -> int:
    demo = Demo("S3 trigger: an uploaded image is checked, then recorded")
    _, _, recipe, _ = demo.call("POST", "/recipes", {"title": "Image demo tart"})
    _, _, grant, _ = demo.call("POST", f"/recipes/{recipe['id']}/image-upload",
                               {"content_type": "image/png", "size": len(PNG)})
    key = urllib.parse.urlsplit(grant["url"]).path.split("/", 2)[2]  # path-style: /<bucket>/<key>
    demo.say(f"Recipe {recipe['id']} got a presigned PUT for {key}, valid until {grant['expires_at']}.")
    _, _, before, _ = demo.call("GET", f"/recipes/{recipe['id']}")
    demo.check(before["image_url"] is None, "before the upload the recipe has no image_url (a grant is no image)")
    began = time.monotonic()
    demo.check(put(grant, PNG) == 200, f"the client PUT {len(PNG)} bytes of PNG straight to S3")
    url = image_url(demo, recipe["id"])
    demo.check(url is not None, f"the ObjectCreated notification ran the image check; image_url appeared "
                                f"{time.monotonic() - began:.2f} s after the upload")
    if url:
        with urllib.request.urlopen(url, timeout=10) as answer:
            demo.check(answer.read() == PNG, "the presigned image_url serves the bytes uploaded")

    _, _, fake, _ = demo.call("POST", "/recipes", {"title": "Image demo fake"})
    _, _, grant, _ = demo.call("POST", f"/recipes/{fake['id']}/image-upload",
                               {"content_type": "image/png", "size": 24})
    put(grant, b"<html>not an image</html>"[:24])
    demo.say(f"Uploaded 24 bytes of HTML as image/png for recipe {fake['id']}.")
    s3 = emulator_client("s3", demo.services["aws_endpoint_url"], demo.services["region"])
    bucket, key = urllib.parse.urlsplit(grant["url"]).path.split("/", 2)[1:]

    def gone() -> bool:
        deadline = time.monotonic() + 15
        while s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount") and time.monotonic() < deadline:
            time.sleep(0.2)
        return not s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount")

    demo.check(gone() and image_url(demo, fake["id"], within=1) is None,
               "the check refused it (its bytes are not PNG): the object is deleted and no image_url appears")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
