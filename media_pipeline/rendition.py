"""A web-playable copy of a story: H.264/AAC MP4 with fast start (or AAC in M4A for sound only).

The picture is always encoded, with the fixed settings in WEB_X264_ARGS, even when the upload
already is H.264 in an MP4/MOV (the sound is still copied when it is AAC and nothing is silenced).
Why not simply remux a phone's own H.264, as this module once did:

- **Poor venue Wi-Fi.** A phone records 1080p or 4K at 15 Mbit/s or more; streamed over a
  venue's Wi-Fi that stalls. The copy is at most 1280 wide and its rate is capped at 2.5 Mbit/s
  (``-maxrate``/``-bufsize``: a peak, not a target; still scenes stay far below it).
- **Quick seeking.** A keyframe every 2 seconds, whatever the scene (``-force_key_frames``,
  ``-sc_threshold 0``), so a jump lands at most 2 s of decoding away. Phones often put one every
  few seconds, or only on scene cuts.
- **Clips in a fraction of the time.** The GOPs are closed (x264's default: nothing refers across
  a keyframe) and x264 runs with ``stitchable=1``: it doesn't tune its headers (SPS/PPS) to the
  content. So a piece of the copy encoded again with WEB_X264_ARGS has byte-identical headers,
  and clips.py can cut an exact clip by encoding only the pictures before the first keyframe and
  after the last one, and copying the whole GOPs between ("smart cut").
- **Known colours.** The picture is converted to the BT.709 matrix and limited range, and tagged
  BT.709 throughout, whatever the upload said. So every copy has the same colour description,
  and so does every piece encoded again from one. (HDR video is not tone-mapped: it shows
  flatter than on the phone.)

Encoding costs time once, at upload (bench/clips.py measures it), instead of at every clip.
Redacted spans are silenced, which needs the sound encoded again; covered spans are blanked
(black). Rotated phone videos stay upright: the encode applies the display rotation to the
pixels, so the copy has none.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from .errors import N_, MediaError
from .ffmpeg import file_url, run_ffmpeg
from .probe import MediaInfo

ProgressCallback = Callable[[float, str], None]

# Large enough for a projector, small enough for venue Wi-Fi.
MAX_WIDTH = 1280
# Seconds between keyframes. clips.py relies on it only through the keyframes it finds.
KEYFRAME_SECONDS: Final = 2

# The video encoder settings of every rendition, and of every piece clips.py encodes to splice
# into one: change them and clips of older renditions fall back to a full encode (clips.py
# compares the headers), so change them only with care.
# - veryfast, as renditions always had: quick at upload, and a fair size for the quality;
# - CRF 23, x264's default quality, capped at 2.5 Mbit/s (a 5 s buffer) for poor Wi-Fi;
# - a keyframe every KEYFRAME_SECONDS whatever the frame rate or scene cuts; keyint=600 only
#   stops x264 adding its own (after 250 frames by default: under 2 s above 125 fps);
# - closed GOPs (open-gop=0, x264's default, said explicitly) and stitchable=1: the headers
#   depend on these settings and the pictures' size, shape, rate and colour tags, never on
#   what they show.
# The colour tags are set on the pictures (COLOUR_TAGS, the last filter) rather than with
# -colorspace & co.: ffmpeg 7 and later take primaries and transfer from the pictures, and
# ignore those options. An encode of pictures decoded from a rendition inherits its tags.
WEB_X264_ARGS: Final[tuple[str, ...]] = (
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
    "-maxrate", "2500k", "-bufsize", "5000k", "-pix_fmt", "yuv420p",
    "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})", "-sc_threshold", "0",
    "-x264-params", "stitchable=1:open-gop=0:keyint=600",
)  # fmt: skip
# BT.709 primaries, transfer and matrix, limited range: what web players assume for HD video.
COLOUR_TAGS: Final = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"


def rendition_extension(info: MediaInfo) -> str:
    """ ".mp4" for a video story, ".m4a" for a sound-only one."""
    return ".mp4" if info.kind == "video" else ".m4a"


def _silence_filter(spans: Sequence[tuple[float, float]]) -> str:
    # One volume filter per span, each active only inside its time window.
    return ",".join(
        f"volume=enable='between(t,{start:.3f},{end:.3f})':volume=0" for start, end in spans
    )


# A frame shows from its own time until the next one's, so a cover starts this much early (a
# frame that began just before the span and is still on screen in it is covered too) and ends
# this much late (times read off a player are rounded): enough at 10 frames a second and up.
COVER_MARGIN: Final = 0.1


def _cover_filter(spans: Sequence[tuple[float, float]]) -> str:
    # A black box over the whole picture while each span plays (nothing of it shows through,
    # unlike a blur); "" when nothing is covered, so the filter chain is as it always was.
    return "".join(
        "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:"
        f"enable='between(t,{max(start - COVER_MARGIN, 0):.3f},{end + COVER_MARGIN:.3f})',"
        for start, end in spans
    )


def make_rendition(
    src: Path,
    dest: Path,
    info: MediaInfo,
    *,
    silence: Sequence[tuple[float, float]] = (),
    cover: Sequence[tuple[float, float]] = (),
    timeout: float = 3600,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write the web-playable copy of ``src`` to ``dest`` (atomically); return ``dest``.

    ``silence``: time spans whose sound is silenced; ``cover``: time spans whose picture is
    blanked (black, from COVER_MARGIN before to COVER_MARGIN after), e.g. where someone who did
    not agree to be in the story can be seen.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}-{uuid.uuid4().hex}{dest.suffix}")
    video = info.kind == "video"
    copy_audio = info.audio_codec == "aac" and not silence
    # The format validation found, and local files only: never a guess that could open a
    # playlist (concat, hls) naming other files or URLs.
    args: list[str] = ["-protocol_whitelist", "file", "-f", info.demuxer, "-i", file_url(src)]
    args += ["-map", "0:a:0"]
    if video:
        args += [
            "-map", "0:v:0", *WEB_X264_ARGS,
            # Even dimensions (x264 needs them), never wider than MAX_WIDTH, never upscaled;
            # the pixels converted to the BT.709 matrix and limited range COLOUR_TAGS says.
            # (ffmpeg applies any display rotation before these filters.)
            "-vf", f"scale='min({MAX_WIDTH},iw)':-2:out_color_matrix=bt709:out_range=tv,"
                   f"{_cover_filter(cover)}{COLOUR_TAGS}",
        ]  # fmt: skip
    else:
        args += ["-vn"]
    if copy_audio:
        args += ["-c:a", "copy"]
    else:
        if silence:
            args += ["-af", _silence_filter(silence)]
        args += ["-c:a", "aac", "-b:a", "128k"]
    args += ["-movflags", "+faststart", "-f", "mp4" if video else "ipod", "-y", file_url(tmp)]
    if progress:
        progress(0.0, N_("Making a copy that plays everywhere"))
    try:
        run_ffmpeg(args, timeout=timeout, error_code="failed")
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise MediaError("failed", detail="ffmpeg wrote no rendition")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    if progress:
        progress(1.0, N_("Made a copy that plays everywhere"))
    return dest
