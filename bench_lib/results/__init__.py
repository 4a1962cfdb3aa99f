"""The results files, one module each that reads and writes it: points.jsonl (points),
traces.jsonl (traces), sysinfo.jsonl (sysinfo), measured.jsonl (ledger), asv's result
files (asv_results), on the one versioned record schema (records)."""
