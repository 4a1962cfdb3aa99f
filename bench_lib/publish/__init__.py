"""What the results say: the report and its verdicts, compare and its regression gate,
the forecast, prices, the findings, changes over commits, and the static site. Reads
results; starts no engine and measures nothing (the import contracts in pyproject.toml)."""
