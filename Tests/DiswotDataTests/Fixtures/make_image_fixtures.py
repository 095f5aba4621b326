#!/usr/bin/env python3
"""Writes the image-decoding fixtures of DiswotDataTests/ImageParityTests and what
PIL + torchvision make of them.

images/<name>            small JPEGs and PNGs of odd sizes: RGB, grayscale, CMYK, palette
                         with transparency, RGBA, LA, 4-bit grayscale, interlaced
expected/<name>.rgb      Image.open(f).convert("RGB") bytes (torchvision's pil_loader)
expected/<name>.<n>.rgb  then Resize(round(n*8/7)) + CenterCrop(n) as torchvision runs them
                         on PIL images, for n in SIZES
images.json              name -> [width, height] of the decoded image

torchvision is not needed: its two transforms are written out below as
torchvision/transforms/functional.py computes them (_compute_resized_output_size for
an int size; center_crop's int(round((h - n) / 2.0)) offsets), over PIL's
resize(BILINEAR), which is what runs. Regenerate with `python3 make_image_fixtures.py`
(pip install pillow).
"""
import json, os
import numpy as np
from PIL import Image

SIZES = [16, 64]
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(13)


def smooth(w, h, c):
    """A smooth pattern plus noise: edges for the filter to act on, not pure noise."""
    y, x = np.mgrid[0:h, 0:w]
    planes = [127 + 100 * np.sin(x / (3 + k) + y / (5 + 2 * k)) + rng.normal(0, 20, (h, w)) for k in range(c)]
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def make():
    images = {}
    images["rgb_37x53.jpg"] = lambda p: Image.fromarray(smooth(37, 53, 3)).save(p, quality=90)
    images["rgb_61x23_420.jpg"] = lambda p: Image.fromarray(smooth(61, 23, 3)).save(p, quality=75, subsampling=2)
    images["gray_41x29.jpg"] = lambda p: Image.fromarray(smooth(41, 29, 1)[..., 0], "L").save(p, quality=85)
    images["cmyk_23x31.jpg"] = lambda p: Image.fromarray(smooth(23, 31, 4), "CMYK").save(p, quality=90)
    images["rgb_45x33.png"] = lambda p: Image.fromarray(smooth(45, 33, 3)).save(p)
    images["gray_19x27.png"] = lambda p: Image.fromarray(smooth(19, 27, 1)[..., 0], "L").save(p)
    images["gray4_30x17.png"] = lambda p: Image.fromarray(smooth(30, 17, 1)[..., 0] & 0xF0, "L").save(p, bits=4)
    images["rgba_28x40.png"] = lambda p: Image.fromarray(smooth(28, 40, 4), "RGBA").save(p)
    images["la_33x21.png"] = lambda p: Image.fromarray(smooth(33, 21, 2), "LA").save(p)
    images["rgb_interlaced_26x35.png"] = lambda p: Image.fromarray(smooth(26, 35, 3)).save(p, interlace=1)

    def palette(p):
        im = Image.fromarray(smooth(31, 22, 3)).quantize(colors=50)
        im.info["transparency"] = 3
        im.save(p, transparency=3)

    images["palette_alpha_31x22.png"] = palette
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    sizes = {}
    for name, write in images.items():
        path = os.path.join(HERE, "images", name)
        write(path)
        rgb = Image.open(path).convert("RGB")
        sizes[name] = list(rgb.size)
        open(os.path.join(HERE, "expected", name + ".rgb"), "wb").write(rgb.tobytes())
        for n in SIZES:
            out = center_crop(resize(rgb, round(n * 8 / 7)), n)
            open(os.path.join(HERE, "expected", f"{name}.{n}.rgb"), "wb").write(out.tobytes())
    json.dump(sizes, open(os.path.join(HERE, "images.json"), "w"), indent=1, sort_keys=True)

    # Images no decoder may accept: a JPEG cut short, a PNG with a broken data chunk, a
    # file that is neither, and a 16-bit grayscale PNG (refused, see ImageDecoder).
    jpeg = open(os.path.join(HERE, "images", "rgb_37x53.jpg"), "rb").read()
    open(os.path.join(HERE, "images", "bad_truncated.jpg"), "wb").write(jpeg[: len(jpeg) // 2])
    png = bytearray(open(os.path.join(HERE, "images", "rgb_45x33.png"), "rb").read())
    idat = png.index(b"IDAT")
    png[idat + 20 : idat + 40] = bytes(20)
    open(os.path.join(HERE, "images", "bad_corrupt.png"), "wb").write(bytes(png))
    open(os.path.join(HERE, "images", "bad_not_image.jpg"), "wb").write(b"GIF89a not really\n")
    Image.fromarray(smooth(12, 9, 1)[..., 0].astype(np.uint16) * 257).save(os.path.join(HERE, "images", "bad_gray16.png"))


def resize(img, size):
    """torchvision Resize(size) with an int size on a PIL image."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img.resize((new_w, new_h), Image.BILINEAR)


def center_crop(img, n):
    """torchvision CenterCrop(n) on a PIL image at least n×n."""
    w, h = img.size
    top, left = int(round((h - n) / 2.0)), int(round((w - n) / 2.0))
    return img.crop((left, top, left + n, top + n))


if __name__ == "__main__":
    make()
