"""Rebuild the demo's package data: the last 12,000 half-hours of ELEC2.

    python scripts/make_demo_slice.py [--data-dir ../shared/data]

ELEC2 (Harries 1999; New South Wales electricity market, 1996-1998, target: did the price go up)
comes from ``../shared/data/elec2.parquet``, or is rebuilt from its PyPI package when that file is
missing (see ``scripts/rebuild_data.py``). The slice is written to
``mlflow_staleness/data/elec2_demo.parquet`` (about 290 KB).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

ROWS = 12_000
OUT = ROOT / "mlflow_staleness" / "data" / "elec2_demo.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    source = args.data_dir / "elec2.parquet"
    if not source.exists():
        from rebuild_data import ensure_datasets

        ensure_datasets(args.data_dir, names=["elec2"])
    frame = pd.read_parquet(source).iloc[-ROWS:].reset_index(drop=True)
    frame.to_parquet(OUT, compression="zstd", index=False)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(frame):,} rows)")


if __name__ == "__main__":
    main()
