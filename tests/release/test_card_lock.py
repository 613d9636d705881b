"""The data-card copy runs while the publish lock is held (issue 12): two publishers never interleave it."""

from __future__ import annotations

import fcntl

from mmra.benchmark.release import store as store_module
from mmra.benchmark.release.store import publish


def test_card_copy_runs_under_the_publish_lock(tmp_path, samples_file, monkeypatch):
    path, _ = samples_file(12)
    root, cards = tmp_path / "store", tmp_path / "cards"
    seen: list[tuple[str, bool]] = []
    real_copy = store_module._copy_card

    def copy_and_probe(version_dir, cards_dir, name, version):
        # another open of the lock file must fail to take it: the publisher holds it right now
        with (root / name / ".publish.lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held = True
            else:
                held = False
                fcntl.flock(fh, fcntl.LOCK_UN)
        seen.append((version, held))
        return real_copy(version_dir, cards_dir, name, version)

    monkeypatch.setattr(store_module, "_copy_card", copy_and_probe)
    first = publish(path, "1.0.0", root, name="bench", cards_dir=cards, show_progress=False)
    again = publish(path, "1.0.0", root, name="bench", cards_dir=cards, show_progress=False)  # unchanged path
    assert (first.status, again.status) == ("published", "unchanged")
    assert seen == [("1.0.0", True), ("1.0.0", True)]
    card = cards / "bench" / "1.0.0" / "README.md"
    assert first.card_path == again.card_path == card
    assert card.read_bytes() == (root / "bench" / "1.0.0" / "README.md").read_bytes()
    assert (cards / "bench" / "1.0.0" / "plots").is_dir()
    assert [p.name for p in (cards / "bench").iterdir()] == ["1.0.0"]  # no temp or old folders left behind
