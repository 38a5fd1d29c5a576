#!/usr/bin/env python3
"""Alice's picture and the check of Bob's answer, with the standard library only.

    picture.py make PATH          writes a colourful 96x64 RGB PNG
    picture.py check INPUT OUTPUT checks that OUTPUT is INPUT's grayscale, pixel by pixel

The check decodes both PNGs (8-bit, non-interlaced: what `make` and Pillow write) and
compares every pixel with ITU-R 601-2 luminance, L = (299 R + 587 G + 114 B) / 1000, as
Pillow computes it (allowing one level for its rounding). It exits 1 on any difference.
"""

import struct
import sys
import zlib

WIDTH, HEIGHT = 96, 64


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def make(path):
    rows = []
    for y in range(HEIGHT):
        row = bytearray([0])  # filter: none
        for x in range(WIDTH):
            row += bytes([(x * 255) // (WIDTH - 1), (y * 255) // (HEIGHT - 1), ((x + y) * 7) % 256])
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", header))
        out.write(chunk(b"IDAT", zlib.compress(b"".join(rows))))
        out.write(chunk(b"IEND", b""))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path):
    """(width, height, channels, rows of bytes) of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    at, idat, header = 8, b"", None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        sys.exit(f"{path}: depth {depth}, colour type {colour}, interlace {interlace} not handled")
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            line[i] = (line[i] + [0, left, up, (left + up) // 2, paeth(left, up, corner)][kind]) % 256
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def check(input_path, output_path):
    w, h, c, colour = decode(input_path)
    gw, gh, gc, gray = decode(output_path)
    if (gw, gh, gc) != (w, h, 1):
        sys.exit(f"the result is {gw}x{gh} with {gc} channels, not the {w}x{h} grayscale of the input")
    worst = 0
    for y in range(h):
        for x in range(w):
            r, g, b = colour[y][x * c : x * c + 3]
            worst = max(worst, abs(gray[y][x] - (r * 299 + g * 587 + b * 114) / 1000))
    if worst > 1:
        sys.exit(f"the result is not the input's grayscale: a pixel is off by {worst:.1f} levels")
    print(f"{output_path}: the {w}x{h} grayscale of {input_path}, every pixel within {worst:.2f} of ITU-R 601-2 luminance")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
