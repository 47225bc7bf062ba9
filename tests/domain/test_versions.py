"""Which existing tags are nearest to a version asked for (pure)."""

from __future__ import annotations

from bot.domain.versions import nearest_tags, semver, two_spellings, zero_padded


def test_semver_parses_tags_with_and_without_v_and_pre_releases() -> None:
    assert semver("v1.2.3") == (1, 2, 3, None)
    assert semver("1.2.3-rc.1+build.5") == (1, 2, 3, "rc.1")
    assert semver("release-2024") is None


def test_the_same_major_minor_comes_first_then_numeric_distance() -> None:
    tags = ["v2.0.0", "v1.3.0", "v1.2.4", "v1.2.3", "v1.1.0", "v0.9.0"]
    assert nearest_tags("v1.2.9", tags) == ("v1.2.4", "v1.2.3", "v1.3.0")
    assert nearest_tags("v1.2.5", tags, limit=2) == ("v1.2.4", "v1.2.3")


def test_a_far_away_version_gets_the_numerically_closest() -> None:
    tags = ["v1.2.4", "v1.2.3", "v1.3.0"]
    assert nearest_tags("v9.9.9", tags) == ("v1.3.0", "v1.2.4", "v1.2.3")
    assert nearest_tags("v2.0.0", ["v3.0.0", "v1.0.0", "v2.1.0"]) == \
        ("v2.1.0", "v3.0.0", "v1.0.0")  # a tie keeps the listed (newest first) order


def test_releases_rank_before_pre_releases_at_the_same_distance() -> None:
    assert nearest_tags("v1.2.3", ["v1.2.2-rc.1", "v1.2.2"], limit=1) == ("v1.2.2",)


def test_non_semantic_tags_rank_by_string_similarity_after_semantic_ones() -> None:
    tags = ["nightly", "release-2024-05", "v1.0.0", "release-2024-06"]
    assert nearest_tags("release-2024-07", tags) == \
        ("release-2024-05", "release-2024-06", "v1.0.0")
    assert nearest_tags("v1.0.1", tags)[0] == "v1.0.0"


def test_the_asked_version_duplicates_and_limits_are_handled() -> None:
    assert nearest_tags("v1.0.0", ["v1.0.0", "v1.0.1", "v1.0.1"]) == ("v1.0.1",)
    assert nearest_tags("v1.0.0", []) == ()
    assert nearest_tags("v1.0.0", ["v1.0.1"], limit=0) == ()


def test_a_number_written_with_a_leading_zero_has_one_canonical_spelling() -> None:
    # semver.org §2: major, minor and patch are numbers without leading zeros; §9: so are
    # numeric pre-release identifiers. Build metadata (§10) may have them.
    assert zero_padded("v01.2.3") == "v1.2.3"
    assert zero_padded("1.02.003") == "1.2.3"
    assert zero_padded("v1.2.3-rc.01") == "v1.2.3-rc.1"
    assert zero_padded("v1.2.3-0rc.1") is None  # alphanumeric: no number
    assert zero_padded("v1.0.0") is None and zero_padded("v0.0.1") is None
    assert zero_padded("v1.2.3+build.007") is None
    assert zero_padded("release-01") is None  # not a semantic version


def test_two_spellings_of_one_version_are_named_when_the_pattern_takes_both() -> None:
    default = r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
    assert two_spellings("v01.2.3", default) == "v1.2.3"  # the spelling meant
    assert two_spellings("v1.2.3", default) is None
    # A zero-padded scheme whose pattern takes only one spelling keeps its versions.
    assert two_spellings("2026.01.05", r"^\d{4}\.\d{2}\.\d{2}$") is None
