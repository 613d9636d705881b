"""The one image check (mmra.benchmark.images): what may be read, and the one pixel convention."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from mmra.benchmark.images import ImageLimits, ImageRejected, load_rgb, resolve_roots, to_rgb, verify_image
from mmra.benchmark.schema import ImageRef


def _png(path, size=(96, 80), colour=(10, 120, 200)):
    Image.new("RGB", size, colour).save(path)
    return path


def _reason(**kwargs) -> tuple[str, str]:
    with pytest.raises(ImageRejected) as info:
        verify_image(label="image x", **kwargs)
    return info.value.reason, str(info.value)


def test_a_real_image_inside_the_roots_passes(tmp_path):
    path = _png(tmp_path / "ok.png")
    image = verify_image(path=path, label="ok", roots=resolve_roots([tmp_path]))
    assert (image.width, image.height, image.format, image.extension) == (96, 80, "PNG", ".png")
    assert image.data == path.read_bytes() and image.path == path.resolve()


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "/etc/hostname"])
def test_system_and_text_files_are_refused(tmp_path, target):
    if not os.path.exists(target):
        pytest.skip(f"{target} is not on this machine")
    reason, message = _reason(path=target)
    assert reason in ("not_allowed", "corrupt") and "image x" in message
    # inside given roots the system trees are refused before a byte is read
    reason, _ = _reason(path=target, roots=resolve_roots([tmp_path]))
    assert reason in ("outside_roots", "not_allowed")


def test_proc_is_refused_even_when_a_root_contains_it(tmp_path):
    reason, message = _reason(path="/proc/self/environ", roots=resolve_roots(["/"]))
    assert reason == "not_allowed" and "system file" in message


def test_relative_escape_and_symlinks_out_of_the_roots_are_refused(tmp_path):
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    corpus.mkdir()
    elsewhere.mkdir()
    outside = _png(elsewhere / "secret.png")
    (corpus / "link.png").symlink_to(outside)
    (corpus / "dangling.png").symlink_to("../nowhere/missing.png")
    roots = resolve_roots([corpus])
    reason, message = _reason(path=corpus / "link.png", roots=roots)
    assert reason == "outside_roots" and "via a symlink" in message
    reason, _ = _reason(path=corpus / ".." / "elsewhere" / "secret.png", roots=roots)
    assert reason == "outside_roots"
    reason, message = _reason(path=corpus / "dangling.png", roots=roots)
    assert reason == "missing_file" and "symlink" in message
    # a symlink that stays inside the roots is fine
    inside = _png(corpus / "real.png")
    (corpus / "alias.png").symlink_to(inside.name)
    assert verify_image(path=corpus / "alias.png", label="alias", roots=roots).path == inside.resolve()


def test_fifo_and_folders_are_not_read(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    reason, message = _reason(path=fifo)  # must not block on the open
    assert reason == "not_a_file" and "not a regular file" in message
    reason, _ = _reason(path=tmp_path)
    assert reason in ("not_a_file", "unreadable")


def test_a_text_file_named_jpg_and_a_truncated_png_are_refused(tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert _reason(path=fake)[0] == "corrupt"
    good = _png(tmp_path / "good.png", size=(300, 300))
    data = good.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert _reason(path=tmp_path / "cut.png")[0] in ("truncated", "corrupt")


def test_size_limits_tiny_and_bomb(tmp_path):
    assert _reason(path=_png(tmp_path / "one.png", size=(1, 1)))[0] == "too_small"
    big = tmp_path / "big.png"
    Image.new("1", (12_000, 12_000)).save(big)  # 144 megapixels, a few kB on disk
    reason, message = _reason(path=big)
    assert reason == "too_large" and "144000000 pixels" in message.replace(",", "")
    assert _reason(path=_png(tmp_path / "b.png"), limits=ImageLimits(max_bytes=10))[0] == "too_large"


def test_sha_mismatch_names_the_change(tmp_path):
    path = _png(tmp_path / "a.png")
    reason, message = _reason(path=path, expect_sha256="0" * 64)
    assert reason == "changed" and "changed since it was curated" in message


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    grey16 = np.full((80, 96), 32768, dtype=np.uint16)  # mid grey in 16 bits
    path = tmp_path / "g16.png"
    Image.fromarray(grey16).save(path)
    rgb = load_rgb(ImageRef(path=str(path)), base_dir=None, label="g16")
    value = np.asarray(rgb)[0, 0]
    assert rgb.mode == "RGB" and 125 <= value[0] <= 130  # not 255 (white), as PIL's own convert gives
    with Image.open(path) as raw:
        assert np.asarray(raw.convert("RGB"))[0, 0, 0] == 255  # the bug this guards against


def test_exif_orientation_is_applied_once(tmp_path):
    img = Image.new("RGB", (160, 80), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 80, 80))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    image = verify_image(path=path, label="rot")
    assert (image.width, image.height) == (80, 160)
    rgb = image.rgb()
    assert rgb.size == (80, 160)
    top = np.asarray(rgb)[5, 40]
    assert top[2] > 200 and top[0] < 60  # blue on top after the rotation
    again = to_rgb(rgb)
    assert again.size == (80, 160)  # no second rotation: the EXIF tag is gone from the decoded image


def test_palette_with_transparency_composites_on_white(tmp_path):
    img = Image.new("P", (80, 80), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (40, 0, 80, 80))
    path = tmp_path / "p.png"
    img.save(path, transparency=0)
    rgb = load_rgb(ImageRef(path=str(path)), base_dir=None, label="p")
    assert tuple(np.asarray(rgb)[10, 10]) == (255, 255, 255) and tuple(np.asarray(rgb)[10, 60]) == (255, 0, 0)


def test_inline_bytes_are_checked_too():
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="PNG")
    with pytest.raises(ImageRejected, match="smaller than 64"):
        verify_image(data=buf.getvalue(), label="inline")
    with pytest.raises(ImageRejected, match="not a readable image"):
        verify_image(data=b"GIF89a not really", label="inline")
