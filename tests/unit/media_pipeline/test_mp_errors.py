"""MediaError carries a machine code and a plain-language message."""

from __future__ import annotations

import typing

import pytest

from media_pipeline import MESSAGES, ErrorCode, MediaError

REQUIRED = {"not_media", "unsupported_type", "no_audio", "too_short", "too_long", "damaged",
            "timeout", "empty"}  # fmt: skip


def test_every_code_has_a_plain_message() -> None:
    codes = set(typing.get_args(ErrorCode))
    assert codes >= REQUIRED
    assert codes == set(MESSAGES)
    for code in codes:
        message = MESSAGES[code]
        assert message.endswith(".")
        # Written for storytellers: no technical words.
        for jargon in ("codec", "container", "stream", "ffmpeg", "demux", "moov"):
            assert jargon not in message.lower()


@pytest.mark.parametrize("code", sorted(REQUIRED))
def test_str_is_the_message(code: ErrorCode) -> None:
    err = MediaError(code, detail="technical stuff")
    assert err.code == code
    assert str(err) == err.message == MESSAGES[code]
    assert err.detail == "technical stuff"
    assert "technical stuff" not in str(err)


def test_custom_message_wins() -> None:
    err = MediaError("too_long", "This recording is longer than 2 hours.")
    assert str(err) == "This recording is longer than 2 hours."
    assert err.code == "too_long"
    assert isinstance(err, Exception)
    assert "too_long" in repr(err)
