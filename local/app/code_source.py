"""Where a function's or layer's code is, as a folder the worker can put on its path: a
folder as it stands, a .zip unpacked once (Lambda runs a zip's contents), or InlineCode
written out as index.py (the file name Lambda gives ZipFile code). Unpacked and written code
lives under the build folder, keyed by its content, so an edit gives a new folder."""

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

from infra.errors import TemplateError


def zip_folder(archive: Path, cache: Path, template: Path, resource: str) -> Path:
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = cache / "zip" / f"{archive.stem}-{digest}"
    if target.is_dir():
        return target
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():  # a member outside the folder would escape it
                if member.startswith("/") or ".." in Path(member).parts:
                    raise TemplateError(template, f"{archive.name} holds {member!r}, outside its folder",
                                        resource=resource)
            bundle.extractall(staging)
    except zipfile.BadZipFile:
        shutil.rmtree(staging, ignore_errors=True)
        raise TemplateError(template, f"{archive.name} is not a zip file", resource=resource) from None
    _publish(staging, target)
    return target


def inline_folder(code: str, cache: Path) -> Path:
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    target = cache / "inline" / digest
    if not target.is_dir():
        staging = target.with_name(f"{digest}.{os.getpid()}.tmp")
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "index.py").write_text(code)
        _publish(staging, target)
    return target


def _publish(staging: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(target)
    except OSError:  # another process published the same content first
        shutil.rmtree(staging, ignore_errors=True)
