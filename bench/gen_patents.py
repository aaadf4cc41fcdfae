"""Generate a large, deterministic set of GENERATED patents from the distributions of the real data set.

Source: ``market/data/cn-patents-title-ipc/cn_patents_title_ipc.csv`` (9,740 real CNIPA records, see its
PROVENANCE.md). Every generated record is labelled: ids ``GEN0000001`` …, a ``source`` column ``generated``,
and the first line of the file is a ``# generated: true …`` note (CSV) or a ``{"_meta": {"generated": true …}}``
object (JSON Lines).

How the distributions are kept:

* kind (A/B/U) and the IPC subclass set are copied together from a real record drawn uniformly ("seed
  record"), so the kind mix, the subclass mix and the number of subclasses per patent follow the real data;
* the title is recombined from real title fragments with an order-2 character Markov chain trained on all real
  titles (start = the seed record's first two characters, stop where real titles stop), so character bigrams
  — the tokens both search backends index — and mixed Latin/digit fragments (``5G``, ``LED``) follow the real
  mix while most titles are new combinations;
* filing dates are NOT in the source data: they are drawn uniformly over 2012-01-01 … 2023-12-31 (synthetic).

Usage: ``python bench/gen_patents.py [-n 100000] [--seed 42] [-o FILE.csv|FILE.jsonl]`` (stdout by default).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "market" / "data" / "cn-patents-title-ipc" / "cn_patents_title_ipc.csv"
END = "\x00"
FIRST_DAY, DAYS = date(2012, 1, 1), (date(2023, 12, 31) - date(2012, 1, 1)).days + 1
MAX_TITLE = 60


@dataclass(frozen=True, slots=True)
class GenPatent:
    id: str  # GEN0000001
    kind_code: str  # A / B / U as in the source
    title: str
    ipc_subclasses: tuple[str, ...]
    filing_date: date  # synthetic

    def row(self) -> dict:
        return {"publication_number": self.id, "kind_code": self.kind_code, "title": self.title,
                "ipc_subclasses": "|".join(self.ipc_subclasses), "filing_date": self.filing_date.isoformat(),
                "source": "generated"}


def load_real(path: Path = SOURCE) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class TitleModel:
    """Order-2 character Markov chain over real titles (choices kept as lists: sampling follows frequencies)."""

    def __init__(self, titles: list[str]):
        self.next: dict[str, list[str]] = defaultdict(list)
        for title in titles:
            text = title + END
            for i in range(2, len(text)):
                self.next[text[i - 2 : i]].append(text[i])

    def title(self, rng: random.Random, start: str) -> str:
        out = list(start)
        while len(out) < MAX_TITLE:
            choices = self.next.get("".join(out[-2:]))
            if not choices:
                break
            ch = choices[rng.randrange(len(choices))]
            if ch == END:
                more = [c for c in choices if c != END] if len(out) < 6 else []
                if not more:
                    break
                ch = more[rng.randrange(len(more))]  # too short to stop: continue as real titles do
            out.append(ch)
        return "".join(out)


def generate(n: int = 100_000, seed: int = 42, real: list[dict] | None = None) -> Iterator[GenPatent]:
    """Yield ``n`` generated patents, the same ones for the same ``seed``."""
    real = real if real is not None else load_real()
    model = TitleModel([r["title"] for r in real])
    rng = random.Random(seed)
    for i in range(1, n + 1):
        base = real[rng.randrange(len(real))]
        start = base["title"][:2]
        yield GenPatent(
            id=f"GEN{i:07d}",
            kind_code=base["kind_code"],
            title=model.title(rng, start) if len(start) == 2 else base["title"],
            ipc_subclasses=tuple(s for s in base["ipc_subclasses"].split("|") if s),
            filing_date=FIRST_DAY + timedelta(days=rng.randrange(DAYS)),
        )


def header(n: int, seed: int) -> dict:
    return {"generated": True, "count": n, "seed": seed, "generator": "bench/gen_patents.py",
            "distributions_from": str(SOURCE.relative_to(ROOT)), "filing_date": "synthetic, uniform 2012-2023"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100_000, help="number of patents (default 100,000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("-o", "--output", help="FILE.csv or FILE.jsonl (default: CSV on stdout)")
    args = ap.parse_args(argv)
    meta = header(args.n, args.seed)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.output and args.output.endswith(".jsonl"):
            out.write(json.dumps({"_meta": meta}, ensure_ascii=False) + "\n")
            for p in generate(args.n, args.seed):
                out.write(json.dumps(p.row(), ensure_ascii=False) + "\n")
        else:
            out.write("# " + "; ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}"
                                       for k, v in meta.items()) + "\n")
            writer = csv.DictWriter(out, fieldnames=list(GenPatent("", "", "", (), FIRST_DAY).row()))
            writer.writeheader()
            for p in generate(args.n, args.seed):
                writer.writerow(p.row())
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
