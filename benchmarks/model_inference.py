"""Keras MLP inference: what does loading the model cost each backend, and in steady state?"""

from bench_lib import harness

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines


class ModelInference(harness.LongRuns):
    """One batch of 28x28 images per worker per round, ``model.predict`` (see
    bench_lib.workloads.model_inference). ``reload`` loads the model in every task,
    ``per-worker`` once per worker, ``tf-threads`` is serial on TensorFlow's intra-op
    threads, ``actors`` are Ray actors. Each worker runs TensorFlow with
    PARBENCH_THREADS_PER_WORKER intra/inter-op threads (``tf-threads``: every usable CPU;
    ``python -m bench_lib info`` prints both); ``pinned`` pins worker i to core i mod cores.

    ``time_rounds`` is every round in steady state; ``track_first_round`` one round in
    which every worker loads the model anew. The model is built once, by ``setup_cache``.
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("model_inference"), [False, True])
    param_names = ["backend", "n_workers", "variant", "pinned"]
    extended = {"pinned": [True]}  # whether pinning helps is a second question (run --profile extended)
    # Each combination's process warms workers that import TensorFlow (seconds each) and a
    # full-size round classifies 10,000 images per worker; setup_cache may train the model.
    timeout = 900

    @staticmethod
    def skipped(backend, n_workers, variant, pinned):
        """Why asv records n/a for this combination (checked before anything loads), or None."""
        return harness.unsupported("model_inference", backend, n_workers, variant) or (
            pinned and harness.pin_unsupported(backend, n_workers)) or None

    def setup_cache(self):
        return harness.ensure_model()

    def setup(self, model, backend, n_workers, variant, pinned):
        self.pinned = None
        harness.skip_if(self.skipped(backend, n_workers, variant, pinned))
        self.run = harness.prepare("model_inference", backend, n_workers, variant)
        self.engine, self.inputs = self.run.engine, self.run.inputs
        if pinned:
            harness.pin(self.engine)
            self.pinned = self.engine

    def teardown(self, model, backend, n_workers, variant, pinned):
        if getattr(self, "pinned", None) is not None:  # asv tears down skipped setups too
            harness.unpin(self.pinned)
        super().teardown(model, backend, n_workers, variant, pinned)

    def time_rounds(self, model, backend, n_workers, variant, pinned):
        self.run()

    time_rounds.version = "9fb0dadbd9d78addfef89f4c9c19e779f9139eda7f70eacdcc31778fd636b677"

    def track_first_round(self, model, backend, n_workers, variant, pinned):
        """Seconds of one round in which every worker loads the model (new actors)."""
        return harness.first_round_s(self.engine, self.inputs, variant)

    track_first_round.unit = "seconds"
    track_first_round.version = "5783f360d809545dc3460de4ce1d8ac198990af4b9b34b7d695c7057459e58ed"
