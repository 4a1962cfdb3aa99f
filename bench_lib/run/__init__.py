"""A run of the suite: its plan and budget (plan, costs, starts), the runner that drives
asv in pieces and cleans up after it, the feed of a run's points, and the engine-upgrade
check across two engine stacks."""
