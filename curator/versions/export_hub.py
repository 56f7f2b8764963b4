"""``curator export NAME@N --push-to-hub OWNER/NAME``: the export folder, card and manifest
included, as one commit to a Hugging Face dataset repository, through ``huggingface_hub``'s own
client (``HF_ENDPOINT`` points it at another Hub). Only a verified export leaves: the manifest's
hashes are checked first, so what lands on the Hub is what the version holds."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import CuratorError, InputError
from .export import read_manifest

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


class HubPushFailed(CuratorError):
    """The Hub refused or could not be reached; nothing local changed."""


def hub_token(token: str | None = None) -> str:
    """The token to push with (argument, ``HF_TOKEN``, or ``hf auth login``'s), or a clear error."""
    from huggingface_hub import constants, get_token

    if constants.HF_HUB_OFFLINE:
        raise InputError("--push-to-hub needs the network, but HF_HUB_OFFLINE is set: unset it to push")
    found = token or get_token()
    if not found:
        raise InputError("--push-to-hub needs a Hugging Face token with write access: set HF_TOKEN or run "
                         "`hf auth login`")
    return found


def push_to_hub(out_dir: Path | str, repo_id: str, token: str | None = None, private: bool = True) -> dict:
    """Create the dataset repo if needed (private unless asked otherwise) and upload the export as
    one commit; returns ``{repo, commit, url}``."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if not REPO_ID.match(repo_id or ""):
        raise InputError(f"--push-to-hub takes a repository as OWNER/NAME, got {repo_id!r}")
    manifest = read_manifest(out_dir, require_approved=False)
    api = HfApi(token=hub_token(token))
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=str(out_dir), repo_id=repo_id, repo_type="dataset",
                                   commit_message=f"{manifest['ref']} ({manifest['format']}), content hash "
                                                  f"{manifest['content_hash'][:16]}")
    except HfHubHTTPError as exc:
        raise HubPushFailed(f"pushing {manifest['ref']} to {repo_id} failed: {exc}") from None
    return {"repo": repo_id, "commit": commit.oid, "url": commit.commit_url}
