"""Errors raised by the media pipeline, each with a plain-language message for storytellers."""

from __future__ import annotations

from typing import Final, Literal


def N_(message: str) -> str:
    """Mark a message for translation and leave it as it is: this library runs outside requests
    too, so the caller translates it (``flask_babel.gettext``) when it shows it to a person."""
    return message


ErrorCode = Literal[
    "not_media",
    "unsupported_type",
    "no_audio",
    "too_short",
    "too_long",
    "damaged",
    "timeout",
    "empty",
    "missing",
    "failed",
    "unsupported_language",
]

# Written for someone with little IT confidence: say what happened and what to do next,
# without jargon (no "codec", "container", "stream").
MESSAGES: Final[dict[str, str]] = {
    "not_media": N_(
        "This file doesn't seem to be a video or a sound recording, so we can't use it. "
        "Please choose a video or audio file."
    ),
    "unsupported_type": N_(
        "We can't use this type of file. Please choose a video (for example MP4 or MOV) "
        "or a sound recording (for example MP3, M4A or WAV)."
    ),
    "no_audio": N_(
        "This video has no sound, so we wouldn't be able to hear your story. "
        "Please check the sound was recorded and choose the file again."
    ),
    "too_short": N_("This recording is too short to play. Please check you chose the right file."),
    "too_long": N_(
        "This recording is longer than we can take. Please shorten it or split it into parts."
    ),
    "damaged": N_(
        "This file seems to be damaged or incomplete, so it can't be played. "
        "Please try copying it again from your phone."
    ),
    "timeout": N_(
        "Checking this file took too long, so we stopped. Please try again, or try a smaller file."
    ),
    "empty": N_("This file is empty, there is nothing in it. Please try choosing it again."),
    "missing": N_("We couldn't find this file. Please try uploading it again."),
    "failed": N_(
        "Something went wrong while we were preparing your story. "
        "Your file is safe; please try again later."
    ),
    "unsupported_language": N_(
        "We can't write down stories in this language yet. "
        "Please choose English or Welsh, or ask the archive team for help."
    ),
}


class MediaError(Exception):
    """A media problem with a machine `code` and a storyteller-friendly `message`."""

    code: str
    message: str
    detail: str

    def __init__(self, code: ErrorCode, message: str | None = None, *, detail: str = "") -> None:
        self.code = code
        self.message = message or MESSAGES[code]
        # Technical detail (ffmpeg output, exception text) for logs only, never shown to users.
        self.detail = detail
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"MediaError(code={self.code!r}, message={self.message!r}, detail={self.detail!r})"
