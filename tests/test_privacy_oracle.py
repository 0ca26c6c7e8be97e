"""The privacy oracle (tests/privacy.py) finds what it must, and only that."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from tests.privacy import assert_no_identity_code, codes_the_tests_use, identity_codes_in

HETU = "131052-308T"


def test_the_codes_the_tests_use_include_the_sandboxs_customers() -> None:
    assert {"131052-308T", "010101A900R", "100190Y999P"} <= set(codes_the_tests_use())


@pytest.mark.parametrize(
    "text",
    [
        f"ssn={HETU}&all=1",
        quote_plus(json.dumps({"text": "131052\u2013\u200b308t"})),
        json.dumps(json.dumps({"v": "131052\uff0d308T"})),
        "131052A308T",  # another century sign: another code, the same person's digits
        "131052308T",
    ],
)
def test_the_oracle_reads_a_code_through_its_disguises(text: str) -> None:
    assert identity_codes_in(text, [HETU]) == [HETU]
    with pytest.raises(AssertionError, match=r"\['131052-308T'\] readable in the log"):
        assert_no_identity_code(text, [HETU], where="the log")


@pytest.mark.parametrize(
    "text",
    [
        "131052-****",
        "131052%E2%80%93****",
        "131052-308",
        "SBX-10001 9100002 308T",
        "131052%25E1%2580%2580308T",  # a letter of another script between: no sign, no code
    ],
)
def test_the_oracle_passes_a_masked_or_partial_code(text: str) -> None:
    assert_no_identity_code(text, [HETU])
