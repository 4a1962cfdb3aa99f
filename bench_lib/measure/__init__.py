"""Measuring on warm engines: the paired-rounds protocol and its load guard, asv's sample
windows, speedups and gaps (ratios), the machine's ceiling, GIL and lock shares, overheads,
traces' timelines, and the engine-mode sittings. Measures and writes records; reads no
published figure (the import contracts in pyproject.toml)."""
