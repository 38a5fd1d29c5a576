"""The private set intersection lambda: the names on both parties' lists.

Reads `/inputs/0` and `/inputs/1` (one name per line), writes the names on both, sorted,
to `/output/common`, and nothing else: neither list leaves the sandbox, only what they share.
"""


def names(path):
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip()}


common = sorted(names("/inputs/0") & names("/inputs/1"))
with open("/output/common", "w", encoding="utf-8") as out:
    out.write("".join(f"{name}\n" for name in common))
