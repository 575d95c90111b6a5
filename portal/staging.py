"""Proof files kept across a form error: a representative who sent four proofs and mistyped a SIREN
does not choose the files again.

Each file that passed the content check (common.uploads.inspect_upload) and that the service did not
refuse is stored under `staging/` in the default storage; the session records, per form, where it is
and its name. Only paths written here are ever read back (never a path from the request), each file
is checked again by the service when it is used, and the files go once the form is accepted or
replaced by a new choice.
"""

import secrets

from django.core.files import File
from django.core.files.storage import default_storage

from common.exceptions import DomainError
from common.uploads import inspect_upload

SESSION_KEY = "staged_files"


class StagedFile(File):
    """A kept file, read back from the staging area under its original name."""


def _all(request):
    return request.session.get(SESSION_KEY, {})


def staged(request, form_key):
    """{field name: {"path", "name"}} kept for `form_key`."""
    return dict(_all(request).get(form_key, {}))


def with_staged(request, form_key, files):
    """`files` ({field: UploadedFile or None}) with each empty field filled by its kept file."""
    merged = dict(files)
    for name, entry in staged(request, form_key).items():
        if merged.get(name) is None and default_storage.exists(entry["path"]):
            merged[name] = StagedFile(default_storage.open(entry["path"], "rb"), name=entry["name"])
    return merged


def keep(request, form_key, files, *, refused):
    """After a form error: keep every file of `files` that is valid and not in `refused` (field names
    the service refused), drop the kept files that were refused or replaced."""
    kept = staged(request, form_key)
    for name, uploaded in files.items():
        if uploaded is None:
            continue
        if name in refused:
            _drop(kept.pop(name, None))
            continue
        if isinstance(uploaded, StagedFile):
            continue  # the kept file itself, used again
        try:
            _, _, _, display_name = inspect_upload(uploaded)
        except DomainError:
            continue
        _drop(kept.pop(name, None))
        uploaded.seek(0)
        path = default_storage.save(f"staging/{secrets.token_hex(16)}/{display_name}", uploaded)
        kept[name] = {"path": path, "name": display_name}
    _save(request, form_key, kept)


def clear(request, form_key):
    """The form was accepted: its kept files are removed."""
    for entry in staged(request, form_key).values():
        _drop(entry)
    _save(request, form_key, {})


def _drop(entry):
    if entry:
        default_storage.delete(entry["path"])


def _save(request, form_key, kept):
    everything = _all(request)
    if kept:
        everything[form_key] = kept
    else:
        everything.pop(form_key, None)
    request.session[SESSION_KEY] = everything


def close(files):
    """Close the kept files opened by with_staged (uploads are closed by Django)."""
    for uploaded in files.values():
        if isinstance(uploaded, StagedFile):
            uploaded.close()
