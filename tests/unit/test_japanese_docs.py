"""The Japanese documents say the same commands as the English ones, and link to each other."""

import re

import pytest

from tests.support.course import ROOT

PAIRS = [("README.md", "README.ja.md"), ("docs/workshop-plan.md", "docs/workshop-plan.ja.md"),
         ("docs/room.md", "docs/room.ja.md")]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def commands(markdown):
    """Every line of every fenced block, its trailing # comment cut (comments may be translated)."""
    found = []
    for block in FENCE.findall(markdown):
        for line in block.splitlines():
            code = re.sub(r"\s+#\s.*$", "", line).rstrip()
            if code and not code.lstrip().startswith("#"):
                found.append(code)
    return found


@pytest.mark.parametrize("english, japanese", PAIRS, ids=[j for _, j in PAIRS])
def test_japanese_document_has_every_command(english, japanese):
    en = (ROOT / english).read_text(encoding="utf-8")
    ja = (ROOT / japanese).read_text(encoding="utf-8")
    missing = [line for line in commands(en) if line not in commands(ja)]
    assert not missing, f"{japanese} lacks these commands of {english}: {missing}"
    assert re.search(r"[\u3040-\u30ff]", ja), f"{japanese} is not in Japanese"


def test_the_readmes_link_to_each_other():
    assert "(README.ja.md)" in (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ")[0]
    assert "(README.md)" in (ROOT / "README.ja.md").read_text(encoding="utf-8").split("\n## ")[0]
