"""Versions as tags of a repository: which existing tags are nearest to one asked for, and
what GitHub said a tag's commit is (`TagCommit`, the promotion gate's second name for it).

Pure: used to refuse `/deploy production v9.9.9` with the tags the requester probably meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

#: How many characters of a commit sha make a version (`github.version_from: sha`): what an
#: automatic deploy of a push records, and what a tag's commit is looked for as.
SHA_VERSION_LENGTH = 12


@dataclass(frozen=True)
class TagCommit:
    """The commit the tag `tag` points at, as GitHub answered: `sha` (full); or `unknown`,
    why GitHub could not be asked (its own words, to be tried again); neither: no such tag.
    """

    tag: str
    sha: str | None = None
    unknown: str | None = None

    @property
    def version(self) -> str | None:
        """The commit as an automatic deploy records it as its version (its first 12
        characters, `github.version_from: sha`); None when unknown."""
        return self.sha[:SHA_VERSION_LENGTH] if self.sha else None

@dataclass(frozen=True)
class CommitTag:
    """What a version that is a commit (`commit`: its first 12 characters, as an automatic
    deploy records it) is known as: `tag`, the tag GitHub lists for that commit (None: none
    of its newest tags); or `unknown`, why GitHub could not be asked (its own words)."""

    commit: str
    tag: str | None = None
    unknown: str | None = None


_COMMIT = re.compile(rf"^[0-9a-f]{{{SHA_VERSION_LENGTH}}}$")


def is_commit(version: str) -> bool:
    """Whether `version` is a commit as an automatic deploy records it (12 hex digits)."""
    return _COMMIT.match(version) is not None


def tag_of(version: str, tagged: Sequence[tuple[str, str]]) -> str | None:
    """The tag of `tagged` ((tag, full commit sha), newest first) that points at the commit
    `version`; of several, the highest semantic version (a release over its pre-releases),
    else the newest."""
    tags = [t for t, sha in tagged if sha[:SHA_VERSION_LENGTH] == version]
    semantic = [t for t in tags if semver(t) is not None]
    if semantic:
        best = semantic[0]
        for t in semantic[1:]:
            if _later(t, best):
                best = t
        return best
    return tags[0] if tags else None


def _later(a: str, b: str) -> bool:
    return older(b, a)


def named(version: str, tag: str | None) -> str:
    """A version as people know it: "`v1.2.4` (commit `3f2a9c1d0e4b`)" for a commit with a
    tag, else "`version`"."""
    return f"`{tag}` (commit `{version}`)" if tag else f"`{version}`"


_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def semver(tag: str) -> tuple[int, int, int, str | None] | None:
    """(major, minor, patch, pre-release) of `v1.2.3` / `1.2.3-rc.1`; None if not semantic."""
    m = _SEMVER.match(tag.strip())
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3]), m[4]


_PADDED = re.compile(r"^(v?)(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(\+[0-9A-Za-z.-]+)?$")


def _unpadded(number: str) -> str:
    return number.lstrip("0") or "0"


def zero_padded(version: str) -> str | None:
    """The canonical spelling of a semantic version that writes a number with a leading
    zero (`v01.2.3` → `v1.2.3`; `1.2.3-rc.01` → `1.2.3-rc.1`), which semver.org forbids
    for major, minor and patch (§2) and numeric pre-release identifiers (§9); build
    metadata may have them (§10). None when it has none, or is not a semantic version."""
    m = _PADDED.match(version)
    if m is None:
        return None
    numbers = [_unpadded(n) for n in m.group(2, 3, 4)]
    pre = m[5]
    if pre is not None:
        pre = ".".join(_unpadded(i) if i.isdigit() else i for i in pre.split("."))
    canonical = (f"{m[1]}{'.'.join(numbers)}" + (f"-{pre}" if pre is not None else "")
                 + (m[6] or ""))
    return canonical if canonical != version else None


def two_spellings(version: str, pattern: str) -> str | None:
    """The spelling of `version` without leading zeros when the service's version pattern
    takes both: `v01.2.3` and `v1.2.3` would be two versions that compare as one. None when
    there is none, or the pattern takes only `version` (a zero-padded scheme of its own,
    e.g. `^\\d{4}\\.\\d{2}\\.\\d{2}$`, keeps its versions)."""
    canonical = zero_padded(version)
    if canonical is None or not re.fullmatch(pattern, canonical):
        return None
    return canonical


def leading_zero_problem(version: str, meant: str, *, quote: str = "`") -> str:
    """The refusal of a version spelled with a leading zero (`two_spellings`)."""
    close = "”" if quote == "“" else quote
    return (f"{quote}{version}{close} writes a number with a leading zero, which a semantic "
            f"version does not (semver.org §2): did you mean {quote}{meant}{close}? Both "
            "would name one version.")


def _precedence_key(pre: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """semver.org §11: a release ranks above its pre-releases; pre-release identifiers
    compare numerically when numeric, else in ASCII order, numeric below alphanumeric."""
    if pre is None:
        return (1, ())
    parts: list[tuple[int, int | str]] = []
    for ident in pre.split("."):
        parts.append((0, int(ident)) if ident.isdigit() else (1, ident))
    return (0, tuple(parts))


def older(version: str, than: str) -> bool:
    """Whether `version` precedes `than` (both semantic versions; False otherwise)."""
    a, b = semver(version), semver(than)
    if a is None or b is None:
        return False
    if a[:3] != b[:3]:
        return a[:3] < b[:3]
    return _precedence_key(a[3]) < _precedence_key(b[3])


def nearest_tags(wanted: str, tags: Sequence[str], *, limit: int = 3) -> tuple[str, ...]:
    """The `limit` tags of `tags` closest to `wanted`, closest first.

    When both are semantic versions: the same major.minor first, then the same major, then
    by numeric distance (major, then minor, then patch); releases before pre-releases at the
    same distance. Tags that are not semantic versions (or when `wanted` is not) rank by
    string similarity (difflib) after them. Ties keep the order of `tags` (newest first)."""
    want = semver(wanted)
    ranked: list[tuple[tuple[float, ...], int, str]] = []
    for i, tag in enumerate(dict.fromkeys(tags)):  # without duplicates, order kept
        if tag == wanted:
            continue
        have = semver(tag)
        similarity = difflib.SequenceMatcher(None, wanted, tag).ratio()
        if want is not None and have is not None:
            same_minor = have[:2] == want[:2]
            same_major = have[0] == want[0]
            key: tuple[float, ...] = (
                0, 0 if same_minor else 1 if same_major else 2,
                abs(have[0] - want[0]), abs(have[1] - want[1]), abs(have[2] - want[2]),
                0 if have[3] is None else 1, -similarity)
        else:
            key = (1, -similarity)
        ranked.append((key, i, tag))
    ranked.sort()
    return tuple(tag for _, _, tag in ranked[:max(limit, 0)])
