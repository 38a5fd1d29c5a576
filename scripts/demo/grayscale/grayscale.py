"""Bob's lambda: the grayscale of a picture.

Reads the task's first input (`/inputs/0`, any format Pillow opens), writes its luminance
(ITU-R 601-2, Pillow's "L" mode) as a PNG to `/output/grayscale.png`, and its size to
`/output/size`. The job runs with no network, as an unprivileged user, on a read-only root.
"""

from PIL import Image

with Image.open("/inputs/0") as picture:
    gray = picture.convert("RGB").convert("L")
    gray.save("/output/grayscale.png", optimize=False)
    with open("/output/size", "w") as size:
        size.write(f"{gray.width}x{gray.height}\n")
