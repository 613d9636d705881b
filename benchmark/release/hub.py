"""Publishing a built local release to the Hugging Face Hub: the exact folder (same parquet bytes, card as
the repo README, manifest, plots, lmms-eval files) in one commit on `main`, then a tag `vX.Y.Z` on that
commit. Users pin a version with `load_dataset(REPO, revision="vX.Y.Z")`.

Thin on purpose: `create_repo`, `list_repo_refs`, `upload_folder`, `create_tag` and `hf_hub_download` from
huggingface_hub. The token comes from $HF_TOKEN (or huggingface_hub's own login) and is never logged."""

from __future__ import annotations

import json
from pathlib import Path

from mmra.config import secret

from .errors import ReleaseConflictError
from .refs import MANIFEST
from .semver import hub_tag

# Files of the previous version on `main` that this upload replaces (shard counts can change).
REPLACED_PATTERNS = ["data/*.parquet", "plots/*.png", "lmms_eval/*"]


def push_release(version_dir: str | Path, repo_id: str, *, private: bool = False) -> tuple[str, str]:
    """Upload a local release folder and tag it. Returns (status, url); status is "published" or
    "unchanged" (the tag exists with the same fingerprint). A tag with other content is refused."""
    from huggingface_hub import HfApi, hf_hub_download

    version_dir = Path(version_dir)
    manifest = json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))
    version, fp = manifest["version"], manifest["fingerprint"]
    tag = hub_tag(version)
    token = secret("hf_token")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    url = f"https://huggingface.co/datasets/{repo_id}/tree/{tag}"
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    if any(t.name == tag for t in refs.tags):
        remote_path = hf_hub_download(repo_id, MANIFEST, repo_type="dataset", revision=tag, token=token)
        remote = json.loads(Path(remote_path).read_text(encoding="utf-8"))
        if remote.get("fingerprint") == fp:
            return "unchanged", url
        raise ReleaseConflictError(
            f"{repo_id} already has tag {tag} with other content ({remote.get('fingerprint', '?')[:19]}..., "
            f"this release is {fp[:19]}...); releases are immutable, publish a new version"
        )
    commit = api.upload_folder(
        repo_id=repo_id, repo_type="dataset", folder_path=version_dir,
        commit_message=f"Release {version}",
        commit_description=f"MMRA toolkit release {manifest['name']} {version}, fingerprint {fp}",
        delete_patterns=REPLACED_PATTERNS,
    )
    api.create_tag(repo_id, repo_type="dataset", tag=tag, revision=commit.oid,
                   tag_message=f"{manifest['name']} {version} ({fp})")
    return "published", url
