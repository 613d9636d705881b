"""Version rules and licence derivation."""

from __future__ import annotations

import pytest

from mmra.benchmark.release.errors import ReleaseInputError
from mmra.benchmark.release.load import hub_revision, split_ref
from mmra.benchmark.release.semver import latest, parse_version, version_key
from mmra.benchmark.release.stats import derive_licence, normalise_licence


def test_semver_parsing_and_precedence():
    assert parse_version("v1.2.3") == "1.2.3" and parse_version(" 2.0.0-rc.1 ") == "2.0.0-rc.1"
    ordered = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "10.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert latest(["1.0.0", "1.1.0-rc.1", "0.9.0"]) == "1.0.0"
    assert latest(["1.1.0-rc.1", "1.1.0-rc.2"]) == "1.1.0-rc.2"
    for bad in ("1.0", "1.0.0.", "1.0.0-", "a.b.c", "1.0.0-01"):
        with pytest.raises(ReleaseInputError):
            parse_version(bad)


def test_refs_and_hub_revisions(tmp_path):
    assert split_ref("org/name@1.2.0") == ("org/name", "1.2.0")
    assert split_ref("org/name") == ("org/name", None)
    odd = tmp_path / "a@b"
    odd.mkdir()
    assert split_ref(str(odd)) == (str(odd), None)  # an existing path is never split
    assert hub_revision("1.2.0") == "v1.2.0" and hub_revision("v1.2.0") == "v1.2.0"
    assert hub_revision("main") == "main" and hub_revision(None) is None and hub_revision("latest") is None


def _row(l1, l2, conceptnet=True):
    edges = '[{"relation":"UsedFor","head":"a","tail":"b","source":"conceptnet"}]' if conceptnet else "[]"
    return {"image1_licence": l1, "image2_licence": l2, "provenance": f'{{"edges": {edges}}}'}


@pytest.mark.parametrize("rows, expected", [
    ([_row("CC-BY-4.0", "cc0", conceptnet=False)], "cc-by-4.0"),
    ([_row("CC-BY-4.0", "CC-BY-4.0")], "cc-by-sa-4.0"),  # ConceptNet is share-alike
    ([_row("http://creativecommons.org/licenses/by-nc-sa/2.0/", "CC-BY-4.0")], "cc-by-nc-sa-4.0"),
    ([_row("https://creativecommons.org/licenses/by-nc/2.0/", "cc by 2.0", conceptnet=False)], "cc-by-nc-4.0"),
    ([_row("CC-BY-ND-4.0", "CC-BY-4.0")], "other"),
    ([_row("all rights reserved", "CC-BY-4.0")], "other"),
    ([_row("CC-BY-4.0", None)], "unknown"),
])
def test_licence_is_the_most_restrictive_source(rows, expected):
    decision = derive_licence(rows)
    assert decision.licence == expected, decision.reason
    if expected == "unknown":
        assert "1 image(s) have no licence recorded" in decision.reason


def test_licence_normalisation():
    assert normalise_licence("http://creativecommons.org/publicdomain/zero/1.0/") == "cc0-1.0"
    assert normalise_licence("CC BY-SA 2.0") == "cc-by-sa-2.0"
    assert normalise_licence("") == "unknown"
